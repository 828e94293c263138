//! The pipeline definition: the `pipeline:` section of `shipgate.yaml` or a whole
//! `.shipgate/pipeline.yaml`, read with positions, validated (unique names, known `needs`, no
//! cycle, outputs inside the workspace) and put in an order that respects `needs`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::{Error, Problem};

/// A validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file it was read from.
    pub file: PathBuf,
    /// Steps in an order where every step comes after the steps it needs.
    pub steps: Vec<Step>,
    /// Registry settings for image pushes and the steps that talk to registries.
    pub registry: RegistrySettings,
}

/// `registry:` of the pipeline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RegistrySettings {
    /// Allow plain HTTP to loopback registries (tests, local development).
    #[serde(default)]
    pub insecure_loopback: bool,
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Unique name.
    pub name: String,
    /// Line of the step in the file (1-based), for messages.
    pub line: u32,
    /// What it does.
    pub kind: StepKind,
    /// Steps that must pass first.
    pub needs: Vec<String>,
    /// Globs (relative to the workspace) whose files make up the cache key.
    pub inputs: Vec<String>,
    /// Directories (relative to the workspace) the step writes; nothing else is writable.
    pub outputs: Vec<PathBuf>,
    /// Whether the step may be skipped when its cache key was seen before.
    pub cache: bool,
    /// Network access inside the sandbox.
    pub network: bool,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Extra environment (the sandbox starts from an empty environment plus `PATH`, `HOME`).
    pub env: BTreeMap<String, String>,
    /// Resource limits.
    pub limits: ResourceLimits,
    /// Variables copied from the runner's environment (secrets such as `COSIGN_PASSWORD`
    /// stay out of the file).
    pub pass_env: Vec<String>,
    /// Extra host paths the step may write (e.g. a local bare repository it pushes to).
    pub writable: Vec<PathBuf>,
    /// For `run` steps: the container image whose file system is the step's root (the
    /// workspace is mounted at `/workspace`); `None` runs on the host's file system.
    pub image: Option<String>,
    /// Host paths under `/tmp` the step must see (the sandbox's `/tmp` is private; everything
    /// else on the host is visible read-only anyway), e.g. a key file.
    pub readable: Vec<PathBuf>,
}

/// Resource limits of a sandboxed step (applied with `prlimit`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ResourceLimits {
    /// Address-space limit, e.g. `2Gi`, `512Mi`.
    #[serde(default)]
    pub memory: Option<String>,
    /// CPU time limit in seconds.
    #[serde(default)]
    pub cpu_seconds: Option<u64>,
    /// Most open files.
    #[serde(default)]
    pub open_files: Option<u64>,
    /// Largest file the step may write, e.g. `1Gi`.
    #[serde(default)]
    pub file_size: Option<String>,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// A host command run with `sh -c` in the sandbox.
    Run(String),
    /// A built-in scan gate: `shipgate scan <scanner> <target>` in the sandbox.
    Gate {
        /// secrets | deps | sast | config | image.
        scanner: String,
        /// Path (or image reference) to scan.
        target: String,
        /// Gate threshold.
        fail_on: String,
    },
    /// Assemble an OCI image from a base and step outputs, optionally push it.
    BuildImage(ImageSpec),
    /// A shipgate command with side effects outside the workspace (sign, attest, promote):
    /// the arguments after `shipgate`, with `${...}` variables, never cached.
    Shipgate(Vec<String>),
}

/// `build-image:` of a step.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageSpec {
    /// `scratch` or a registry reference (tag or digest).
    #[serde(default = "scratch")]
    pub base: String,
    /// Layers, one per entry, in order.
    #[serde(default)]
    pub layers: Vec<LayerSpec>,
    /// Image entrypoint.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// Image command.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// Environment variables added to the base's.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory.
    #[serde(default)]
    pub workdir: Option<String>,
    /// User.
    #[serde(default)]
    pub user: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// OCI layout directory written (relative to the workspace); it is the step's output.
    pub output: PathBuf,
    /// Where to push (`host/repo:tag`); the run record keeps the digest.
    #[serde(default)]
    pub push: Option<String>,
}

fn scratch() -> String {
    "scratch".into()
}

