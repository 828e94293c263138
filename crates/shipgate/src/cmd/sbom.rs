//! `shipgate sbom`: the inventory of a directory as CycloneDX 1.6 or SPDX 2.3 JSON.

use std::path::Path;

use anyhow::Context;
use shipgate_sbom::{SbomInput, SbomOptions, write_cyclonedx, write_spdx};

use crate::cli::{SbomArgs, SbomFormat};
use crate::output::write_atomically;

/// Run `shipgate sbom`. Parse errors are printed and make the exit code 2; the SBOM is still
/// written with everything that did parse, so nothing that could be read is lost.
pub fn run(args: SbomArgs) -> anyhow::Result<i32> {
    let path = Path::new(&args.target);
    let is_image = !path.is_dir()
        || shipgate_image::detect(&args.target)
            .is_ok_and(|k| k != shipgate_image::InputKind::Rootfs || path.join("etc").is_dir());
    if is_image && !(path.is_dir() && has_lockfiles(path)) {
        let scan = super::image::read_image(&args.target, &args.image_opts)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut code = 0;
        for i in &scan.issues {
            let at = i
                .path
                .as_deref()
                .or(i.layer.as_deref())
                .unwrap_or(&args.target);
            eprintln!("error: {at}: {}", i.message);
            code = 2;
        }
        write_sbom(
            &super::image::sbom_input(&scan),
            args.format,
            args.output.as_deref(),
        )?;
        return Ok(code);
    }
    let inventory = super::deps::inventory(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut code = 0;
    for e in inventory.errors() {
        eprintln!("error: {e}");
        code = 2;
    }
    let name = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| args.target.clone());
    let input = SbomInput::from_inventory(&name, &inventory);
    write_sbom(&input, args.format, args.output.as_deref())?;
    Ok(code)
}

/// Write an SBOM in the requested format to a file or standard output.
pub fn write_sbom(
    input: &SbomInput,
    format: SbomFormat,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let opts = SbomOptions::new();
    let mut buf = Vec::new();
    match format {
        SbomFormat::Cyclonedx => write_cyclonedx(&mut buf, input, &opts)?,
        SbomFormat::Spdx => write_spdx(&mut buf, input, &opts)?,
    }
    match output {
        Some(p) => {
            write_atomically(p, &buf).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&buf)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// A directory with lockfiles at its top is a project, not a root filesystem.
fn has_lockfiles(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            let p = e.path();
            p.is_file()
                && shipgate_deps::parse_file(dir, &p, &shipgate_deps::WalkOptions::default())
                    .is_some()
        })
    })
}
