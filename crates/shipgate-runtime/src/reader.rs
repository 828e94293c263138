//! Reading audit logs: once to the end ([`read_log`], [`read_reader`]) or following a file
//! as the API server appends to it, rotates or truncates it ([`Follower`]).

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::RuntimeError;
use crate::event::Event;
use crate::rules::{Alert, Rules};

/// Longest line read (1 MiB); longer lines are skipped and reported.
pub const MAX_LINE: usize = 1 << 20;
/// How many recent (audit ID, rule) pairs are remembered to report a request once even when
/// several of its stages are logged.
const SEEN_CAPACITY: usize = 8192;

/// A line that could not be used, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The audit log.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The result of reading a log to its end.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// Alerts in log order.
    pub alerts: Vec<Alert>,
    /// Malformed or oversized lines.
    pub errors: Vec<LineError>,
    /// Remarks that are not errors (an incomplete last line).
    pub notes: Vec<String>,
    /// Events evaluated (after `since`).
    pub events: u64,
}

/// Remembers a bounded number of keys, forgetting the oldest.
#[derive(Debug, Default)]
struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    /// True the first time `key` is offered (within the capacity window).
    fn first(&mut self, key: String) -> bool {
        if self.set.contains(&key) {
            return false;
        }
        if self.order.len() >= SEEN_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(key.clone());
        self.set.insert(key);
        true
    }
}

/// What [`next_line`] found.
#[derive(Debug, PartialEq, Eq)]
enum Chunk {
    /// Nothing more (for now); `buf` may hold the start of an unfinished line.
    Eof,
    /// A complete line is in `buf` (without the newline).
    Line,
    /// A complete line longer than [`MAX_LINE`] was skipped.
    TooLong,
}

/// Line assembly that survives end of file (the rest may come later when following).
#[derive(Debug, Default)]
struct LineBuf {
    buf: Vec<u8>,
    overlong: bool,
}

impl LineBuf {
    fn clear(&mut self) {
        self.buf.clear();
        self.overlong = false;
    }

    fn next_line(&mut self, r: &mut impl BufRead) -> std::io::Result<Chunk> {
        loop {
            let avail = r.fill_buf()?;
            if avail.is_empty() {
                return Ok(Chunk::Eof);
            }
            let (take, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            if !self.overlong {
                if self.buf.len() + take > MAX_LINE {
                    self.overlong = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(&avail[..take]);
                }
            }
            r.consume(take + usize::from(done));
            if done {
                return Ok(if std::mem::take(&mut self.overlong) {
                    Chunk::TooLong
                } else {
                    Chunk::Line
                });
            }
        }
    }
}

/// Parses lines and turns events into alerts: line numbers, `since`, de-duplication.
#[derive(Debug)]
struct LineProcessor {
    file: String,
    line: u64,
    since: Option<Timestamp>,
    seen: Seen,
    events: u64,
}

impl LineProcessor {
    fn new(file: String, since: Option<Timestamp>) -> Self {
        LineProcessor {
            file,
            line: 0,
            since,
            seen: Seen::default(),
            events: 0,
        }
    }

    fn error(&self, message: String) -> LineError {
        LineError {
            file: self.file.clone(),
            line: self.line,
            message,
        }
    }

