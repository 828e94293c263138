//! Rendering an application's path at a commit into Kubernetes objects.
//!
//! Three renderers, chosen by the application (or [`detect`]ed from the directory):
//!
//! * [`Renderer::Directory`]: the `*.yaml`, `*.yml` and `*.json` files under the path, in
//!   name order (optionally recursive), parsed by shipgate-policy's loader so positions and
//!   errors are exactly those of `scan config`;
//! * [`Renderer::Kustomize`]: `kustomize build` of the path;
//! * [`Renderer::Helm`]: `helm template` of the chart at the path, with values files and
//!   inline values; each rendered document is attributed to its template (`# Source:`).
//!
//! The real binaries run as child processes the way Argo CD's repo server runs them: a
//! cleared environment (PATH plus a private HOME and Helm cache), the checkout as the working
//! directory, no stdin, and [`RenderLimits`] on time and output (see [`crate::process`]).
//! Kustomize's load restrictor stays at its default (files inside the kustomization root),
//! and exec plugins are not enabled. Files that resolve outside the checkout (symlinks, `..`
//! in values paths) are refused.
//!
//! Errors never stop the other files: [`Rendered`] carries every object that parsed and every
//! error, each naming the file (and line and column for YAML).

use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use shipgate_policy::{K8sObject, PolicyError, load_bytes};

use crate::GitopsError;
use crate::process::{Limits, run_bounded};

/// How an application's path becomes objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Renderer {
    /// Plain manifests.
    Directory {
        /// Include subdirectories.
        recurse: bool,
    },
    /// `kustomize build`.
    Kustomize,
    /// `helm template`.
    Helm {
        /// Release name (empty: the application name).
        release_name: String,
        /// Values files relative to the chart directory.
        values_files: Vec<String>,
        /// Inline values, applied after the files.
        values: Option<Value>,
        /// `--namespace` (the destination namespace).
        namespace: Option<String>,
        /// Render `crds/` too.
        include_crds: bool,
        /// `--kube-version` (default: helm's built-in).
        kube_version: Option<String>,
    },
}

/// Where the external renderers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// The `kustomize` binary.
    pub kustomize: PathBuf,
    /// The `helm` binary.
    pub helm: PathBuf,
}

impl Tools {
    /// `SHIPGATE_KUSTOMIZE` / `SHIPGATE_HELM` when set, else the names looked up on PATH (a
    /// missing tool is reported when an application needs it).
    pub fn discover() -> Tools {
        let pick = |var: &str, name: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| which(name))
                .unwrap_or_else(|| PathBuf::from(name))
        };
        Tools {
            kustomize: pick("SHIPGATE_KUSTOMIZE", "kustomize"),
            helm: pick("SHIPGATE_HELM", "helm"),
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Bounds on one render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderLimits {
    /// Wall time of one `kustomize build` or `helm template`.
    pub timeout: Duration,
    /// Most bytes of rendered output (or of one plain manifest file).
    pub max_output: u64,
    /// Most files read from a plain directory.
    pub max_files: usize,
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits {
            timeout: Duration::from_secs(60),
            max_output: 64 << 20,
            max_files: 10_000,
        }
    }
}

/// What a render produced: every object that parsed and every error.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The objects, in render order; `path` names the repository file (or template).
    pub objects: Vec<K8sObject>,
    /// Every problem, each naming the file.
    pub errors: Vec<GitopsError>,
}

/// The renderer a directory asks for: a kustomization makes it Kustomize, a `Chart.yaml`
/// makes it Helm, anything else is a plain (non-recursive) directory.
pub fn detect(dir: &Path) -> Renderer {
    if ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|f| dir.join(f).is_file())
    {
        Renderer::Kustomize
    } else if dir.join("Chart.yaml").is_file() {
        Renderer::Helm {
            release_name: String::new(),
            values_files: Vec::new(),
            values: None,
            namespace: None,
            include_crds: false,
            kube_version: None,
        }
    } else {
        Renderer::Directory { recurse: false }
    }
}

