//! A real worker node for the test control plane, so that pods and Jobs actually run.
//!
//! [`Node::start`] starts, next to a [`ControlPlane`]:
//!
//! * a [`Registry`] the node pulls from, with a busybox step image pushed to it
//!   ([`Node::busybox_image`]);
//! * containerd (CRI plugin, runc, overlayfs, the CNI `bridge` + `host-local` plugins) with its
//!   own root, state, runc root and socket in the node's temp dir; the sandbox image is a
//!   busybox "pause" ([`oci::PAUSE_ENTRYPOINT`]) imported with `ctr`, since no registry that
//!   serves `registry.k8s.io/pause` is reachable; a `hosts.toml` makes the plain-HTTP test
//!   registry pullable;
//! * kube-controller-manager with the controllers Jobs need (`job`, `ttl-after-finished`,
//!   `garbage-collector`, `pod-garbage-collector`, `node-lifecycle` — the last removes the
//!   `not-ready` taint) and kube-scheduler, so pods are scheduled as on any cluster;
//! * the kubelet (client certificate `system:node:<name>` in `system:nodes`, authorised by the
//!   API server's Node authorizer; serving certificate from the cluster CA, which the API
//!   server verifies for logs and exec), cgroupfs driver, no per-QoS cgroups (cgroup v1 hosts
//!   nest the test process's cgroups where the kubelet cannot manage them), swap allowed.
//!
//! It waits until the node reports `Ready`. Cleanup: [`Node`]'s drop stops the processes and
//! then removes containers (`runc delete --force`), shims and mounts left in its directory; a
//! watchdog does the same when the test binary exits without dropping it (statics).
//!
//! Caveats: `restrict_oom_score_adj` is on (without CAP_SYS_RESOURCE runc cannot lower the
//! score to the kubelet's -998: "failed to update /proc/self/oom_score_adj: Permission
//! denied"). Needs root, `containerd`, `runc`, `containernetworking-plugins`, `busybox-static`
//! and `skopeo` (see `scripts/test-control-plane.sh deps`); the bridge CNI does not enforce
//! NetworkPolicy; the kube-controller-manager's client certificate is in `system:masters`
//! (instead of per-controller service accounts, which would need the token controller).

use std::net::{IpAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::{
    ControlPlane, ManagedProcess, Registry, TestEnvError, find_bin, in_ci, io_err, oci, process,
    shared_control_plane, start_timeout, wait_until, write,
};

/// The runc binary (Debian's `runc` package).
const RUNC: &str = "/usr/sbin/runc";

/// The sandbox image name containerd is configured with (imported, never pulled).
pub const PAUSE_IMAGE: &str = "shipgate.test/pause:1";

/// Removes what containerd leaves behind when it goes: containers (by runc root), shims (by
/// their pid files), mounts under the node directory, then the directory. `$1` is the test
/// process to wait for (empty: run now), `$2` the node directory, `$3` the CNI bridge. The
/// pods' network namespaces are found in runc's state before the containers are deleted.
const CLEANUP_SCRIPT: &str = r#"p=$1; d=$2; br=$3
if [ -n "$p" ]; then
  while kill -0 "$p" 2>/dev/null; do sleep 0.5; done
  sleep 3
fi
netns=$(cat "$d"/runc/*/*/state.json 2>/dev/null | grep -o '/var/run/netns/cni-[0-9a-f-]*' | sort -u)
for r in "$d"/runc/*; do
  [ -d "$r" ] || continue
  for id in $(runc --root "$r" list -q 2>/dev/null); do
    runc --root "$r" kill "$id" KILL 2>/dev/null
    runc --root "$r" delete --force "$id" 2>/dev/null
  done
done
for f in $(find "$d/containerd-state" -name shim.pid 2>/dev/null); do kill -KILL "$(cat "$f")" 2>/dev/null; done
grep -o " $d/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
for n in $netns; do ip netns del "${n##*/}" 2>/dev/null; done
[ -n "$br" ] && ip link del "$br" 2>/dev/null
rm -rf -- "$d"
"#;

