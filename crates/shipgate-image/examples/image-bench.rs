//! Benchmark driver for scripts/bench-image.sh.
//!
//! `image-bench build <rootfs.tar> <layout-dir> [SRC=PREFIX=CREATED_BY ...]`:
//! writes a multi-layer gzip OCI layout from the debootstrap rootfs and host
//! trees (a Python site-packages, node_modules, jars, Go toolchain binaries),
//! plus one extra layer per `SRC=PREFIX=CREATED_BY` argument (the directory
//! `SRC` added under `PREFIX`; scripts/bench-image.sh uses them for the 2 GB
//! image).
//! `image-bench scan <image> <cache-dir>`: scans and prints a summary.
//! `IMAGE_BENCH_THREADS=N` sets the number of layers analysed at once
//! (default: one per CPU), to see what a runner with more CPUs would hold.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use shipgate_image::testsupport::{self, Compression, Entry, Image, Layer};
use shipgate_image::{ScanOptions, scan_image};

// The allocator the `shipgate` binary ships with, so figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("build") if args.len() >= 4 => {
            build(Path::new(&args[2]), Path::new(&args[3]), &args[4..]);
        }
        Some("scan") if args.len() == 4 => scan(&args[2], Path::new(&args[3])),
        _ => {
            eprintln!(
                "usage: image-bench build <rootfs.tar> <layout> [SRC=PREFIX=CREATED_BY ...] | scan <image> <cache-dir>"
            );
            std::process::exit(2);
        }
    }
}

fn tree(src: &str, prefix: &str) -> Option<Entry> {
    let p = PathBuf::from(src);
    if p.is_dir() {
        Some(Entry::Tree {
            src: p,
            prefix: prefix.into(),
        })
    } else {
        eprintln!("note: {src} missing, layer skipped");
        None
    }
}

fn build(rootfs: &Path, layout: &Path, extra_layers: &[String]) {
    let mut layers = vec![Layer::new(
        "debootstrap --variant=minbase bookworm",
        Compression::Gzip,
        vec![Entry::TarFile {
            src: rootfs.to_path_buf(),
        }],
    )];
    let extra = [
        (
            "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages",
            "opt/venv/lib/python3.11/site-packages",
            "RUN pip install -r requirements.txt",
        ),
        ("/usr/lib/node_modules", "app/node_modules", "RUN npm ci"),
        (
            "/usr/share/java",
            "opt/app/lib",
            "COPY lib/*.jar /opt/app/lib/",
        ),
        (
            "/usr/local/go/bin",
            "usr/local/go/bin",
            "COPY --from=golang /usr/local/go/bin",
        ),
        (
            "/usr/local/go/pkg/tool",
            "usr/local/go/pkg/tool",
            "COPY --from=golang /usr/local/go/pkg/tool",
        ),
    ];
    for (src, prefix, created_by) in extra {
        if let Some(e) = tree(src, prefix) {
            layers.push(Layer::new(created_by, Compression::Gzip, vec![e]));
        }
    }
    for spec in extra_layers {
        let mut parts = spec.splitn(3, '=');
        let (Some(src), Some(prefix), Some(created_by)) =
            (parts.next(), parts.next(), parts.next())
        else {
            eprintln!("bad layer spec {spec:?}: expected SRC=PREFIX=CREATED_BY");
            std::process::exit(2);
        };
        if let Some(e) = tree(src, prefix) {
            layers.push(Layer::new(created_by, Compression::Gzip, vec![e]));
        }
    }
    let started = Instant::now();
    let digest =
        testsupport::write_oci_layout(&Image::new(layers), layout, "bench").expect("write layout");
    eprintln!(
        "built {} ({digest}) in {:.1}s",
        layout.display(),
        started.elapsed().as_secs_f64()
    );
}

fn scan(image: &str, cache: &Path) {
    let threads = std::env::var("IMAGE_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let opts = ScanOptions {
        cache_dir: Some(cache.to_path_buf()),
        threads,
        ..ScanOptions::default()
    };
    let started = Instant::now();
    let result = scan_image(image, &opts).expect("scan");
    let elapsed = started.elapsed();
    let mut by_kind = std::collections::BTreeMap::new();
    for p in &result.packages {
        *by_kind.entry(format!("{:?}", p.kind)).or_insert(0usize) += 1;
    }
    println!("packages: {} {by_kind:?}", result.packages.len());
    println!("issues: {}  notes: {:?}", result.issues.len(), result.notes);
    println!("scan time: {:.1} ms", elapsed.as_secs_f64() * 1000.0);
}