/// Renders `path` (relative to `checkout`) for application `app`.
pub fn render(
    app: &str,
    checkout: &Path,
    path: &str,
    renderer: &Renderer,
    tools: &Tools,
    limits: &RenderLimits,
) -> Rendered {
    let mut out = Rendered::default();
    let rel = normalise(path);
    let label = display_rel(&rel);
    let err = |message: String| GitopsError::Render {
        app: app.to_string(),
        path: label.clone(),
        message,
    };
    let Some(rel) = rel else {
        out.errors
            .push(err("the path must stay inside the repository".into()));
        return out;
    };
    let dir = checkout.join(&rel);
    if let Err(message) = inside(checkout, &dir) {
        out.errors.push(err(message));
        return out;
    }
    if !dir.is_dir() {
        out.errors
            .push(err("no such directory at this commit".into()));
        return out;
    }
    match renderer {
        Renderer::Directory { recurse } => {
            directory(app, checkout, &rel, *recurse, limits, &mut out);
        }
        Renderer::Kustomize => {
            let mut cmd = tool_command(&tools.kustomize, checkout);
            cmd.arg("build").arg(&rel);
            match run(cmd, limits) {
                Ok(stdout) => parse_output(
                    app,
                    &stdout,
                    &format!("{} (kustomize build)", display(&rel)),
                    &mut out,
                ),
                Err(message) => out.errors.push(err(message)),
            }
        }
        Renderer::Helm {
            release_name,
            values_files,
            values,
            namespace,
            include_crds,
            kube_version,
        } => {
            let tmp = match tempfile::Builder::new().prefix("shipgate-helm-").tempdir() {
                Ok(t) => t,
                Err(e) => {
                    out.errors
                        .push(err(format!("cannot create a temporary directory: {e}")));
                    return out;
                }
            };
            let mut cmd = tool_command(&tools.helm, checkout);
            for (var, sub) in [
                ("HELM_CACHE_HOME", "cache"),
                ("HELM_CONFIG_HOME", "config"),
                ("HELM_DATA_HOME", "data"),
            ] {
                cmd.env(var, tmp.path().join(sub));
            }
            let release = if release_name.is_empty() {
                app
            } else {
                release_name.as_str()
            };
            cmd.arg("template").arg(release).arg(&rel);
            if let Some(ns) = namespace {
                cmd.arg("--namespace").arg(ns);
            }
            if *include_crds {
                cmd.arg("--include-crds");
            }
            if let Some(v) = kube_version {
                cmd.arg("--kube-version").arg(v);
            }
            for f in values_files {
                let Some(vf) = normalise(&format!("{}/{f}", rel.display())) else {
                    out.errors.push(err(format!(
                        "values file {f} leaves the repository; values files must be inside it"
                    )));
                    return out;
                };
                if let Err(message) = inside(checkout, &checkout.join(&vf)) {
                    out.errors.push(err(format!("values file {f}: {message}")));
                    return out;
                }
                cmd.arg("--values").arg(vf);
            }
            if let Some(v) = values {
                let file = tmp.path().join("inline-values.json");
                if let Err(e) = std::fs::write(&file, v.to_string()) {
                    out.errors
                        .push(err(format!("cannot write the inline values: {e}")));
                    return out;
                }
                cmd.arg("--values").arg(file);
            }
            match run(cmd, limits) {
                Ok(stdout) => helm_output(app, &stdout, &rel, &mut out),
                Err(message) => out.errors.push(err(message)),
            }
        }
    }
    out
}

/// A renderer command: cleared environment, private HOME, the checkout as working directory.
fn tool_command(program: &Path, checkout: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().current_dir(checkout);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    // Neither tool needs a real HOME; the checkout's parent is private to the cache.
    cmd.env("HOME", checkout.parent().unwrap_or(checkout));
    cmd
}

fn run(cmd: Command, limits: &RenderLimits) -> Result<Vec<u8>, String> {
    let bounds = Limits {
        timeout: limits.timeout,
        max_stdout: limits.max_output,
        max_stderr: 1 << 20,
    };
    let out = run_bounded(cmd, &bounds).map_err(|e| e.to_string())?;
    if !out.status.success() {
        let text = out.stderr_text();
        // The tools print the failing file in their last lines; keep those.
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "{} ({})",
            if tail.is_empty() {
                "failed with no message".to_string()
            } else {
                tail.join("\n")
            },
            out.status
        ));
    }
    Ok(out.stdout)
}

fn parse_output(app: &str, bytes: &[u8], label: &str, out: &mut Rendered) {
    let loaded = load_bytes(bytes, label);
    out.objects.extend(loaded.objects);
    out.errors
        .extend(loaded.errors.into_iter().map(|e| manifest_error(app, e)));
}

