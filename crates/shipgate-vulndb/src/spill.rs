//! External sort of the per-package entries (and advisory ids) written
//! during an import.
//!
//! An import files every affected-package entry under its package key, and
//! the database wants them grouped by key, in key order; duplicate advisory
//! ids are found the same way. Holding them all in
//! memory until the end cost about 2 KB per record (about 1 GB for the whole
//! OSV export), so entries are kept in a buffer of bounded size instead;
//! when it is full it is sorted and written to a run file, and at the end
//! the runs are merged. Memory is the buffer plus one read buffer per run
//! (merged in passes of at most [`Limits::fan_in`] runs), whatever the input
//! size.
//!
//! Run files live in a private folder beside the database being written (so
//! nothing leaves the cache folder) and are removed when the sorter is
//! dropped, whether the import succeeded or not.
//!
//! Record format in a run (little-endian): key length u32, key, sequence
//! u64, advisory u32, payload length u32, payload.

use crate::error::{Error, Result};
use crate::store::{temp_beside, u32_at, u64_at};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// How much the sorter may hold and merge at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes of buffered entries (keys and encoded entries plus a per-entry
    /// overhead) before a run is written.
    pub buffer_bytes: usize,
    /// Runs merged at once; more runs are first merged into larger ones.
    pub fan_in: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            buffer_bytes: 64 << 20,
            fan_in: 64,
        }
    }
}

/// Bookkeeping bytes counted per buffered entry besides its key and bytes.
const ENTRY_OVERHEAD: usize = 64;
/// Fixed part of a record in a run.
const HEAD_LEN: usize = 20;
/// Read buffer per run during a merge.
const RUN_READ_BUFFER: usize = 64 << 10;

/// One entry, as stored in the buffer and in runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub key: Vec<u8>,
    /// Insertion order: entries of one key come out in the order they went in.
    pub seq: u64,
    pub advisory: u32,
    /// The payload (for package entries: the postcard encoding of one
    /// `StoredAffected`).
    pub bytes: Vec<u8>,
}

impl Item {
    fn order(&self) -> (&[u8], u64) {
        (&self.key, self.seq)
    }
}

/// Sorts entries by (key, insertion order) within bounded memory.
pub(crate) struct Sorter {
    /// Where runs go, and whether that folder exists yet (it is created
    /// on the first spill).
    dir: PathBuf,
    created: bool,
    limits: Limits,
    buf: Vec<Item>,
    buf_bytes: usize,
    runs: Vec<PathBuf>,
    next_run: u64,
    seq: u64,
}

impl Sorter {
    /// A sorter whose run folder, if needed, is created next to `dest`.
    pub fn new(dest: &Path, limits: Limits) -> Sorter {
        Sorter {
            dir: temp_beside(dest, "spill"),
            created: false,
            limits: Limits {
                buffer_bytes: limits.buffer_bytes.max(1),
                fan_in: limits.fan_in.max(2),
            },
            buf: Vec::new(),
            buf_bytes: 0,
            runs: Vec::new(),
            next_run: 0,
            seq: 0,
        }
    }

