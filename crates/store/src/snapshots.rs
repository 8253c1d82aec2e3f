//! Snapshot files of the books (`fundledger_core::snapshot`), in the ledger
//! directory's `snapshots/`: `at-<size>.snapshot`, where `size` is the
//! number of records it covers (its seal is record `size - 1`).
//!
//! A snapshot is written to `at-<size>.snapshot.tmp`, synced, renamed and
//! the directory synced: a kill leaves at most a `.tmp` file, which no open
//! reads and the next write removes. The two newest are kept (the older one
//! serves reports as of an earlier time). Opening takes the newest that
//! applies; one that does not match the chain is named on stderr in one line
//! and the open replays the whole chain instead.

use crate::{Store, StoreError, StoreReader};
use fundledger_core::findings::Findings;
use fundledger_core::ids::{Hash32, Timestamp};
use fundledger_core::ledger::{parse_stored, Ledger};
use fundledger_core::snapshot::{self, Refusal, SnapshotHeader};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The directory, inside the ledger directory.
pub(crate) const DIR: &str = "snapshots";
const SUFFIX: &str = ".snapshot";
/// Snapshots kept.
const KEEP: usize = 2;

/// A snapshot file and the size it covers, from its name.
fn listed(dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let size = name
                .strip_prefix("at-")?
                .strip_suffix(SUFFIX)?
                .parse()
                .ok()?;
            Some((size, e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
}

/// What a snapshot open found.
pub enum Found {
    /// No snapshot applies.
    None,
    /// The newest applicable one, decoded.
    Ledger(Box<Ledger>, PathBuf),
    /// The newest applicable one was refused.
    Refused(PathBuf, Refusal),
}

impl Store {
    fn snapshot_dir(&self) -> PathBuf {
        self.path.join(DIR)
    }

    /// The snapshot files present, newest first, with the size each covers.
    pub fn snapshots(&self) -> Vec<(u64, PathBuf)> {
        listed(&self.snapshot_dir())
    }

    /// Writes a snapshot of `ledger`, which must be this store's chain up
    /// to a seal; returns its file (`None`: the ledger does not end on a
    /// seal, or a snapshot at that seal exists already).
    pub fn write_snapshot(&self, ledger: &Ledger) -> Result<Option<PathBuf>, StoreError> {
        self.reader().write_snapshot(ledger)
    }

    /// The newest snapshot covering at most `records_max` records and
    /// sealed by `recorded_by`, checked against this chain and decoded.
    pub fn find_snapshot(
        &self,
        records_max: Option<u64>,
        recorded_by: Option<Timestamp>,
    ) -> Result<Found, StoreError> {
        let candidates = self
            .snapshots()
            .into_iter()
            .filter(|(size, _)| *size <= records_max.unwrap_or(u64::MAX));
        for (_, path) in candidates {
            let (header, body_start, file) = match header_of(&path).and_then(|read| {
                body_length_matches(&read.0, read.1, &read.2)?;
                Ok(read)
            }) {
                Ok(read) => read,
                Err(refusal) => return Ok(Found::Refused(path, refusal)),
            };
            if recorded_by
                .is_some_and(|t| Timestamp::parse(&header.recorded_at).is_ok_and(|at| at > t))
            {
                continue;
            }
            if let Err(refusal) = self.check_binding(&header)? {
                return Ok(Found::Refused(path, refusal));
            }
            return Ok(match decode_on_every_core(&header, body_start, &file) {
                Ok(mut ledger) => {
                    ledger.set_recall(std::sync::Arc::new(self.reader()));
                    Found::Ledger(Box::new(ledger), path)
                }
                Err(refusal) => Found::Refused(path, refusal),
            });
        }
        Ok(Found::None)
    }

    /// The ledger a report of `program` needs, as of the first
    /// `records_max` records recorded by `recorded_by`, and its findings
    /// fold when the snapshot has it: from the newest snapshot that covers
    /// exactly those records, only its identity and the program's sections
    /// (a partial ledger, which takes no record); otherwise, or if the
    /// snapshot is refused (one line on stderr), by [`Store::replay_until`]
    /// (and no findings: read them with [`StoreReader::findings`]).
    pub fn report_inputs(
        &self,
        program: &str,
        records_max: Option<u64>,
        recorded_by: Option<Timestamp>,
    ) -> Result<(Ledger, Option<Findings>), StoreError> {
        let found = self.report_snapshot(program, records_max, recorded_by)?;
        self.report_inputs_found(found, records_max, recorded_by)
    }

    /// [`Store::open_raw`] then [`Store::report_inputs`], with the newest
    /// snapshot's sections read and decoded on other threads while sled
    /// opens (and used if it is the snapshot `report_inputs` takes); `None`
    /// for an empty store.
    #[allow(clippy::type_complexity)]
    pub fn open_for_report(
        dir: &Path,
        program: &str,
        records_max: Option<u64>,
        recorded_by: Option<Timestamp>,
    ) -> Result<(Store, Option<(Ledger, Option<Findings>)>), StoreError> {
        let newest = listed(&dir.join(DIR)).into_iter().next();
        let (store, early) = std::thread::scope(|scope| {
            let early = newest.clone().map(|(_, path)| {
                scope.spawn(move || {
                    let (header, body_start, file) = header_of(&path)?;
                    let decoded = decode_report(file, body_start, &header, program);
                    Ok::<_, Refusal>((header, decoded))
                })
            });
            let store = Store::open_raw(dir);
            let early = early.map(|h| h.join().expect("reading a snapshot does not panic"));
            (store, early)
        });
        let store = store?;
        if store.is_empty() {
            return Ok((store, None));
        }
        let end = records_max.unwrap_or(store.len).min(store.len);
        let taken = store.snapshots().into_iter().find(|(size, _)| *size <= end);
        let found = match (taken, newest, early) {
            (Some((size, path)), Some((_, newest)), Some(early)) if path == newest => match early {
                Err(refusal) => Some(Err((path, refusal))),
                Ok((header, decoded)) => {
                    store.report_found(&header, size, end, recorded_by, path, || decoded)?
                }
            },
            // Not the snapshot a report takes: dropped before any replay.
            _ => store.report_snapshot(program, records_max, recorded_by)?,
        };
        let inputs = store.report_inputs_found(found, records_max, recorded_by)?;
        Ok((store, Some(inputs)))
    }

    #[allow(clippy::type_complexity)]
    fn report_inputs_found(
        &self,
        found: Option<Result<(Ledger, Option<Findings>), (PathBuf, Refusal)>>,
        records_max: Option<u64>,
        recorded_by: Option<Timestamp>,
    ) -> Result<(Ledger, Option<Findings>), StoreError> {
        let whole = |ledger| (ledger, None);
        match found {
            Some(Ok((ledger, findings))) => {
                self.opened_from
                    .store(ledger.size(), std::sync::atomic::Ordering::Relaxed);
                Ok((ledger, findings))
            }
            Some(Err((path, refusal))) => {
                eprintln!(
                    "snapshot {}: {refusal}; replaying the whole chain instead",
                    path.display()
                );
                self.opened_from
                    .store(0, std::sync::atomic::Ordering::Relaxed);
                self.fold_from(self.new_ledger(), records_max, recorded_by, |_, _, _| {})
                    .map(whole)
            }
            None => self.replay_until(records_max, recorded_by).map(whole),
        }
    }

    /// [`Store::report_inputs`]'s snapshot: `None` when none applies with
    /// nothing to fold after it.
    #[allow(clippy::type_complexity)]
    fn report_snapshot(
        &self,
        program: &str,
        records_max: Option<u64>,
        recorded_by: Option<Timestamp>,
    ) -> Result<Option<Result<(Ledger, Option<Findings>), (PathBuf, Refusal)>>, StoreError> {
        let end = records_max.unwrap_or(self.len).min(self.len);
        let Some((size, path)) = self.snapshots().into_iter().find(|(size, _)| *size <= end) else {
            return Ok(None);
        };
        let (header, body_start, file) = match header_of(&path) {
            Ok(read) => read,
            Err(refusal) => return Ok(Some(Err((path, refusal)))),
        };
        self.report_found(&header, size, end, recorded_by, path, || {
            decode_report(file, body_start, &header, program)
        })
    }

    /// The snapshot `path` (`header`, of the file `at-<size>`) for a report
    /// of the first `end` records recorded by `recorded_by`: `None` if it
    /// does not apply, else its refusal or what `decoded` gives (read and
    /// decoded only then, or already, by [`Store::open_for_report`]).
    #[allow(clippy::type_complexity)]
    fn report_found(
        &self,
        header: &SnapshotHeader,
        size: u64,
        end: u64,
        recorded_by: Option<Timestamp>,
        path: PathBuf,
        decoded: impl FnOnce() -> Option<Result<(Ledger, Option<Findings>), Refusal>>,
    ) -> Result<Option<Result<(Ledger, Option<Findings>), (PathBuf, Refusal)>>, StoreError> {
        Ok(match self.report_applies(header, size, end, recorded_by)? {
            None => None,
            Some(Err(refusal)) => Some(Err((path, refusal))),
            Some(Ok(())) => decoded().map(|d| d.map_err(|refusal| (path, refusal))),
        })
    }

    /// Does the snapshot `header` (of the file `at-<size>`) give a report
    /// of the first `end` records recorded by `recorded_by`? `None`: it
    /// does not apply (too new, or records after it count); an error: it
    /// names a seal this chain does not have.
    fn report_applies(
        &self,
        header: &SnapshotHeader,
        size: u64,
        end: u64,
        recorded_by: Option<Timestamp>,
    ) -> Result<Option<Result<(), Refusal>>, StoreError> {
        let recorded_at = Timestamp::parse(&header.recorded_at).ok();
        if recorded_by.is_some_and(|t| !recorded_at.is_some_and(|at| at <= t)) {
            return Ok(None);
        }
        // Anything recorded after it that the report would include?
        if size < end {
            let next = self
                .record(size)?
                .as_deref()
                .and_then(|b| parse_stored(b).ok());
            let included = match (next, recorded_by) {
                (Some(next), Some(t)) => next.recorded_at() <= t,
                _ => true,
            };
            if included {
                return Ok(None);
            }
        }
        Ok(Some(self.check_binding(header)?))
    }

    /// Is the snapshot's seal in this chain?
    fn check_binding(&self, header: &SnapshotHeader) -> Result<Result<(), Refusal>, StoreError> {
        self.reader().check_binding(header, self.len)
    }
}

impl StoreReader {
    /// Is the snapshot's seal among this store's first `len` records?
    fn check_binding(
        &self,
        header: &SnapshotHeader,
        len: u64,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let hash_at = |seq: u64| -> Result<Option<Hash32>, StoreError> {
            Ok(self.record(seq)?.as_deref().and_then(crate::record_hash))
        };
        let Some(ledger_id) = hash_at(0)? else {
            return Ok(Err(Refusal::Stale("this store holds no records".into())));
        };
        let seal = match header.size.checked_sub(1) {
            Some(seq) if seq < len => hash_at(seq)?,
            _ => None,
        };
        Ok(header.check(ledger_id, seal))
    }

    /// `program`'s findings fold over this store's first `end` records
    /// (`ledger` holds at least those; its books say which seqs are the
    /// program's): the newest snapshot covering at most `end` records gives
    /// the records it covers (only its findings section is read), the
    /// store the records after it. Without such a snapshot, or when it is
    /// refused (one line on stderr), every record comes from the store.
    ///
    /// The difference is memory as much as time: sled keeps what it reads
    /// (its cache limit does not hold for this store's values), so a server
    /// that read a program's whole history from sled for every report, or
    /// for every snapshot it writes, would grow by the size of the chain.
    pub fn findings_until(
        &self,
        ledger: &Ledger,
        program: &str,
        end: u64,
    ) -> Result<Findings, StoreError> {
        let (mut findings, from) = self
            .snapshot_findings(program, end)?
            .unwrap_or_else(|| (Findings::new(program), 0));
        self.add_findings(&mut findings, ledger, from..end)?;
        Ok(findings)
    }

    /// [`StoreReader::findings_until`]'s snapshot part: the fold and the
    /// records it covers.
    pub(crate) fn snapshot_findings(
        &self,
        program: &str,
        end: u64,
    ) -> Result<Option<(Findings, u64)>, StoreError> {
        let Some((_, path)) = listed(&self.path.join(DIR))
            .into_iter()
            .find(|(size, _)| (1..=end).contains(size))
        else {
            return Ok(None);
        };
        let refused = |refusal: Refusal| {
            eprintln!(
                "snapshot {}: {refusal}; reading {program}'s records from the store instead",
                path.display()
            );
            Ok(None)
        };
        let (header, body_start, file) = match header_of(&path) {
            Ok(read) => read,
            Err(refusal) => return refused(refusal),
        };
        if header.size > end {
            return refused(Refusal::Corrupted(format!(
                "its header says it covers {} records, more than its name",
                header.size
            )));
        }
        if let Err(refusal) = self.check_binding(&header, end)? {
            return refused(refusal);
        }
        let Some(section) = header.findings_section(program) else {
            return Ok(None);
        };
        let bytes = match read_section(&file, body_start, &header, section) {
            Ok(bytes) => bytes,
            Err(refusal) => return refused(refusal),
        };
        match snapshot::decode_findings(section, &bytes) {
            Ok(findings) if findings.program() == program => Ok(Some((findings, header.size))),
            Ok(_) => refused(Refusal::Corrupted(format!(
                "its section findings:{program} holds another program's findings"
            ))),
            Err(refusal) => refused(refusal),
        }
    }

    /// [`Store::write_snapshot`] from any thread (the server writes one
    /// beside its writer thread), with each program's findings read back
    /// from the store. The caller makes sure `ledger`'s records are durable.
    pub fn write_snapshot(&self, ledger: &Ledger) -> Result<Option<PathBuf>, StoreError> {
        let dir = self.path.join(DIR);
        let path = dir.join(format!("at-{}{SUFFIX}", ledger.size()));
        // One at that seal already, which this version reads whole: kept.
        // One it refuses (another version's, or damaged) is replaced, else
        // every open would replay the chain again.
        if std::fs::read(&path).is_ok_and(|bytes| snapshot::open(&bytes).is_ok()) {
            return Ok(None);
        }
        // Each program's findings: the newest snapshot's, and the records
        // after it from the store.
        let encoded = snapshot::encode_with(ledger, |program| {
            self.findings_until(ledger, program, ledger.size()).ok()
        });
        match encoded {
            Some(bytes) => write_file(&dir, &path, ledger.size(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The snapshot file of `ledger` (this store's chain up to a seal), each
    /// program's findings read back from the whole store: what
    /// [`StoreReader::write_snapshot`] writes (which takes the findings of
    /// the records an earlier snapshot covers from it) and `verify
    /// --check-snapshot` compares with.
    pub fn encode_snapshot(&self, ledger: &Ledger) -> Option<Vec<u8>> {
        // A program whose records cannot be read back gets no findings
        // section: its reports read them from the store instead.
        snapshot::encode_with(ledger, |program| self.findings(ledger, program).ok())
    }
}

/// Writes a snapshot file: `.tmp`, synced, renamed, the directory synced;
/// then only the [`KEEP`] newest are kept.
fn write_file(dir: &Path, path: &Path, size: u64, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let io = |source: std::io::Error| StoreError::Sled {
        path: dir.to_path_buf(),
        source: sled::Error::Io(source),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    remove_unfinished(dir);
    let tmp = dir.join(format!("at-{size}{SUFFIX}.tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    for (_, old) in listed(dir).into_iter().skip(KEEP) {
        let _ = std::fs::remove_file(old);
    }
    Ok(path.to_path_buf())
}

/// The whole ledger of a snapshot file: the sections it needs
/// ([`SnapshotHeader::open_sections`]), each read, checked against its hash
/// and decoded by one task, on every core. The file is never in memory
/// whole (its findings folds are half of it, and an open does not read them).
fn decode_on_every_core(
    header: &SnapshotHeader,
    body_start: usize,
    file: &std::fs::File,
) -> Result<Ledger, Refusal> {
    use rayon::prelude::*;
    let read = |section| read_section(file, body_start, header, section);
    let (rest, programs) = header.open_sections()?;
    let (rest, programs) = rayon::join(
        || read(rest).and_then(|bytes| snapshot::decode_ledger_section(rest, &bytes)),
        || {
            programs
                .into_par_iter()
                .map(|section| {
                    read(section).and_then(|bytes| snapshot::decode_program(section, &bytes))
                })
                .collect::<Result<Vec<_>, _>>()
        },
    );
    snapshot::assemble(header, rest?, programs?)
}

/// Is the body in the file as long as its header says?
fn body_length_matches(
    header: &SnapshotHeader,
    body_start: usize,
    file: &std::fs::File,
) -> Result<(), Refusal> {
    let got = file
        .metadata()
        .map_or(0, |m| m.len().saturating_sub(body_start as u64));
    if got < header.body_bytes {
        return Err(Refusal::Truncated {
            got,
            expected: header.body_bytes,
        });
    }
    if got > header.body_bytes {
        return Err(Refusal::Corrupted(format!(
            "{} bytes follow its body",
            got - header.body_bytes
        )));
    }
    Ok(())
}

/// Removes `.tmp` files a killed writer left.
fn remove_unfinished(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A snapshot file's header, where its body starts, and the file.
fn header_of(path: &Path) -> Result<(SnapshotHeader, usize, std::fs::File), Refusal> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => std::io::BufReader::new(file),
        Err(e) => return Err(Refusal::Corrupted(e.to_string())),
    };
    let mut prefix = Vec::new();
    for _ in 0..2 {
        if std::io::BufRead::read_until(&mut file, b'\n', &mut prefix).is_err() {
            return Err(Refusal::Truncated {
                got: 0,
                expected: 1,
            });
        }
    }
    let (header, body_start) = snapshot::read_header(&prefix)?;
    Ok((header, body_start, file.into_inner()))
}

/// One section's bytes of a snapshot file whose body starts at
/// `body_start` (a positioned read: tasks share the file).
fn read_section(
    file: &std::fs::File,
    body_start: usize,
    header: &SnapshotHeader,
    section: &snapshot::Section,
) -> Result<Vec<u8>, Refusal> {
    use std::os::unix::fs::FileExt as _;
    let mut bytes = vec![0; usize::try_from(section.bytes).unwrap_or(0)];
    file.read_exact_at(&mut bytes, body_start as u64 + section.offset)
        .map_err(|_| Refusal::Truncated {
            got: 0,
            expected: header.body_bytes,
        })?;
    Ok(bytes)
}

/// The identity and `program`'s sections of a snapshot, read and decoded
/// into a ledger for reports ([`snapshot::decode_programs`]); `None` when
/// the snapshot has no sections for `program`.
fn decode_report(
    file: std::fs::File,
    body_start: usize,
    header: &SnapshotHeader,
    program: &str,
) -> Option<Result<(Ledger, Option<Findings>), Refusal>> {
    let sections = header.report_sections(program)?;
    if let Err(refusal) = body_length_matches(header, body_start, &file) {
        return Some(Err(refusal));
    }
    let mut parts = Vec::with_capacity(sections.len());
    for section in sections {
        match read_section(&file, body_start, header, section) {
            Ok(bytes) => parts.push((section, bytes)),
            Err(refusal) => return Some(Err(refusal)),
        }
    }
    Some(snapshot::decode_programs(header, &parts))
}
