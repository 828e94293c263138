//! Synthetic OSV advisories shaped like records of the OSV export (npm
//! package, two SEMVER spans, three listed versions, a CVSS v3 vector, ~450
//! bytes of details, one reference; 50,000 distinct packages). Shared by the
//! `vulndb` bench and the `import_timing` example (included there with
//! `#[path]`), so both measure the same records.

use std::io::{Seek, Write};

/// Writes a zip archive of `n` records (one member per record, like an
/// `all.zip`) to `out` and returns it.
pub fn write_zip<W: Write + Seek>(out: W, n: usize) -> zip::result::ZipResult<W> {
    let mut w = zip::ZipWriter::new(out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..n {
        let rec = serde_json::json!({
            "id": format!("SYN-{i}"),
            "modified": "2024-01-01T00:00:00Z",
            "aliases": [format!("CVE-2024-{i}")],
            "summary": "synthetic advisory for the import benchmark",
            "details": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(8),
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{
                "package": {"ecosystem": "npm", "name": format!("pkg-{}", i % 50_000)},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": format!("1.{}.0", i % 97)}, {"introduced": "2.0.0"}, {"fixed": format!("2.{}.1", i % 13)}]}],
                "versions": ["1.0.0", "1.0.1", "1.1.0"]
            }],
            "references": [{"type": "ADVISORY", "url": format!("https://example.invalid/{i}")}]
        });
        w.start_file(format!("SYN-{i}.json"), opts)?;
        w.write_all(rec.to_string().as_bytes())?;
    }
    w.finish()
}