/// Splits `helm template` output at its `# Source:` markers so each object (and error) names
/// the template it came from.
fn helm_output(app: &str, bytes: &[u8], chart: &Path, out: &mut Rendered) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        parse_output(
            app,
            bytes,
            &format!("{} (helm template)", display(chart)),
            out,
        );
        return;
    };
    let mut chunks: Vec<(String, String)> = Vec::new();
    let mut current = String::new();
    let mut source = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            if !current.trim().is_empty() {
                chunks.push((std::mem::take(&mut source), std::mem::take(&mut current)));
            }
            current.clear();
            source.clear();
            continue;
        }
        if source.is_empty()
            && let Some(s) = line.strip_prefix("# Source: ")
        {
            source = s.trim().to_string();
        }
        current.push_str(line);
    }
    if !current.trim().is_empty() {
        chunks.push((source, current));
    }
    let parent = chart.parent().map(display).unwrap_or_default();
    for (src, chunk) in chunks {
        // `# Source: <chart name>/templates/x.yaml`: name the file in the repository.
        let file = match src.split_once('/') {
            Some((_, rest)) => {
                if parent.is_empty() || parent == "." {
                    format!("{}/{rest}", display(chart))
                } else {
                    format!("{parent}/{}/{rest}", chart_dir_name(chart))
                }
            }
            None => display(chart),
        };
        parse_output(
            app,
            chunk.as_bytes(),
            &format!("{file} (helm template)"),
            out,
        );
    }
}

