#!/usr/bin/env bash
# shipgate's policy engine against its peers, same inputs, one run each (docs/benchmarks-policy.md).
#
#   scripts/bench-policy-peers.sh
#
# 1. `gator verify` vs `shipgate policy verify` on the whole gatekeeper-library (every suite).
# 2. `conftest test` vs `shipgate scan config` on 2,000 generated Deployments, with a conftest
#    policy that implements three of shipgate's built-ins (privileged, :latest/untagged image,
#    missing cpu/memory limits); shipgate runs its whole `recommended` profile (24 rules).
#
# The peers are built from Go modules into ${SHIPGATE_PEER_BIN_DIR:-~/.cache/shipgate/peer-bins}
# on first use (gator v3.23.1, conftest v0.71.1). Needs hyperfine and the shared data.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${SHIPGATE_SHARED_DATA:-$here/../shared/data}"
bins="${SHIPGATE_PEER_BIN_DIR:-$HOME/.cache/shipgate/peer-bins}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$bins"
command -v hyperfine >/dev/null || cargo install --locked hyperfine >&2
[ -x "$bins/gator" ] || GOBIN="$bins" go install github.com/open-policy-agent/gatekeeper/v3/cmd/gator@v3.23.1
[ -x "$bins/conftest" ] || GOBIN="$bins" go install github.com/open-policy-agent/conftest@v0.71.1
(cd "$here" && cargo build --release -p shipgate >&2)
shipgate="$here/target/release/shipgate"
data="$(realpath "$data")"
lib="gatekeeper-library/library"
cd "$data" # gator reads suites through a Go fs.FS: it needs a relative path

echo "## gator verify vs shipgate policy verify: $data/$lib"
ok=$("$bins/gator" verify "$lib/..." | grep -c '^ok' || true)
echo "gator: $ok suites passed"
[ "$ok" -gt 0 ] || { echo "gator verify found no suites" >&2; exit 1; }
"$shipgate" policy verify "$lib" --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("shipgate:", {k: v for k, v in d.items() if k != "failures"})'
hyperfine -N -w 1 -r 5 \
    "$bins/gator verify $lib/..." \
    "$shipgate policy verify $lib"
for cmd in "$bins/gator verify $lib/..." "$shipgate policy verify $lib"; do
    /usr/bin/time -f "peak RSS %M KB: ${cmd%% *}" $cmd >/dev/null 2>"$work/time" || true
    tail -1 "$work/time"
done

python3 - "$work/bench.yaml" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(2000):
        f.write(f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: team-{i % 7}
  labels: {{app: app-{i}, owner: team}}
spec:
  replicas: 2
  template:
    metadata:
      labels: {{app: app-{i}}}
    spec:
      securityContext: {{runAsNonRoot: true}}
      containers:
      - name: web
        image: registry.example.com/app:{i}
        ports: [{{containerPort: 8080}}]
        securityContext:
          privileged: {"true" if i % 3 == 0 else "false"}
          allowPrivilegeEscalation: false
          capabilities: {{drop: [ALL]}}
        resources:
          limits: {{cpu: 500m, memory: 256Mi}}
      - name: sidecar
        image: proxy:latest
""")
EOF
mkdir -p "$work/policy"
cat > "$work/policy/k8s.rego" <<'EOF'
package main

import rego.v1

containers contains c if {
	c := input.spec.template.spec.containers[_]
}

containers contains c if {
	c := input.spec.template.spec.initContainers[_]
}

deny contains msg if {
	some c in containers
	c.securityContext.privileged == true
	msg := sprintf("container %s is privileged", [c.name])
}

deny contains msg if {
	some c in containers
	not contains(c.image, ":")
	msg := sprintf("container %s image has no tag", [c.name])
}

deny contains msg if {
	some c in containers
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses :latest", [c.name])
}

deny contains msg if {
	some c in containers
	some r in ["cpu", "memory"]
	not c.resources.limits[r]
	msg := sprintf("container %s has no %s limit", [c.name, r])
}
EOF
echo "## conftest test vs shipgate scan config: 2,000 Deployments ($(du -h "$work/bench.yaml" | cut -f1))"
hyperfine -N -w 1 -r 5 -i \
    "$bins/conftest test --no-color -p $work/policy $work/bench.yaml" \
    "$shipgate scan config $work/bench.yaml --format json --output $work/out.json"
for cmd in "$bins/conftest test --no-color -p $work/policy $work/bench.yaml" \
    "$shipgate scan config $work/bench.yaml --format json --output $work/out.json"; do
    /usr/bin/time -f "peak RSS %M KB: ${cmd%% *}" $cmd >/dev/null 2>"$work/time" || true
    tail -1 "$work/time"
done
echo "conftest failures: $("$bins/conftest" test --no-color -o json -p "$work/policy" "$work/bench.yaml" \
    | python3 -c 'import json,sys; print(sum(len(r.get("failures") or []) for r in json.load(sys.stdin)))')"
echo "shipgate findings: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$work/out.json")"