    /// Adds one entry; may write a run.
    pub fn push(&mut self, key: Vec<u8>, advisory: u32, bytes: Vec<u8>) -> Result<()> {
        self.buf_bytes += key.len() + bytes.len() + ENTRY_OVERHEAD;
        self.buf.push(Item {
            key,
            seq: self.seq,
            advisory,
            bytes,
        });
        self.seq += 1;
        if self.buf_bytes >= self.limits.buffer_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Number of run files written so far.
    #[cfg(test)]
    pub fn runs_written(&self) -> u64 {
        self.next_run
    }

    fn new_run_path(&mut self) -> Result<PathBuf> {
        if !self.created {
            create_private_dir(&self.dir)?;
            self.created = true;
        }
        let path = self.dir.join(format!("run-{}", self.next_run));
        self.next_run += 1;
        Ok(path)
    }

    fn spill(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut items = std::mem::take(&mut self.buf);
        self.buf_bytes = 0;
        items.sort_unstable_by(|a, b| a.order().cmp(&b.order()));
        let path = self.new_run_path()?;
        let mut w = RunWriter::create(&path)?;
        for item in &items {
            w.write(item)?;
        }
        w.finish()?;
        self.runs.push(path);
        Ok(())
    }

    /// Calls `group` once per key, in key order, with that key's entries in
    /// insertion order.
    pub fn for_each_group(
        mut self,
        mut group: impl FnMut(&[u8], &[Item]) -> Result<()>,
    ) -> Result<()> {
        if self.runs.is_empty() {
            let mut items = std::mem::take(&mut self.buf);
            items.sort_unstable_by(|a, b| a.order().cmp(&b.order()));
            return emit_groups(items.into_iter().map(Ok), &mut group);
        }
        self.spill()?;
        // merge in passes until one pass can take every run
        while self.runs.len() > self.limits.fan_in {
            let batch: Vec<PathBuf> = self.runs.drain(..self.limits.fan_in).collect();
            let path = self.new_run_path()?;
            let mut w = RunWriter::create(&path)?;
            for item in Merge::open(&batch)? {
                w.write(&item?)?;
            }
            w.finish()?;
            for r in &batch {
                let _ = std::fs::remove_file(r);
            }
            self.runs.push(path);
        }
        let runs = std::mem::take(&mut self.runs);
        let merge = Merge::open(&runs)?;
        emit_groups(merge, &mut group)
    }
}

impl Drop for Sorter {
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn create_private_dir(path: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)
        .map_err(|e| Error::io("cannot create the import's temporary folder", path, e))
}

/// Groups a sorted stream of items by key.
fn emit_groups(
    items: impl Iterator<Item = Result<Item>>,
    group: &mut impl FnMut(&[u8], &[Item]) -> Result<()>,
) -> Result<()> {
    let mut current: Vec<Item> = Vec::new();
    for item in items {
        let item = item?;
        if current.first().is_some_and(|f| f.key != item.key) {
            group(&current[0].key, &current)?;
            current.clear();
        }
        current.push(item);
    }
    if let Some(first) = current.first() {
        group(&first.key, &current)?;
    }
    Ok(())
}

struct RunWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl RunWriter {
    fn create(path: &Path) -> Result<RunWriter> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("cannot create", path, e))?;
        Ok(RunWriter {
            path: path.to_owned(),
            out: BufWriter::with_capacity(1 << 20, file),
        })
    }

    fn write(&mut self, item: &Item) -> Result<()> {
        let too_big = || Error::Corrupt {
            path: self.path.clone(),
            reason: "an entry is larger than 4 GiB".into(),
        };
        let key_len = u32::try_from(item.key.len()).map_err(|_| too_big())?;
        let len = u32::try_from(item.bytes.len()).map_err(|_| too_big())?;
        let mut head = [0u8; HEAD_LEN];
        head[..4].copy_from_slice(&key_len.to_le_bytes());
        head[4..12].copy_from_slice(&item.seq.to_le_bytes());
        head[12..16].copy_from_slice(&item.advisory.to_le_bytes());
        head[16..20].copy_from_slice(&len.to_le_bytes());
        let io = |e| Error::io("cannot write", &self.path, e);
        self.out.write_all(&head).map_err(io)?;
        self.out.write_all(&item.key).map_err(io)?;
        self.out.write_all(&item.bytes).map_err(io)
    }

    fn finish(mut self) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| Error::io("cannot write", &self.path, e))
    }
}

struct RunReader {
    path: PathBuf,
    input: BufReader<File>,
}

impl RunReader {
    fn open(path: &Path) -> Result<RunReader> {
        let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        Ok(RunReader {
            path: path.to_owned(),
            input: BufReader::with_capacity(RUN_READ_BUFFER, file),
        })
    }

    /// The next item, or `None` at the end of the run.
    fn next_item(&mut self) -> Result<Option<Item>> {
        let mut head = [0u8; HEAD_LEN];
        // a clean end of file is the end of the run; a partial header is damage
        let mut got = 0;
        while got < head.len() {
            match self.input.read(&mut head[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(self.damaged()),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("cannot read", &self.path, e)),
            }
        }
        let mut key = vec![0u8; u32_at(&head, 0) as usize];
        let mut bytes = vec![0u8; u32_at(&head, 16) as usize];
        self.input
            .read_exact(&mut key)
            .and_then(|()| self.input.read_exact(&mut bytes))
            .map_err(|_| self.damaged())?;
        Ok(Some(Item {
            key,
            seq: u64_at(&head, 4),
            advisory: u32_at(&head, 12),
            bytes,
        }))
    }

