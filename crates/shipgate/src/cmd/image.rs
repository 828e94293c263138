//! `shipgate scan image` and the image half of `shipgate sbom`.

use shipgate_image::{ImageScan, MatchOptions, ScanOptions, match_scan, scan_image};
use shipgate_report::{ScanError, ScanOutput};
use shipgate_sbom::{Component, ComponentType, SbomInput};

use crate::cli::{ImageArgs, ScanImageArgs};
use crate::env;
use crate::output::{ScanContext, finish};

/// Scan options from the flags.
pub fn scan_options(a: &ImageArgs) -> Result<ScanOptions, ScanError> {
    let platform = a
        .platform
        .parse()
        .map_err(|e| ScanError::new(format!("--platform {}: {e}", a.platform)))?;
    let mut o = ScanOptions {
        platform,
        ..ScanOptions::default()
    };
    o.registry.insecure_loopback = a.insecure_registry;
    if !a.no_cache {
        o.cache_dir = Some(env::cache_dir());
    }
    Ok(o)
}

/// Read the image: packages, layers, OS, problems.
pub fn read_image(image: &str, a: &ImageArgs) -> Result<ImageScan, ScanError> {
    let opts = scan_options(a)?;
    scan_image(image, &opts)
        .map_err(|e| ScanError::at(image.to_string(), None, None, e.to_string()))
}

/// Run `shipgate scan image`.
pub fn run(args: ScanImageArgs) -> anyhow::Result<i32> {
    let cwd = std::path::PathBuf::from(".");
    let ctx = ScanContext::new(&args.report, &cwd);
    let mut out = ScanOutput::default();
    match read_image(&args.image, &args.image_opts) {
        Err(e) => out.errors.push(e),
        Ok(scan) => match super::deps::open_db(&args.db, &ctx.config) {
            Err(e) => {
                out.errors.push(e);
                out.notes.extend(scan.notes.clone());
            }
            Ok((db, note)) => {
                out.notes.extend(note);
                let opts = MatchOptions {
                    ignore_unfixed: args.ignore_unfixed || ctx.config.file.deps.ignore_unfixed,
                };
                out.merge(match_scan(&scan, &db, &opts));
                let vex = super::deps::load_vex(&args.vex, &ctx.config, &mut out.errors);
                shipgate_deps::scan::apply_vex(&mut out.findings, &vex);
                out.notes.push(format!(
                    "{} package(s) in {} layer(s){}",
                    scan.packages.len(),
                    scan.layers.len(),
                    scan.os
                        .as_ref()
                        .map(|o| format!(
                            ", OS {}",
                            o.pretty_name.clone().unwrap_or_else(|| o.id.clone())
                        ))
                        .unwrap_or_default()
                ));
            }
        },
    }
    finish("image", &args.image, &args.report, ctx, out)
}

/// The SBOM input of an image: the image as subject, its OS and every package as components.
pub fn sbom_input(scan: &ImageScan) -> SbomInput {
    let mut subject = Component::library(&scan.target, "", "");
    subject.id = format!("shipgate:image:{}", scan.target);
    subject.kind = ComponentType::Container;
    subject.purl = None;
    if let Some(d) = &scan.manifest_digest {
        subject.version = d.clone();
    }
    let mut components = Vec::new();
    if let Some(os) = &scan.os {
        let mut c = Component::library(&os.id, os.version_id.as_deref().unwrap_or(""), "");
        c.id = format!(
            "shipgate:os:{}:{}",
            os.id,
            os.version_id.as_deref().unwrap_or("")
        );
        c.kind = ComponentType::OperatingSystem;
        c.purl = None;
        components.push(c);
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &scan.packages {
        if !seen.insert(p.purl.clone()) {
            continue;
        }
        let mut c = Component::library(&p.name, &p.version, &p.purl);
        c.properties.push(("shipgate:path".into(), p.path.clone()));
        if let Some(d) = &p.layer.digest {
            c.properties.push(("shipgate:layer".into(), d.clone()));
        }
        components.push(c);
    }
    components.sort_by(|a, b| a.id.cmp(&b.id));
    SbomInput {
        subject,
        components,
        relationships: Vec::new(),
    }
}
