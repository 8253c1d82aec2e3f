//! The single writer: group commit over the store.

use fundledger_core::checkpoint::{Checkpoint, SignedCheckpoint};
use fundledger_core::crypto::SecretKey;
use fundledger_core::ledger::{BatchItem, BatchRejection, Ledger, RecordClock, SealedRecord};
use fundledger_core::Rejection;
use fundledger_store::{Store, StoreReader};
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What readers see: the state after the last commit.
pub struct Snapshot {
    /// The ledger state.
    pub ledger: Ledger,
    /// The latest signed checkpoint.
    pub checkpoint: Option<SignedCheckpoint>,
}

/// One request's batch of signed submissions.
pub struct Job {
    /// Signed submissions `{"event", "sig"}`, each already known to parse
    /// as a [`BatchItem`].
    pub submissions: Vec<Value>,
    /// Where the answer goes.
    pub reply: tokio::sync::oneshot::Sender<JobOutcome>,
}

/// The answer to a job.
pub enum JobOutcome {
    /// Every item is in the ledger: the records, and whether any was new.
    Committed {
        /// Each item's record (new, or the original of an identical retry).
        records: Vec<Vec<u8>>,
        /// True when at least one record is new.
        any_new: bool,
    },
    /// Item `index` was rejected; nothing of the job was written.
    Rejected {
        /// Which item.
        index: usize,
        /// Why.
        rejection: Rejection,
    },
    /// The store failed; nothing of the job was acknowledged.
    StoreFailed(String),
}

/// Group-commit counters.
#[derive(Default)]
pub struct CommitStats {
    /// Durable flushes.
    pub commits: AtomicU64,
    /// Jobs committed.
    pub jobs: AtomicU64,
    /// Records committed.
    pub records: AtomicU64,
    /// Jobs per commit: 1, 2–3, 4–7, 8–15, 16–31, 32–63, 64+.
    pub jobs_per_commit: [AtomicU64; 7],
    /// Most jobs in one commit.
    pub jobs_per_commit_max: AtomicU64,
}

impl CommitStats {
    fn record(&self, jobs: u64, records: u64) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(jobs, Ordering::Relaxed);
        self.records.fetch_add(records, Ordering::Relaxed);
        let bucket = (64 - jobs.max(1).leading_zeros() as usize - 1).min(6);
        self.jobs_per_commit[bucket].fetch_add(1, Ordering::Relaxed);
        self.jobs_per_commit_max.fetch_max(jobs, Ordering::Relaxed);
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        #[derive(Serialize)]
        struct Out {
            commits: u64,
            jobs: u64,
            records: u64,
            jobs_per_commit_histogram: Vec<(String, u64)>,
            jobs_per_commit_max: u64,
        }
        let labels = ["1", "2-3", "4-7", "8-15", "16-31", "32-63", "64+"];
        serde_json::to_value(Out {
            commits: self.commits.load(Ordering::Relaxed),
            jobs: self.jobs.load(Ordering::Relaxed),
            records: self.records.load(Ordering::Relaxed),
            jobs_per_commit_histogram: labels
                .iter()
                .zip(&self.jobs_per_commit)
                .map(|(l, c)| (l.to_string(), c.load(Ordering::Relaxed)))
                .collect(),
            jobs_per_commit_max: self.jobs_per_commit_max.load(Ordering::Relaxed),
        })
        .expect("stats serialize")
    }
}

/// Checkpoint policy.
pub struct WriterConfig {
    /// Signs checkpoints; none: no checkpoints.
    pub operator_key: Option<SecretKey>,
    /// After this many new records …
    pub checkpoint_every_records: u64,
    /// … or this long with new records.
    pub checkpoint_every: Duration,
}

/// The writer thread and what it shares.
pub struct Writer {
    sender: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// The committed state.
    pub snapshot: Arc<RwLock<Arc<Snapshot>>>,
    /// Reads records.
    pub reader: StoreReader,
    /// Group-commit counters.
    pub stats: Arc<CommitStats>,
}

impl Writer {
    /// Starts the writer thread over an open store.
    pub fn start(store: Store, ledger: Ledger, config: WriterConfig) -> Writer {
        let (sender, receiver) = std::sync::mpsc::sync_channel(crate::WRITER_QUEUE_MAX);
        let reader = store.reader();
        let stats = Arc::new(CommitStats::default());
        let mut state = State {
            store,
            ledger,
            config,
            checkpoint: None,
            checkpoint_size: 0,
            checkpoint_time: Instant::now(),
        };
        state.sign_checkpoint();
        let snapshot = Arc::new(RwLock::new(Arc::new(state.snapshot())));
        let thread = {
            let snapshot = snapshot.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name("fundledger-writer".into())
                .spawn(move || state.run(receiver, &snapshot, &stats))
                .expect("the writer thread starts")
        };
        Writer {
            sender: Some(sender),
            thread: Some(thread),
            snapshot,
            reader,
            stats,
        }
    }

