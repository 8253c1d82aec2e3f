//! How records lie in sled.
//!
//! Each sled value holds one or more consecutive records and is stored under
//! the seq of its first (prefix `r`, then the seq in 8 bytes big-endian).
//! A value is either
//! - one record's canonical bytes (which begin with `{`), or
//! - a **group**: the byte `0x01`, the number of records `n` (u32,
//!   little-endian), each record's length (`n` × u32, little-endian), then
//!   their bytes back to back.
//!
//! A batch is cut into groups of at most [`GROUP_RECORDS_MAX`] records,
//! closed once they reach [`GROUP_BYTES`]; a batch of one record is stored
//! bare. Stores written before groups hold only bare records and read the
//! same. sled splits its rightmost leaf and rewrites it for every few keys
//! appended in order; a key per group instead of per record made a durable
//! import of 299,301 bench records about a quarter faster (BENCHMARKS.md,
//! session 9). Groups are never rewritten: a later batch starts a new key.

use fundledger_core::ledger::SealedRecord;

/// The prefix of every record key.
pub(crate) const RECORD_PREFIX: u8 = b'r';
/// The first byte of a group value (a record's first byte is `{`).
const GROUP_TAG: u8 = 0x01;
/// Most records in one value.
pub(crate) const GROUP_RECORDS_MAX: usize = 64;
/// A group is closed once its records reach this many bytes.
pub(crate) const GROUP_BYTES: usize = 8 << 10;

/// The key of the value whose first record is `seq`.
pub(crate) fn key(seq: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = RECORD_PREFIX;
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The seq a key names (keys are written by [`key`] only).
pub(crate) fn seq_of(key: &[u8]) -> u64 {
    u64::from_be_bytes(key[1..9].try_into().expect("keys are 9 bytes"))
}

/// The values a batch is stored as: (first seq, bytes), in order.
pub(crate) fn values(batch: &[SealedRecord]) -> Vec<(u64, Vec<u8>)> {
    let mut values = Vec::new();
    let mut rest = batch;
    while let Some(first) = rest.first() {
        let mut n = 0;
        let mut bytes = 0;
        while n < rest.len() && n < GROUP_RECORDS_MAX && bytes < GROUP_BYTES {
            bytes += rest[n].bytes.len();
            n += 1;
        }
        let (group, after) = rest.split_at(n);
        values.push((first.seq, encode(group)));
        rest = after;
    }
    values
}

fn encode(group: &[SealedRecord]) -> Vec<u8> {
    if let [one] = group {
        return one.bytes.clone();
    }
    let bytes: usize = group.iter().map(|r| r.bytes.len()).sum();
    let mut value = Vec::with_capacity(5 + 4 * group.len() + bytes);
    value.push(GROUP_TAG);
    value.extend_from_slice(&(group.len() as u32).to_le_bytes());
    for record in group {
        value.extend_from_slice(&(record.bytes.len() as u32).to_le_bytes());
    }
    for record in group {
        value.extend_from_slice(&record.bytes);
    }
    value
}

/// The records of a value, in order, or why it is neither a record nor a
/// well-formed group (sled checksums its data, so this means a value
/// written by something else).
pub(crate) fn records(value: &[u8]) -> Result<Vec<&[u8]>, String> {
    if value.first() != Some(&GROUP_TAG) {
        return Ok(vec![value]);
    }
    let word = |at: usize| -> Result<usize, String> {
        value
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
            .ok_or_else(|| format!("a group of {} bytes ends inside its header", value.len()))
    };
    let n = word(1)?;
    let mut at = 5usize
        .checked_add(n.checked_mul(4).ok_or("a group's count overflows")?)
        .ok_or("a group's count overflows")?;
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let len = word(5 + 4 * i)?;
        let record = value
            .get(at..at + len)
            .ok_or_else(|| format!("record {i} of a group of {n} runs past its end"))?;
        records.push(record);
        at += len;
    }
    if n < 2 {
        return Err(format!(
            "a group holds {n} records; a group holds at least 2"
        ));
    }
    if at != value.len() {
        return Err(format!(
            "a group of {n} records has {} bytes, not {at}",
            value.len()
        ));
    }
    Ok(records)
}

/// How many records a value holds.
pub(crate) fn count(value: &[u8]) -> Result<u64, String> {
    records(value).map(|r| r.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fundledger_core::ids::Hash32;

    fn batch(lens: &[usize]) -> Vec<SealedRecord> {
        lens.iter()
            .enumerate()
            .map(|(i, len)| SealedRecord {
                seq: 10 + i as u64,
                hash: Hash32::ZERO,
                event_id: String::new(),
                bytes: format!("{{{}}}", "x".repeat(len - 2)).into_bytes(),
            })
            .collect()
    }

    #[test]
    fn a_batch_is_cut_into_groups_that_read_back_in_order() {
        let lens: Vec<usize> = (0..200).map(|i| 100 + (i * 37) % 900).collect();
        let batch = batch(&lens);
        let values = values(&batch);
        assert!(values.len() > 1 && values.len() < batch.len());
        let mut seq = 10;
        for (first, value) in &values {
            assert_eq!(*first, seq);
            let records = records(value).unwrap();
            assert!(records.len() <= GROUP_RECORDS_MAX);
            for record in records {
                assert_eq!(record, batch[(seq - 10) as usize].bytes.as_slice());
                seq += 1;
            }
        }
        assert_eq!(seq, 210);
    }

    #[test]
    fn one_record_is_stored_bare_and_a_large_one_alone() {
        let values = values(&batch(&[50]));
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].1[0], b'{');
        let values = values_of(&[GROUP_BYTES + 10, 20, 30]);
        assert_eq!(values.iter().map(|v| v.0).collect::<Vec<_>>(), [10, 11]);
        assert_eq!(count(&values[0].1).unwrap(), 1);
        assert_eq!(count(&values[1].1).unwrap(), 2);
    }

    fn values_of(lens: &[usize]) -> Vec<(u64, Vec<u8>)> {
        values(&batch(lens))
    }

    #[test]
    fn a_damaged_group_is_named_not_read() {
        let (_, mut value) = values_of(&[40, 50, 60]).remove(0);
        value.pop();
        assert!(records(&value).unwrap_err().contains("runs past its end"));
        let mut value = values_of(&[40, 50]).remove(0).1;
        value.push(b'}');
        let why = records(&value).unwrap_err();
        assert!(
            why.starts_with("a group of 2 records has") && why.contains(", not "),
            "{why}"
        );
        assert!(records(&[GROUP_TAG, 1])
            .unwrap_err()
            .contains("ends inside its header"));
        // A count of one: a lone record is stored bare, never as a group.
        let mut one = vec![GROUP_TAG, 1, 0, 0, 0, 2, 0, 0, 0];
        one.extend_from_slice(b"{}");
        assert!(records(&one).unwrap_err().contains("at least 2"));
    }
}
