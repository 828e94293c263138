//! A streaming reader for the OSV export's `all.zip` archives.
//!
//! General zip readers load the whole central directory before the first
//! member can be read: about 200 bytes per member, so 120 MB for an archive
//! of 600,000 advisories. This reader walks the central directory in
//! batches instead: it reads the next few hundred directory entries, then
//! those members' data, then the next batch, so memory does not depend on
//! the number of members.
//!
//! Supported: stored and deflated members, ZIP64 sizes and offsets, archives
//! with bytes prepended (offsets are corrected by the difference between
//! where the directory is and where the end record says it is). Not
//! supported (an error for that member, the rest is read): encryption and
//! other compression methods. Every size and offset comes from untrusted
//! bytes, so each one is checked against the file size; member data is read
//! through a limit and its CRC-32 and size are verified.
//!
//! Format facts are from PKWARE's APPNOTE (end of central directory record,
//! ZIP64 locator and record, central file header, local file header, ZIP64
//! extended information extra field `0x0001`).

use crate::store::{u16_at, u32_at, u64_at};
use std::io::{BufReader, Read, Seek, SeekFrom};

const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD_LEN: u64 = 22;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;
const LOCAL_SIG: u32 = 0x0403_4b50;
const LOCAL_LEN: usize = 30;
const ZIP64_EXTRA: u16 = 0x0001;

/// One member, as the central directory describes it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The name (lossily decoded: only used for messages and extensions).
    pub name: String,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    /// Where its local header starts (corrected for prepended bytes).
    header: u64,
}

impl Member {
    /// Folders are members whose name ends with `/`.
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }
}

/// Reads an archive's directory in batches and its members on demand.
pub(crate) struct ZipReader<R: Read + Seek> {
    input: BufReader<R>,
    file_len: u64,
    /// Next directory entry to read, and where the directory ends.
    next: u64,
    end: u64,
    /// Entries the end record announces that are not read yet.
    remaining: u64,
    /// Added to every offset stored in the archive.
    shift: u64,
}

fn io(what: &str, e: &std::io::Error) -> String {
    format!("{what}: {e}")
}

impl<R: Read + Seek> ZipReader<R> {
    /// Finds the end of central directory record (and its ZIP64 form).
    pub fn new(inner: R) -> Result<ZipReader<R>, String> {
        let mut input = BufReader::with_capacity(64 << 10, inner);
        let file_len = input
            .seek(SeekFrom::End(0))
            .map_err(|e| io("cannot seek", &e))?;
        if file_len < EOCD_LEN {
            return Err("too short for a zip archive".into());
        }
        // the end record is the last 22 bytes plus a comment of up to 64 KiB
        let tail_len = file_len.min(EOCD_LEN + 0xFFFF);
        let tail_start = file_len - tail_len;
        let mut tail = vec![0u8; tail_len as usize];
        input
            .seek(SeekFrom::Start(tail_start))
            .and_then(|_| input.read_exact(&mut tail))
            .map_err(|e| io("cannot read the end of the archive", &e))?;
        let eocd = (0..=tail.len() - EOCD_LEN as usize)
            .rev()
            .find(|&i| {
                u32_at(&tail, i) == EOCD_SIG
                    && i + EOCD_LEN as usize + usize::from(u16_at(&tail, i + 20)) == tail.len()
            })
            .ok_or("no end of central directory record (truncated or not a zip archive?)")?;
        let eocd_pos = tail_start + eocd as u64;
        let rec = &tail[eocd..eocd + EOCD_LEN as usize];
        if u16_at(rec, 4) != 0 || u16_at(rec, 6) != 0 {
            return Err("multi-disk (split) archives are not supported".into());
        }
        let mut entries = u64::from(u16_at(rec, 10));
        let mut cd_size = u64::from(u32_at(rec, 12));
        let mut cd_offset = u64::from(u32_at(rec, 16));
        let mut cd_end_pos = eocd_pos;
        // ZIP64: a locator right before the end record points to the ZIP64 end record
        if eocd_pos >= ZIP64_LOCATOR_LEN {
            let mut loc = [0u8; ZIP64_LOCATOR_LEN as usize];
            input
                .seek(SeekFrom::Start(eocd_pos - ZIP64_LOCATOR_LEN))
                .and_then(|_| input.read_exact(&mut loc))
                .map_err(|e| io("cannot read the end of the archive", &e))?;
            if u32_at(&loc, 0) == ZIP64_LOCATOR_SIG {
                let z64_pos = u64_at(&loc, 8);
                if z64_pos.checked_add(56).is_none_or(|end| end > eocd_pos) {
                    return Err("ZIP64 end record outside the archive".into());
                }
                let mut z = [0u8; 56];
                input
                    .seek(SeekFrom::Start(z64_pos))
                    .and_then(|_| input.read_exact(&mut z))
                    .map_err(|e| io("cannot read the ZIP64 end record", &e))?;
                if u32_at(&z, 0) != ZIP64_EOCD_SIG {
                    return Err("damaged ZIP64 end record".into());
                }
                entries = u64_at(&z, 32);
                cd_size = u64_at(&z, 40);
                cd_offset = u64_at(&z, 48);
                cd_end_pos = z64_pos;
            }
        }
        // where the directory really is; a difference is a prefix before the archive
        let cd_start = cd_end_pos
            .checked_sub(cd_size)
            .ok_or("central directory larger than the archive")?;
        let shift = cd_start
            .checked_sub(cd_offset)
            .ok_or("central directory offset beyond its position (truncated archive?)")?;
        Ok(ZipReader {
            input,
            file_len,
            next: cd_start,
            end: cd_end_pos,
            remaining: entries,
            shift,
        })
    }