    /// Queues a job; false when the queue is full (answer 503).
    pub fn submit(&self, job: Job) -> bool {
        match self.sender.as_ref().map(|s| s.try_send(job)) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_))) | Some(Err(TrySendError::Disconnected(_))) | None => {
                false
            }
        }
    }

    /// The committed state.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .expect("the snapshot lock is never poisoned")
            .clone()
    }

    /// Finishes queued jobs, then stops the thread.
    pub fn stop(mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How one job of a group was decided: its items' seqs and whether any is
/// new, or the index of the rejected item and why.
type Decision = Result<Accepted, BatchRejection>;

/// A job whose items were all accepted, waiting for the group's flush.
struct Accepted {
    /// Each item's seq: new, or the original of an identical retry.
    seqs: Vec<u64>,
    /// True when at least one item is new.
    any_new: bool,
}

struct State {
    store: Store,
    ledger: Ledger,
    config: WriterConfig,
    checkpoint: Option<SignedCheckpoint>,
    checkpoint_size: u64,
    checkpoint_time: Instant,
}

impl State {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            ledger: self.ledger.clone(),
            checkpoint: self.checkpoint.clone(),
        }
    }

    fn sign_checkpoint(&mut self) {
        let Some(key) = &self.config.operator_key else {
            return;
        };
        let Some(ledger_id) = self.ledger.ledger_id() else {
            return;
        };
        let at = self.ledger.now(chrono::Utc::now());
        self.checkpoint = Some(
            Checkpoint {
                ledger: ledger_id,
                size: self.ledger.size(),
                head: self.ledger.head(),
                at,
            }
            .sign(key),
        );
        self.checkpoint_size = self.ledger.size();
        self.checkpoint_time = Instant::now();
    }

    fn checkpoint_due(&self) -> bool {
        let new = self.ledger.size() - self.checkpoint_size;
        new > 0
            && (new >= self.config.checkpoint_every_records
                || self.checkpoint_time.elapsed() >= self.config.checkpoint_every)
    }

    fn run(
        mut self,
        receiver: Receiver<Job>,
        snapshot: &RwLock<Arc<Snapshot>>,
        stats: &CommitStats,
    ) {
        loop {
            let first = match receiver
                .recv_timeout(self.config.checkpoint_every.max(Duration::from_millis(50)))
            {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    if self.checkpoint_due() {
                        self.sign_checkpoint();
                        *snapshot.write().expect("not poisoned") = Arc::new(self.snapshot());
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut jobs = vec![first];
            while jobs.len() < crate::GROUP_JOBS_MAX {
                match receiver.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.commit_group(jobs, stats);
            if self.checkpoint_due() {
                self.sign_checkpoint();
            }
            *snapshot.write().expect("not poisoned") = Arc::new(self.snapshot());
        }
    }

    fn commit_group(&mut self, jobs: Vec<Job>, stats: &CommitStats) {
        let mut working = self.ledger.clone();
        let mut sealed: Vec<SealedRecord> = Vec::new();
        // Per job: Ok(seqs of its items) or the rejection.
        let mut decided: Vec<(Job, Decision)> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let items: Result<Vec<BatchItem<'_>>, BatchRejection> = job
                .submissions
                .iter()
                .enumerate()
                .map(|(index, s)| {
                    BatchItem::parse(s).map_err(|rejection| BatchRejection { index, rejection })
                })
                .collect();
            let outcome = items.and_then(|items| {
                working.append_batch(&items, RecordClock::Now(chrono::Utc::now()))
            });
            match outcome {
                Ok(batch) => {
                    let seqs = batch.outcomes.iter().map(|o| o.seq()).collect();
                    let any_new = !batch.records.is_empty();
                    working = batch.ledger;
                    sealed.extend(batch.records);
                    decided.push((job, Ok(Accepted { seqs, any_new })));
                }
                Err(rejection) => decided.push((job, Err(rejection))),
            }
        }
        let committed_jobs = decided.iter().filter(|(_, r)| r.is_ok()).count() as u64;
        if let Err(e) = self.store.append(&sealed) {
            for (job, result) in decided {
                let outcome = match result {
                    Ok(_) => JobOutcome::StoreFailed(e.to_string()),
                    Err(BatchRejection { index, rejection }) => {
                        JobOutcome::Rejected { index, rejection }
                    }
                };
                let _ = job.reply.send(outcome);
            }
            return;
        }
        if !sealed.is_empty() {
            stats.record(committed_jobs, sealed.len() as u64);
        }
        self.ledger = working;
        // Durable: now answer. New records come from the batch; originals of
        // identical retries from the store.
        let fresh: std::collections::HashMap<u64, &SealedRecord> =
            sealed.iter().map(|r| (r.seq, r)).collect();
        for (job, result) in decided {
            let outcome = match result {
                Ok(Accepted { seqs, any_new }) => {
                    let records = seqs
                        .iter()
                        .map(|seq| match fresh.get(seq) {
                            Some(r) => r.bytes.clone(),
                            None => self.store.record(*seq).ok().flatten().unwrap_or_default(),
                        })
                        .collect();
                    JobOutcome::Committed { records, any_new }
                }
                Err(BatchRejection { index, rejection }) => {
                    JobOutcome::Rejected { index, rejection }
                }
            };
            let _ = job.reply.send(outcome);
        }
    }
}
