//! What the store acknowledged: the number of records and the last one's
//! hash, in a small file beside the storage engine's, written and synced
//! after every durable batch. sled can lose the tail of its log to a torn
//! write or a bad sector and open without it; this file makes that loss
//! loud.
//!
//! The file has two fixed slots of [`SLOT_BYTES`], each `FLACK1 <size>
//! <head> <checksum>`; a batch writes, in place, the slot that does not
//! hold the newest valid acknowledgement, and syncs its data (one
//! `fdatasync`, no rename): a torn write spoils at most the slot being
//! written, and the other still holds the acknowledgement before it.
//! Reading takes the valid slot with the larger size. (An earlier version
//! chose the slot by the size's parity; a batch of an even number of
//! records — an event and its seal — then wrote the same slot every time,
//! which the power-cut test caught.)

use crate::{Store, StoreError};
use fundledger_core::ids::Hash32;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The file's name in a ledger directory.
pub const FILE: &str = "ACKNOWLEDGED";
/// Bytes per slot.
const SLOT_BYTES: usize = 128;

/// Records acknowledged, and the hash of the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    pub size: u64,
    pub head: Hash32,
}

impl Acknowledged {
    fn slot_text(&self) -> Vec<u8> {
        let body = format!("FLACK1 {} {}", self.size, self.head);
        let check = &blake3::hash(body.as_bytes()).to_hex()[..16];
        let mut line = format!("{body} {check}").into_bytes();
        line.resize(SLOT_BYTES - 1, b' ');
        line.push(b'\n');
        line
    }

    fn parse_slot(slot: &[u8]) -> Option<Acknowledged> {
        let text = std::str::from_utf8(slot).ok()?.trim_end();
        let (body, check) = text.rsplit_once(' ')?;
        if check != &blake3::hash(body.as_bytes()).to_hex()[..16] {
            return None;
        }
        let mut parts = body.split(' ');
        (parts.next()? == "FLACK1").then_some(())?;
        let size = parts.next()?.parse().ok()?;
        let head = Hash32::parse(parts.next()?).ok()?;
        Some(Acknowledged { size, head })
    }

    /// The newest valid acknowledgement, if the file exists.
    pub fn read(dir: &Path) -> Result<Option<Acknowledged>, StoreError> {
        let bytes = match std::fs::read(dir.join(FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(dir, e)),
        };
        newest_slot(&bytes)
            .map(|(_, a)| Some(a))
            .ok_or_else(|| StoreError::Lost {
                path: dir.to_path_buf(),
                what: format!(
                    "{FILE} holds no readable acknowledgement: the directory was damaged"
                ),
            })
    }

    /// Writes this acknowledgement into its slot and syncs it (creating the
    /// file, durably, the first time).
    pub fn write(&self, dir: &Path) -> Result<(), StoreError> {
        let path = dir.join(FILE);
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|e| io(dir, e))?;
                file.set_len(2 * SLOT_BYTES as u64)
                    .and_then(|()| file.sync_all())
                    .and_then(|()| std::fs::File::open(dir)?.sync_all())
                    .map_err(|e| io(dir, e))?;
                file
            }
            Err(e) => return Err(io(dir, e)),
        };
        let mut slots = [0u8; 2 * SLOT_BYTES];
        let read = file.read_at(&mut slots, 0).map_err(|e| io(dir, e))?;
        let slot = match newest_slot(&slots[..read]) {
            Some((newest, _)) => 1 - newest,
            None => 0,
        };
        file.write_all_at(&self.slot_text(), (slot * SLOT_BYTES) as u64)
            .and_then(|()| file.sync_data())
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

/// The slot holding the newest valid acknowledgement, and that acknowledgement.
fn newest_slot(bytes: &[u8]) -> Option<(usize, Acknowledged)> {
    bytes
        .chunks(SLOT_BYTES)
        .enumerate()
        .filter_map(|(slot, text)| Some((slot, Acknowledged::parse_slot(text)?)))
        .max_by_key(|(_, a)| a.size)
}

fn io(dir: &Path, e: std::io::Error) -> StoreError {
    StoreError::Sled {
        path: dir.join(FILE),
        source: sled::Error::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_valid_slot_wins_and_a_torn_one_is_ignored() {
        let dir = tempfile_dir();
        let a = Acknowledged {
            size: 7,
            head: Hash32([1; 32]),
        };
        // Two records later (an event and its seal): the same parity.
        let b = Acknowledged {
            size: 9,
            head: Hash32([2; 32]),
        };
        a.write(&dir).unwrap();
        b.write(&dir).unwrap();
        assert_eq!(Acknowledged::read(&dir).unwrap(), Some(b));
        // A torn write of size 9's slot: the one before it remains.
        let path = dir.join(FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let torn = bytes
            .chunks(SLOT_BYTES)
            .position(|s| Acknowledged::parse_slot(s) == Some(b));
        bytes[torn.unwrap() * SLOT_BYTES + 20] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(Acknowledged::read(&dir).unwrap(), Some(a));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("fundledger-ack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
