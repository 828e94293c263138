//! A root filesystem directory scanned as one layer. Symbolic links are
//! recorded, never followed, so a link pointing outside the directory cannot
//! make the scan read the host.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::extract::{self, Interest};
use crate::layer::Limits;
use crate::model::{FileEntry, FileResult, LayerAnalysis};

/// Walks `root` and analyses its files of interest.
pub(crate) fn analyze_rootfs(root: &Path, limits: &Limits) -> Result<LayerAnalysis> {
    let mut analysis = LayerAnalysis::default();
    let mut stack = vec![String::new()];
    fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        let mut children = match fs::read_dir(&dir) {
            Ok(rd) => rd.filter_map(|e| e.ok()).collect::<Vec<_>>(),
            Err(e) => {
                analysis
                    .problems
                    .push(format!("{rel}: cannot list directory: {e}"));
                continue;
            }
        };
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let name = child.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            analysis.entry_count += 1;
            if analysis.entry_count > limits.max_entries {
                return Err(Error::Limit {
                    layer: root.display().to_string(),
                    message: format!("more than {} files", limits.max_entries),
                });
            }
            let Ok(md) = fs::symlink_metadata(child.path()) else {
                continue;
            };
            let ft = md.file_type();
            if ft.is_dir() {
                stack.push(path);
                continue;
            }
            let executable = ft.is_file() && md.permissions().mode() & 0o111 != 0;
            let Some(interest) = extract::classify(&path, executable) else {
                continue;
            };
            if ft.is_symlink() {
                let target = fs::read_link(child.path())
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                analysis.entries.push(FileEntry {
                    path,
                    result: FileResult::Symlink { target },
                });
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            if md.len() > limits.max_file_bytes {
                if interest != Interest::Executable {
                    analysis.problems.push(format!(
                        "{path}: {} bytes, larger than the {} byte limit; not examined",
                        md.len(),
                        limits.max_file_bytes
                    ));
                }
                continue;
            }
            let mut file = match fs::File::open(child.path()) {
                Ok(f) => f,
                Err(e) => {
                    analysis.problems.push(format!("{path}: cannot read: {e}"));
                    continue;
                }
            };
            let mut data = Vec::new();
            if interest == Interest::Executable {
                let mut head = [0u8; 4];
                if file.read_exact(&mut head).is_err()
                    || !crate::lang::binary::looks_like_executable(&head)
                {
                    continue;
                }
                data.extend_from_slice(&head);
            }
            if let Err(e) = file.take(limits.max_file_bytes).read_to_end(&mut data) {
                analysis.problems.push(format!("{path}: cannot read: {e}"));
                continue;
            }
            analysis.uncompressed_bytes += data.len() as u64;
            let result = extract::analyze(&path, interest, &data);
            analysis.entries.push(FileEntry { path, result });
        }
    }
    Ok(analysis)
}
