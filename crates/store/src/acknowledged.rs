//! What the store acknowledged: the number of records and the last one's
//! hash, in a small file beside the storage engine's, replaced atomically
//! (write, fsync, rename, fsync the directory) after every durable batch.
//! sled can lose the tail of its log to a torn write or a bad sector and
//! open without it; this file makes that loss loud.

use crate::{Store, StoreError};
use fundledger_core::ids::Hash32;
use std::io::Write;
use std::path::Path;

/// The file's name in a ledger directory.
pub const FILE: &str = "ACKNOWLEDGED";

/// Records acknowledged, and the hash of the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    pub size: u64,
    pub head: Hash32,
}

impl Acknowledged {
    /// The file's contents, if there is one.
    pub fn read(dir: &Path) -> Result<Option<Acknowledged>, StoreError> {
        let text = match std::fs::read_to_string(dir.join(FILE)) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(dir, e)),
        };
        let parsed = text.trim_end().split_once(' ').and_then(|(size, head)| {
            Some(Acknowledged {
                size: size.parse().ok()?,
                head: Hash32::parse(head).ok()?,
            })
        });
        parsed.map(Some).ok_or_else(|| StoreError::Lost {
            path: dir.to_path_buf(),
            what: format!("{FILE} is unreadable ({:?})", text.trim_end()),
        })
    }

    /// Replaces the file durably.
    pub fn write(&self, dir: &Path) -> Result<(), StoreError> {
        let temporary = dir.join(format!("{FILE}.new"));
        let mut file = std::fs::File::create(&temporary).map_err(|e| io(dir, e))?;
        writeln!(file, "{} {}", self.size, self.head).map_err(|e| io(dir, e))?;
        file.sync_all().map_err(|e| io(dir, e))?;
        std::fs::rename(&temporary, dir.join(FILE)).map_err(|e| io(dir, e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(dir, e))
    }

    /// The store holds at least what was acknowledged, ending as acknowledged.
    pub fn check(&self, store: &Store) -> Result<(), StoreError> {
        if store.len < self.size {
            return Err(self.lost(&store.path, store.len));
        }
        let held = store
            .record(self.size - 1)?
            .as_deref()
            .and_then(crate::record_hash);
        if held != Some(self.head) {
            return Err(StoreError::Lost {
                path: store.path.clone(),
                what: format!(
                    "record {} is not the one acknowledged (hash {}): the store's files were replaced or damaged",
                    self.size - 1,
                    self.head
                ),
            });
        }
        Ok(())
    }

    /// The error for a store that holds only `held` records.
    pub fn lost(&self, dir: &Path, held: u64) -> StoreError {
        StoreError::Lost {
            path: dir.to_path_buf(),
            what: format!(
                "{} records were acknowledged but the store holds {held}: records {held} to {} are lost (its files were damaged)",
                self.size,
                self.size - 1
            ),
        }
    }
}

fn io(dir: &Path, e: std::io::Error) -> StoreError {
    StoreError::Sled {
        path: dir.join(FILE),
        source: sled::Error::Io(e),
    }
}
