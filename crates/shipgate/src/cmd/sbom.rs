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
