//! The single writer: group commit over the store.

use fundledger_core::checkpoint::SignedCheckpoint;
use fundledger_core::crypto::SecretKey;
use fundledger_core::ledger::{
    refuse_far_future, BatchItem, BatchRejection, DecidedBatch, Ledger, PendingSignature,
    RecordClock, SealedRecord,
};
use fundledger_core::Rejection;
use fundledger_store::{Store, StoreReader};
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

/// What readers see: the state after the last commit.
pub struct Snapshot {
    /// The ledger state.
    pub ledger: Ledger,
    /// The newest seal's checkpoint.
    pub checkpoint: Option<Arc<SignedCheckpoint>>,
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

/// What the writer needs.
pub struct WriterConfig {
    /// Seals every group commit; none: the server only reads.
    pub operator_key: Option<SecretKey>,
    /// How far ahead of this machine's clock an event's `at` may be.
    pub future_skew: chrono::Duration,
}

/// The checkpoint in a seal record's body.
pub fn seal_checkpoint(record: &[u8]) -> Option<SignedCheckpoint> {
    let record: Value = serde_json::from_slice(record).ok()?;
    let note = record["event"]["body"]["checkpoint"].as_str()?;
    SignedCheckpoint::parse(note).ok()
}

/// The writer thread and what it shares.
pub struct Writer {
    sender: std::sync::Mutex<Option<SyncSender<Job>>>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// The committed state.
    pub snapshot: Arc<RwLock<Arc<Snapshot>>>,
    /// Reads records.
    pub reader: StoreReader,
    /// Group-commit counters.
    pub stats: Arc<CommitStats>,
    /// Started without the operator key: submissions are refused.
    pub read_only: bool,
    /// The programs' findings, gathered as they are asked for.
    pub findings: crate::findings_cache::FindingsCache,
}

impl Writer {
    /// Starts the writer thread over an open store.
    pub fn start(store: Store, ledger: Ledger, config: WriterConfig) -> Writer {
        let (sender, receiver) = std::sync::mpsc::sync_channel(crate::WRITER_QUEUE_MAX);
        let reader = store.reader();
        let stats = Arc::new(CommitStats::default());
        let read_only = config.operator_key.is_none();
        let checkpoint = ledger
            .sealed_through()
            .and_then(|seq| store.record(seq).ok().flatten())
            .and_then(|record| seal_checkpoint(&record))
            .map(Arc::new);
        let snapshot_size = store.snapshots().first().map_or(0, |(size, _)| *size);
        let state = State {
            store,
            ledger,
            config,
            checkpoint,
            snapshot_size,
            snapshot_writer: None,
        };
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
            sender: std::sync::Mutex::new(Some(sender)),
            thread: std::sync::Mutex::new(Some(thread)),
            snapshot,
            reader,
            stats,
            read_only,
            findings: Default::default(),
        }
    }

