//! The scan driver: input detection, layer analysis (cached, in parallel),
//! merge.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::budget::ReadBudget;
use crate::cache::LayerCache;
use crate::error::{Error, Result};
use crate::layer::{Limits, analyze_layer_shared};
use crate::merge::merge;
use crate::model::{ImageScan, Issue, LayerAnalysis, LayerRef};
use crate::source::local::{self, BlobStore, LayoutDir, Resolved, TarStore};
use crate::source::oci::Platform;
use crate::source::registry::{self, RegistryOptions};
use crate::source::rootfs;

/// Default bound of the layer cache.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Platform picked from multi-platform indexes (default `linux/amd64`).
    pub platform: Platform,
    /// Cache directory (layer analyses under `image-layers/`, registry
    /// downloads under `image-pull/` while a scan runs). `None`: no cache,
    /// downloads go to the system temp dir.
    pub cache_dir: Option<PathBuf>,
    /// Bound of the layer cache in bytes.
    pub cache_max_bytes: u64,
    /// Registry access.
    pub registry: RegistryOptions,
    /// Safety limits per layer.
    pub limits: Limits,
    /// Layers analysed at once (0 = number of CPUs).
    pub threads: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            platform: Platform::default(),
            cache_dir: None,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            registry: RegistryOptions::default(),
            limits: Limits::default(),
            threads: 0,
        }
    }
}

/// The kinds of input accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A directory with `oci-layout` and `index.json`.
    OciLayout,
    /// A tar of an OCI layout.
    OciArchive,
    /// A tar written by `docker save`.
    DockerArchive,
    /// A directory holding a root filesystem.
    Rootfs,
    /// A registry reference.
    Registry,
}

