//! Reading OSV records from files, folder trees and `all.zip` archives.
//!
//! Accepted inputs: `*.json` (one record, or an array of records), `*.yaml`
//! / `*.yml` (one record), `*.zip` (every `.json`/`.yaml` member, as in the
//! OSV export's `<Ecosystem>/all.zip`), and folders containing any of these
//! (recursively; hidden entries such as `.git` are skipped). Files are parsed
//! in parallel. A bad file or archive member yields an [`ImportError`] naming
//! it (with line and column when the parser knows them) and the rest is
//! still read.

use crate::error::{Error, ImportError, Result};
use crate::osv::OsvRecord;
use crate::zipread::ZipReader;
use rayon::prelude::*;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// Largest single record file or archive member accepted (uncompressed).
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// Files or members parsed together (in parallel) hold at most about this
/// many bytes of input, and at most [`BATCH_FILES`] of them: parsed records
/// are handed to the sink batch by batch, so memory stays bounded whatever
/// the size of an archive or folder.
const BATCH_BYTES: u64 = 32 << 20;
const BATCH_FILES: usize = 1024;

/// One record and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedRecord {
    /// The file, or `archive.zip!member` for archive members.
    pub origin: String,
    /// The record.
    pub record: OsvRecord,
}

/// Records read from some inputs, with the problems met on the way.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Successfully parsed records.
    pub records: Vec<LoadedRecord>,
    /// Problems with individual files or members.
    pub errors: Vec<ImportError>,
    /// Number of files and archive members looked at.
    pub files: usize,
}

/// Where parsed records go: lets large archives stream into the database
/// builder instead of being held in memory.
pub type Sink<'a> = dyn FnMut(LoadedRecord) + 'a;

/// Progress of a streaming read.
#[derive(Debug, Default)]
pub struct Visited {
    /// Problems with individual files or members.
    pub errors: Vec<ImportError>,
    /// Number of files and archive members looked at.
    pub files: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Yaml,
    Zip,
}

fn kind_of(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "json" => Some(Kind::Json),
        "yaml" | "yml" => Some(Kind::Yaml),
        "zip" => Some(Kind::Zip),
        _ => None,
    }
}

/// Parses one record file's bytes. `origin` names it in errors.
pub fn parse_bytes(origin: &str, bytes: &[u8], yaml: bool) -> Result<Vec<OsvRecord>, ImportError> {
    let records = if yaml {
        serde_saphyr::from_slice::<OsvRecord>(bytes)
            .map(|r| vec![r])
            .map_err(|e| {
                let loc = e.location();
                ImportError {
                    path: origin.to_owned(),
                    line: loc.map(|l| u32::try_from(l.line()).unwrap_or(u32::MAX)),
                    column: loc.map(|l| u32::try_from(l.column()).unwrap_or(u32::MAX)),
                    message: format!(
                        "not a valid OSV YAML record: {}",
                        first_line(&e.to_string())
                    ),
                }
            })?
    } else {
        let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
        let parsed = if start.is_some_and(|i| bytes[i] == b'[') {
            serde_json::from_slice::<Vec<OsvRecord>>(bytes)
        } else {
            serde_json::from_slice::<OsvRecord>(bytes).map(|r| vec![r])
        };
        parsed.map_err(|e| ImportError {
            path: origin.to_owned(),
            line: u32::try_from(e.line()).ok().filter(|l| *l > 0),
            column: u32::try_from(e.column()).ok().filter(|c| *c > 0),
            message: format!("not a valid OSV JSON record: {e}"),
        })?
    };
    for r in &records {
        if r.id.trim().is_empty() {
            return Err(ImportError {
                path: origin.to_owned(),
                line: None,
                column: None,
                message: "OSV record has no `id`; skipped".to_owned(),
            });
        }
    }
    Ok(records)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn io_error(path: &Path, what: &str, e: &std::io::Error) -> ImportError {
    ImportError {
        path: path.display().to_string(),
        line: None,
        column: None,
        message: format!("{what}: {e}"),
    }
}

fn load_file(path: &Path, kind: Kind) -> Result<Vec<LoadedRecord>, ImportError> {
    let origin = path.display().to_string();
    let bytes = match std::fs::File::open(path).and_then(|f| {
        let mut buf = Vec::new();
        f.take(MAX_RECORD_BYTES + 1).read_to_end(&mut buf)?;
        Ok(buf)
    }) {
        Ok(b) => b,
        Err(e) => return Err(io_error(path, "cannot read", &e)),
    };
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(ImportError {
            path: origin,
            line: None,
            column: None,
            message: format!("larger than {MAX_RECORD_BYTES} bytes; skipped"),
        });
    }
    let rs = parse_bytes(&origin, &bytes, kind == Kind::Yaml)?;
    Ok(rs
        .into_iter()
        .map(|record| LoadedRecord {
            origin: origin.clone(),
            record,
        })
        .collect())
}

/// Reads every record member of a zip archive. A damaged archive (e.g.
/// truncated, so no central directory) is one error; a damaged member is one
/// error and the other members are still read. The archive is read in
/// batches (see `zipread`), so memory does not grow with its size.
pub fn visit_zip(path: &Path, sink: &mut Sink<'_>) -> Visited {
    match std::fs::File::open(path) {
        Ok(file) => visit_zip_reader(&path.display().to_string(), file, sink),
        Err(e) => Visited {
            errors: vec![io_error(path, "cannot open archive", &e)],
            files: 0,
        },
    }
}

