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
        let mut store = super::store::open(db)?;
        let name = super::store::display_name(db)?;
        let (tx, rx): (SyncSender<Item>, Receiver<Item>) = sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("shipgate-store".into())
            .spawn(move || {
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