fn chart_dir_name(chart: &Path) -> String {
    chart
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn manifest_error(app: &str, e: PolicyError) -> GitopsError {
    match e {
        PolicyError::Parse {
            path,
            line,
            column,
            message,
        } => GitopsError::Manifest {
            app: app.to_string(),
            path,
            line,
            column,
            message,
        },
        other => GitopsError::Render {
            app: app.to_string(),
            path: String::new(),
            message: other.to_string(),
        },
    }
}

fn directory(
    app: &str,
    checkout: &Path,
    rel: &Path,
    recurse: bool,
    limits: &RenderLimits,
    out: &mut Rendered,
) {
    let mut files = Vec::new();
    let mut stack = vec![rel.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(checkout.join(&d)) {
            Ok(e) => e,
            Err(e) => {
                out.errors.push(GitopsError::Render {
                    app: app.to_string(),
                    path: display(&d),
                    message: format!("cannot read directory: {e}"),
                });
                continue;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name_s = name.to_string_lossy();
            if name_s.starts_with('.') {
                continue;
            }
            let rel_path = d.join(&name);
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                if recurse {
                    stack.push(rel_path);
                }
                continue;
            }
            let lower = name_s.to_ascii_lowercase();
            if !(lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")) {
                continue;
            }
            if ft.is_symlink()
                && let Err(message) = inside(checkout, &checkout.join(&rel_path))
            {
                out.errors.push(GitopsError::Render {
                    app: app.to_string(),
                    path: display(&rel_path),
                    message,
                });
                continue;
            }
            files.push(rel_path);
        }
    }
    files.sort();
    if files.len() > limits.max_files {
        out.errors.push(GitopsError::Render {
            app: app.to_string(),
            path: display(rel),
            message: format!(
                "{} manifest files, more than the limit of {}",
                files.len(),
                limits.max_files
            ),
        });
        return;
    }
    for f in files {
        let label = display(&f);
        let full = checkout.join(&f);
        match std::fs::metadata(&full) {
            Ok(m) if m.len() > limits.max_output => {
                out.errors.push(GitopsError::Render {
                    app: app.to_string(),
                    path: label,
                    message: format!(
                        "{} bytes, more than the limit of {}",
                        m.len(),
                        limits.max_output
                    ),
                });
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                out.errors.push(GitopsError::Render {
                    app: app.to_string(),
                    path: label,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        }
        match std::fs::read(&full) {
            Ok(bytes) => parse_output(app, &bytes, &label, out),
            Err(e) => out.errors.push(GitopsError::Render {
                app: app.to_string(),
                path: label,
                message: format!("cannot read: {e}"),
            }),
        }
    }
}

/// `path` as a relative path without `.`/`..`/root components; `None` when it would leave the
/// repository. `""` and `"."` are the repository root.
fn normalise(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Prefix(_) => return None,
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    Some(out)
}

/// Err when `p` (which may be a symlink) resolves outside `root`.
fn inside(root: &Path, p: &Path) -> Result<(), String> {
    let Ok(root) = root.canonicalize() else {
        return Err("the checkout is not readable".into());
    };
    match p.canonicalize() {
        Ok(real) if real.starts_with(&root) => Ok(()),
        Ok(_) => Err("resolves outside the repository (symlink); refused".into()),
        // A missing file is reported by whoever reads it.
        Err(_) => Ok(()),
    }
}

/// Repository-relative path as users write it: `web.yaml`, not `./web.yaml`.
fn display(p: &Path) -> String {
    let clean: PathBuf = p
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if clean.as_os_str().is_empty() {
        ".".into()
    } else {
        clean.display().to_string()
    }
}

fn display_rel(p: &Option<PathBuf>) -> String {
    p.as_deref().map(display).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n";

    #[test]
    fn directory_renders_in_name_order_and_keeps_going_after_errors() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "app/b.yaml", &CM.replace("name: a", "name: b"));
        write(t.path(), "app/a.yml", CM);
        write(
            t.path(),
            "app/bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
        );
        write(t.path(), "app/README.md", "not yaml");
        write(
            t.path(),
            "app/sub/c.yaml",
            &CM.replace("name: a", "name: c"),
        );
        let r = render(
            "demo",
            t.path(),
            "app",
            &Renderer::Directory { recurse: false },
            &Tools::discover(),
            &RenderLimits::default(),
        );
        let names: Vec<&str> = r
            .objects
            .iter()
            .map(|o| o.value["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        let msg = r.errors[0].to_string();
        assert!(
            msg.contains("application demo") && msg.contains("app/bad.yaml:"),
            "{msg}"
        );

        let r = render(
            "demo",
            t.path(),
            "./app/",
            &Renderer::Directory { recurse: true },
            &Tools::discover(),
            &RenderLimits::default(),
        );
        assert_eq!(r.objects.len(), 3);
        assert_eq!(r.objects[2].path, "app/sub/c.yaml");
    }

    #[test]
    fn paths_and_symlinks_must_stay_inside_the_checkout() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret.yaml", CM);
        write(t.path(), "app/ok.yaml", CM);
        std::os::unix::fs::symlink(
            outside.path().join("secret.yaml"),
            t.path().join("app/x.yaml"),
        )
        .unwrap();
        let tools = Tools::discover();
        let limits = RenderLimits::default();
        let r = render(
            "demo",
            t.path(),
            "../x",
            &Renderer::Directory { recurse: false },
            &tools,
            &limits,
        );
        assert!(
            r.errors[0].to_string().contains("inside the repository"),
            "{:?}",
            r.errors
        );
        let r = render(
            "demo",
            t.path(),
            "app",
            &Renderer::Directory { recurse: false },
            &tools,
            &limits,
        );
        assert_eq!(r.objects.len(), 1);
        assert!(
            r.errors[0].to_string().contains("app/x.yaml"),
            "{:?}",
            r.errors
        );
        let r = render(
            "demo",
            t.path(),
            "nope",
            &Renderer::Directory { recurse: false },
            &tools,
            &limits,
        );
        assert!(
            r.errors[0].to_string().contains("no such directory"),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn size_limits_apply_to_plain_files() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "app/big.yaml", &CM.repeat(10));
        let limits = RenderLimits {
            max_output: 100,
            ..RenderLimits::default()
        };
        let r = render(
            "demo",
            t.path(),
            "app",
            &Renderer::Directory { recurse: false },
            &Tools::discover(),
            &limits,
        );
        assert!(r.objects.is_empty());
        assert!(
            r.errors[0].to_string().contains("more than the limit"),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn detect_picks_the_renderer() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "k/kustomization.yaml", "resources: []\n");
        write(
            t.path(),
            "h/Chart.yaml",
            "apiVersion: v2\nname: x\nversion: 0.1.0\n",
        );
        write(t.path(), "d/a.yaml", CM);
        assert_eq!(detect(&t.path().join("k")), Renderer::Kustomize);
        assert!(matches!(detect(&t.path().join("h")), Renderer::Helm { .. }));
        assert_eq!(
            detect(&t.path().join("d")),
            Renderer::Directory { recurse: false }
        );
    }

    #[test]
    fn helm_output_names_templates() {
        let mut out = Rendered::default();
        let text = format!(
            "---\n# Source: web/templates/cm.yaml\n{CM}---\n# Source: web/templates/bad.yaml\nkind: [\n"
        );
        helm_output("demo", text.as_bytes(), Path::new("charts/web"), &mut out);
        assert_eq!(out.objects.len(), 1);
        assert_eq!(
            out.objects[0].path,
            "charts/web/templates/cm.yaml (helm template)"
        );
        assert!(
            out.errors[0]
                .to_string()
                .contains("charts/web/templates/bad.yaml (helm template)"),
            "{:?}",
            out.errors
        );
    }
}
