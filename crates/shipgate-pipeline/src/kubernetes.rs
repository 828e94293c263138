//! The Kubernetes executor: a `run` step with an `image:` becomes a Job.
//!
//! Expected flow, per step:
//!
//! 1. The Job is created (labels `app.kubernetes.io/managed-by: shipgate`,
//!    `shipgate.dev/run`, `shipgate.dev/step`; `backoffLimit: 0`, `activeDeadlineSeconds` from
//!    the step's `timeout`, `ttlSecondsAfterFinished` as a backstop when the runner dies). Unless
//!    the step has `network: true`, a NetworkPolicy owned by the Job selects its pod and allows
//!    no ingress and no egress.
//! 2. The pod has two init containers and one container, all from the step image (which must
//!    provide `sh`, `tar` and `head`), all non-root (uid 65532), read-only root file system, no
//!    capabilities, no privilege escalation, seccomp `RuntimeDefault`, no service-account token:
//!    * `receive` waits until the runner has streamed the workspace into an `emptyDir`
//!      through the API server's `exec` (a tar of the workspace files, `.gitignore`-aware, plus
//!      the outputs of earlier steps; `head -c <size> | tar -x`, so the end of the stream does
//!      not depend on the exec protocol version);
//!    * `step` runs `sh -c <command>` in `/workspace`, with the workspace read-only and one
//!      writable `emptyDir` per output (and for `$SHIPGATE_STEP_ARTIFACTS`);
//!    * `hold` keeps the output volumes once the step has exited 0, so the runner can stream
//!      them out with `exec tar -c` into the local staging directories.
//! 3. The runner polls the pod: a non-zero exit of `step` is the step's exit code; a Job that
//!    fails with `DeadlineExceeded` is a timeout; an image that cannot be pulled is an error.
//!    The `step` container's log is copied into the step's log file.
//! 4. The Job is deleted with foreground propagation and the runner waits until it is gone
//!    (so its pod and NetworkPolicy are gone too).
//!
//! Guarantees: outputs land only in the staging directories; the runner commits them to the
//! workspace only when the step passed. Nothing else of the workspace changes.
//!
//! Caveats: inputs and outputs travel through the API server (like `kubectl cp`; streamed,
//! with a tar file on the runner's disk each way), so they are meant for sources and build
//! results, not for gigabytes. `limits.memory` becomes the
//! container's memory limit (and request); `cpu-seconds`, `open-files` and `file-size` have no
//! Kubernetes equivalent and are not enforced here. A NetworkPolicy is only as good as the
//! cluster's network plugin (plain `bridge` CNI ignores it).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, AttachParams, DeleteParams, ListParams, LogParams, PostParams};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where the Kubernetes executor runs Jobs.
#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// Kubeconfig file; `None` infers (`$KUBECONFIG`, `~/.kube/config`, in-cluster).
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context; `None` uses `current-context`.
    pub context: Option<String>,
    /// Namespace the Jobs are created in (it must exist).
    pub namespace: String,
}

/// Label every object of the executor carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "shipgate");
/// Label with the run id.
pub const RUN_LABEL: &str = "shipgate.dev/run";
/// Label with the step name.
pub const STEP_LABEL: &str = "shipgate.dev/step";
/// Seconds a finished Job is kept when the runner could not delete it.
pub const TTL_AFTER_FINISHED: i32 = 600;
/// The uid (and gid) the step runs as.
pub const STEP_UID: i64 = 65532;

/// One step to run as a Job.
#[derive(Debug)]
pub(crate) struct JobStep<'a> {
    pub run_id: &'a str,
    pub step: &'a str,
    pub image: &'a str,
    pub command: &'a str,
    pub env: &'a [(String, String)],
    /// Output directories relative to the workspace, in staging order.
    pub outputs: Vec<PathBuf>,
    pub network: bool,
    pub timeout: Duration,
    pub memory: Option<&'a str>,
    /// The workspace tar to upload.
    pub inputs: &'a Path,
    /// The staging directory: output `i` is extracted into `<staging>/<i>`.
    pub staging: &'a Path,
    pub log: &'a Path,
}

/// How the Job ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JobExit {
    /// The step's command exited with this code (0: outputs are staged).
    Exited(i32),
    /// `activeDeadlineSeconds` passed.
    TimedOut,
}

/// A DNS-1123 label from `text`: lower case, `[a-z0-9-]`, at most `max` characters.
fn dns_label(text: &str, max: usize) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(max);
    s.trim_matches('-').to_owned()
}

