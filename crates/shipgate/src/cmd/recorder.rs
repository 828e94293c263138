//! Recording events from long-running commands (the GitOps agent, the admission webhook) in
//! the store: callers queue events on the request or sync path; one thread writes them, so a
//! slow database never holds up an admission answer for longer than the queue is full.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::cli::DatabaseArgs;

/// Events queued before senders wait for the writer.
const QUEUE: usize = 4096;

enum Item {
    Event {
        kind: &'static str,
        time: jiff::Timestamp,
        body: serde_json::Value,
    },
    /// Everything queued before this is written; then the writer stops.
    Stop,
}

/// A store writer on its own thread.
pub struct Recorder {
    tx: Option<SyncSender<Item>>,
    thread: Option<JoinHandle<u64>>,
}

impl Recorder {
    /// Open the store now (a bad database fails the command before it starts serving) and
    /// start the writer. `who` names the command in error messages.
    pub fn start(db: &DatabaseArgs, who: &'static str) -> anyhow::Result<Self> {
        let name = super::store::display_name(db)?;
        let db = db.clone();
        let (tx, rx): (SyncSender<Item>, Receiver<Item>) = sync_channel(QUEUE);
        let (opened_tx, opened_rx) = sync_channel::<anyhow::Result<()>>(1);
        // The store is opened, used and dropped on this thread only: the PostgreSQL client
        // blocks on a runtime of its own, which must not run inside the caller's async one.
        let thread = std::thread::Builder::new()
            .name("shipgate-store".into())
            .spawn(move || {
                let mut store = match super::store::open(&db) {
                    Ok(s) => {
                        let _ = opened_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return 0;
                    }
                };
                let mut failed = 0u64;
                for item in rx {
                    let Item::Event { kind, time, body } = item else {
                        break;
                    };
                    if let Err(e) = store.insert_event(kind, time, &body) {
                        failed += 1;
                        eprintln!("{who}: error: a {kind} event was not recorded in {name}: {e}");
                    }
                }
                failed
            })?;
        opened_rx
            .recv()
            .map_err(|_| anyhow::anyhow!("{who}: the store thread stopped"))??;
        Ok(Recorder {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// A cloneable handle for sinks called from several tasks.
    pub fn sender(&self) -> RecorderHandle {
        RecorderHandle(self.tx.clone())
    }

    /// Write what is queued and stop (handles still held elsewhere are ignored from then
    /// on); returns how many events failed to be recorded.
    pub fn close(mut self) -> u64 {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Item::Stop);
        }
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or(0)
    }
}

/// A sender half of a [`Recorder`].
#[derive(Clone)]
pub struct RecorderHandle(Option<SyncSender<Item>>);

impl RecorderHandle {
    /// Queue an event; waits only while the queue is full.
    pub fn event(&self, kind: &'static str, time: jiff::Timestamp, body: serde_json::Value) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(Item::Event { kind, time, body });
        }
    }
}

/// Parse an RFC 3339 time from a record, or now.
pub fn time_or_now(t: &str) -> jiff::Timestamp {
    shipgate_store::parse_time(t).unwrap_or_else(|_| jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The agent and the webhook record from inside their async runtime; the PostgreSQL
    /// client (which blocks on a runtime of its own) must still work there.
    #[test]
    fn records_into_postgres_from_inside_an_async_runtime() {
        let Some(url) = shipgate_testenv::shared_database_or_skip(
            "records_into_postgres_from_inside_an_async_runtime",
        ) else {
            return;
        };
        let db = DatabaseArgs {
            database: Some(url.clone()),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let failed = rt.block_on(async {
            let r = Recorder::start(&db, "test").unwrap();
            r.sender().event(
                "drift",
                jiff::Timestamp::now(),
                serde_json::json!({"app": "web"}),
            );
            crate::cmd::store::with_store_off_runtime(&db, |s| {
                s.insert_event(
                    "gitops-sync",
                    jiff::Timestamp::now(),
                    &serde_json::json!({}),
                )?;
                Ok(())
            })
            .unwrap();
            r.close()
        });
        assert_eq!(failed, 0);
        let mut s = shipgate_store::Store::connect(&url).unwrap();
        assert_eq!(
            s.event_counts(&["drift", "gitops-sync"]).unwrap(),
            [("drift".to_owned(), 1), ("gitops-sync".to_owned(), 1)]
        );
    }
}
