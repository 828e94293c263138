//! Streaming analysis of one layer blob: digest check, decompression (gzip,
//! zstd or none, detected from the bytes), tar walk with whiteouts and safety
//! limits. Each layer is read once, front to back; only files of interest are
//! held in memory, one at a time per layer, and all the layers analysed at
//! once together hold at most `Limits::max_file_bytes` of file contents
//! (`budget.rs`). Go executables are not held at all: their build info is
//! read from the start of the data segment as the file streams past.

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use sha2::{Digest, Sha256};

use crate::budget::ReadBudget;
use crate::error::{Error, Result};
use crate::extract::{self, Interest};
use crate::model::{FileEntry, FileResult, LayerAnalysis};

/// Safety limits applied to every layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest uncompressed layer accepted (bytes).
    pub max_layer_bytes: u64,
    /// Most tar entries accepted in one layer.
    pub max_entries: u64,
    /// Largest single file read for analysis; bigger files of interest are skipped with an issue.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 32 * 1024 * 1024 * 1024,
            max_entries: 2_000_000,
            max_file_bytes: 128 * 1024 * 1024,
        }
    }
}

/// The digest a layer blob must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// sha256 of the blob bytes as stored (`sha256:<hex>`).
    Blob(String),
    /// Nothing to verify against (legacy compressed docker-archive layers).
    Unverified,
}

#[derive(Default)]
struct HashState {
    hasher: Sha256,
    bytes: u64,
}

/// Hashes everything read through it.
struct HashingReader<R> {
    inner: R,
    state: Rc<RefCell<HashState>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.state.borrow_mut();
        st.hasher.update(&buf[..n]);
        st.bytes += n as u64;
        Ok(n)
    }
}

/// Counts decompressed bytes and stops at the limit.
struct LimitedReader<R> {
    inner: R,
    count: Rc<RefCell<u64>>,
    limit: u64,
}

impl<R: Read> Read for LimitedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut c = self.count.borrow_mut();
        *c += n as u64;
        if *c > self.limit {
            return Err(io::Error::other(LimitHit));
        }
        Ok(n)
    }
}

#[derive(Debug)]
struct LimitHit;
impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed size limit")
    }
}
impl std::error::Error for LimitHit {}

enum Decoder<R: BufRead> {
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
    Plain(R),
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
            Decoder::Plain(r) => r.read(buf),
        }
    }
}

impl<R: BufRead> Decoder<R> {
    fn into_inner(self) -> R {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
            Decoder::Plain(r) => r,
        }
    }
}

/// Normalises a tar entry path to root-relative form. `Err` for paths that
/// try to leave the root (`..`).
pub(crate) fn normalize_path(raw: &str) -> std::result::Result<(String, bool), String> {
    let absolute = raw.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "entry '{}' contains '..'; skipped",
                    crate::os::dpkg::truncate(raw)
                ));
            }
            p => parts.push(p),
        }
    }
    Ok((parts.join("/"), absolute))
}

fn is_limit(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LimitHit>())
}

/// Analyses one layer blob read from `reader`.
///
/// `label` names the layer in errors (its digest or file). The whole blob is
/// read (so the digest covers every byte) and the digest compared before the
/// analysis is returned: a mismatch is an error and nothing is returned.
pub fn analyze_layer<R: Read>(
    reader: R,
    expected: &Expected,
    label: &str,
    limits: &Limits,
) -> Result<LayerAnalysis> {
    let budget = ReadBudget::new(limits.max_file_bytes);
    analyze_layer_shared(reader, expected, label, limits, &budget)
}

