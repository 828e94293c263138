//! The audit ledger: one hash-chained entry per recorded item.
//!
//! `record_hash = sha256(canonical JSON of the record body)`;
//! `hash = sha256(prev_hash "\n" seq "\n" time "\n" kind "\n" record_hash)` (hex digests,
//! `seq` in decimal, fields separated by a newline so that no two entries hash the same text);
//! the first entry's `prev_hash` is 64 zeros ([`GENESIS`]).

use serde::Serialize;

use crate::canonical::sha256_hex;
use crate::db::{Db, Row, params};
use crate::error::StoreError;

/// Entries read per query by [`verify`] (bounded memory, few round trips).
const PAGE: i64 = 5000;

/// `prev_hash` of entry 1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one entry.
pub fn entry_hash(prev_hash: &str, seq: i64, time: &str, kind: &str, record_hash: &str) -> String {
    sha256_hex(format!("{prev_hash}\n{seq}\n{time}\n{kind}\n{record_hash}").as_bytes())
}

/// Append an entry inside the caller's write transaction (which holds the write lock, so
/// the head read here is the newest); returns its seq.
pub(crate) fn append(
    db: &mut Db,
    time: &str,
    kind: &str,
    record_id: i64,
    record_hash: &str,
) -> Result<i64, StoreError> {
    let last = db.query_opt(
        "reading the ledger head",
        "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
        params![],
    )?;
    let (seq, prev) = match last {
        Some(r) => (r.i64(0)? + 1, r.string(1)?),
        None => (1, GENESIS.to_owned()),
    };
    let hash = entry_hash(&prev, seq, time, kind, record_hash);
    db.execute(
        "appending to the ledger",
        "INSERT INTO ledger (seq, time, kind, record_id, record_hash, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![seq, time, kind, record_id, record_hash, &prev, &hash],
    )?;
    Ok(seq)
}

/// The result of [`crate::Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries checked.
    pub entries: u64,
    /// Seq and hash of the last entry (`None` for an empty ledger).
    pub head: Option<(i64, String)>,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

/// The first thing found wrong, with the entry it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The ledger entry.
    pub seq: i64,
    /// What is wrong.
    pub message: String,
}

/// Each ledger entry with its record's time and body (NULL when the row is gone), a page
/// at a time, in seq order: one query for both backends, no statement per entry.
const PAGE_SQL: &str =
    "SELECT l.seq, l.time, l.kind, l.record_id, l.record_hash, l.prev_hash, l.hash,
        COALESCE(r.time, p.started_at, e.time), COALESCE(r.body, p.body, e.body)
    FROM ledger l
    LEFT JOIN scan_reports r ON l.kind = 'scan-report' AND r.id = l.record_id
    LEFT JOIN pipeline_runs p ON l.kind = 'pipeline-run' AND p.id = l.record_id
    LEFT JOIN events e ON l.kind = 'event' AND e.id = l.record_id
    WHERE l.seq > ?1 ORDER BY l.seq LIMIT ?2";

/// Walk the chain in seq order, recomputing every entry hash and every record hash.
pub(crate) fn verify(db: &mut Db) -> Result<Verification, StoreError> {
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_owned();
    let mut entries = 0u64;
    let mut head = None;
    let mut after = i64::MIN;
    loop {
        let page = db.query("reading the ledger", PAGE_SQL, params![after, PAGE])?;
        let Some(last) = page.last() else { break };
        after = last.i64(0)?;
        for r in &page {
            if let Some(problem) = check(r, expected_seq, &prev)? {
                return Ok(Verification {
                    entries,
                    head,
                    problem: Some(problem),
                });
            }
            prev = r.string(6)?;
            head = Some((r.i64(0)?, prev.clone()));
            entries += 1;
            expected_seq += 1;
        }
    }
    Ok(Verification {
        entries,
        head,
        problem: None,
    })
}

/// The problem with one entry (a row of [`PAGE_SQL`]), if any.
fn check(r: &Row, expected_seq: i64, prev: &str) -> Result<Option<Problem>, StoreError> {
    let seq = r.i64(0)?;
    let time = r.str(1)?;
    let kind = r.str(2)?;
    let record_id = r.i64(3)?;
    let record_hash = r.str(4)?;
    let prev_hash = r.str(5)?;
    let hash = r.str(6)?;
    let fail = |seq, message: String| Ok(Some(Problem { seq, message }));
    if seq != expected_seq {
        let msg = format!("entries {expected_seq}..{} are missing (deleted)", seq - 1);
        return fail(expected_seq, msg);
    }
    if prev_hash != prev {
        let msg = format!(
            "prev_hash {prev_hash} does not match the hash of entry {} ({prev}): entry edited, reordered or an earlier entry replaced",
            seq - 1
        );
        return fail(seq, msg);
    }
    let again = entry_hash(prev_hash, seq, time, kind, record_hash);
    if again != hash {
        let msg = format!(
            "entry hash {hash} does not match its content (recomputed {again}): entry edited or moved"
        );
        return fail(seq, msg);
    }
    if ![
        crate::KIND_SCAN_REPORT,
        crate::KIND_PIPELINE_RUN,
        crate::KIND_EVENT,
    ]
    .contains(&kind)
    {
        return fail(seq, format!("unknown record kind {kind:?}"));
    }
    let (Some(rtime), Some(body)) = (r.opt_string(7)?, r.opt_string(8)?) else {
        return fail(
            seq,
            format!("{kind} record {record_id} is missing (deleted)"),
        );
    };
    let actual = sha256_hex(body.as_bytes());
    if actual != record_hash {
        let msg = format!(
            "{kind} record {record_id} was edited: its sha256 is {actual}, the ledger recorded {record_hash}"
        );
        return fail(seq, msg);
    }
    if rtime != time {
        let msg = format!(
            "{kind} record {record_id} time {rtime} differs from the ledger's {time}: record edited"
        );
        return fail(seq, msg);
    }
    Ok(None)
}
