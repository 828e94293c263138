//! Executables with embedded dependency lists: Go build info (the
//! `\xff Go buildinf:` blob, Go 1.18+ inline format) and Rust binaries built
//! with cargo-auditable (the zlib-compressed JSON in the `.dep-v0` section).

use std::io::Read;

use object::read::elf::{FileHeader, ProgramHeader};
use object::{Object, ObjectSection};

use crate::model::{PackageKind, RawPackage};

const GO_MAGIC: &[u8] = b"\xff Go buildinf:";
/// Largest decompressed cargo-auditable JSON accepted.
const MAX_AUDIT_JSON: u64 = 16 * 1024 * 1024;

/// True if the bytes start like an executable format we look into (ELF).
pub fn looks_like_executable(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// Reads the embedded dependency information of an executable. `Ok(None)`
/// means it carries none (an ordinary C binary, say).
pub fn parse_binary(data: &[u8]) -> Result<Option<Vec<RawPackage>>, String> {
    let file = object::File::parse(data).ok();
    // cargo-auditable
    if let Some(section) = file.as_ref().and_then(|f| f.section_by_name(".dep-v0")) {
        let compressed = section
            .data()
            .map_err(|e| format!("unreadable .dep-v0 section: {e}"))?;
        return parse_auditable(compressed).map(Some);
    }
    // Go build info: in its own section for ELF; searched for otherwise.
    let region = file
        .as_ref()
        .and_then(|f| f.section_by_name(".go.buildinfo"))
        .and_then(|s| s.data().ok())
        .unwrap_or(data);
    match memchr::memmem::find(region, GO_MAGIC) {
        Some(offset) => parse_go_buildinfo(&region[offset..]).map(Some),
        None => Ok(None),
    }
}

/// Bytes of a Go executable's writable data segment searched for the build
/// info blob, as Go's own `debug/buildinfo` does.
pub(crate) const GO_DATA_WINDOW: usize = 64 * 1024;

/// For an ELF file written by the Go linker (it carries the Go build ID
/// note), the file offset of the first writable, non-executable `PT_LOAD`
/// segment: where the linker puts `.go.buildinfo`, and where Go's own
/// `debug/buildinfo` looks for it when there are no section headers. `head`
/// is the start of the file; it must hold the ELF and program headers and
/// the notes. `None` for anything else (other ELF files, headers that do not
/// fit in `head`), which is then read whole.
pub(crate) fn go_data_offset(head: &[u8]) -> Option<u64> {
    match object::FileKind::parse(head).ok()? {
        object::FileKind::Elf32 => {
            go_data_offset_in::<object::elf::FileHeader32<object::Endianness>>(head)
        }
        object::FileKind::Elf64 => {
            go_data_offset_in::<object::elf::FileHeader64<object::Endianness>>(head)
        }
        _ => None,
    }
}

fn go_data_offset_in<H: FileHeader>(head: &[u8]) -> Option<u64> {
    // ELF note type of the Go build ID (cmd/link: ELF_NOTE_GOBUILDID_TAG).
    const NT_GO_BUILD_ID: u32 = 4;
    let header = H::parse(head).ok()?;
    let endian = header.endian().ok()?;
    let phdrs = header.program_headers(endian, head).ok()?;
    let mut is_go = false;
    for ph in phdrs {
        if let Ok(Some(mut notes)) = ph.notes(endian, head) {
            while let Ok(Some(note)) = notes.next() {
                if note.name() == b"Go" && note.n_type(endian) == NT_GO_BUILD_ID {
                    is_go = true;
                }
            }
        }
    }
    if !is_go {
        return None;
    }
    let flags = object::elf::PF_X | object::elf::PF_W;
    phdrs
        .iter()
        .find(|ph| {
            ph.p_type(endian) == object::elf::PT_LOAD
                && ph.p_flags(endian) & flags == object::elf::PF_W
        })
        .map(|ph| ph.p_offset(endian).into())
}

/// Where the build info blob starts in the first bytes of a Go data segment
/// (16-byte aligned, as the linker writes it), as Go's reader finds it.
pub(crate) fn find_go_buildinfo(window: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(window, GO_MAGIC).find(|i| i % 16 == 0)
}

/// How many bytes the build info blob at the start of `blob` occupies (Go
/// 1.18+ inline format): `Ok(None)` if `blob` is too short to tell yet,
/// `Err(())` if it is not in the inline format (it is then parsed as is for
/// the error message).
pub(crate) fn go_buildinfo_len(blob: &[u8]) -> Result<Option<usize>, ()> {
    if blob.len() < 32 {
        return Ok(None);
    }
    if blob[15] & 0x2 == 0 {
        return Err(());
    }
    let mut at = 32;
    for _ in 0..2 {
        let Some(rest) = blob.get(at..) else {
            return Ok(None);
        };
        match read_varint(rest) {
            Some((len, used)) => {
                let len = usize::try_from(len).map_err(|_| ())?;
                at = at
                    .checked_add(used)
                    .and_then(|a| a.checked_add(len))
                    .ok_or(())?;
            }
            None if rest.len() >= 10 => return Err(()),
            None => return Ok(None),
        }
    }
    Ok(Some(at))
}

fn parse_auditable(compressed: &[u8]) -> Result<Vec<RawPackage>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_AUDIT_JSON)
        .read_to_end(&mut json)
        .map_err(|e| format!("cargo-auditable data does not decompress: {e}"))?;
    #[derive(serde::Deserialize)]
    struct Audit {
        packages: Vec<AuditPackage>,
    }
    #[derive(serde::Deserialize)]
    struct AuditPackage {
        name: String,
        version: String,
        #[serde(default)]
        source: Option<String>,
    }
    let audit: Audit = serde_json::from_slice(&json).map_err(|e| {
        format!(
            "cargo-auditable JSON is invalid at column {}: {e}",
            e.column()
        )
    })?;
    Ok(audit
        .packages
        .into_iter()
        .filter(|p| p.source.as_deref() != Some("local"))
        .map(|p| RawPackage::new(PackageKind::Cargo, p.name, p.version))
        .collect())
}