/// [`analyze_layer`] with a file-content budget shared with the other layers
/// analysed at the same time.
pub(crate) fn analyze_layer_shared<R: Read>(
    reader: R,
    expected: &Expected,
    label: &str,
    limits: &Limits,
    budget: &ReadBudget,
) -> Result<LayerAnalysis> {
    let state = Rc::new(RefCell::new(HashState::default()));
    let hashing = HashingReader {
        inner: reader,
        state: Rc::clone(&state),
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, hashing);
    let layer_err = |message: &str, source: io::Error| Error::Layer {
        layer: label.to_string(),
        message: message.to_string(),
        source: Some(source),
    };
    let head = buffered
        .fill_buf()
        .map_err(|e| layer_err("cannot read", e))?;
    let decoder = if head.starts_with(&[0x1f, 0x8b]) {
        Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Decoder::Zstd(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| layer_err("cannot start zstd decompression", e))?,
        )
    } else {
        Decoder::Plain(buffered)
    };
    let count = Rc::new(RefCell::new(0u64));
    let limited = LimitedReader {
        inner: decoder,
        count: Rc::clone(&count),
        limit: limits.max_layer_bytes,
    };
    let mut archive = tar::Archive::new(limited);
    let mut analysis = LayerAnalysis::default();

    let limit_err = |limits: &Limits| Error::Limit {
        layer: label.to_string(),
        message: format!(
            "uncompressed content exceeds {} bytes",
            limits.max_layer_bytes
        ),
    };
    let walk = walk_entries(&mut archive, label, limits, budget, &mut analysis);
    match walk {
        Ok(()) => {}
        Err(WalkError::Io(e)) if is_limit(&e) => return Err(limit_err(limits)),
        Err(WalkError::Io(e)) => {
            return Err(layer_err(
                "the layer is not a readable tar stream (corrupt compression or truncated archive)",
                e,
            ));
        }
        Err(WalkError::Fatal(e)) => return Err(e),
    }
    // Read what follows the tar end marker, then any bytes after the
    // compressed stream, so the digest covers the whole blob.
    let mut limited = archive.into_inner();
    match io::copy(&mut limited, &mut io::sink()) {
        Ok(_) => {}
        Err(e) if is_limit(&e) => return Err(limit_err(limits)),
        Err(e) => return Err(layer_err("corrupt data after the tar archive", e)),
    }
    let mut rest = limited.inner.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| layer_err("cannot read", e))?;
    drop(rest);
    analysis.uncompressed_bytes = *count.borrow();

    let state = Rc::try_unwrap(state)
        .map_err(|_| Error::format(label, "internal: hasher still shared"))?
        .into_inner();
    if let Expected::Blob(want) = expected {
        let actual = format!("sha256:{}", hex::encode(state.hasher.finalize()));
        if !want.eq_ignore_ascii_case(&actual) {
            return Err(Error::DigestMismatch {
                location: label.to_string(),
                expected: want.clone(),
                actual,
            });
        }
    }
    Ok(analysis)
}

enum WalkError {
    Io(io::Error),
    Fatal(Error),
}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        WalkError::Io(e)
    }
}

fn walk_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    label: &str,
    limits: &Limits,
    budget: &ReadBudget,
    analysis: &mut LayerAnalysis,
) -> std::result::Result<(), WalkError> {
    for entry in archive.entries()? {
        let mut entry = entry?;
        analysis.entry_count += 1;
        if analysis.entry_count > limits.max_entries {
            return Err(WalkError::Fatal(Error::Limit {
                layer: label.to_string(),
                message: format!("more than {} tar entries", limits.max_entries),
            }));
        }
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = match normalize_path(&raw_path) {
            Ok((p, absolute)) => {
                if absolute {
                    analysis.problems.push(format!(
                        "entry '{}' has an absolute path; read relative to the image root",
                        crate::os::dpkg::truncate(&raw_path)
                    ));
                }
                p
            }
            Err(problem) => {
                analysis.problems.push(problem);
                continue;
            }
        };
        if path.is_empty() {
            continue;
        }
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", path.as_str()),
        };
        if let Some(hidden) = name.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                analysis.opaque_dirs.push(dir.to_string());
            } else if !hidden.starts_with(".wh.") && !hidden.is_empty() {
                let target = if dir.is_empty() {
                    hidden.to_string()
                } else {
                    format!("{dir}/{hidden}")
                };
                analysis.whiteouts.push(target);
            }
            continue;
        }
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0);
        // A hard link carries the mode of the file it links to.
        let executable = (kind.is_file() || kind.is_hard_link()) && mode & 0o111 != 0;
        let Some(interest) = extract::classify(&path, executable) else {
            continue;
        };
        if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            analysis.entries.push(FileEntry {
                path,
                result: FileResult::Symlink { target },
            });
            continue;
        }
        if kind.is_hard_link() {
            let raw_target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            match normalize_path(&raw_target) {
                Ok((target, _)) if !target.is_empty() => analysis.entries.push(FileEntry {
                    path,
                    result: FileResult::HardLink { target },
                }),
                _ => analysis.problems.push(format!(
                    "{path}: hard link to '{raw_target}' outside the image root; skipped"
                )),
            }
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        let size = entry.size();
        if interest == Interest::Executable {
            if size < 64 {
                continue;
            }
            // Enough for the ELF and program headers and the notes.
            let mut head = Vec::with_capacity(size.min(HEAD_BYTES) as usize);
            (&mut entry).take(HEAD_BYTES).read_to_end(&mut head)?;
            if !crate::lang::binary::looks_like_executable(&head) {
                continue;
            }
            if let Some(data_offset) = crate::lang::binary::go_data_offset(&head)
                && size > HEAD_BYTES
            {
                let result = read_go_buildinfo(&mut entry, head, data_offset, size)?;
                analysis.entries.push(FileEntry { path, result });
                continue;
            }
            if size > limits.max_file_bytes {
                analysis.problems.push(format!(
                    "{path}: {size} bytes, larger than the {} byte limit; not examined",
                    limits.max_file_bytes
                ));
                continue;
            }
            let _grant = budget.acquire(size);
            let mut data = head;
            data.reserve_exact((size as usize).saturating_sub(data.len()));
            (&mut entry).take(size).read_to_end(&mut data)?;
            let result = extract::analyze(&path, interest, &data);
            analysis.entries.push(FileEntry { path, result });
            continue;
        }
        if size > limits.max_file_bytes {
            analysis.problems.push(format!(
                "{path}: {size} bytes, larger than the {} byte limit; not examined",
                limits.max_file_bytes
            ));
            continue;
        }
        let _grant = budget.acquire(size);
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(limits.max_file_bytes)
            .read_to_end(&mut data)?;
        let result = extract::analyze(&path, interest, &data);
        analysis.entries.push(FileEntry { path, result });
    }
    Ok(())
}