/// [`visit_zip`] over any seekable input; `name` names it in errors.
pub(crate) fn visit_zip_reader<R: Read + Seek>(
    name: &str,
    input: R,
    sink: &mut Sink<'_>,
) -> Visited {
    let mut out = Visited::default();
    let error = |path: String, message: String| ImportError {
        path,
        line: None,
        column: None,
        message,
    };
    let mut archive = match ZipReader::new(input) {
        Ok(a) => a,
        Err(e) => {
            out.errors.push(error(
                name.to_owned(),
                format!("not a readable zip archive (truncated or damaged?): {e}"),
            ));
            return out;
        }
    };
    let mut batch: Vec<(String, bool, Vec<u8>)> = Vec::with_capacity(BATCH_FILES);
    loop {
        let members = match archive.next_members(BATCH_FILES) {
            Ok(m) => m,
            Err(e) => {
                out.errors.push(error(name.to_owned(), e));
                Vec::new()
            }
        };
        if members.is_empty() {
            break;
        }
        let mut batch_bytes = 0u64;
        for member in members {
            if member.is_dir() {
                continue;
            }
            let Some(kind) = kind_of(Path::new(&member.name)).filter(|k| *k != Kind::Zip) else {
                continue;
            };
            out.files += 1;
            let origin = format!("{name}!{}", member.name);
            match archive.read(&member, MAX_RECORD_BYTES) {
                Ok(bytes) => {
                    batch_bytes += bytes.len() as u64;
                    batch.push((origin, kind == Kind::Yaml, bytes));
                }
                Err(e) => out.errors.push(error(origin, e)),
            }
            if batch_bytes >= BATCH_BYTES {
                parse_batch(&mut batch, sink, &mut out);
                batch_bytes = 0;
            }
        }
        parse_batch(&mut batch, sink, &mut out);
    }
    out
}

/// Parses a batch of members in parallel and hands the records to `sink`
/// in archive order.
fn parse_batch(batch: &mut Vec<(String, bool, Vec<u8>)>, sink: &mut Sink<'_>, out: &mut Visited) {
    let parsed: Vec<Result<Vec<LoadedRecord>, ImportError>> = batch
        .par_iter()
        .map(|(origin, yaml, bytes)| {
            parse_bytes(origin, bytes, *yaml).map(|rs| {
                rs.into_iter()
                    .map(|record| LoadedRecord {
                        origin: origin.clone(),
                        record,
                    })
                    .collect()
            })
        })
        .collect();
    for p in parsed {
        match p {
            Ok(rs) => rs.into_iter().for_each(&mut *sink),
            Err(e) => out.errors.push(e),
        }
    }
    batch.clear();
}

/// A file found by the walk: path, type and size (for batching).
type Found = (PathBuf, Kind, u64);

fn walk(dir: &Path, files: &mut Vec<Found>, errors: &mut Vec<ImportError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(io_error(dir, "cannot list folder", &e));
            return;
        }
    };
    let mut list: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    list.sort_by_key(std::fs::DirEntry::file_name);
    for entry in list {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files, errors),
            Ok(t) if t.is_file() || t.is_symlink() => {
                if let Some(k) = kind_of(&path) {
                    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    files.push((path, k, size));
                }
            }
            Ok(_) => {}
            Err(e) => errors.push(io_error(&path, "cannot stat", &e)),
        }
    }
}

/// Streams the records of a file, archive or folder tree into `sink`.
/// Fails only when `path` does not exist or is of an unknown type; problems
/// inside are returned in [`Visited::errors`].
pub fn visit_path(path: &Path, sink: &mut Sink<'_>) -> Result<Visited> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Source {
        path: path.to_owned(),
        reason: format!(
            "{e} (expected an OSV .json/.yaml file, an all.zip archive or a folder of them)"
        ),
    })?;
    let mut out = Visited::default();
    let files = if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files, &mut out.errors);
        files
    } else {
        match kind_of(path) {
            Some(k) => vec![(path.to_owned(), k, meta.len())],
            None => {
                return Err(Error::Source {
                    path: path.to_owned(),
                    reason: "unknown file type (expected .json, .yaml, .yml or .zip)".to_owned(),
                });
            }
        }
    };
    let (zips, plain): (Vec<_>, Vec<_>) = files.into_iter().partition(|(_, k, _)| *k == Kind::Zip);
    let mut rest = plain.as_slice();
    while !rest.is_empty() {
        // at least one file per batch; then up to the byte and count limits
        let mut n = 1;
        let mut bytes = rest[0].2.min(MAX_RECORD_BYTES);
        while n < rest.len().min(BATCH_FILES)
            && bytes + rest[n].2.min(MAX_RECORD_BYTES) <= BATCH_BYTES
        {
            bytes += rest[n].2.min(MAX_RECORD_BYTES);
            n += 1;
        }
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let parsed: Vec<_> = chunk.par_iter().map(|(p, k, _)| load_file(p, *k)).collect();
        out.files += chunk.len();
        for p in parsed {
            match p {
                Ok(rs) => rs.into_iter().for_each(&mut *sink),
                Err(e) => out.errors.push(e),
            }
        }
    }
    for (z, _, _) in zips {
        let v = visit_zip(&z, sink);
        out.files += v.files;
        out.errors.extend(v.errors);
    }
    Ok(out)
}

/// Reads a file, archive or folder tree into memory (convenient for small
/// inputs; the database import streams with [`visit_path`]).
pub fn load_path(path: &Path) -> Result<Loaded> {
    let mut records = Vec::new();
    let v = visit_path(path, &mut |r| records.push(r))?;
    Ok(Loaded {
        records,
        errors: v.errors,
        files: v.files,
    })
}