/// Tells what `input` is: an existing path is inspected, anything else must
/// parse as a registry reference.
pub fn detect(input: &str) -> Result<InputKind> {
    let path = Path::new(input);
    match std::fs::metadata(path) {
        Ok(md) if md.is_dir() => {
            if path.join("oci-layout").is_file() && path.join("index.json").is_file() {
                Ok(InputKind::OciLayout)
            } else {
                Ok(InputKind::Rootfs)
            }
        }
        Ok(_) => {
            let store = TarStore::index(path)?;
            archive_kind(input, &store)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match registry::parse_reference(input) {
                Some(_) => Ok(InputKind::Registry),
                None => Err(Error::UnknownInput {
                    input: input.into(),
                    reason: "no such file or directory, and not a valid image reference".into(),
                }),
            }
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

fn archive_kind(input: &str, store: &TarStore) -> Result<InputKind> {
    if store.contains("manifest.json") {
        Ok(InputKind::DockerArchive)
    } else if store.contains("index.json") {
        Ok(InputKind::OciArchive)
    } else {
        Err(Error::UnknownInput {
            input: input.into(),
            reason:
                "a tar archive without manifest.json (docker-archive) or index.json (OCI archive)"
                    .into(),
        })
    }
}

/// Scans an image: the packages of its final filesystem, with the layer and
/// file each came from.
///
/// Errors: the input cannot be read as an image at all (unknown input,
/// unreadable index/manifest/config, no matching platform, registry refusal).
/// Problems confined to one layer or one file (corrupt layer, digest
/// mismatch, unparsable database) are returned in [`ImageScan::issues`] and
/// the rest of the image is still scanned.
pub fn scan_image(input: &str, opts: &ScanOptions) -> Result<ImageScan> {
    let kind = detect(input)?;
    let cache = opts
        .cache_dir
        .as_deref()
        .map(|d| LayerCache::new(d, opts.cache_max_bytes));
    let mut scan = ImageScan {
        target: input.to_string(),
        ..Default::default()
    };
    match kind {
        InputKind::Rootfs => {
            let analysis = rootfs::analyze_rootfs(Path::new(input), &opts.limits)?;
            let layer = LayerRef {
                index: 0,
                digest: None,
                diff_id: None,
                created_by: None,
            };
            scan.layers.push(layer.clone());
            finish(&mut scan, vec![(layer, analysis)]);
        }
        InputKind::OciLayout => {
            let store = LayoutDir {
                root: PathBuf::from(input),
            };
            let resolved = local::resolve_layout(&store, &opts.platform)?;
            run(&mut scan, &store, resolved, cache.as_ref(), opts);
        }
        InputKind::OciArchive | InputKind::DockerArchive => {
            let store = TarStore::index(Path::new(input))?;
            let resolved = if kind == InputKind::OciArchive {
                local::resolve_layout(&store, &opts.platform)?
            } else {
                local::resolve_docker_archive(&store)?
            };
            run(&mut scan, &store, resolved, cache.as_ref(), opts);
        }
        InputKind::Registry => {
            let reference =
                registry::parse_reference(input).ok_or_else(|| Error::UnknownInput {
                    input: input.into(),
                    reason: "not a valid image reference".into(),
                })?;
            let work = match &opts.cache_dir {
                Some(d) => d.join("image-pull"),
                None => std::env::temp_dir(),
            };
            let need = |digest: &str| cache.as_ref().is_none_or(|c| c.get(digest).is_none());
            let image = registry::pull(
                input,
                &reference,
                &opts.platform,
                &opts.registry,
                &work,
                &need,
            )?;
            let resolved = image.resolved;
            run(&mut scan, &image.store, resolved, cache.as_ref(), opts);
        }
    }
    Ok(scan)
}

fn run(
    scan: &mut ImageScan,
    store: &dyn BlobStore,
    resolved: Resolved,
    cache: Option<&LayerCache>,
    opts: &ScanOptions,
) {
    scan.manifest_digest = resolved.manifest_digest;
    scan.platform = resolved.platform;
    scan.notes.extend(resolved.notes);
    let plans = resolved.layers;
    scan.layers = plans.iter().map(|p| p.layer.clone()).collect();

    let mut results: Vec<Option<std::result::Result<LayerAnalysis, Error>>> =
        vec![None; plans.len()]
            .into_iter()
            .map(|_: Option<()>| None)
            .collect();
    let mut todo = Vec::new();
    let mut hits = 0usize;
    for (i, plan) in plans.iter().enumerate() {
        match (cache, &plan.cache_key) {
            (Some(c), Some(key)) => match c.get(key) {
                Some(a) => {
                    hits += 1;
                    results[i] = Some(Ok(a));
                }
                None => todo.push(i),
            },
            _ => todo.push(i),
        }
    }
    if cache.is_some() && !plans.is_empty() {
        scan.notes.push(format!(
            "layer cache: {hits} of {} layers already analysed",
            plans.len()
        ));
    }

    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    }
    .clamp(1, todo.len().max(1));
    // One budget for the file contents all workers hold at once.
    let budget = ReadBudget::new(opts.limits.max_file_bytes);
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, std::result::Result<LayerAnalysis, Error>)>> =
        Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = todo.get(k) else { break };
                    let plan = &plans[i];
                    let label = plan
                        .layer
                        .digest
                        .clone()
                        .unwrap_or_else(|| store.location(&plan.blob));
                    let result = store.open(&plan.blob).and_then(|reader| {
                        analyze_layer_shared(reader, &plan.expected, &label, &opts.limits, &budget)
                    });
                    // A cache that cannot be written only costs time next run.
                    if let (Ok(analysis), Some(c), Some(key)) = (&result, cache, &plan.cache_key)
                        && let Err(e) = c.put(key, analysis)
                        && let Ok(mut d) = done.lock()
                    {
                        d.push((usize::MAX, Err(e)));
                    }
                    if let Ok(mut d) = done.lock() {
                        d.push((i, result));
                    }
                }
            });
        }
    });
    let done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    for (i, result) in done {
        match results.get_mut(i) {
            Some(slot) => *slot = Some(result),
            None => {
                if let Err(e) = result {
                    scan.notes.push(format!("warning: {e}"));
                }
            }
        }
    }
    let mut analysed: Vec<(LayerRef, LayerAnalysis)> = Vec::new();
    for (plan, result) in plans.iter().zip(results) {
        match result {
            Some(Ok(a)) => analysed.push((plan.layer.clone(), a)),
            Some(Err(e)) => scan.issues.push(Issue {
                path: None,
                layer: plan.layer.digest.clone(),
                message: format!("{e}; the layer's content is missing from the results"),
            }),
            None => scan.issues.push(Issue {
                path: None,
                layer: plan.layer.digest.clone(),
                message: "internal: layer not analysed".into(),
            }),
        }
    }
    finish(scan, analysed);
}

fn finish(scan: &mut ImageScan, layers: Vec<(LayerRef, LayerAnalysis)>) {
    let merged = merge(layers);
    scan.os = merged.os;
    scan.packages = merged.packages;
    scan.issues.extend(merged.issues);
    scan.notes.extend(merged.notes);
}