/// Bytes read from the start of an executable before deciding how to read it.
const HEAD_BYTES: u64 = 64 * 1024;

/// Largest Go build info blob accepted (real ones are tens of KiB).
const MAX_GO_BUILDINFO: usize = 16 * 1024 * 1024;

/// Reads the build info of a Go executable while it streams: skips to its
/// data segment (`data_offset`), looks for the blob in the first 64 KiB as
/// Go's `debug/buildinfo` does, and reads only as much as the blob needs.
/// The rest of the file is never held in memory. `head` holds the first
/// bytes of the file, already read.
fn read_go_buildinfo<R: Read>(
    entry: &mut R,
    head: Vec<u8>,
    data_offset: u64,
    size: u64,
) -> io::Result<FileResult> {
    use crate::lang::binary::{GO_DATA_WINDOW, find_go_buildinfo, go_buildinfo_len};
    let none = || FileResult::Packages {
        packages: vec![],
        problems: vec![],
    };
    let mut pos = head.len() as u64;
    let mut window = if data_offset < pos {
        head[data_offset as usize..].to_vec()
    } else {
        io::copy(&mut entry.take(data_offset - pos), &mut io::sink())?;
        pos = data_offset;
        Vec::new()
    };
    drop(head);
    let remaining = size.saturating_sub(pos);
    let want = (GO_DATA_WINDOW as u64).saturating_sub(window.len() as u64);
    entry.take(want.min(remaining)).read_to_end(&mut window)?;
    window.truncate(GO_DATA_WINDOW);
    let Some(start) = find_go_buildinfo(&window) else {
        return Ok(none());
    };
    let mut blob = window.split_off(start);
    drop(window);
    // The module list may run past the window: read what the lengths say.
    while let Ok(None) = go_buildinfo_len(&blob) {
        if blob.len() >= MAX_GO_BUILDINFO {
            break;
        }
        let before = blob.len();
        entry.take(64 * 1024).read_to_end(&mut blob)?;
        if blob.len() == before {
            break;
        }
    }
    if let Ok(Some(len)) = go_buildinfo_len(&blob) {
        if len > MAX_GO_BUILDINFO {
            return Ok(FileResult::Packages {
                packages: vec![],
                problems: vec![format!(
                    "Go build info of {len} bytes, larger than the {MAX_GO_BUILDINFO} byte limit; not read"
                )],
            });
        }
        if blob.len() < len {
            let missing = (len - blob.len()) as u64;
            entry.take(missing).read_to_end(&mut blob)?;
        }
        blob.truncate(len);
    }
    Ok(match crate::lang::binary::parse_go_buildinfo(&blob) {
        Ok(packages) => FileResult::Packages {
            packages,
            problems: vec![],
        },
        Err(e) => FileResult::Packages {
            packages: vec![],
            problems: vec![e],
        },
    })
}

