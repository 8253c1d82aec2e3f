//! The one crate of fundledger that knows sled.
//!
//! A ledger directory is a sled database. Records are stored by seq as their
//! canonical bytes — exactly the export lines without the newline — one
//! record or a group of consecutive ones per sled value ([`layout`]).
//! [`Store::append`] writes a batch with one
//! atomic `apply_batch` and returns only after `flush` has made it durable,
//! so after a kill at any moment the store holds a prefix of the chain that
//! ends on a batch boundary and contains every batch ever acknowledged.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod acknowledged;
mod gather;
mod layout;
mod snapshots;

pub use snapshots::Found;

use acknowledged::Acknowledged;
use fundledger_core::ids::{Hash32, Timestamp};
use fundledger_core::ledger::{parse_stored, Ledger, SealedRecord, StoredRecord};
use fundledger_core::Rejection;
use std::path::{Path, PathBuf};

/// sled's page cache for a store in use.
const STORE_CACHE_BYTES: u64 = 256 << 20;
/// sled's page cache for one pass over a store.
const SCAN_CACHE_BYTES: u64 = 16 << 20;

/// A whole-chain open that folds at least this many records after the
/// newest snapshot writes a new one (and at least an eighth of the chain:
/// [`snapshot_due`]).
pub const SNAPSHOT_AFTER_RECORDS: u64 = 10_000;

/// Is a new snapshot worth writing, `folded` records after the last one, in
/// a chain of `size`? Writing one costs about as much as the chain is
/// long, so the interval grows with the chain: at least
/// [`SNAPSHOT_AFTER_RECORDS`] and an eighth of the chain (a server taking
/// appends to a million-record ledger writes one every 125,000 records, not
/// every 10,000; an open then folds at most that many).
pub fn snapshot_due(folded: u64, size: u64) -> bool {
    folded >= SNAPSHOT_AFTER_RECORDS.max(size / 8)
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, corruption, or the directory is locked by another process).
    #[error("ledger {path}: {source}")]
    Sled {
        /// The ledger directory.
        path: PathBuf,
        /// sled's error.
        source: sled::Error,
    },
    /// A stored record fails verification: the store was altered outside fundledger.
    #[error("ledger {path}: stored record seq {seq} fails verification: {rejection}")]
    Corrupt {
        /// The ledger directory.
        path: PathBuf,
        /// The failing record.
        seq: u64,
        /// Why.
        rejection: Rejection,
    },
    /// Another process (such as `fundledger serve`) holds the directory's lock.
    #[error("ledger {path}: {message} (is another fundledger process, such as `serve`, using this ledger? If `serve` holds it, send signed submissions to the server instead: `fundledger submit --url http://HOST:PORT FILE`)")]
    Locked {
        /// The ledger directory.
        path: PathBuf,
        /// What the storage engine said.
        message: String,
    },
    /// The storage engine found its files damaged (a torn write, a bad sector).
    #[error("ledger {path}: the store's files are damaged ({message}); restore the ledger from an export or a mirror (`fundledger import`)")]
    Damaged {
        /// The ledger directory.
        path: PathBuf,
        /// What the storage engine said.
        message: String,
    },
    /// The store holds fewer records than it acknowledged, or others: its
    /// files were damaged or replaced, and acknowledged records are lost.
    #[error("ledger {path}: {what}; restore the ledger from an export or a mirror (`fundledger import`)")]
    Lost {
        /// The ledger directory.
        path: PathBuf,
        /// What is missing or different.
        what: String,
    },
    /// The directory holds no ledger.
    #[error("ledger {0}: no ledger here (create one with `fundledger init`)")]
    NotALedger(PathBuf),
    /// The directory already holds a ledger.
    #[error("ledger {0}: a ledger already exists here")]
    AlreadyExists(PathBuf),
    /// The batch does not continue the stored chain (a bug in the caller).
    #[error("ledger {path}: batch starts at seq {got}, the store holds {expected} records")]
    OutOfOrder {
        /// The ledger directory.
        path: PathBuf,
        /// Where the batch starts.
        got: u64,
        /// How many records the store holds.
        expected: u64,
    },
}

