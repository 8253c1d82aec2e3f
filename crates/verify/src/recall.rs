//! Where a compact verification reads earlier records back.

use fundledger_core::event_index::Recall;
use fundledger_core::limits::RECORD_BYTES_MAX;
use std::io::{BufRead, Read};
use std::path::Path;

/// Where a compact verification reads earlier records back (see
/// [`Ledger::compact`]): the export file by offset, or the store by seq.
pub enum RecallSource {
    /// An export file, with the offset of every 16th line read so far.
    File {
        /// A second handle on the file.
        file: std::fs::File,
        /// The offset of line `16 k` at `k`: half a byte a record. A
        /// read-back skips at most 15 lines from there (read-backs are rare:
        /// a reversal, or an id that may be reused).
        offsets: std::sync::Mutex<Vec<u64>>,
    },
    /// A store.
    Store(fundledger_store::StoreReader),
}

/// Lines per remembered offset.
const LINES_PER_OFFSET: u64 = 16;

impl RecallSource {
    /// Reading back from the file at `path`.
    pub fn file(path: &Path) -> std::io::Result<RecallSource> {
        let file = std::fs::File::open(path)?;
        Ok(RecallSource::File {
            file,
            offsets: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Line `seq` starts at `offset`.
    pub(crate) fn note(&self, seq: u64, offset: u64) {
        if let RecallSource::File { offsets, .. } = self {
            if seq % LINES_PER_OFFSET == 0 {
                offsets.lock().expect("offsets lock").push(offset);
            }
        }
    }
}

impl Recall for RecallSource {
    fn recall(&self, seq: u64) -> Result<Vec<u8>, String> {
        match self {
            RecallSource::Store(reader) => reader.recall(seq),
            RecallSource::File { file, offsets } => {
                let offset = usize::try_from(seq / LINES_PER_OFFSET)
                    .ok()
                    .and_then(|k| offsets.lock().expect("offsets lock").get(k).copied())
                    .ok_or_else(|| format!("no line was read for record {seq}"))?;
                /// Reads from an offset of a shared handle, without moving
                /// its position.
                struct ReadAt<'a>(&'a std::fs::File, u64);
                impl Read for ReadAt<'_> {
                    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                        use std::os::unix::fs::FileExt;
                        let n = self.0.read_at(buf, self.1)?;
                        self.1 += n as u64;
                        Ok(n)
                    }
                }
                // No line is longer than the record limit (and its newline).
                let mut reader = std::io::BufReader::with_capacity(64 * 1024, ReadAt(file, offset))
                    .take(LINES_PER_OFFSET * (RECORD_BYTES_MAX as u64 + 1));
                let mut line = Vec::new();
                for _ in 0..=seq % LINES_PER_OFFSET {
                    line.clear();
                    reader
                        .read_until(b'\n', &mut line)
                        .map_err(|e| e.to_string())?;
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                Ok(line)
            }
        }
    }
}