/// Fuzz entry point: runs the layer analyser over arbitrary bytes with small
/// limits. Must never panic; errors are expected.
pub fn fuzz_layer(data: &[u8]) {
    let limits = Limits {
        max_layer_bytes: 8 * 1024 * 1024,
        max_entries: 10_000,
        max_file_bytes: 1024 * 1024,
    };
    let _ = analyze_layer(data, &Expected::Unverified, "fuzz", &limits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize() {
        assert_eq!(
            normalize_path("./etc/os-release"),
            Ok(("etc/os-release".into(), false))
        );
        assert_eq!(normalize_path("/etc//x/"), Ok(("etc/x".into(), true)));
        assert!(normalize_path("../../etc/passwd").is_err());
        assert!(normalize_path("a/../b").is_err());
    }

    /// A minimal ELF64 executable as the Go linker lays it out: a Go build
    /// ID note near the start and the build info blob at the start of the
    /// writable PT_LOAD segment, at `data_offset`, `tail` bytes of zeros after it.
    fn go_elf(data_offset: usize, blob: &[u8], tail: usize) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f.extend_from_slice(&62u16.to_le_bytes()); // x86-64
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes()); // entry
        f.extend_from_slice(&64u64.to_le_bytes()); // phoff
        f.extend_from_slice(&0u64.to_le_bytes()); // shoff: no section headers
        f.extend_from_slice(&0u32.to_le_bytes());
        for v in [64u16, 56, 2, 64, 0, 0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        let note_off = 64 + 2 * 56;
        let phdr = |f: &mut Vec<u8>, ty: u32, flags: u32, off: usize, size: usize, align: u64| {
            f.extend_from_slice(&ty.to_le_bytes());
            f.extend_from_slice(&flags.to_le_bytes());
            for v in [
                off as u64,
                off as u64,
                off as u64,
                size as u64,
                size as u64,
                align,
            ] {
                f.extend_from_slice(&v.to_le_bytes());
            }
        };
        phdr(&mut f, 4, 4, note_off, 20, 4); // PT_NOTE, R
        phdr(&mut f, 1, 6, data_offset, blob.len(), 0x1000); // PT_LOAD, RW
        for v in [4u32, 4, 4] {
            f.extend_from_slice(&v.to_le_bytes()); // namesz, descsz, NT_GO_BUILD_ID
        }
        f.extend_from_slice(b"Go\0\0abcd");
        // Text before the data segment, with the magic where Go would not
        // look for it (unaligned, in read-only data).
        f.resize(data_offset / 2 + 3, 0x90);
        f.extend_from_slice(b"\xff Go buildinf:");
        f.resize(data_offset, 0x90);
        f.extend_from_slice(blob);
        f.resize(f.len() + tail, 0);
        f
    }

    fn layer_with(path: &str, data: &[u8], mode: u32) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        b.append_data(&mut h, path, data).expect("in memory");
        b.into_inner().expect("in memory")
    }

    fn packages_of(a: &LayerAnalysis) -> Vec<(String, String)> {
        a.entries
            .iter()
            .flat_map(|e| match &e.result {
                FileResult::Packages { packages, problems } => {
                    assert!(problems.is_empty(), "{problems:?}");
                    packages.clone()
                }
                other => panic!("unexpected {other:?}"),
            })
            .map(|p| (p.name, p.version))
            .collect()
    }

    #[test]
    fn go_build_info_is_read_while_streaming() {
        // Small module list, and one that runs past the 64 KiB window.
        let short = "path\texample.com/app\nmod\texample.com/app\tv1.2.3\t\ndep\tgolang.org/x/net\tv0.7.0\th1:x=\n".to_string();
        let mut long = short.clone();
        for i in 0..3000 {
            long.push_str(&format!(
                "dep\texample.com/dependency/number{i}\tv1.0.{i}\th1:abc=\n"
            ));
        }
        assert!(long.len() > 2 * crate::lang::binary::GO_DATA_WINDOW);
        for modinfo in [short, long] {
            let blob = crate::lang::binary::encode_go_buildinfo("go1.22.5", &modinfo);
            // Data segment before and after the end of the head that is read first.
            for data_offset in [0x8000, 0x30000] {
                let elf = go_elf(data_offset, &blob, 300_000);
                assert!(elf.len() as u64 > HEAD_BYTES);
                let layer = layer_with("usr/local/bin/app", &elf, 0o755);
                let streamed = analyze_layer(
                    layer.as_slice(),
                    &Expected::Unverified,
                    "t",
                    &Limits::default(),
                )
                .expect("layer");
                let got = packages_of(&streamed);
                assert_eq!(
                    got.len(),
                    modinfo
                        .lines()
                        .filter(|l| l.starts_with("mod") || l.starts_with("dep"))
                        .count()
                        + 1
                );
                assert_eq!(got[0], ("stdlib".to_string(), "1.22.5".to_string()));
                assert!(got.contains(&("example.com/app".to_string(), "v1.2.3".to_string())));
            }
        }
    }

    #[test]
    fn go_binary_larger_than_the_file_limit_is_still_read() {
        let blob =
            crate::lang::binary::encode_go_buildinfo("go1.23.1", "dep\tgithub.com/a/b\tv1.0.0\t\n");
        let elf = go_elf(0x20000, &blob, 1_000_000);
        let limits = Limits {
            max_file_bytes: 256 * 1024,
            ..Limits::default()
        };
        let a = analyze_layer(
            layer_with("app", &elf, 0o755).as_slice(),
            &Expected::Unverified,
            "t",
            &limits,
        )
        .expect("layer");
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        assert_eq!(
            packages_of(&a),
            vec![
                ("stdlib".to_string(), "1.23.1".to_string()),
                ("github.com/a/b".to_string(), "v1.0.0".to_string())
            ]
        );
        // Without the Go note the file is read whole, so the limit applies.
        let mut plain = elf.clone();
        let at = memchr::memmem::find(&plain, b"Go\0\0abcd").expect("note");
        plain[at] = b'X';
        let a = analyze_layer(
            layer_with("app", &plain, 0o755).as_slice(),
            &Expected::Unverified,
            "t",
            &limits,
        )
        .expect("layer");
        assert_eq!(a.problems.len(), 1, "{:?}", a.problems);
        assert!(a.problems[0].contains("larger than"));
    }

    fn seed_layers() -> Vec<Vec<u8>> {
        use std::io::Write;
        let mut b = tar::Builder::new(Vec::new());
        let files: [(&str, &[u8], u32); 5] = [
            ("var/lib/dpkg/status", b"Package: a\nStatus: install ok installed\nVersion: 1\n\n", 0o644),
            ("etc/os-release", b"ID=debian\nVERSION_ID=12\n", 0o644),
            ("app/node_modules/x/package.json", br#"{"name":"x","version":"1.0.0"}"#, 0o644),
            ("usr/bin/.wh.gone", b"", 0o644),
            ("usr/bin/tool", b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xff Go buildinf:\x08\x02", 0o755),
        ];
        for (path, data, mode) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(mode);
            b.append_data(&mut h, path, data).expect("in memory");
        }
        let plain = b.into_inner().expect("in memory");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).expect("in memory");
        let gz = gz.finish().expect("in memory");
        let zst = zstd::stream::encode_all(plain.as_slice(), 1).expect("in memory");
        vec![plain, gz, zst]
    }

    /// Runs the fuzz target over a few thousand mutated and random inputs
    /// (fixed seed, so failures reproduce).
    #[test]
    fn fuzz_layer_seeded() {
        let mut state: u64 = 0x5eed_1234_abcd_ef01;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let seeds = seed_layers();
        // The seeds themselves parse.
        for seed in &seeds {
            let a = analyze_layer(
                seed.as_slice(),
                &Expected::Unverified,
                "seed",
                &Limits::default(),
            )
            .expect("seed parses");
            assert_eq!(a.whiteouts, vec!["usr/bin/gone".to_string()]);
        }
        for i in 0..3000 {
            let mut data = seeds[i % seeds.len()].clone();
            match next() % 4 {
                0 => {
                    let flips = 1 + next() % 8;
                    for _ in 0..flips {
                        let pos = (next() as usize) % data.len();
                        data[pos] ^= (next() & 0xff) as u8;
                    }
                }
                1 => {
                    let cut = (next() as usize) % data.len();
                    data.truncate(cut);
                }
                2 => {
                    let pos = (next() as usize) % data.len();
                    let len = (next() % 64) as usize;
                    let junk: Vec<u8> = (0..len).map(|_| (next() & 0xff) as u8).collect();
                    data.splice(pos..pos, junk);
                }
                _ => {
                    let len = (next() % 2048) as usize;
                    data = (0..len).map(|_| (next() & 0xff) as u8).collect();
                }
            }
            fuzz_layer(&data);
        }
    }
}
