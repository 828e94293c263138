//! Reading the ledger back with its records, in seq order, for evidence exports.

use rusqlite::params;
use serde::Serialize;

use crate::Store;
use crate::error::{SqlContext, StoreError};

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
    pub fn for_each_entry<E: From<StoreError>>(
        &self,
        range: TimeRange,
        mut f: impl FnMut(LedgerEntry, Option<String>) -> Result<(), E>,
    ) -> Result<u64, E> {
        // Times are fixed-format text, so text order is time order; "~" sorts after digits.
        let from = range.from.map_or_else(String::new, crate::fmt_time);
        let to = range.to.map_or_else(|| "~".to_owned(), crate::fmt_time);
        let conn = self.connection();
        let mut stmt = conn
            .prepare(
                "SELECT l.seq, l.time, l.kind, l.record_id, l.record_hash, l.prev_hash, l.hash,
                        COALESCE(s.body, p.body, e.body)
                 FROM ledger l
                 LEFT JOIN scan_reports s ON l.kind = 'scan-report' AND s.id = l.record_id
                 LEFT JOIN pipeline_runs p ON l.kind = 'pipeline-run' AND p.id = l.record_id
                 LEFT JOIN events e ON l.kind = 'event' AND e.id = l.record_id
                 WHERE l.time >= ?1 AND l.time < ?2
                 ORDER BY l.seq",
            )
            .ctx("reading the ledger")?;
        let mut rows = stmt.query(params![from, to]).ctx("reading the ledger")?;
        let mut n = 0u64;
        while let Some(r) = rows.next().ctx("reading the ledger")? {
            let entry = LedgerEntry {
                seq: r.get(0).ctx("ledger seq")?,
                time: r.get(1).ctx("ledger time")?,
                kind: r.get(2).ctx("ledger kind")?,
                record_id: r.get(3).ctx("ledger record_id")?,
                record_hash: r.get(4).ctx("ledger record_hash")?,
                prev_hash: r.get(5).ctx("ledger prev_hash")?,
                hash: r.get(6).ctx("ledger hash")?,
            };
            let body: Option<String> = r.get(7).ctx("record body")?;
            f(entry, body)?;
            n += 1;
        }
        Ok(n)
    }
}