    /// Reads up to `max` further directory entries. An `Err` ends the
    /// directory (it is damaged); members already returned stay readable.
    pub fn next_members(&mut self, max: usize) -> Result<Vec<Member>, String> {
        let mut out = Vec::new();
        if self.remaining == 0 || self.next >= self.end {
            return Ok(out);
        }
        self.input
            .seek(SeekFrom::Start(self.next))
            .map_err(|e| io("cannot read the central directory", &e))?;
        while out.len() < max && self.remaining > 0 && self.next < self.end {
            let at = self.next;
            let damaged = |what: &str| format!("damaged central directory at offset {at}: {what}");
            if self.end - at < CENTRAL_LEN as u64 {
                self.remaining = 0;
                return Err(damaged("entry cut short"));
            }
            let mut h = [0u8; CENTRAL_LEN];
            self.input
                .read_exact(&mut h)
                .map_err(|e| io("cannot read the central directory", &e))?;
            if u32_at(&h, 0) != CENTRAL_SIG {
                self.remaining = 0;
                return Err(damaged("wrong signature"));
            }
            let name_len = usize::from(u16_at(&h, 28));
            let extra_len = usize::from(u16_at(&h, 30));
            let comment_len = u64::from(u16_at(&h, 32));
            let var_len = (name_len + extra_len) as u64 + comment_len;
            if self.end - at - (CENTRAL_LEN as u64) < var_len {
                self.remaining = 0;
                return Err(damaged("entry cut short"));
            }
            let mut var = vec![0u8; name_len + extra_len];
            self.input
                .read_exact(&mut var)
                .and_then(|()| self.input.seek_relative(comment_len as i64))
                .map_err(|e| io("cannot read the central directory", &e))?;
            let mut compressed = u64::from(u32_at(&h, 20));
            let mut size = u64::from(u32_at(&h, 24));
            let mut header = u64::from(u32_at(&h, 42));
            // ZIP64 extra: the 0xFFFFFFFF fields, in this order, as u64
            let mut extra = &var[name_len..];
            while extra.len() >= 4 {
                let (id, len) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
                let body = extra.get(4..4 + len).unwrap_or_default();
                if id == ZIP64_EXTRA {
                    let mut fields = body.chunks_exact(8).map(|c| u64_at(c, 0));
                    for value in [&mut size, &mut compressed, &mut header] {
                        if *value == u64::from(u32::MAX)
                            && let Some(v) = fields.next()
                        {
                            *value = v;
                        }
                    }
                }
                extra = extra.get(4 + len..).unwrap_or_default();
            }
            self.next = at + CENTRAL_LEN as u64 + var_len;
            self.remaining -= 1;
            out.push(Member {
                name: String::from_utf8_lossy(&var[..name_len]).into_owned(),
                flags: u16_at(&h, 8),
                method: u16_at(&h, 10),
                crc: u32_at(&h, 16),
                compressed,
                size,
                header: header.saturating_add(self.shift),
            });
        }
        Ok(out)
    }

    /// Moves to `pos`, keeping the read buffer when `pos` is inside it:
    /// members usually follow each other, so most moves are a few bytes.
    fn seek_to(&mut self, pos: u64) -> std::io::Result<()> {
        let cur = self.input.stream_position()?;
        match i64::try_from(pos).ok().zip(i64::try_from(cur).ok()) {
            Some((p, c)) => self.input.seek_relative(p - c),
            None => self.input.seek(SeekFrom::Start(pos)).map(|_| ()),
        }
    }