/// One layer: a workspace directory or file copied to a path in the image.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    /// Source, relative to the workspace.
    pub from: PathBuf,
    /// Destination directory in the image (absolute).
    pub to: String,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    pipeline: Option<Spanned<RawPipeline>>,
    // The rest of shipgate.yaml belongs to other commands.
    #[serde(flatten)]
    _rest: HashMap<String, serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    steps: Vec<Spanned<RawStep>>,
    #[serde(default)]
    registry: RegistrySettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStep {
    name: Spanned<String>,
    #[serde(default)]
    run: Option<String>,
    #[serde(default)]
    gate: Option<Spanned<String>>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    fail_on: Option<String>,
    #[serde(default)]
    build_image: Option<ImageSpec>,
    #[serde(default)]
    shipgate: Option<Vec<String>>,
    #[serde(default)]
    needs: Vec<Spanned<String>>,
    #[serde(default)]
    inputs: Vec<String>,
    #[serde(default)]
    outputs: Vec<Spanned<PathBuf>>,
    #[serde(default)]
    cache: Option<bool>,
    #[serde(default)]
    network: Option<bool>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    limits: ResourceLimits,
    #[serde(default)]
    pass_env: Vec<String>,
    #[serde(default)]
    writable: Vec<PathBuf>,
    #[serde(default)]
    readable: Vec<PathBuf>,
    #[serde(default)]
    image: Option<String>,
}

/// The scanners a `gate:` step can name.
pub const GATES: &[&str] = &["secrets", "deps", "sast", "config", "image"];

/// Default step timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Reads a pipeline: `.shipgate/pipeline.yaml` holds the pipeline at its top level,
/// any other file (`shipgate.yaml`) holds it under `pipeline:`.
pub fn load(path: &Path) -> Result<Pipeline, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(path, &text)
}

/// Parses pipeline text read from `path` (see [`load`]).
pub fn parse(path: &Path, text: &str) -> Result<Pipeline, Error> {
    let standalone = path
        .file_name()
        .is_some_and(|n| n == "pipeline.yaml" || n == "pipeline.yml");
    let yaml_err = |e: serde_saphyr::Error| {
        let loc = e.location();
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        Error::Spec {
            path: path.to_path_buf(),
            problems: vec![Problem {
                line: loc.as_ref().map_or(0, |l| l.line() as u32),
                column: loc.as_ref().map_or(0, |l| l.column() as u32),
                message: first,
            }],
        }
    };
    let raw: Spanned<RawPipeline> = if standalone {
        serde_saphyr::from_str(text).map_err(yaml_err)?
    } else {
        let file: RawFile = serde_saphyr::from_str(text).map_err(yaml_err)?;
        file.pipeline.ok_or_else(|| Error::Spec {
            path: path.to_path_buf(),
            problems: vec![Problem {
                line: 0,
                column: 0,
                message: "no `pipeline:` section".into(),
            }],
        })?
    };
    build(path, raw.value)
}

fn problem<T>(s: &Spanned<T>, message: String) -> Problem {
    Problem {
        line: s.referenced.line() as u32,
        column: s.referenced.column() as u32,
        message,
    }
}