    /// Evaluate one complete line (already counted in `self.line`).
    fn process(&mut self, bytes: &[u8], rules: &Rules) -> Result<Vec<Alert>, LineError> {
        let text = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let ev: Event = serde_json::from_slice(text)
            .map_err(|e| self.error(format!("not an audit event: {e}")))?;
        if let (Some(since), Some(ts)) = (self.since, ev.timestamp())
            && ts.parse::<Timestamp>().is_ok_and(|t| t < since)
        {
            return Ok(Vec::new());
        }
        self.events += 1;
        let mut alerts = rules.evaluate(&ev, &self.file, self.line);
        if !ev.audit_id.is_empty() {
            alerts.retain(|a| self.seen.first(format!("{}\0{}", a.audit_id, a.rule_id)));
        }
        Ok(alerts)
    }
}

/// Read an audit log file to its end. Only failing to open or read the file is an `Err`;
/// bad lines are in [`ReadOutcome::errors`].
pub fn read_log(
    path: &Path,
    rules: &Rules,
    since: Option<Timestamp>,
) -> Result<ReadOutcome, RuntimeError> {
    let name = path.display().to_string();
    let io = |source| RuntimeError::Io {
        path: name.clone(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    read_reader(BufReader::new(file), &name, rules, since).map_err(io)
}

/// Read audit events from any reader to its end; `name` is used in errors and locations. An
/// unfinished last line (no newline) is used when it parses and noted when it does not.
pub fn read_reader(
    mut r: impl BufRead,
    name: &str,
    rules: &Rules,
    since: Option<Timestamp>,
) -> std::io::Result<ReadOutcome> {
    let mut out = ReadOutcome::default();
    let mut lp = LineProcessor::new(name.to_string(), since);
    let mut lb = LineBuf::default();
    loop {
        let chunk = lb.next_line(&mut r)?;
        if chunk == Chunk::Eof && lb.buf.is_empty() && !lb.overlong {
            break;
        }
        lp.line += 1;
        match chunk {
            Chunk::TooLong => out
                .errors
                .push(lp.error(format!("line longer than {MAX_LINE} bytes skipped"))),
            Chunk::Line => match lp.process(&lb.buf, rules) {
                Ok(a) => out.alerts.extend(a),
                Err(e) => out.errors.push(e),
            },
            Chunk::Eof => {
                if lb.overlong {
                    out.errors
                        .push(lp.error(format!("line longer than {MAX_LINE} bytes skipped")));
                } else {
                    match lp.process(&lb.buf, rules) {
                        Ok(a) => out.alerts.extend(a),
                        Err(_) => out.notes.push(format!(
                            "{name}:{}: incomplete last line ignored (the log is still being written?)",
                            lp.line
                        )),
                    }
                }
                break;
            }
        }
        lb.clear();
    }
    out.events = lp.events;
    Ok(out)
}

/// Follows an audit log like `tail -F`: reads what is appended, notices rotation (the path
/// names a new file: the rest of the old one is read first) and truncation (the file got
/// shorter: reading restarts at its beginning). Call [`Follower::poll`] periodically.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    identity: Option<(u64, u64)>,
    start_at_end: bool,
    lb: LineBuf,
    lp: LineProcessor,
}

fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

impl Follower {
    /// Follow `path`. With `from_start` the existing content is read first, else only what
    /// is appended after the first [`Follower::poll`]. The file need not exist yet.
    pub fn new(path: &Path, since: Option<Timestamp>, from_start: bool) -> Self {
        Follower {
            path: path.to_path_buf(),
            reader: None,
            identity: None,
            start_at_end: !from_start,
            lb: LineBuf::default(),
            lp: LineProcessor::new(path.display().to_string(), since),
        }
    }

    fn io(&self, source: std::io::Error) -> RuntimeError {
        RuntimeError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Read everything available now. Alerts and line errors go to the callbacks; returns
    /// the number of events evaluated. A missing file is not an error (it may be rotated in).
    pub fn poll(
        &mut self,
        rules: &Rules,
        on_alert: &mut dyn FnMut(Alert),
        on_error: &mut dyn FnMut(LineError),
    ) -> Result<u64, RuntimeError> {
        let before = self.lp.events;
        if self.reader.is_none() && !self.open()? {
            return Ok(0);
        }
        self.drain(rules, on_alert, on_error)?;
        match std::fs::metadata(&self.path) {
            Ok(meta) if Some(identity(&meta)) != self.identity => {
                // Rotated: the old file is drained; an unfinished last line there is dropped.
                self.reader = None;
                self.lb.clear();
                if self.open()? {
                    self.drain(rules, on_alert, on_error)?;
                }
            }
            Ok(meta) => {
                let pos = match self.reader.as_mut() {
                    Some(r) => r.stream_position().map_err(|e| self.io(e))?,
                    None => 0,
                };
                if meta.len() < pos {
                    // Truncated in place: start over.
                    if let Some(r) = self.reader.as_mut() {
                        r.seek(SeekFrom::Start(0)).map_err(|e| self.io(e))?;
                    }
                    self.lb.clear();
                    self.lp.line = 0;
                    self.drain(rules, on_alert, on_error)?;
                }
            }
            Err(_) => {} // removed; wait for a new file
        }
        Ok(self.lp.events - before)
    }

    fn open(&mut self) -> Result<bool, RuntimeError> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.io(e)),
        };
        let meta = file.metadata().map_err(|e| self.io(e))?;
        if std::mem::take(&mut self.start_at_end) {
            file.seek(SeekFrom::End(0)).map_err(|e| self.io(e))?;
        }
        self.identity = Some(identity(&meta));
        self.lp.line = 0;
        self.reader = Some(BufReader::new(file));
        Ok(true)
    }

    fn drain(
        &mut self,
        rules: &Rules,
        on_alert: &mut dyn FnMut(Alert),
        on_error: &mut dyn FnMut(LineError),
    ) -> Result<(), RuntimeError> {
        loop {
            let Some(r) = self.reader.as_mut() else {
                return Ok(());
            };
            let chunk = match self.lb.next_line(r) {
                Ok(c) => c,
                Err(e) => return Err(self.io(e)),
            };
            match chunk {
                Chunk::Eof => return Ok(()),
                Chunk::TooLong => {
                    self.lp.line += 1;
                    on_error(
                        self.lp
                            .error(format!("line longer than {MAX_LINE} bytes skipped")),
                    );
                }
                Chunk::Line => {
                    self.lp.line += 1;
                    let buf = std::mem::take(&mut self.lb.buf);
                    match self.lp.process(&buf, rules) {
                        Ok(alerts) => alerts.into_iter().for_each(&mut *on_alert),
                        Err(e) => on_error(e),
                    }
                    self.lb.buf = buf;
                }
            }
            self.lb.clear();
        }
    }
}