    /// Queues a job; false when the queue is full (answer 503).
    pub fn submit(&self, job: Job) -> bool {
        let sender = self.sender.lock().expect("not poisoned");
        match sender.as_ref().map(|s| s.try_send(job)) {
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

    /// Takes no more jobs, finishes (and flushes) the queued ones, then
    /// stops the thread. Jobs submitted after are refused (503).
    pub fn stop(&self) {
        self.sender.lock().expect("not poisoned").take();
        if let Some(thread) = self.thread.lock().expect("not poisoned").take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop();
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
    checkpoint: Option<Arc<SignedCheckpoint>>,
    /// Records covered by the newest snapshot of the books.
    snapshot_size: u64,
    /// The thread writing one, if any.
    snapshot_writer: Option<std::thread::JoinHandle<()>>,
}

impl State {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            ledger: self.ledger.clone(),
            checkpoint: self.checkpoint.clone(),
        }
    }

    fn run(
        mut self,
        receiver: Receiver<Job>,
        snapshot: &RwLock<Arc<Snapshot>>,
        stats: &CommitStats,
    ) {
        while let Ok(first) = receiver.recv() {
            let mut jobs = vec![first];
            while jobs.len() < crate::GROUP_JOBS_MAX {
                match receiver.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.commit_group(jobs, stats);
            *snapshot.write().expect("not poisoned") = Arc::new(self.snapshot());
            if fundledger_store::snapshot_due(
                self.ledger.size() - self.snapshot_size,
                self.ledger.size(),
            ) {
                self.write_snapshot(false);
            }
        }
        // A clean stop leaves a snapshot of the books for the next open.
        if self.ledger.size() > self.snapshot_size {
            self.write_snapshot(true);
        }
        if let Some(thread) = self.snapshot_writer.take() {
            let _ = thread.join();
        }
    }

    /// Writes a snapshot of the books as they stand (every group ends on a
    /// seal, and its records are durable): beside this thread, from an
    /// O(1) clone, or here when `now` (the server is stopping). One at a time.
    fn write_snapshot(&mut self, now: bool) {
        if let Some(thread) = self.snapshot_writer.take() {
            if !thread.is_finished() && !now {
                self.snapshot_writer = Some(thread);
                return;
            }
            let _ = thread.join();
        }
        let reader = self.store.reader();
        let ledger = self.ledger.clone();
        self.snapshot_size = ledger.size();
        let write = move || {
            if let Err(e) = reader.write_snapshot(&ledger) {
                eprintln!("note: no snapshot of the books was written: {e}");
            }
        };
        if now {
            write();
        } else {
            self.snapshot_writer = Some(std::thread::spawn(write));
        }
    }

    /// Decides each job in turn on a working copy of the state: the group
    /// (its records not yet sealed) and each job's decision.
    fn decide_group(
        &self,
        jobs: &[Job],
        mut deferred: Option<&mut Vec<PendingSignature>>,
    ) -> (DecidedBatch, Vec<Decision>) {
        let mut group = DecidedBatch {
            ledger: self.ledger.clone(),
            records: Vec::new(),
            outcomes: Vec::new(),
        };
        let mut decisions = Vec::with_capacity(jobs.len());
        for job in jobs {
            let items: Result<Vec<BatchItem<'_>>, BatchRejection> = job
                .submissions
                .iter()
                .enumerate()
                .map(|(index, s)| {
                    BatchItem::parse(s).map_err(|rejection| BatchRejection { index, rejection })
                })
                .collect();
            let now = chrono::Utc::now();
            let outcome = items.and_then(|items| {
                refuse_far_future(&items, now, self.config.future_skew)?;
                group.ledger.decide_batch_in_place(
                    &items,
                    RecordClock::Now(now),
                    deferred.as_deref_mut(),
                )
            });
            decisions.push(outcome.map(|(records, outcomes)| {
                let seqs = outcomes.iter().map(|o| o.seq()).collect();
                let any_new = !records.is_empty();
                group.records.extend(records);
                Accepted { seqs, any_new }
            }));
        }
        (group, decisions)
    }

    fn commit_group(&mut self, jobs: Vec<Job>, stats: &CommitStats) {
        let Some(key) = self.config.operator_key.clone() else {
            for job in jobs {
                let _ = job.reply.send(JobOutcome::StoreFailed(
                    "the server runs without the operator key".to_string(),
                ));
            }
            return;
        };
        // Signatures are checked together, in one batch; if that fails, the
        // group is decided again checking each, which refuses exactly the
        // jobs a one-by-one check would have refused.
        let mut pending = Vec::new();
        let (group, decisions) = self.decide_group(&jobs, Some(&mut pending));
        let signed = pending.is_empty()
            || fundledger_core::crypto::verify_batch(
                pending
                    .iter()
                    .map(|p| (&p.key, &p.event_hash, p.sig.as_str())),
            );
        let (mut group, decisions) = if signed {
            (group, decisions)
        } else {
            self.decide_group(&jobs, None)
        };
        let decided: Vec<(Job, Decision)> = jobs.into_iter().zip(decisions).collect();
        // One seal for the whole group.
        let sealed = match group.seal(&key) {
            Ok(()) => std::mem::take(&mut group.records),
            Err(rejection) => {
                for (job, _) in decided {
                    let _ = job
                        .reply
                        .send(JobOutcome::StoreFailed(rejection.to_string()));
                }
                return;
            }
        };
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
        self.ledger = group.ledger;
        self.ledger.mark_stored();
        if let Some(seal) = sealed.last() {
            self.checkpoint = seal_checkpoint(&seal.bytes).map(Arc::new);
        }
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