fn build(path: &Path, raw: RawPipeline) -> Result<Pipeline, Error> {
    let mut problems = Vec::new();
    let mut steps = Vec::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for s in raw.steps {
        let line = s.referenced.line() as u32;
        let r = s.value;
        let name = r.name.value.clone();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push(problem(
                &r.name,
                format!("step name {name:?}: use letters, digits, `-` and `_`"),
            ));
        }
        if let Some(first) = seen.insert(name.clone(), line) {
            problems.push(problem(
                &r.name,
                format!("step {name:?} is defined twice (first at line {first})"),
            ));
        }
        let kinds = [
            r.run.is_some(),
            r.gate.is_some(),
            r.build_image.is_some(),
            r.shipgate.is_some(),
        ]
        .iter()
        .filter(|k| **k)
        .count();
        if kinds != 1 {
            problems.push(problem(
                &r.name,
                format!("step {name:?} must have exactly one of `run`, `gate`, `build-image`, `shipgate`"),
            ));
            continue;
        }
        let mut outputs: Vec<PathBuf> = Vec::new();
        for o in &r.outputs {
            match clean_relative(&o.value) {
                Some(p) => outputs.push(p),
                None => problems.push(problem(
                    o,
                    format!(
                        "output {:?} must be a relative path inside the workspace",
                        o.value
                    ),
                )),
            }
        }
        if r.image.is_some() && r.run.is_none() {
            problems.push(problem(
                &r.name,
                format!("step {name:?}: `image` applies to `run` steps only"),
            ));
        }
        let mut network = r.network.unwrap_or(false);
        let mut cache = r.cache.unwrap_or(true);
        let kind = if let Some(cmd) = r.run {
            StepKind::Run(cmd)
        } else if let Some(g) = &r.gate {
            if !GATES.contains(&g.value.as_str()) {
                problems.push(problem(
                    g,
                    format!(
                        "unknown gate {:?}; expected one of {}",
                        g.value,
                        GATES.join(", ")
                    ),
                ));
            }
            StepKind::Gate {
                scanner: g.value.clone(),
                target: r.target.clone().unwrap_or_else(|| ".".into()),
                fail_on: r.fail_on.clone().unwrap_or_else(|| "high".into()),
            }
        } else if let Some(img) = r.build_image {
            match clean_relative(&img.output) {
                Some(p) => outputs = vec![p],
                None => problems.push(problem(
                    &r.name,
                    format!(
                        "build-image output {:?} must be a relative path inside the workspace",
                        img.output
                    ),
                )),
            }
            for l in &img.layers {
                if clean_relative(&l.from).is_none() {
                    problems.push(problem(
                        &r.name,
                        format!("layer source {:?} must be inside the workspace", l.from),
                    ));
                }
                if !l.to.starts_with('/') {
                    problems.push(problem(
                        &r.name,
                        format!("layer destination {:?} must be absolute", l.to),
                    ));
                }
            }
            // A push changes the registry: the step is re-run unless its output is cached
            // *and* nothing changed, which the cache key covers (the push target is in it).
            StepKind::BuildImage(img)
        } else {
            let args = r.shipgate.unwrap_or_default();
            if args.is_empty() {
                problems.push(problem(
                    &r.name,
                    "`shipgate:` needs the command's arguments".into(),
                ));
            }
            // Signing, attesting and promoting talk to registries and git remotes and have
            // effects there: never cached, network on.
            network = r.network.unwrap_or(true);
            cache = false;
            StepKind::Shipgate(args)
        };
        let timeout = match &r.timeout {
            None => DEFAULT_TIMEOUT,
            Some(t) => match parse_duration(&t.value) {
                Ok(d) if !d.is_zero() => d,
                Ok(_) => {
                    problems.push(problem(t, "timeout must be more than zero".into()));
                    DEFAULT_TIMEOUT
                }
                Err(e) => {
                    problems.push(problem(t, e));
                    DEFAULT_TIMEOUT
                }
            },
        };
        for (what, v) in [
            ("memory", &r.limits.memory),
            ("file-size", &r.limits.file_size),
        ] {
            if let Some(v) = v
                && parse_size(v).is_none()
            {
                problems.push(problem(
                    &r.name,
                    format!("limits.{what} {v:?} is not a size (e.g. 512Mi, 2Gi)"),
                ));
            }
        }
        steps.push((
            r.needs
                .iter()
                .map(|n| (n.value.clone(), problem(n, String::new())))
                .collect::<Vec<_>>(),
            Step {
                name,
                line,
                kind,
                needs: r.needs.iter().map(|n| n.value.clone()).collect(),
                inputs: r.inputs,
                outputs,
                cache,
                network,
                timeout,
                env: r.env,
                limits: r.limits,
                pass_env: r.pass_env,
                writable: r.writable,
                readable: r.readable,
                image: r.image,
            },
        ));
    }
    for (needs, step) in &steps {
        for (n, at) in needs {
            if !seen.contains_key(n) {
                problems.push(Problem {
                    message: format!("step {:?} needs {n:?}, which is not a step", step.name),
                    ..at.clone()
                });
            }
        }
    }
    let steps: Vec<Step> = steps.into_iter().map(|(_, s)| s).collect();
    if problems.is_empty() {
        match order(&steps) {
            Ok(ordered) => {
                return Ok(Pipeline {
                    file: path.to_path_buf(),
                    steps: ordered,
                    registry: raw.registry,
                });
            }
            Err(cycle) => problems.push(Problem {
                line: steps
                    .iter()
                    .find(|s| s.name == cycle[0])
                    .map_or(0, |s| s.line),
                column: 0,
                message: format!("`needs` form a cycle: {}", cycle.join(" -> ")),
            }),
        }
    }
    Err(Error::Spec {
        path: path.to_path_buf(),
        problems,
    })
}

