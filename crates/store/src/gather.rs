//! A program's findings read back from the store: the records its findings
//! need, by the seqs the books keep (`Books::findings_seqs`).

use crate::{StoreError, StoreReader};
use fundledger_core::findings::Findings;
use fundledger_core::ledger::{parse_stored, Ledger};

impl StoreReader {
    /// The findings fold of `program` over the records of `ledger` (which
    /// must be this store's chain, or a prefix of it): runs of consecutive
    /// seqs read with one range scan each, a chunk at a time, each chunk
    /// parsed on every core while the next is read, folded in seq order.
    pub fn findings(&self, ledger: &Ledger, program: &str) -> Result<Findings, StoreError> {
        let mut findings = Findings::new(program);
        self.add_findings(&mut findings, ledger, 0..u64::MAX)?;
        Ok(findings)
    }

    /// [`StoreReader::findings`] for the records in `seqs` only, added to
    /// `findings` (the server's cache adds the records appended since).
    pub fn add_findings(
        &self,
        findings: &mut Findings,
        ledger: &Ledger,
        seqs: std::ops::Range<u64>,
    ) -> Result<(), StoreError> {
        use rayon::prelude::*;
        const CHUNK: usize = 4096;
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let wanted = ledger.books().findings_seqs(findings.program());
        for seq in wanted.into_iter().filter(|s| seqs.contains(s)) {
            match runs.last_mut() {
                Some((_, end)) if *end == seq => *end += 1,
                _ => runs.push((seq, seq + 1)),
            }
        }
        let mut runs = runs.into_iter();
        let mut current: Option<(u64, u64)> = None;
        let mut read_chunk = || -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
            let mut chunk = Vec::with_capacity(CHUNK);
            while chunk.len() < CHUNK {
                let (from, end) = match current.take().or_else(|| runs.next()) {
                    Some(run) => run,
                    None => break,
                };
                let rows = self.range(from, end, CHUNK - chunk.len())?;
                let next = rows.last().map_or(end, |(seq, _)| seq + 1);
                if rows.is_empty() {
                    continue;
                }
                if next < end {
                    current = Some((next, end));
                }
                chunk.extend(rows);
            }
            Ok(chunk)
        };
        let parse = |chunk: Vec<(u64, Vec<u8>)>| -> Vec<_> {
            chunk
                .into_par_iter()
                .map(|(seq, bytes)| (seq, parse_stored(&bytes)))
                .collect()
        };
        let mut chunk = read_chunk()?;
        while !chunk.is_empty() {
            let (parsed, next) = rayon::join(|| parse(chunk), &mut read_chunk);
            for (seq, record) in parsed {
                let record = record.map_err(|rejection| StoreError::Corrupt {
                    path: self.path.clone(),
                    seq,
                    rejection,
                })?;
                findings.add_owned(record);
            }
            chunk = next?;
        }
        Ok(())
    }
}
