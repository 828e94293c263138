//! Reading the ledger back with its records, in seq order, for evidence exports.

use serde::Serialize;

use crate::Store;
use crate::db::{Row, params};
use crate::error::StoreError;

/// One ledger entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Time of the record (RFC 3339 UTC).
    pub time: String,
    /// `scan-report`, `pipeline-run` or `event`.
    pub kind: String,
    /// Row id in the kind's table.
    pub record_id: i64,
    /// sha256 of the record's canonical JSON.
    pub record_hash: String,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Bounds of an export: `from <= time < to`, either side open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive lower bound.
    pub from: Option<jiff::Timestamp>,
    /// Exclusive upper bound.
    pub to: Option<jiff::Timestamp>,
}

impl Store {
    /// Call `f` for every ledger entry whose time is in `range`, in seq order, with the
    /// canonical JSON of its record (`None` when the record row is gone: [`Store::verify`]
    /// reports that as tampering). Rows are streamed, so memory does not grow with the
    /// ledger. Returns the number of entries visited.
    pub fn for_each_entry(
        &mut self,
        range: TimeRange,
        mut f: impl FnMut(LedgerEntry, Option<String>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        // Times are fixed-format text, so text order is time order; "~" sorts after digits.
        let from = range.from.map_or_else(String::new, crate::fmt_time);
        let to = range.to.map_or_else(|| "~".to_owned(), crate::fmt_time);
        let mut n = 0u64;
        self.db.for_each(
            "reading the ledger",
            "SELECT l.seq, l.time, l.kind, l.record_id, l.record_hash, l.prev_hash, l.hash,
                    COALESCE(s.body, p.body, e.body)
             FROM ledger l
             LEFT JOIN scan_reports s ON l.kind = 'scan-report' AND s.id = l.record_id
             LEFT JOIN pipeline_runs p ON l.kind = 'pipeline-run' AND p.id = l.record_id
             LEFT JOIN events e ON l.kind = 'event' AND e.id = l.record_id
             WHERE l.time >= ?1 AND l.time < ?2
             ORDER BY l.seq",
            params![&from, &to],
            |r| {
                n += 1;
                f(entry_of(&r)?, r.opt_string(7)?)
            },
        )?;
        Ok(n)
    }
}

pub(crate) fn entry_of(r: &Row) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        seq: r.i64(0)?,
        time: r.string(1)?,
        kind: r.string(2)?,
        record_id: r.i64(3)?,
        record_hash: r.string(4)?,
        prev_hash: r.string(5)?,
        hash: r.string(6)?,
    })
}