/// A kubelet with containerd, the controllers and the scheduler, registered with a
/// [`ControlPlane`]. Drop order (fields): kubelet, scheduler, controller manager, containerd.
#[derive(Debug)]
pub struct Node {
    kubelet: ManagedProcess,
    scheduler: ManagedProcess,
    controller_manager: ManagedProcess,
    containerd: ManagedProcess,
    registry: Registry,
    watchdog: Option<Child>,
    name: String,
    busybox: String,
    bridge: String,
    dir: PathBuf,
}

fn node_ip() -> Result<IpAddr, TestEnvError> {
    // The kubelet refuses a loopback node IP; the address of the default route is what it
    // would pick itself. Connecting a UDP socket sends nothing.
    let s = UdpSocket::bind("0.0.0.0:0").map_err(io_err("binding a UDP socket"))?;
    s.connect("192.0.2.1:9")
        .or_else(|_| s.connect("10.255.255.1:9"))
        .map_err(io_err("finding the host's address (no default route?)"))?;
    Ok(s.local_addr()
        .map_err(io_err("reading the host's address"))?
        .ip())
}

fn run_ok(what: &str, cmd: &mut Command) -> Result<(), TestEnvError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running {what}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TestEnvError::Exited {
            what: what.into(),
            status: out.status.to_string(),
            log: "(stderr)".into(),
            tail: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

impl Node {
    /// Starts the node for `cp` and blocks until it is `Ready` (typically 10-30 s).
    pub fn start(cp: &ControlPlane) -> Result<Self, TestEnvError> {
        let kubelet_bin = find_bin("kubelet")?;
        let kcm_bin = find_bin("kube-controller-manager")?;
        let sched_bin = find_bin("kube-scheduler")?;
        for (name, path) in [
            ("containerd", "/usr/bin/containerd"),
            ("runc", RUNC),
            ("ctr", "/usr/bin/ctr"),
            ("CNI bridge plugin", "/usr/lib/cni/bridge"),
            ("skopeo", "/usr/bin/skopeo"),
        ] {
            if !Path::new(path).exists() {
                return Err(TestEnvError::BinaryMissing {
                    name: format!("{name} (scripts/test-control-plane.sh deps)"),
                    path: path.into(),
                });
            }
        }
        let tag = (std::process::id() % 200) + 20;
        let bridge = format!("sgbr{tag}");
        // Short and fixed-depth: unix socket paths are limited to 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("sg-node-")
            .tempdir()
            .map_err(io_err("creating a temp dir for the node"))?
            .keep();
        let d = dir.as_path();
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(CLEANUP_SCRIPT)
            .arg("shipgate-testenv-node-watchdog")
            .arg(std::process::id().to_string())
            .arg(d)
            .arg(&bridge)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(io_err("starting the node watchdog (sh)"))?;
        let mut partial = Partial {
            dir: dir.clone(),
            bridge: bridge.clone(),
            watchdog: Some(watchdog),
        };

        let registry = Registry::start()?;
        let ip = node_ip()?;
        let name = format!("shipgate-test-node-{}", std::process::id());
        let ca = cp.ca();
        write(&d.join("ca.crt"), ca.cert_pem())?;

        // containerd
        let sock = d.join("containerd.sock");
        for sub in ["cni", "certs.d", "cni-ipam", "runc"] {
            std::fs::create_dir_all(d.join(sub)).map_err(io_err("creating node directories"))?;
        }
        let host_dir = d.join("certs.d").join(registry.host());
        std::fs::create_dir_all(&host_dir).map_err(io_err("creating certs.d"))?;
        write(
            &host_dir.join("hosts.toml"),
            &format!(
                "server = \"{url}\"\n\n[host.\"{url}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
                url = registry.url()
            ),
        )?;
        write(
            &d.join("cni/10-shipgate.conflist"),
            &format!(
                r#"{{"cniVersion": "0.4.0", "name": "shipgate-test", "plugins": [
  {{"type": "bridge", "bridge": "{bridge}", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {{"type": "host-local", "dataDir": "{ipam}", "ranges": [[{{"subnet": "10.{tag}.0.0/24"}}]]}}}}
]}}
"#,
                ipam = d.join("cni-ipam").display()
            ),
        )?;
        write(
            &d.join("containerd.toml"),
            &format!(
                r#"version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # The kubelet asks for oom_score_adj -998 (sandboxes) and below; lowering it needs
  # CAP_SYS_RESOURCE, which test VMs and containers often lack: clamp to containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc}"
        BinaryName = "{runc_bin}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{certs}"
"#,
                root = d.join("containerd-root").display(),
                state = d.join("containerd-state").display(),
                sock = sock.display(),
                runc = d.join("runc").display(),
                runc_bin = RUNC,
                cni = d.join("cni").display(),
                certs = d.join("certs.d").display(),
            ),
        )?;
        let mut cmd = Command::new("/usr/bin/containerd");
        cmd.arg("--config").arg(d.join("containerd.toml"));
        let mut containerd =
            ManagedProcess::spawn("containerd", cmd, &d.join("containerd.log"), None)?;
        wait_until(&mut containerd, "containerd", start_timeout(), || {
            Command::new("/usr/bin/ctr")
                .arg("--address")
                .arg(&sock)
                .arg("version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })?;
        let pause = d.join("pause.tar");
        oci::busybox_archive(&pause, PAUSE_IMAGE, oci::PAUSE_ENTRYPOINT)?;
        run_ok(
            "ctr images import (sandbox image)",
            Command::new("/usr/bin/ctr")
                .arg("--address")
                .arg(&sock)
                .args(["-n", "k8s.io", "images", "import"])
                .arg(&pause),
        )?;
        let busybox = format!("{}/shipgate-test/busybox:1", registry.host());
        let bb = d.join("busybox.tar");
        oci::busybox_archive(&bb, &busybox, &["/bin/sh"])?;
        run_ok(
            "skopeo copy (busybox step image)",
            Command::new("/usr/bin/skopeo")
                .args(["copy", "--quiet", "--dest-tls-verify=false"])
                .arg(format!("oci-archive:{}:1", bb.display()))
                .arg(format!("docker://{busybox}")),
        )?;

        // Controllers and scheduler.
        let kcm_kubeconfig = d.join("kcm.kubeconfig");
        write(
            &kcm_kubeconfig,
            &cp.kubeconfig_for("system:kube-controller-manager", &["system:masters"])?,
        )?;
        let mut cmd = Command::new(&kcm_bin);
        cmd.arg(format!("--kubeconfig={}", kcm_kubeconfig.display()))
            .arg("--leader-elect=false")
            .arg("--secure-port=0")
            .arg("--controllers=job-controller,ttl-after-finished-controller,garbage-collector-controller,pod-garbage-collector-controller,node-lifecycle-controller")
            .arg("--concurrent-job-syncs=5")
            .arg("--v=1");
        let mut controller_manager = ManagedProcess::spawn(
            "kube-controller-manager",
            cmd,
            &d.join("kube-controller-manager.log"),
            None,
        )?;
        let sched_kubeconfig = d.join("scheduler.kubeconfig");
        write(
            &sched_kubeconfig,
            &cp.kubeconfig_for("system:kube-scheduler", &[])?,
        )?;
        let mut cmd = Command::new(&sched_bin);
        cmd.arg(format!("--kubeconfig={}", sched_kubeconfig.display()))
            .arg(format!(
                "--authentication-kubeconfig={}",
                sched_kubeconfig.display()
            ))
            .arg(format!(
                "--authorization-kubeconfig={}",
                sched_kubeconfig.display()
            ))
            .arg("--leader-elect=false")
            .arg("--secure-port=0")
            .arg("--v=1");
        let scheduler =
            ManagedProcess::spawn("kube-scheduler", cmd, &d.join("kube-scheduler.log"), None)?;

        // Kubelet.
        let serving = ca.server_cert("kubelet", &[ip], &[name.as_str()])?;
        write(&d.join("kubelet.crt"), &serving.cert_pem)?;
        write(&d.join("kubelet.key"), &serving.key_pem)?;
        let kubelet_kubeconfig = d.join("kubelet.kubeconfig");
        write(
            &kubelet_kubeconfig,
            &cp.kubeconfig_for(&format!("system:node:{name}"), &["system:nodes"])?,
        )?;
        let port = process::free_port()?;
        let healthz = process::free_port()?;
        write(
            &d.join("kubelet.yaml"),
            &format!(
                r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: "{ip}"
port: {port}
readOnlyPort: 0
healthzBindAddress: "127.0.0.1"
healthzPort: {healthz}
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: false}}
  x509: {{clientCAFile: "{ca}"}}
authorization: {{mode: AlwaysAllow}}
tlsCertFile: "{crt}"
tlsPrivateKeyFile: "{key}"
containerRuntimeEndpoint: "unix://{sock}"
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
failCgroupV1: false
podLogsDir: "{logs}"
resolvConf: ""
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"}}
nodeStatusUpdateFrequency: 2s
syncFrequency: 5s
fileCheckFrequency: 5s
makeIPTablesUtilChains: false
"#,
                ca = d.join("ca.crt").display(),
                crt = d.join("kubelet.crt").display(),
                key = d.join("kubelet.key").display(),
                sock = sock.display(),
                logs = d.join("pod-logs").display(),
            ),
        )?;
        let mut cmd = Command::new(&kubelet_bin);
        cmd.arg(format!("--config={}", d.join("kubelet.yaml").display()))
            .arg(format!("--kubeconfig={}", kubelet_kubeconfig.display()))
            .arg(format!("--root-dir={}", d.join("kubelet").display()))
            .arg(format!("--cert-dir={}", d.join("kubelet-certs").display()))
            .arg(format!("--hostname-override={name}"))
            .arg(format!("--node-ip={ip}"))
            .arg("--v=1");
        let mut kubelet = ManagedProcess::spawn("kubelet", cmd, &d.join("kubelet.log"), None)?;

        let probe = NodeProbe::start(cp.kubeconfig_yaml(), &name)?;
        wait_until(
            &mut kubelet,
            "kubelet (node Ready)",
            start_timeout(),
            || controller_manager.exited().is_none() && probe.ready(),
        )
        .map_err(|e| annotate(e, &[&controller_manager, &scheduler, &containerd]))?;
        let watchdog = partial.watchdog.take();
        Ok(Node {
            kubelet,
            scheduler,
            controller_manager,
            containerd,
            registry,
            watchdog,
            name,
            busybox,
            bridge,
            dir,
        })
    }

    /// The node name (`shipgate-test-node-<pid>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry the node pulls from (plain HTTP on 127.0.0.1).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A busybox image in [`Node::registry`] (`sh`, `tar`, `head`, `sleep`, ... in `/bin`).
    pub fn busybox_image(&self) -> &str {
        &self.busybox
    }

    /// The node's scratch directory (logs of containerd, kubelet, controllers, scheduler).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The kubelet process (for log inspection).
    pub fn kubelet(&self) -> &ManagedProcess {
        &self.kubelet
    }
}