/// `sg-<step>-<hash of run id and step>`: unique per run and step, at most 52 characters
/// (the Job controller adds a pod suffix and a `controller-uid` label value under 63).
pub(crate) fn job_name(run_id: &str, step: &str) -> String {
    let h = hex::encode(Sha256::digest(format!("{run_id}\0{step}")));
    let step = dns_label(step, 36);
    if step.is_empty() {
        format!("sg-{}", &h[..12])
    } else {
        format!("sg-{step}-{}", &h[..12])
    }
}

fn labels(j: &JobStep<'_>, name: &str) -> serde_json::Value {
    serde_json::json!({
        MANAGED_BY.0: MANAGED_BY.1,
        RUN_LABEL: dns_label(j.run_id, 63),
        STEP_LABEL: dns_label(j.step, 63),
        "shipgate.dev/job": name,
    })
}

fn security_context() -> serde_json::Value {
    serde_json::json!({
        "runAsNonRoot": true,
        "runAsUser": STEP_UID,
        "runAsGroup": STEP_UID,
        "readOnlyRootFilesystem": true,
        "allowPrivilegeEscalation": false,
        "privileged": false,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

/// The Job object for `j`.
pub(crate) fn job_manifest(j: &JobStep<'_>, name: &str) -> Result<Job, String> {
    let labels = labels(j, name);
    let mut volumes = vec![
        serde_json::json!({"name": "workspace", "emptyDir": {}}),
        serde_json::json!({"name": "control", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}),
        serde_json::json!({"name": "tmp", "emptyDir": {}}),
    ];
    let mut step_mounts = vec![
        serde_json::json!({"name": "workspace", "mountPath": "/workspace", "readOnly": true}),
        serde_json::json!({"name": "tmp", "mountPath": "/tmp"}),
    ];
    let mut hold_mounts = Vec::new();
    for (i, out) in j.outputs.iter().enumerate() {
        let vol = format!("out-{i}");
        volumes.push(serde_json::json!({"name": vol, "emptyDir": {}}));
        step_mounts.push(serde_json::json!({
            "name": vol,
            "mountPath": format!("/workspace/{}", out.display()),
        }));
        hold_mounts.push(serde_json::json!({"name": vol, "mountPath": format!("/outputs/{i}")}));
    }
    let env: Vec<serde_json::Value> = j
        .env
        .iter()
        .map(|(k, v)| serde_json::json!({"name": k, "value": v}))
        .collect();
    let mut resources = serde_json::json!({});
    if let Some(m) = j.memory {
        resources = serde_json::json!({"limits": {"memory": m}, "requests": {"memory": m}});
    }
    // The output mount points must exist in the read-only workspace volume before `step`
    // starts: `receive` creates them after unpacking.
    let mkdirs: Vec<String> = j
        .outputs
        .iter()
        .map(|o| shell_quote(&format!("/workspace/{}", o.display())))
        .collect();
    let receive = format!(
        "until [ -f /shipgate/received ]; do sleep 0.2; done; mkdir -p {}",
        mkdirs.join(" ")
    );
    let deadline = i64::try_from(j.timeout.as_secs().max(1)).unwrap_or(i64::MAX);
    let job = serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "terminationGracePeriodSeconds": 5,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": STEP_UID,
                        "runAsGroup": STEP_UID,
                        "fsGroup": STEP_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "volumes": volumes,
                    "initContainers": [
                        {
                            "name": "receive",
                            "image": j.image,
                            "command": ["/bin/sh", "-c", receive],
                            "securityContext": security_context(),
                            "volumeMounts": [
                                {"name": "workspace", "mountPath": "/workspace"},
                                {"name": "control", "mountPath": "/shipgate"},
                            ],
                        },
                        {
                            "name": "step",
                            "image": j.image,
                            "command": ["/bin/sh", "-c", j.command],
                            "workingDir": "/workspace",
                            "env": env,
                            "resources": resources,
                            "securityContext": security_context(),
                            "volumeMounts": step_mounts,
                        },
                    ],
                    "containers": [{
                        "name": "hold",
                        "image": j.image,
                        "command": ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 3600 & wait $!; done"],
                        "securityContext": security_context(),
                        "volumeMounts": hold_mounts,
                    }],
                },
            },
        },
    });
    serde_json::from_value(job).map_err(|e| format!("building the Job: {e}"))
}

