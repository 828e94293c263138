//! Helpers: writing OSV files and zip archives, locating the shared data.

use std::io::Write;
use std::path::{Path, PathBuf};

pub fn shared_data() -> PathBuf {
    match std::env::var_os("SHIPGATE_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// A minimal OSV record for `ecosystem`/`name` with one ECOSYSTEM range.
pub fn record(id: &str, ecosystem: &str, name: &str, introduced: &str, fixed: &str) -> String {
    serde_json::json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2024-01-01T00:00:00Z",
        "aliases": [format!("CVE-{id}")],
        "summary": format!("summary of {id}"),
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}]
        }],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "unknown_future_field": {"tolerated": true}
    })
    .to_string()
}

pub fn write(path: &Path, text: &str) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).expect("create fixture folder");
    }
    std::fs::write(path, text).expect("write fixture");
}

/// A zip archive holding `members` (name, content).
pub fn zip_bytes(members: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in members {
            w.start_file(*name, opts).expect("zip member");
            w.write_all(content.as_bytes()).expect("zip write");
        }
        w.finish().expect("zip finish");
    }
    buf.into_inner()
}