fn read_varint(data: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in data.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn read_string(data: &[u8]) -> Option<(&[u8], usize)> {
    let (len, used) = read_varint(data)?;
    let len = usize::try_from(len).ok()?;
    let end = used.checked_add(len)?;
    Some((data.get(used..end)?, end))
}

/// Parses the build info blob starting at the magic.
pub fn parse_go_buildinfo(blob: &[u8]) -> Result<Vec<RawPackage>, String> {
    if blob.len() < 32 || !blob.starts_with(GO_MAGIC) {
        return Err("truncated Go build info header".to_string());
    }
    let flags = blob[15];
    if flags & 0x2 == 0 {
        return Err(
            "Go binary built before Go 1.18 (pointer-format build info); its modules are not read"
                .to_string(),
        );
    }
    let rest = &blob[32..];
    let (version, used) = read_string(rest).ok_or("truncated Go version string")?;
    let (modinfo, _) = read_string(&rest[used..]).ok_or("truncated Go module info")?;
    let mut modinfo = modinfo;
    // The module info is framed by two 16-byte sentinels.
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        modinfo = &modinfo[16..modinfo.len() - 16];
    }
    let version = String::from_utf8_lossy(version);
    let mut packages = Vec::new();
    let go_version = version.split_whitespace().next().unwrap_or_default();
    if let Some(v) = go_version
        .strip_prefix("go")
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    {
        packages.push(RawPackage::new(PackageKind::Go, "stdlib", v));
    }
    for line in String::from_utf8_lossy(modinfo).lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod" | "dep", path, version, ..] if *version != "(devel)" && !version.is_empty() => {
                packages.push(RawPackage::new(PackageKind::Go, *path, *version));
            }
            ["=>", path, version, ..] => {
                // Replaces the module on the previous line.
                if let Some(last) = packages.last_mut().filter(|p| p.name != "stdlib") {
                    last.name = (*path).to_string();
                    last.version = (*version).to_string();
                }
            }
            _ => {}
        }
    }
    Ok(packages)
}

/// Builds a Go build info blob (Go 1.18+ inline format), for tests and fixtures.
pub fn encode_go_buildinfo(go_version: &str, modinfo: &str) -> Vec<u8> {
    fn push_varint(out: &mut Vec<u8>, mut v: usize) {
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = GO_MAGIC.to_vec();
    out.push(8); // pointer size
    out.push(0x2); // inline strings
    out.resize(32, 0);
    push_varint(&mut out, go_version.len());
    out.extend_from_slice(go_version.as_bytes());
    let framed = format!("{}{modinfo}\n{}", "0".repeat(16), "1".repeat(16));
    let framed_bytes = framed.into_bytes();
    push_varint(&mut out, framed_bytes.len());
    out.extend_from_slice(&framed_bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_buildinfo_roundtrip() {
        let modinfo = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.7.0\th1:abc=\ndep\tgithub.com/a/b\tv1.0.0\t\n=>\tgithub.com/fork/b\tv1.0.1\th1:x=\nbuild\t-compiler=gc";
        let mut binary = b"\x7fELF junk before".to_vec();
        binary.extend(encode_go_buildinfo("go1.21.3", modinfo));
        let pkgs = parse_binary(&binary).expect("parses").expect("has info");
        let names: Vec<(&str, &str)> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("stdlib", "1.21.3"),
                ("golang.org/x/net", "v0.7.0"),
                ("github.com/fork/b", "v1.0.1")
            ]
        );
    }

    #[test]
    fn truncated_and_old() {
        let mut blob = encode_go_buildinfo("go1.20", "dep\tx\tv1\t");
        blob.truncate(40);
        assert!(parse_go_buildinfo(&blob).is_err());
        let mut old = encode_go_buildinfo("go1.16", "");
        old[15] = 0;
        assert!(
            parse_go_buildinfo(&old)
                .expect_err("old format")
                .contains("1.18")
        );
        assert!(parse_binary(b"\x7fELF plain").expect("ok").is_none());
    }

    #[test]
    fn auditable_json() {
        use std::io::Write;
        let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local"},{"name":"smallvec","version":"1.6.0","source":"crates.io"}]}"#;
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(json).expect("in memory");
        let pkgs = parse_auditable(&enc.finish().expect("in memory")).expect("ok");
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "smallvec");
        assert!(parse_auditable(b"not zlib").is_err());
    }
}