/// The deny-all NetworkPolicy for the Job's pod (owned by the Job).
pub(crate) fn network_policy(
    j: &JobStep<'_>,
    name: &str,
    owner: &Job,
) -> Result<NetworkPolicy, String> {
    let uid = owner.metadata.uid.clone().unwrap_or_default();
    serde_json::from_value(serde_json::json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "labels": labels(j, name),
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid,
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "podSelector": {"matchLabels": {"shipgate.dev/job": name}},
            "policyTypes": ["Ingress", "Egress"],
        },
    }))
    .map_err(|e| format!("building the NetworkPolicy: {e}"))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn kube_err(what: &str) -> impl FnOnce(kube::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Runs `j` as a Job on the cluster `opts` names; blocks until the Job is gone again.
pub(crate) fn run_job(opts: &KubeOptions, j: &JobStep<'_>) -> Result<JobExit, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("creating a tokio runtime: {e}"))?;
    rt.block_on(async {
        let client = shipgate_kube::client(&shipgate_kube::ClientOptions {
            kubeconfig: opts.kubeconfig.as_deref(),
            context: opts.context.as_deref(),
            allow_insecure_tls: false,
        })
        .await
        .map_err(|e| e.to_string())?;
        let name = job_name(j.run_id, j.step);
        let jobs: Api<Job> = Api::namespaced(client.clone(), &opts.namespace);
        let pods: Api<Pod> = Api::namespaced(client.clone(), &opts.namespace);
        let manifest = job_manifest(j, &name)?;
        let created = jobs
            .create(&PostParams::default(), &manifest)
            .await
            .map_err(kube_err("creating the Job"))?;
        let result = drive(&client, &opts.namespace, &jobs, &pods, j, &name, &created).await;
        let cleanup = delete_and_wait(&jobs, &pods, &name).await;
        let exit = result?;
        cleanup?;
        Ok(exit)
    })
}

async fn drive(
    client: &kube::Client,
    namespace: &str,
    jobs: &Api<Job>,
    pods: &Api<Pod>,
    j: &JobStep<'_>,
    name: &str,
    job: &Job,
) -> Result<JobExit, String> {
    if !j.network {
        let np: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
        np.create(&PostParams::default(), &network_policy(j, name, job)?)
            .await
            .map_err(kube_err("creating the NetworkPolicy"))?;
    }
    let selector = ListParams::default().labels(&format!("shipgate.dev/job={name}"));
    let mut uploaded = false;
    let mut log = std::fs::File::create(j.log).map_err(|e| format!("{}: {e}", j.log.display()))?;
    // The Job's deadline is authoritative; this one only catches a controller that never
    // reports it.
    let give_up = tokio::time::Instant::now() + j.timeout + Duration::from_secs(60);
    loop {
        let current = jobs.get(name).await.map_err(kube_err("reading the Job"))?;
        if let Some(reason) = failed_reason(&current) {
            let pod = pods
                .list(&selector)
                .await
                .ok()
                .and_then(|l| l.items.into_iter().next());
            if let Some(p) = &pod {
                copy_logs(pods, p, &mut log).await;
            }
            if reason == "DeadlineExceeded" {
                return Ok(JobExit::TimedOut);
            }
            if let Some(code) = pod.as_ref().and_then(|p| terminated(p, "step"))
                && code != 0
            {
                return Ok(JobExit::Exited(code));
            }
            return Err(format!("the Job failed: {reason}"));
        }
        if tokio::time::Instant::now() > give_up {
            return Ok(JobExit::TimedOut);
        }
        let list = pods
            .list(&selector)
            .await
            .map_err(kube_err("listing the Job's pods"))?;
        if let Some(pod) = list.items.into_iter().next() {
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            if let Some(msg) = stuck(&pod) {
                return Err(format!("pod {pod_name}: {msg}"));
            }
            if !uploaded && running(&pod, "receive") {
                upload(pods, &pod_name, j.inputs).await?;
                uploaded = true;
            }
            if let Some(code) = terminated(&pod, "step") {
                if code != 0 {
                    // Killed at the deadline, or failed by itself: the Job's condition
                    // (set before the controller kills the pod) tells which, next round.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    let again = jobs.get(name).await.map_err(kube_err("reading the Job"))?;
                    if failed_reason(&again).as_deref() == Some("DeadlineExceeded") {
                        continue;
                    }
                    copy_logs(pods, &pod, &mut log).await;
                    return Ok(JobExit::Exited(code));
                }
                if running(&pod, "hold") {
                    copy_logs(pods, &pod, &mut log).await;
                    download(pods, &pod_name, j).await?;
                    return Ok(JobExit::Exited(0));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The reason of a `Failed` condition, or of `FailureTarget` (which the Job controller sets
/// before it terminates the pods).
fn failed_reason(job: &Job) -> Option<String> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| (c.type_ == "Failed" || c.type_ == "FailureTarget") && c.status == "True")
        .map(|c| c.reason.clone().unwrap_or_else(|| "Failed".into()))
}

fn statuses(pod: &Pod) -> impl Iterator<Item = &k8s_openapi::api::core::v1::ContainerStatus> {
    let s = pod.status.as_ref();
    s.and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .chain(
            s.and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten(),
        )
}

fn terminated(pod: &Pod, container: &str) -> Option<i32> {
    statuses(pod)
        .find(|c| c.name == container)?
        .state
        .as_ref()?
        .terminated
        .as_ref()
        .map(|t| t.exit_code)
}

fn running(pod: &Pod, container: &str) -> bool {
    statuses(pod)
        .find(|c| c.name == container)
        .and_then(|c| c.state.as_ref())
        .is_some_and(|s| s.running.is_some())
}

/// A waiting reason that will not resolve by itself (bad image, bad container config).
fn stuck(pod: &Pod) -> Option<String> {
    statuses(pod).find_map(|c| {
        let w = c.state.as_ref()?.waiting.as_ref()?;
        let reason = w.reason.as_deref()?;
        matches!(
            reason,
            "ErrImagePull"
                | "ImagePullBackOff"
                | "InvalidImageName"
                | "CreateContainerConfigError"
                | "CreateContainerError"
                | "RunContainerError"
        )
        .then(|| {
            format!(
                "container {}: {reason}: {}",
                c.name,
                w.message.clone().unwrap_or_default()
            )
        })
    })
}

async fn copy_logs(pods: &Api<Pod>, pod: &Pod, log: &mut std::fs::File) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let lp = LogParams {
        container: Some("step".into()),
        ..Default::default()
    };
    match pods.logs(&name, &lp).await {
        Ok(text) => {
            let _ = log.write_all(text.as_bytes());
        }
        Err(e) => {
            let _ = writeln!(
                log,
                "[shipgate: could not read the step's log from pod {name}: {e}]"
            );
        }
    }
}

/// Streams the workspace tar into the `receive` container.
async fn upload(pods: &Api<Pod>, pod: &str, tar: &Path) -> Result<(), String> {
    let mut file = tokio::fs::File::open(tar)
        .await
        .map_err(|e| format!("{}: {e}", tar.display()))?;
    let size = file
        .metadata()
        .await
        .map_err(|e| format!("{}: {e}", tar.display()))?
        .len();
    let script = format!("head -c {size} | tar -x -C /workspace && touch /shipgate/received");
    let ap = AttachParams::default()
        .container("receive")
        .stdin(true)
        .stdout(false)
        .stderr(true);
    let mut proc = pods
        .exec(pod, ["/bin/sh", "-c", script.as_str()], &ap)
        .await
        .map_err(kube_err("exec into the receive container"))?;
    let mut stdin = proc.stdin().ok_or("exec: no stdin")?;
    let mut stderr = proc.stderr().ok_or("exec: no stderr")?;
    let status = proc.take_status().ok_or("exec: no status")?;
    let write = async move {
        tokio::io::copy(&mut file, &mut stdin).await?;
        stdin.flush().await?;
        Ok::<_, std::io::Error>(stdin)
    };
    let mut err = String::new();
    let (written, _) = tokio::join!(write, stderr.read_to_string(&mut err));
    let _stdin = written.map_err(|e| format!("sending the workspace: {e}"))?;
    let st = status.await;
    exec_ok("unpacking the workspace in the pod", st, &err)
}

fn exec_ok(
    what: &str,
    status: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>,
    stderr: &str,
) -> Result<(), String> {
    match status {
        Some(s) if s.status.as_deref() == Some("Success") => Ok(()),
        Some(s) => Err(format!(
            "{what}: {} {}",
            s.message.unwrap_or_default(),
            stderr.trim()
        )),
        None => Err(format!(
            "{what}: no exit status from exec; {}",
            stderr.trim()
        )),
    }
}

/// Streams the outputs out of the `hold` container into the staging directory.
async fn download(pods: &Api<Pod>, pod: &str, j: &JobStep<'_>) -> Result<(), String> {
    let dirs: Vec<String> = (0..j.outputs.len()).map(|i| i.to_string()).collect();
    if dirs.is_empty() {
        return Ok(());
    }
    let mut cmd = vec![
        "tar".to_owned(),
        "-c".into(),
        "-C".into(),
        "/outputs".into(),
    ];
    cmd.extend(dirs);
    let ap = AttachParams::default()
        .container("hold")
        .stdin(false)
        .stdout(true)
        .stderr(true);
    let mut proc = pods
        .exec(pod, cmd, &ap)
        .await
        .map_err(kube_err("exec into the hold container"))?;
    let mut stdout = proc.stdout().ok_or("exec: no stdout")?;
    let mut stderr = proc.stderr().ok_or("exec: no stderr")?;
    let status = proc.take_status().ok_or("exec: no status")?;
    let tar_path = j.staging.join("outputs.tar");
    let mut file = tokio::fs::File::create(&tar_path)
        .await
        .map_err(|e| format!("{}: {e}", tar_path.display()))?;
    let mut err = String::new();
    let (copied, _) = tokio::join!(
        tokio::io::copy(&mut stdout, &mut file),
        stderr.read_to_string(&mut err)
    );
    copied.map_err(|e| format!("receiving the outputs: {e}"))?;
    file.flush()
        .await
        .map_err(|e| format!("{}: {e}", tar_path.display()))?;
    drop(file);
    exec_ok("packing the outputs in the pod", status.await, &err)?;
    unpack_outputs(&tar_path, j.staging, j.outputs.len())?;
    let _ = std::fs::remove_file(&tar_path);
    Ok(())
}

/// Unpacks `<i>/...` entries into `<staging>/<i>/...`; anything else (absolute paths, `..`,
/// links pointing out, devices) is refused.
pub(crate) fn unpack_outputs(tar_path: &Path, staging: &Path, n: usize) -> Result<(), String> {
    let f = std::fs::File::open(tar_path).map_err(|e| format!("{}: {e}", tar_path.display()))?;
    let mut ar = tar::Archive::new(f);
    ar.set_preserve_permissions(false);
    ar.set_overwrite(true);
    let entries = ar
        .entries()
        .map_err(|e| format!("reading the outputs: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("reading the outputs: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("reading the outputs: {e}"))?
            .into_owned();
        let first = path
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .and_then(|s| s.parse::<usize>().ok());
        if first.is_none_or(|i| i >= n) {
            return Err(format!(
                "unexpected entry {} in the outputs",
                path.display()
            ));
        }
        match entry.header().entry_type() {
            tar::EntryType::Regular
            | tar::EntryType::Directory
            | tar::EntryType::Symlink
            | tar::EntryType::Link => {}
            t => {
                return Err(format!(
                    "{}: entry type {t:?} not allowed in outputs",
                    path.display()
                ));
            }
        }
        // `unpack_in` refuses `..` and absolute paths and does not write through symlinks
        // outside `staging`.
        let ok = entry
            .unpack_in(staging)
            .map_err(|e| format!("unpacking {}: {e}", path.display()))?;
        if !ok {
            return Err(format!("{}: outside the outputs", path.display()));
        }
    }
    Ok(())
}

/// Tar of `files` (relative to `root`) into `dest`, entries sorted, owner 65532, mtime 0.
pub(crate) fn pack_inputs(root: &Path, files: &[PathBuf], dest: &Path) -> Result<(), String> {
    let f = std::fs::File::create(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let mut b = tar::Builder::new(std::io::BufWriter::new(f));
    b.follow_symlinks(false);
    let mut sorted: Vec<&PathBuf> = files.iter().collect();
    sorted.sort();
    sorted.dedup();
    for rel in sorted {
        let abs = root.join(rel);
        let meta =
            std::fs::symlink_metadata(&abs).map_err(|e| format!("{}: {e}", abs.display()))?;
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(&meta, tar::HeaderMode::Deterministic);
        h.set_mtime(0);
        h.set_uid(STEP_UID as u64);
        h.set_gid(STEP_UID as u64);
        let r = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&abs).map_err(|e| format!("{}: {e}", abs.display()))?;
            b.append_link(&mut h, rel, target)
        } else if meta.is_file() {
            let file = std::fs::File::open(&abs).map_err(|e| format!("{}: {e}", abs.display()))?;
            b.append_data(&mut h, rel, file)
        } else {
            continue;
        };
        r.map_err(|e| format!("packing {}: {e}", rel.display()))?;
    }
    b.into_inner()
        .map_err(|e| format!("{}: {e}", dest.display()))?
        .flush()
        .map_err(|e| format!("{}: {e}", dest.display()))
}

async fn delete_and_wait(jobs: &Api<Job>, pods: &Api<Pod>, name: &str) -> Result<(), String> {
    match jobs.delete(name, &DeleteParams::foreground()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(format!("deleting Job {name}: {e}")),
    }
    let selector = ListParams::default().labels(&format!("shipgate.dev/job={name}"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let job_gone = matches!(jobs.get_opt(name).await, Ok(None));
        let pods_gone = pods.list(&selector).await.is_ok_and(|l| l.items.is_empty());
        if job_gone && pods_gone {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "Job {name} still present 90 s after deletion (is the garbage collector running?)"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Environment for the pod: the step's, with paths that point into the workspace rewritten to
/// `/workspace` and `HOME` in the writable `/tmp`.
pub(crate) fn pod_env(env: &[(String, String)], ws: &Path) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in env {
        let v = match Path::new(v).strip_prefix(ws) {
            Ok(rel) => Path::new("/workspace").join(rel).display().to_string(),
            Err(_) => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    out.insert("HOME".into(), "/tmp".into());
    out.insert(
        "PATH".into(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    );
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_dns_labels_unique_per_run_and_step() {
        let a = job_name("20261207T120000Z-abc", "Build_Thing");
        assert!(a.starts_with("sg-build-thing-"), "{a}");
        assert!(a.len() <= 52);
        assert_ne!(a, job_name("20261207T120001Z-abc", "Build_Thing"));
        let long = job_name("r", &"x".repeat(200));
        assert!(long.len() <= 52, "{long}");
        assert!(job_name("r", "---").starts_with("sg-"));
    }

    #[test]
    fn the_job_mounts_each_output_writable_over_a_read_only_workspace() {
        let env = vec![("A".to_owned(), "1".to_owned())];
        let j = JobStep {
            run_id: "r1",
            step: "build",
            image: "registry.example/tools:1",
            command: "make",
            env: &env,
            outputs: vec![
                PathBuf::from("out/bin"),
                PathBuf::from(".shipgate/artifacts/build"),
            ],
            network: false,
            timeout: Duration::from_secs(300),
            memory: Some("1Gi"),
            inputs: Path::new("/nonexistent"),
            staging: Path::new("/nonexistent"),
            log: Path::new("/nonexistent"),
        };
        let job = serde_json::to_value(job_manifest(&j, "sg-build-x").unwrap()).unwrap();
        let spec = &job["spec"];
        assert_eq!(spec["activeDeadlineSeconds"], 300);
        let pod = &spec["template"]["spec"];
        let step = &pod["initContainers"][1];
        assert_eq!(step["name"], "step");
        assert_eq!(step["command"][2], "make");
        let mounts: Vec<(String, bool)> = step["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["mountPath"].as_str().unwrap().to_owned(),
                    m["readOnly"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        assert_eq!(
            mounts,
            vec![
                ("/workspace".to_owned(), true),
                ("/tmp".to_owned(), false),
                ("/workspace/out/bin".to_owned(), false),
                ("/workspace/.shipgate/artifacts/build".to_owned(), false),
            ]
        );
        assert_eq!(step["resources"]["limits"]["memory"], "1Gi");
        // `receive` creates the mount points inside the workspace volume.
        let receive = pod["initContainers"][0]["command"][2].as_str().unwrap();
        assert!(
            receive
                .ends_with("mkdir -p '/workspace/out/bin' '/workspace/.shipgate/artifacts/build'"),
            "{receive}"
        );
        assert_eq!(
            pod["containers"][0]["volumeMounts"][1]["mountPath"],
            "/outputs/1"
        );
    }

    #[test]
    fn outputs_outside_their_slot_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let tar_path = dir.path().join("o.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&tar_path).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        b.append_data(&mut h, "1/x", &b"x"[..]).unwrap();
        b.finish().unwrap();
        drop(b);
        let err = unpack_outputs(&tar_path, dir.path(), 1).unwrap_err();
        assert!(err.contains("unexpected entry 1/x"), "{err}");
        unpack_outputs(&tar_path, dir.path(), 2).unwrap();
        assert_eq!(std::fs::read(dir.path().join("1/x")).unwrap(), b"x");
    }
}