    fn damaged(&self) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            reason: "temporary run file ends in the middle of an entry".into(),
        }
    }
}

/// K-way merge of sorted runs.
struct Merge {
    readers: Vec<RunReader>,
    heap: BinaryHeap<Reverse<HeapItem>>,
}

struct HeapItem {
    item: Item,
    run: usize,
}

impl PartialEq for HeapItem {
    fn eq(&self, other: &Self) -> bool {
        self.item.order() == other.item.order()
    }
}
impl Eq for HeapItem {}
impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.item.order().cmp(&other.item.order())
    }
}

impl Merge {
    fn open(runs: &[PathBuf]) -> Result<Merge> {
        let mut readers = Vec::with_capacity(runs.len());
        let mut heap = BinaryHeap::with_capacity(runs.len());
        for (run, path) in runs.iter().enumerate() {
            let mut r = RunReader::open(path)?;
            if let Some(item) = r.next_item()? {
                heap.push(Reverse(HeapItem { item, run }));
            }
            readers.push(r);
        }
        Ok(Merge { readers, heap })
    }
}

impl Iterator for Merge {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Result<Item>> {
        let Reverse(HeapItem { item, run }) = self.heap.pop()?;
        match self.readers[run].next_item() {
            Ok(Some(next)) => self.heap.push(Reverse(HeapItem { item: next, run })),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(s: Sorter) -> Vec<(Vec<u8>, Vec<u64>)> {
        let mut out = Vec::new();
        s.for_each_group(|k, items| {
            out.push((k.to_vec(), items.iter().map(|i| i.seq).collect()));
            Ok(())
        })
        .expect("merge");
        out
    }

    fn fill(s: &mut Sorter, n: u64) {
        for i in 0..n {
            // keys repeat out of order so that groups span several runs
            let key = format!("eco\0pkg-{:03}", (i * 7919) % 101).into_bytes();
            s.push(key, i as u32, vec![i as u8; (i % 13) as usize])
                .expect("push");
        }
    }

    #[test]
    fn spilled_merge_equals_in_memory_sort() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dest = tmp.path().join("db.bin");
        let mut memory = Sorter::new(&dest, Limits::default());
        fill(&mut memory, 5000);
        assert_eq!(memory.runs_written(), 0);
        let expected = collect(memory);
        // tiny buffers and a fan-in of 3 force many runs and several merge passes
        let mut spilled = Sorter::new(
            &dest,
            Limits {
                buffer_bytes: 2048,
                fan_in: 3,
            },
        );
        fill(&mut spilled, 5000);
        assert!(spilled.runs_written() > 50, "{}", spilled.runs_written());
        let spill_dir = spilled.dir.clone();
        assert!(spill_dir.exists());
        let got = collect(spilled);
        assert_eq!(got, expected);
        assert_eq!(got.len(), 101);
        for (_, seqs) in &got {
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "insertion order kept");
        }
        assert!(!spill_dir.exists(), "run files removed after the merge");
        assert_eq!(std::fs::read_dir(tmp.path()).expect("ls").count(), 0);
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_short_result() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("run");
        let mut w = RunWriter::create(&path).expect("create");
        let item = Item {
            key: b"k".to_vec(),
            seq: 1,
            advisory: 2,
            bytes: vec![9; 10],
        };
        w.write(&item).expect("write");
        w.finish().expect("finish");
        let mut r = RunReader::open(&path).expect("open");
        assert_eq!(r.next_item().expect("read"), Some(item));
        assert_eq!(r.next_item().expect("end"), None);
        let len = std::fs::metadata(&path).expect("stat").len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open");
        f.set_len(len - 3).expect("truncate");
        let mut r = RunReader::open(&path).expect("open");
        assert!(matches!(r.next_item(), Err(Error::Corrupt { .. })));
    }
}
