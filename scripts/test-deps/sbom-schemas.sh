#!/usr/bin/env bash
# Installs the official SBOM JSON schemas used by the shipgate-sbom tests and prints their paths.
#
# CycloneDX 1.6 (plus the spdx/jsf schemas it references) comes from `cyclonedx-python-lib`,
# the CycloneDX project's own Python library. The SPDX 2.3 JSON schema is not shipped by
# `spdx-tools`, so it comes from `lib4sbom`, which ships the upstream spdx-spec schema files.
# Both are installed with --no-deps into a venv: we only need the data files.
#
# Output (stdout), one per line, consumed by the tests and by `.ci/run`:
#   SHIPGATE_CYCLONEDX_SCHEMA_DIR=<dir containing bom-1.6*.schema.json>
#   SHIPGATE_SPDX_SCHEMA=<path to the SPDX 2.3 schema>
set -euo pipefail

cache="${SHIPGATE_TEST_CACHE:-$HOME/.cache/shipgate}"
venv="$cache/py"
cdx_version="11.12.0"
lib4sbom_version="0.10.4"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import importlib.metadata as m; assert m.version('cyclonedx-python-lib') == '$cdx_version'; assert m.version('lib4sbom') == '$lib4sbom_version'" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    "cyclonedx-python-lib==$cdx_version" "lib4sbom==$lib4sbom_version" >&2
fi

site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cdx_dir="$site/cyclonedx/schema/_res"
spdx="$site/lib4sbom/schemas/spdx/2.3-schema.json"
cdx_file="$(ls "$cdx_dir"/bom-1.6*.schema.json 2>/dev/null | head -n1 || true)"
if [ -z "$cdx_file" ] || [ ! -f "$spdx" ]; then
  echo "sbom-schemas.sh: schema files not found under $site" >&2
  exit 1
fi
echo "SHIPGATE_CYCLONEDX_SCHEMA_DIR=$cdx_dir"
echo "SHIPGATE_SPDX_SCHEMA=$spdx"
