//! The audit ledger: one hash-chained entry per recorded item.
//!
//! `record_hash = sha256(canonical JSON of the record body)`;
//! `hash = sha256(prev_hash "\n" seq "\n" time "\n" kind "\n" record_hash)` (hex digests,
//! `seq` in decimal, fields separated by a newline so that no two entries hash the same text);
//! the first entry's `prev_hash` is 64 zeros ([`GENESIS`]).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::canonical::sha256_hex;
use crate::error::{SqlContext, StoreError};

/// `prev_hash` of entry 1.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one entry.
pub fn entry_hash(prev_hash: &str, seq: i64, time: &str, kind: &str, record_hash: &str) -> String {
    sha256_hex(format!("{prev_hash}\n{seq}\n{time}\n{kind}\n{record_hash}").as_bytes())
}

/// Append an entry inside the caller's transaction; returns its seq.
pub(crate) fn append(
    tx: &Connection,
    time: &str,
    kind: &str,
    record_id: i64,
    record_hash: &str,
) -> Result<i64, StoreError> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("reading the ledger head")?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_owned()),
    };
    let hash = entry_hash(&prev, seq, time, kind, record_hash);
    tx.execute(
        "INSERT INTO ledger (seq, time, kind, record_id, record_hash, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![seq, time, kind, record_id, record_hash, prev, hash],
    )
    .ctx("appending to the ledger")?;
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

/// Walk the chain in seq order, recomputing every entry hash and every record hash.
pub(crate) fn verify(conn: &Connection) -> Result<Verification, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT seq, time, kind, record_id, record_hash, prev_hash, hash FROM ledger ORDER BY seq",
        )
        .ctx("reading the ledger")?;
    let mut rows = stmt.query([]).ctx("reading the ledger")?;
    let mut records: Vec<_> = ["scan_reports", "pipeline_runs", "events"]
        .iter()
        .map(|t| {
            let col = if *t == "pipeline_runs" {
                "started_at"
            } else {
                "time"
            };
            conn.prepare(&format!("SELECT {col}, body FROM {t} WHERE id = ?1"))
        })
        .collect::<Result<_, _>>()
        .ctx("reading records")?;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_owned();
    let mut entries = 0u64;
    let mut head = None;
    let fail = |entries, head, seq, message: String| {
        Ok(Verification {
            entries,
            head,
            problem: Some(Problem { seq, message }),
        })
    };
    while let Some(r) = rows.next().ctx("reading the ledger")? {
        let seq: i64 = r.get(0).ctx("ledger seq")?;
        let time: String = r.get(1).ctx("ledger time")?;
        let kind: String = r.get(2).ctx("ledger kind")?;
        let record_id: i64 = r.get(3).ctx("ledger record_id")?;
        let record_hash: String = r.get(4).ctx("ledger record_hash")?;
        let prev_hash: String = r.get(5).ctx("ledger prev_hash")?;
        let hash: String = r.get(6).ctx("ledger hash")?;
        if seq != expected_seq {
            let msg = format!("entries {expected_seq}..{} are missing (deleted)", seq - 1);
            return fail(entries, head, expected_seq, msg);
        }
        if prev_hash != prev {
            let msg = format!(
                "prev_hash {prev_hash} does not match the hash of entry {} ({prev}): entry edited, reordered or an earlier entry replaced",
                seq - 1
            );
            return fail(entries, head, seq, msg);
        }
        let again = entry_hash(&prev_hash, seq, &time, &kind, &record_hash);
        if again != hash {
            let msg = format!(
                "entry hash {hash} does not match its content (recomputed {again}): entry edited or moved"
            );
            return fail(entries, head, seq, msg);
        }
        let idx = match kind.as_str() {
            crate::KIND_SCAN_REPORT => 0,
            crate::KIND_PIPELINE_RUN => 1,
            crate::KIND_EVENT => 2,
            _ => return fail(entries, head, seq, format!("unknown record kind {kind:?}")),
        };
        let rec: Option<(String, String)> = records[idx]
            .query_row([record_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .ctx("reading a record")?;
        let Some((rtime, body)) = rec else {
            let msg = format!("{kind} record {record_id} is missing (deleted)");
            return fail(entries, head, seq, msg);
        };
        let actual = sha256_hex(body.as_bytes());
        if actual != record_hash {
            let msg = format!(
                "{kind} record {record_id} was edited: its sha256 is {actual}, the ledger recorded {record_hash}"
            );
            return fail(entries, head, seq, msg);
        }
        if rtime != time {
            let msg = format!(
                "{kind} record {record_id} time {rtime} differs from the ledger's {time}: record edited"
            );
            return fail(entries, head, seq, msg);
        }
        prev = hash;
        head = Some((seq, prev.clone()));
        entries += 1;
        expected_seq += 1;
    }
    Ok(Verification {
        entries,
        head,
        problem: None,
    })
}