/// Logs of the other node processes appended to a start-up error.
fn annotate(e: TestEnvError, others: &[&ManagedProcess]) -> TestEnvError {
    match e {
        TestEnvError::Timeout {
            what,
            secs,
            log,
            mut tail,
        } => {
            for p in others {
                tail.push_str(&format!("\n--- {} ---\n{}", p.name(), p.log_tail(1500)));
            }
            TestEnvError::Timeout {
                what,
                secs,
                log,
                tail,
            }
        }
        other => other,
    }
}

async fn node_ready(client: &kube::Client, name: &str) -> bool {
    let nodes: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(client.clone());
    let Ok(Some(node)) = nodes.get_opt(name).await else {
        return false;
    };
    let ready = node
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let tainted = node
        .spec
        .and_then(|s| s.taints)
        .unwrap_or_default()
        .iter()
        .any(|t| t.key.starts_with("node.kubernetes.io/"));
    ready && !tainted
}

/// Polls the node's `Ready` condition (and the absence of `node.kubernetes.io/*` taints)
/// from a thread with its own runtime, so [`Node::start`] works inside or outside tokio.
struct NodeProbe {
    ready: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl NodeProbe {
    fn start(kubeconfig: &str, name: &str) -> Result<Self, TestEnvError> {
        let ready = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, yaml, name) = (
            ready.clone(),
            stop.clone(),
            kubeconfig.to_owned(),
            name.to_owned(),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io_err("creating a tokio runtime for the node probe"))?;
        std::thread::Builder::new()
            .name("testenv-node-ready".into())
            .spawn(move || {
                rt.block_on(async move {
                    let Ok(client) = crate::client_from_kubeconfig(&yaml).await else {
                        return;
                    };
                    while !s.load(Ordering::Relaxed) {
                        let ok = tokio::time::timeout(
                            Duration::from_secs(5),
                            node_ready(&client, &name),
                        )
                        .await
                        .unwrap_or(false);
                        r.store(ok, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                });
            })
            .map_err(io_err("spawning the node probe thread"))?;
        Ok(Self { ready, stop })
    }

    fn ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

impl Drop for NodeProbe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The node directory and its watchdog until [`Node`] owns them; cleans up a failed start.
struct Partial {
    dir: PathBuf,
    bridge: String,
    watchdog: Option<Child>,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(w) = self.watchdog.take() {
            cleanup(&self.dir, &self.bridge, w);
        }
    }
}

fn cleanup(dir: &Path, bridge: &str, mut watchdog: Child) {
    let _ = watchdog.kill();
    let _ = watchdog.wait();
    let _ = Command::new("sh")
        .arg("-c")
        .arg(CLEANUP_SCRIPT)
        .arg("shipgate-testenv-node-cleanup")
        .arg("")
        .arg(dir)
        .arg(bridge)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kubelet.stop(Duration::from_secs(5));
        self.scheduler.stop(Duration::from_secs(2));
        self.controller_manager.stop(Duration::from_secs(2));
        self.containerd.stop(Duration::from_secs(5));
        if let Some(w) = self.watchdog.take() {
            cleanup(&self.dir, &self.bridge, w);
        }
    }
}

static SHARED_NODE: OnceLock<Result<Node, String>> = OnceLock::new();

/// One node (on the [`shared_control_plane`]) per test binary, started on first use.
pub fn shared_node() -> Result<(&'static ControlPlane, &'static Node), String> {
    let cp = shared_control_plane()?;
    let node = SHARED_NODE
        .get_or_init(|| Node::start(cp).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)?;
    Ok((cp, node))
}

/// The shared control plane and node, or `None` with a note on stderr when they cannot start
/// outside CI (same policy as [`crate::control_plane_or_skip`]).
///
/// # Panics
/// When the node cannot start and `CI=true`.
#[allow(clippy::print_stderr)] // reason: telling the developer why a test was skipped is the point
pub fn node_or_skip(test: &str) -> Option<(&'static ControlPlane, &'static Node)> {
    match shared_node() {
        Ok(pair) => Some(pair),
        Err(e) if in_ci() => panic!("{test}: the test node is required in CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: test node unavailable: {e}");
            None
        }
    }
}
