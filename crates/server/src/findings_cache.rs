//! The findings of the programs the server is asked about. A program's
//! records are gathered once (the newest snapshot's findings section, and
//! the records after it read from the store by the seqs the books keep)
//! and then only the records appended since are added; a report computed
//! for the same ledger size, for an instant less than [`REPORT_REUSE`]
//! apart, is reused for up to [`REPORT_REUSE`], so a burst of requests
//! costs one computation (deadlines are judged at that computation's
//! instant). The [`PROGRAMS_KEPT`] programs asked about last are kept; a
//! fold is about as large as its program's snapshot sections.

use fundledger_core::findings::{audited, Finding, Findings};
use fundledger_core::ids::Timestamp;
use fundledger_core::ledger::{parse_stored, Ledger, StoredRecord};
use fundledger_core::projection::ProgramFigures;
use fundledger_store::StoreReader;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a report for an unchanged ledger is reused.
pub const REPORT_REUSE: Duration = Duration::from_secs(60);

/// Programs whose fold and last report are kept (each about 100 MB for a
/// program of 100,000 records); asking about another drops the one asked
/// about longest ago.
pub const PROGRAMS_KEPT: usize = 2;

/// A program's figures and findings, as one report shows them.
pub type Audited = Arc<(ProgramFigures, Vec<Finding>)>;

struct Entry {
    fold: Findings,
    /// Records of the ledger gathered so far.
    size: u64,
    /// The last report: for which size and instant, computed when, what.
    last: Option<(u64, Timestamp, Instant, Audited)>,
    /// When it was last asked about.
    used: Instant,
}

/// Per-program folds of the records findings need.
#[derive(Default)]
pub struct FindingsCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl FindingsCache {
    /// `program`'s figures and findings over `ledger` (a snapshot of
    /// `ledger.size()` records) as of `now`; `None` if there is no such
    /// program. Blocking: reads the store for records not yet gathered.
    pub fn audited(
        &self,
        reader: &StoreReader,
        ledger: &Ledger,
        program: &str,
        now: Timestamp,
    ) -> Result<Option<Audited>, String> {
        if ledger.books().program(program).is_none() {
            return Ok(None);
        }
        let size = ledger.size();
        let mut entries = self.entries.lock().map_err(|e| e.to_string())?;
        if !entries.contains_key(program) && entries.len() >= PROGRAMS_KEPT {
            let oldest = entries
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        let entry = entries.entry(program.to_string()).or_insert_with(|| Entry {
            fold: Findings::new(program),
            size: 0,
            last: None,
            used: Instant::now(),
        });
        entry.used = Instant::now();
        if let Some((at_size, instant, when, report)) = &entry.last {
            let apart = (now.datetime() - instant.datetime())
                .num_seconds()
                .unsigned_abs();
            if *at_size == size && apart < REPORT_REUSE.as_secs() && when.elapsed() < REPORT_REUSE {
                return Ok(Some(report.clone()));
            }
        }
        // A snapshot older than what was gathered (a request that raced a
        // commit) is computed apart, from the store.
        if size < entry.size {
            let fold = reader
                .findings_until(ledger, program, size)
                .map_err(|e| e.to_string())?;
            return Ok(
                audited(ledger.books(), &fold, program, ledger.utc_offset(), now).map(Arc::new),
            );
        }
        if entry.size == 0 {
            entry.fold = reader
                .findings_until(ledger, program, size)
                .map_err(|e| e.to_string())?;
        } else {
            reader
                .add_findings(&mut entry.fold, ledger, entry.size..size)
                .map_err(|e| e.to_string())?;
        }
        entry.size = size;
        let report = audited(
            ledger.books(),
            &entry.fold,
            program,
            ledger.utc_offset(),
            now,
        )
        .map(Arc::new);
        if let Some(report) = &report {
            entry.last = Some((size, now, Instant::now(), report.clone()));
        }
        Ok(report)
    }
}

/// Calls `each` with records `from..end` of the store in seq order, until
/// it answers `false`.
pub fn each_record(
    reader: &StoreReader,
    mut from: u64,
    end: u64,
    mut each: impl FnMut(&StoredRecord) -> Result<bool, String>,
) -> Result<(), String> {
    const CHUNK: usize = 4096;
    while from < end {
        let rows = reader.range(from, end, CHUNK).map_err(|e| e.to_string())?;
        let Some((last, _)) = rows.last() else {
            break;
        };
        from = last + 1;
        for (_, bytes) in rows {
            if !each(&parse_stored(&bytes).map_err(|e| e.message)?)? {
                return Ok(());
            }
        }
    }
    Ok(())
}