/// A ledger directory.
pub struct Store {
    path: PathBuf,
    tree: sled::Db,
    len: u64,
    /// The hash of the last appended record.
    head: Option<Hash32>,
    /// Records covered by the snapshot the last [`Store::replay_until`]
    /// started from (0: it replayed from record 0).
    opened_from: std::sync::atomic::AtomicU64,
    /// The files of sled's `blobs/` this process has synced.
    synced_blobs: std::sync::Mutex<std::collections::HashSet<std::ffi::OsString>>,
}

use layout::{key, seq_of, RECORD_PREFIX};

/// sled's error as the store's: corruption it found is `Damaged`.
fn sled_error(path: &Path, source: sled::Error) -> StoreError {
    match source {
        sled::Error::Corruption { at, .. } => StoreError::Damaged {
            path: path.to_path_buf(),
            message: format!("corrupted data at {at:?}"),
        },
        source => StoreError::Sled {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// sled's segment size for a new store. sled writes any item over a
/// quarter of a segment to a file of its own (a blob); with its default
/// 512 KiB, leaves of grouped records often were, and a durable import of
/// 299,301 bench records made some 1,500 blob files. With 4 MiB none, and
/// the import took 3.5-3.6 s instead of 4.7-5.1 s (BENCHMARKS.md, session 9).
const SEGMENT_BYTES_NEW: usize = 4 << 20;

/// The segment size a store was created with (sled refuses to open it with
/// another), from sled's `conf` file; [`SEGMENT_BYTES_NEW`] for a new one.
fn segment_bytes(path: &Path) -> usize {
    // The file ends in a binary checksum: read it as bytes.
    std::fs::read(path.join("conf"))
        .ok()
        .and_then(|conf| {
            String::from_utf8_lossy(&conf)
                .lines()
                .find_map(|line| line.strip_prefix("segment_size: "))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(SEGMENT_BYTES_NEW)
}

/// A value that is neither a record nor a group: written by something else.
fn damaged_value(path: &Path, first: u64, why: String) -> StoreError {
    StoreError::Damaged {
        path: path.to_path_buf(),
        message: format!("the value stored at seq {first} is no record: {why}"),
    }
}

/// The records with seqs in `from..end`, in order, each value read once.
fn records_in<'a>(
    tree: &'a sled::Db,
    path: &'a Path,
    from: u64,
    end: u64,
) -> impl Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + 'a {
    // The value holding `from` may start before it (a group).
    let (start, failed) = match tree.range(key(0)..=key(from)).next_back() {
        Some(Ok((k, _))) => (seq_of(&k), None),
        Some(Err(e)) => (end, Some(Err(sled_error(path, e)))),
        None => (from, None),
    };
    let values = (start < end).then(|| tree.range(key(start)..key(end)));
    failed
        .into_iter()
        .chain(values.into_iter().flatten().flat_map(move |entry| {
            let rows: Vec<Result<(u64, Vec<u8>), StoreError>> = match entry {
                Err(e) => vec![Err(sled_error(path, e))],
                Ok((k, value)) => {
                    let first = seq_of(&k);
                    match layout::records(&value) {
                        Err(why) => vec![Err(damaged_value(path, first, why))],
                        Ok(records) => (first..)
                            .zip(records)
                            .filter(|(seq, _)| (from..end).contains(seq))
                            .map(|(seq, bytes)| Ok((seq, bytes.to_vec())))
                            .collect(),
                    }
                }
            };
            rows
        }))
}

/// One record's bytes, if stored: one lookup, of the value holding it.
fn record_at(tree: &sled::Db, path: &Path, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(entry) = tree.range(key(0)..=key(seq)).next_back() else {
        return Ok(None);
    };
    let (k, value) = entry.map_err(|e| sled_error(path, e))?;
    let first = seq_of(&k);
    let records = layout::records(&value).map_err(|why| damaged_value(path, first, why))?;
    let at = usize::try_from(seq - first).unwrap_or(usize::MAX);
    Ok(records.get(at).map(|bytes| bytes.to_vec()))
}

impl Store {
    fn open_db(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
        match Store::open_db_once(path, cache_bytes) {
            Err(StoreError::Damaged { .. }) if Store::remove_unfinished_snapshots(path) => {
                Store::open_db_once(path, cache_bytes)
            }
            result => result,
        }
    }

    /// sled 0.34 writes a snapshot to `snap.<lsn>.generating`, syncs it and
    /// renames it; a crash or power cut before the rename leaves that file,
    /// and sled then takes it for the newest snapshot and refuses to open
    /// (sled issues #1527, #1533). Such a file is never a finished
    /// snapshot: after sled refused, it is removed (saying so) and the
    /// store opens from the snapshot before it and its log. True when one
    /// was removed.
    fn remove_unfinished_snapshots(path: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(path) else {
            return false;
        };
        let mut removed = false;
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("snap.")
                && name.ends_with(".generating")
                && std::fs::remove_file(entry.path()).is_ok()
            {
                eprintln!(
                    "note: removed {}: the storage engine's unfinished snapshot, left by a crash (the store opens from its log)",
                    entry.path().display()
                );
                removed = true;
            }
        }
        removed
    }

    fn open_db_once(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
        sled::Config::new()
            .path(path)
            .segment_size(segment_bytes(path))
            .mode(sled::Mode::HighThroughput)
            // Every append flushes before it returns; a background flusher
            // thread would only hold the directory lock after the store is dropped.
            .flush_every_ms(None)
            // Records are read mostly once, in order (replay, export,
            // followers): sled's default 1 GiB page cache would only add
            // to the peak memory of a large ledger.
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|source| match source {
                // sled says so only in words: "could not acquire lock on …".
                sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked {
                        path: path.to_path_buf(),
                        message: source.to_string(),
                    }
                }
                source => sled_error(path, source),
            })
    }

    /// The files of a store in a ledger directory, by name (and every
    /// `snap.*`, the engine's snapshots).
    const FILES: [&'static str; 5] = ["conf", "db", "blobs", acknowledged::FILE, snapshots::DIR];

    /// The names of the store's files present in `path`.
    fn files_in(path: &Path) -> Vec<String> {
        let mut names: Vec<String> = Store::FILES
            .iter()
            .filter(|name| path.join(name).exists())
            .map(|name| name.to_string())
            .collect();
        if let Ok(entries) = std::fs::read_dir(path) {
            names.extend(
                entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|name| name.starts_with("snap.")),
            );
        }
        names
    }

    /// True when `path` holds a store (made by [`Store::create`]).
    pub fn exists(path: &Path) -> bool {
        path.join("conf").exists() || path.join("db").exists()
    }

    /// What the store in `path` acknowledged: the number of records and the
    /// last one's hash, if it ever acknowledged any.
    pub fn acknowledged(path: &Path) -> Result<Option<(u64, Hash32)>, StoreError> {
        Ok(Acknowledged::read(path)?.map(|a| (a.size, a.head)))
    }

    /// Moves the store's files from `path` into the new directory `aside`
    /// (for `recover`: a damaged store is kept, never deleted); returns the
    /// names moved.
    pub fn set_aside(path: &Path, aside: &Path) -> Result<Vec<String>, StoreError> {
        let io = |source: std::io::Error| StoreError::Sled {
            path: aside.to_path_buf(),
            source: sled::Error::Io(source),
        };
        std::fs::create_dir(aside).map_err(io)?;
        let moved = Store::files_in(path);
        for name in &moved {
            std::fs::rename(path.join(name), aside.join(name)).map_err(io)?;
        }
        Ok(moved)
    }

    /// Removes the store's files from `path`; other files and the
    /// directory itself are left.
    pub fn destroy(path: &Path) -> Result<(), StoreError> {
        let io = |source: std::io::Error| StoreError::Sled {
            path: path.to_path_buf(),
            source: sled::Error::Io(source),
        };
        for name in Store::files_in(path) {
            let file = path.join(name);
            match std::fs::symlink_metadata(&file) {
                Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&file).map_err(io)?,
                Ok(_) => std::fs::remove_file(&file).map_err(io)?,
                Err(_) => {}
            }
        }
        Ok(())
    }

    fn sled_err(&self, source: sled::Error) -> StoreError {
        sled_error(&self.path, source)
    }

    /// Creates an empty store; fails if the directory already holds a ledger.
    pub fn create(path: &Path) -> Result<Store, StoreError> {
        if Store::exists(path) {
            return Err(StoreError::AlreadyExists(path.to_path_buf()));
        }
        let tree = Store::open_db(path, STORE_CACHE_BYTES)?;
        Ok(Store {
            path: path.to_path_buf(),
            tree,
            len: 0,
            head: None,
            opened_from: Default::default(),
            synced_blobs: Default::default(),
        })
    }

    /// Opens an existing store without reading its records.
    pub fn open_raw(path: &Path) -> Result<Store, StoreError> {
        Store::open_raw_with_cache(path, STORE_CACHE_BYTES)
    }

    /// [`Store::open_raw`] for one pass over the records (`verify
    /// --ledger`): a small page cache, since nothing is read twice.
    pub fn open_for_scan(path: &Path) -> Result<Store, StoreError> {
        Store::open_raw_with_cache(path, SCAN_CACHE_BYTES)
    }

    fn open_raw_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let acknowledged = Acknowledged::read(path)?;
        if !Store::exists(path) {
            return Err(match acknowledged {
                Some(ack) => ack.lost(path, 0),
                None => StoreError::NotALedger(path.to_path_buf()),
            });
        }
        let tree = Store::open_db(path, cache_bytes)?;
        let len = match tree.scan_prefix([RECORD_PREFIX]).next_back() {
            Some(entry) => {
                let (k, value) = entry.map_err(|source| sled_error(path, source))?;
                let first = seq_of(&k);
                first + layout::count(&value).map_err(|why| damaged_value(path, first, why))?
            }
            None => 0,
        };
        let mut store = Store {
            path: path.to_path_buf(),
            tree,
            len,
            head: None,
            opened_from: Default::default(),
            synced_blobs: Default::default(),
        };
        if let Some(last) = len.checked_sub(1) {
            store.head = store.record(last)?.as_deref().and_then(record_hash);
        }
        if let Some(ack) = acknowledged {
            ack.check(&store)?;
        }
        Ok(store)
    }

    /// Opens a store and replays every record: links, seq, time order and
    /// record hashes are checked and every ledger rule is re-applied
    /// ([`Ledger::replay_stored`]); signatures and schemas, checked when the
    /// records were appended, are not re-run — `fundledger verify` does that.
    pub fn open(path: &Path) -> Result<(Store, Ledger), StoreError> {
        let store = Store::open_raw(path)?;
        if store.len == 0 {
            return Err(StoreError::NotALedger(path.to_path_buf()));
        }
        let ledger = store.replay()?;
        Ok((store, ledger))
    }

    /// An empty ledger that reads its earlier records back from this store
    /// ([`Ledger::recalling`]): what every open of a store folds into.
    pub fn new_ledger(&self) -> Ledger {
        Ledger::recalling(std::sync::Arc::new(self.reader()))
    }

    /// The ledger directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every record folded into a ledger, as [`Store::open`] does.
    fn replay(&self) -> Result<Ledger, StoreError> {
        self.replay_until(None, None)
    }

    /// The records before seq `records_max` and recorded by `recorded_by`
    /// folded into a ledger, re-checking links, hashes and rules as
    /// [`Store::open`] does: the ledger as it stood then.
    ///
    /// It starts from the newest snapshot of the books that applies
    /// (`snapshots/`, written at seals) and folds only the records after
    /// it; a snapshot that does not match this chain is named on stderr and
    /// the whole chain is replayed instead.
    pub fn replay_until(
        &self,
        records_max: Option<u64>,
        recorded_by: Option<Timestamp>,
    ) -> Result<Ledger, StoreError> {
        let start = match self.find_snapshot(records_max, recorded_by)? {
            Found::Ledger(ledger, _) => *ledger,
            Found::Refused(path, refusal) => {
                eprintln!(
                    "snapshot {}: {refusal}; replaying the whole chain instead",
                    path.display()
                );
                self.new_ledger()
            }
            Found::None => self.new_ledger(),
        };
        let from = start.size();
        self.opened_from
            .store(from, std::sync::atomic::Ordering::Relaxed);
        let ledger = self.fold_from(start, records_max, recorded_by, |_, _, _| {})?;
        // A whole-chain open that folded many records leaves a snapshot for
        // the next one. It is a cache: failing to write it loses nothing.
        let whole = records_max.is_none() && recorded_by.is_none();
        if whole && snapshot_due(ledger.size() - from, ledger.size()) {
            if let Err(e) = self.write_snapshot(&ledger) {
                eprintln!("note: no snapshot of the books was written: {e}");
            }
        }
        Ok(ledger)
    }

    /// [`Store::replay_until`], showing `each` every record as it is folded
    /// in, with the ledger as it stands after it.
    pub fn replay_each(
        &self,
        records_max: Option<u64>,
        recorded_by: Option<Timestamp>,
        each: impl FnMut(&Ledger, u64, &StoredRecord) + Send,
    ) -> Result<Ledger, StoreError> {
        self.fold_from(self.new_ledger(), records_max, recorded_by, each)
    }

    /// Folds the records after `ledger` (from seq `ledger.size()`) into it.
    fn fold_from(
        &self,
        mut ledger: Ledger,
        records_max: Option<u64>,
        recorded_by: Option<Timestamp>,
        mut each: impl FnMut(&Ledger, u64, &StoredRecord) + Send,
    ) -> Result<Ledger, StoreError> {
        let path = &self.path;
        // Records are parsed on every core, a chunk at a time, and folded
        // in order; the next chunk is parsed while this one is folded.
        use rayon::prelude::*;
        const CHUNK: usize = 2048;
        let corrupt = |seq: u64, rejection| StoreError::Corrupt {
            path: path.to_path_buf(),
            seq,
            rejection,
        };
        let mut records = self.records(ledger.size()).fuse();
        let mut read_chunk = || -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
            records.by_ref().take(CHUNK).collect()
        };
        let parse = |chunk: &[(u64, Vec<u8>)]| -> Vec<_> {
            chunk
                .par_iter()
                .map(|(seq, bytes)| (*seq, parse_stored(bytes)))
                .collect()
        };
        let mut chunk = read_chunk()?;
        let mut parsed = parse(&chunk);
        while !chunk.is_empty() {
            chunk = read_chunk()?;
            let (next, folded) = rayon::join(
                || parse(&chunk),
                || -> Result<bool, StoreError> {
                    for (seq, record) in parsed.drain(..) {
                        if records_max.is_some_and(|n| seq >= n) {
                            return Ok(true);
                        }
                        let record = record.map_err(|r| corrupt(seq, r))?;
                        if recorded_by.is_some_and(|t| record.recorded_at() > t) {
                            return Ok(true);
                        }
                        ledger.accept_stored(&record).map_err(|r| corrupt(seq, r))?;
                        each(&ledger, seq, &record);
                    }
                    Ok(false)
                },
            );
            if folded? {
                break;
            }
            parsed = next;
        }
        Ok(ledger)
    }

    /// The records covered by the snapshot of the books the last
    /// [`Store::replay_until`] started from; `None` if it replayed the
    /// whole chain.
    pub fn opened_from_snapshot(&self) -> Option<u64> {
        Some(self.opened_from.load(std::sync::atomic::Ordering::Relaxed)).filter(|n| *n > 0)
    }

    /// Number of stored records.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when no record is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The canonical bytes of the records from `from` on, in order.
    pub fn records(
        &self,
        from: u64,
    ) -> impl Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + '_ {
        records_in(&self.tree, &self.path, from, u64::MAX)
    }

    /// One record's canonical bytes.
    pub fn record(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        record_at(&self.tree, &self.path, seq)
    }

    /// Appends a batch atomically and durably: when this returns `Ok`, every
    /// record of the batch is on disk; when it fails, none is visible.
    pub fn append(&mut self, batch: &[SealedRecord]) -> Result<(), StoreError> {
        self.append_unflushed(batch)?;
        self.flush()
    }

    /// Appends a batch atomically but leaves it in memory until
    /// [`Store::flush`]: for a bulk import, which reports success only after
    /// its final flush and removes the store if it fails.
    pub fn append_unflushed(&mut self, batch: &[SealedRecord]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        for (offset, record) in batch.iter().enumerate() {
            if record.seq != self.len + offset as u64 {
                return Err(StoreError::OutOfOrder {
                    path: self.path.clone(),
                    got: record.seq,
                    expected: self.len + offset as u64,
                });
            }
        }
        let mut writes = sled::Batch::default();
        for (first, value) in layout::values(batch) {
            writes.insert(&key(first)[..], value);
        }
        self.tree
            .apply_batch(writes)
            .map_err(|e| self.sled_err(e))?;
        self.len += batch.len() as u64;
        self.head = batch.last().map(|r| r.hash);
        Ok(())
    }

    /// Makes every appended batch durable, then records (durably, outside
    /// the storage engine's files) how many records the store acknowledged
    /// and the last one's hash: a later open that finds fewer or others
    /// fails, naming what was lost, instead of serving a shorter chain.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.tree.flush().map_err(|e| self.sled_err(e))?;
        // sled 0.34 makes its log stable with sync_file_range, which flushes
        // neither the file's metadata nor the disk's cache: sync its data
        // file fully before anything is acknowledged.
        std::fs::File::open(self.path.join("db"))
            .and_then(|db| db.sync_all())
            .map_err(|e| self.sled_err(sled::Error::Io(e)))?;
        self.sync_blobs()
            .map_err(|e| self.sled_err(sled::Error::Io(e)))?;
        if let Some(head) = self.head {
            Acknowledged {
                size: self.len,
                head,
            }
            .write(&self.path)?;
        }
        Ok(())
    }

    /// sled writes an item over a quarter of a segment (a leaf of large
    /// records) to a file of its own in `blobs/`, and never syncs it: its
    /// log then points to a file a power cut may empty. Every blob not yet
    /// synced is synced here, then the directory; returns how many.
    fn sync_blobs(&self) -> std::io::Result<usize> {
        let dir = self.path.join("blobs");
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|e| e.into_inner());
        let mut new = 0;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if synced.contains(&entry.file_name()) {
                continue;
            }
            match std::fs::File::open(entry.path()) {
                Ok(file) => file.sync_all()?,
                // sled removed it (an older blob, no longer referenced).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            synced.insert(entry.file_name());
            new += 1;
        }
        if new > 0 {
            std::fs::File::open(&dir)?.sync_all()?;
        }
        Ok(new)
    }
}