    /// Decompresses `member`, refusing more than `limit` bytes; checks its
    /// size and CRC-32 against the directory.
    pub fn read(&mut self, member: &Member, limit: u64) -> Result<Vec<u8>, String> {
        if member.flags & 1 != 0 {
            return Err("encrypted archive member; skipped".into());
        }
        if member.size > limit {
            return Err(format!("member larger than {limit} bytes; skipped"));
        }
        let mut h = [0u8; LOCAL_LEN];
        if member
            .header
            .checked_add(LOCAL_LEN as u64)
            .is_none_or(|end| end > self.file_len)
        {
            return Err("member data outside the archive (truncated?)".into());
        }
        self.seek_to(member.header)
            .and_then(|()| self.input.read_exact(&mut h))
            .map_err(|e| io("cannot read archive member", &e))?;
        if u32_at(&h, 0) != LOCAL_SIG {
            return Err("damaged archive member: no local header where the directory says".into());
        }
        let data = member.header
            + LOCAL_LEN as u64
            + u64::from(u16_at(&h, 26))
            + u64::from(u16_at(&h, 28));
        if data
            .checked_add(member.compressed)
            .is_none_or(|end| end > self.file_len)
        {
            return Err("member data outside the archive (truncated?)".into());
        }
        self.seek_to(data)
            .map_err(|e| io("cannot read archive member", &e))?;
        let raw = (&mut self.input).take(member.compressed);
        // the claimed size is untrusted: reserve at most 1 MiB up front
        let mut out =
            Vec::with_capacity(usize::try_from(member.size.min(limit).min(1 << 20)).unwrap_or(0));
        let read = match member.method {
            0 => raw.take(limit + 1).read_to_end(&mut out),
            8 => flate2::bufread::DeflateDecoder::new(raw)
                .take(limit + 1)
                .read_to_end(&mut out),
            m => return Err(format!("compression method {m} is not supported; skipped")),
        };
        read.map_err(|e| io("cannot decompress archive member", &e))?;
        if out.len() as u64 > limit {
            return Err(format!("member larger than {limit} bytes; skipped"));
        }
        if out.len() as u64 != member.size || crc32fast::hash(&out) != member.crc {
            return Err("damaged archive member: size or CRC-32 does not match".into());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn archive(members: &[(&str, &[u8], bool)], large: bool) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, deflate) in members {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(if *deflate {
                    zip::CompressionMethod::Deflated
                } else {
                    zip::CompressionMethod::Stored
                })
                .large_file(large);
            w.start_file(*name, opts).expect("member");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    fn read_all(bytes: Vec<u8>, batch: usize) -> Vec<(String, Result<Vec<u8>, String>)> {
        let mut z = ZipReader::new(Cursor::new(bytes)).expect("open");
        let mut out = Vec::new();
        loop {
            let members = z.next_members(batch).expect("directory");
            if members.is_empty() {
                return out;
            }
            for m in members {
                let data = z.read(&m, 1 << 20);
                out.push((m.name.clone(), data));
            }
        }
    }

    #[test]
    fn reads_stored_deflated_zip64_and_prefixed_archives() {
        let big = b"x".repeat(100_000);
        let members: Vec<(&str, &[u8], bool)> = vec![
            ("a.json", b"{\"id\": \"A\"}", true),
            ("dir/", b"", false),
            ("b.yaml", b"id: B\n", false),
            ("c.json", &big, true),
        ];
        for large in [false, true] {
            let bytes = archive(&members, large);
            for batch in [1, 2, 100] {
                let got = read_all(bytes.clone(), batch);
                assert_eq!(got.len(), 4);
                for ((name, data), (want_name, want, _)) in got.iter().zip(&members) {
                    assert_eq!(name, want_name);
                    assert_eq!(data.as_deref().expect("data"), *want);
                }
            }
            // bytes before the archive (self-extractor style): offsets are corrected
            let mut prefixed = b"#!/bin/sh\nexit 0\n".to_vec();
            prefixed.extend_from_slice(&bytes);
            let got = read_all(prefixed, 3);
            assert_eq!(got[2].1.as_deref().expect("data"), b"id: B\n");
        }
    }

    #[test]
    fn damage_is_reported_not_misread() {
        let bytes = archive(
            &[
                ("a.json", b"{\"id\": \"A\", \"x\": 1}", false),
                ("b.json", b"{}", true),
            ],
            false,
        );
        // truncated: no end record
        assert!(ZipReader::new(Cursor::new(bytes[..bytes.len() / 2].to_vec())).is_err());
        assert!(ZipReader::new(Cursor::new(Vec::new())).is_err());
        // flipped data byte in a stored member: CRC mismatch for it, the other still reads
        let mut flipped = bytes.clone();
        let at = flipped
            .windows(4)
            .position(|w| w == b"\"id\"")
            .expect("data");
        flipped[at + 1] ^= 0x20;
        let got = read_all(flipped, 10);
        assert!(
            got[0].1.as_ref().is_err_and(|e| e.contains("CRC")),
            "{:?}",
            got[0].1
        );
        assert_eq!(got[1].1.as_deref().expect("second member"), b"{}");
        // a member over the limit is refused before decompression
        let mut z = ZipReader::new(Cursor::new(bytes.clone())).expect("open");
        let m = z.next_members(1).expect("dir").remove(0);
        assert!(z.read(&m, 3).is_err_and(|e| e.contains("larger than 3")));
        // a damaged directory entry ends the walk with an error
        let mut cd = bytes.clone();
        let at = cd
            .windows(4)
            .rposition(|w| w == CENTRAL_SIG.to_le_bytes())
            .expect("second central header");
        cd[at] = 0;
        let mut z = ZipReader::new(Cursor::new(cd)).expect("open");
        assert_eq!(z.next_members(1).expect("first").len(), 1);
        assert!(
            z.next_members(1)
                .is_err_and(|e| e.contains("damaged central directory"))
        );
        assert!(z.next_members(1).expect("ended").is_empty());
    }
}