/// Kahn's algorithm, keeping file order among ready steps; on a cycle, returns one cycle's
/// step names (first repeated at the end).
fn order(steps: &[Step]) -> Result<Vec<Step>, Vec<String>> {
    let index: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let mut indegree: Vec<usize> = steps.iter().map(|s| s.needs.len()).collect();
    let mut done = vec![false; steps.len()];
    let mut out = Vec::with_capacity(steps.len());
    while let Some(i) = (0..steps.len()).find(|&i| !done[i] && indegree[i] == 0) {
        done[i] = true;
        out.push(steps[i].clone());
        for (j, s) in steps.iter().enumerate() {
            if !done[j] {
                indegree[j] -= s.needs.iter().filter(|n| **n == steps[i].name).count();
            }
        }
    }
    if out.len() == steps.len() {
        return Ok(out);
    }
    // Walk `needs` from any remaining step until a step repeats.
    let start = (0..steps.len()).find(|&i| !done[i]).unwrap_or(0);
    let mut path = vec![start];
    loop {
        let cur = *path.last().unwrap_or(&start);
        let next = steps[cur]
            .needs
            .iter()
            .filter_map(|n| index.get(n.as_str()).copied())
            .find(|&j| !done[j])
            .unwrap_or(start);
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut cycle: Vec<String> =
                path[pos..].iter().map(|&i| steps[i].name.clone()).collect();
            cycle.push(steps[next].name.clone());
            return Err(cycle);
        }
        path.push(next);
    }
}

/// A relative path with no `..`, no root and no `.shipgate` or `.git` component.
fn clean_relative(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => {
                if out.as_os_str().is_empty() && (n == ".git" || n == ".shipgate") {
                    return None;
                }
                out.push(n)
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// `90s`, `10m`, `1h`, plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&t[..i], t[i..].trim()),
        None => (t, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("timeout {s:?} is not a duration (e.g. 90s, 10m, 1h)"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(format!(
                "timeout {s:?}: unknown unit {unit:?} (use s, m or h)"
            ));
        }
    };
    Ok(Duration::from_secs(n.saturating_mul(mult)))
}

/// `512Mi`, `2Gi`, `1G`, `4096` (bytes).
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let i = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..i].parse().ok()?;
    let mult: u64 = match &t[i..] {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "K" | "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Pipeline, Error> {
        parse(Path::new("shipgate.yaml"), text)
    }

    #[test]
    fn orders_by_needs_and_keeps_file_order() {
        let pl = p("pipeline:\n  steps:\n    - {name: c, run: 'true', needs: [b]}\n    - {name: a, run: 'true'}\n    - {name: b, run: 'true', needs: [a]}\n    - {name: d, run: 'true'}\n").unwrap();
        let names: Vec<_> = pl.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }

    #[test]
    fn cycle_is_named_with_position() {
        let e = p("pipeline:\n  steps:\n    - {name: a, run: x, needs: [c]}\n    - {name: b, run: x, needs: [a]}\n    - {name: c, run: x, needs: [b]}\n").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("cycle: a -> c -> b -> a"), "{s}");
        assert!(s.contains("shipgate.yaml:3:"), "{s}");
    }

    #[test]
    fn every_problem_is_reported() {
        let e = p("pipeline:\n  steps:\n    - {name: a, run: x, needs: [zz]}\n    - {name: a, run: x}\n    - {name: g, gate: nope}\n    - {name: o, run: x, outputs: [../up]}\n    - {name: t, run: x, timeout: 5y}\n    - {name: k}\n").unwrap_err();
        let Error::Spec { problems, .. } = &e else {
            panic!("{e}")
        };
        let text = e.to_string();
        assert_eq!(problems.len(), 6, "{text}");
        for needle in [
            "needs \"zz\"",
            "defined twice",
            "unknown gate",
            "../up",
            "unknown unit",
            "exactly one",
        ] {
            assert!(text.contains(needle), "{needle}: {text}");
        }
    }

    #[test]
    fn yaml_errors_have_positions() {
        let e = p("pipeline:\n  steps:\n    - name: a\n      run: [x\n").unwrap_err();
        assert!(e.to_string().starts_with("shipgate.yaml:"), "{e}");
        let e = p("pipeline:\n  steps:\n    - name: a\n      runn: x\n").unwrap_err();
        assert!(e.to_string().contains("runn"), "{e}");
    }

    #[test]
    fn hostile_input_never_panics() {
        let seed = b"pipeline:\n  steps:\n    - {name: a, run: x, needs: [b], outputs: [o], timeout: 5s, limits: {memory: 1Gi}}\n    - name: b\n      build-image: {layers: [{from: o, to: /x}], output: img}\n".to_vec();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..400 {
            let mut input = seed.clone();
            for _ in 0..(next() % 6) {
                let i = (next() % input.len() as u64) as usize;
                input[i] = (next() & 0xff) as u8;
            }
            if round % 25 == 0 {
                input = "- [".repeat(10_000).into_bytes();
            }
            crate::fuzz_spec(&input);
        }
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("2Gi"), Some(2 << 30));
        assert_eq!(parse_size("10"), Some(10));
        assert_eq!(parse_size("1Xi"), None);
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert!(parse_duration("m").is_err());
    }
}