/// The `hash` member of a stored record's canonical bytes.
fn record_hash(line: &[u8]) -> Option<Hash32> {
    const KEY: &[u8] = b",\"hash\":\"";
    let at = line.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let hex = std::str::from_utf8(line.get(at..at + 64)?).ok()?;
    Hash32::parse(hex).ok()
}

/// A read-only handle to a store, cheap to clone and safe to share across threads.
#[derive(Clone)]
pub struct StoreReader {
    path: PathBuf,
    tree: sled::Db,
}

impl Store {
    /// A handle for readers on other threads. Readers only see whole batches.
    pub fn reader(&self) -> StoreReader {
        StoreReader {
            path: self.path.clone(),
            tree: self.tree.clone(),
        }
    }
}

/// A ledger opened from this store reads its earlier records back here.
impl fundledger_core::event_index::Recall for StoreReader {
    fn recall(&self, seq: u64) -> Result<Vec<u8>, String> {
        self.record(seq)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the store has no record {seq}"))
    }
}

impl StoreReader {
    /// One record's canonical bytes.
    pub fn record(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        record_at(&self.tree, &self.path, seq)
    }

    /// Up to `limit` records from `from` on, stopping before `end`.
    pub fn range(
        &self,
        from: u64,
        end: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        if from >= end {
            return Ok(Vec::new());
        }
        records_in(&self.tree, &self.path, from, end)
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests;
