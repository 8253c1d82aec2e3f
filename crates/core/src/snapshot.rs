//! Snapshots of the books: a [`Ledger`] as it stood at one of its seals,
//! in bytes, so that opening a long chain folds only the records after it.
//!
//! A snapshot file is the line `fundledger snapshot`, one line of JSON
//! (the [`SnapshotHeader`]: format, writer, the seal it was taken at — the
//! ledger's id, the size and head then — and the body's length and BLAKE3),
//! and the body: the ledger's state in postcard, every hash map written in
//! key order so that the same state always gives the same bytes. That makes
//! a snapshot **re-derivable**: `verify --check-snapshot` replays the chain
//! to the snapshot's seal, encodes that state and compares the bytes.
//!
//! Pure: the store reads and writes the files, and tells [`SnapshotHeader::check`]
//! what the chain holds at the snapshot's seal. Anything that does not
//! match is a [`Refusal`], and the caller replays the whole chain instead —
//! a snapshot can make an open faster, never make a figure different.

use crate::books::ProgramBooks;
use crate::findings::Findings;
use crate::ids::Hash32;
use crate::ledger::Ledger;
use serde::{Deserialize, Serialize};

/// The layout of the body. Any change to a type the snapshot holds (the
/// ledger, the books, the Merkle tree) must bump it: a snapshot of another
/// format is refused, never misread. `tests/it/snapshots.rs` pins the
/// demo's body hash, so a changed layout fails a test until this is bumped.
pub const SNAPSHOT_FORMAT: u32 = 7;

/// The first line of every snapshot file.
pub const MAGIC: &[u8] = b"fundledger snapshot\n";

/// A part of the body, decodable alone: `identity` (the ledger's name, id,
/// size, head, seals and actors), `ledger` (everything but the programs'
/// books), and for each program `program:<id>` (its books) and
/// `findings:<id>` (the records its findings read, as [`Findings`] keeps
/// them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Its name.
    pub name: String,
    /// Where it starts in the body.
    pub offset: u64,
    /// Its length.
    pub bytes: u64,
    /// BLAKE3 of its bytes.
    pub blake3: Hash32,
    /// For a program: its fiscal year.
    pub fiscal_year: Option<i32>,
}

/// What a snapshot says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// [`SNAPSHOT_FORMAT`] of the writer.
    pub format: u32,
    /// The writer: `fundledger-core <version>`.
    pub writer: String,
    /// The ledger's id (the hash of record 0).
    pub ledger_id: Hash32,
    /// Records covered: the snapshot's seal is record `size - 1`.
    pub size: u64,
    /// The hash of that seal.
    pub head: Hash32,
    /// The ledger's time at the seal (`recorded_at`), RFC 3339.
    pub recorded_at: String,
    /// Length of the body.
    pub body_bytes: u64,
    /// BLAKE3 of the body.
    pub body_blake3: Hash32,
    /// The body's sections, in order.
    pub sections: Vec<Section>,
}

/// Why a snapshot is not used: one sentence, after "snapshot FILE: ".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a snapshot, or of another format or writer.
    #[error("written by another version ({0}), not fundledger-core {version} format {SNAPSHOT_FORMAT}", version = env!("CARGO_PKG_VERSION"))]
    OtherVersion(String),
    /// Shorter than its header says.
    #[error("truncated: {got} of its {expected} body bytes are there")]
    Truncated {
        /// Bytes present.
        got: u64,
        /// Bytes the header promises.
        expected: u64,
    },
    /// Its bytes do not hash to its header's hash, or do not decode.
    #[error("corrupted: {0}")]
    Corrupted(String),
    /// Of another ledger.
    #[error("foreign: it is a snapshot of ledger {theirs}, and this ledger is {ours}")]
    Foreign {
        /// The snapshot's ledger id.
        theirs: Hash32,
        /// This ledger's.
        ours: Hash32,
    },
    /// Its seal is not in this chain (the store was rolled back or replaced).
    #[error("stale: {0}")]
    Stale(String),
}

fn writer() -> String {
    format!("fundledger-core {}", env!("CARGO_PKG_VERSION"))
}

fn hash(bytes: &[u8]) -> Hash32 {
    Hash32(*blake3::hash(bytes).as_bytes())
}

/// The snapshot file of `ledger`, which must be a full ledger (not compact
/// or partial) whose last record is a seal; `None` otherwise. Each
/// program's findings fold (`findings(program)`: its records as
/// [`Findings`] gathers them, asked for one program at a time), if given,
/// goes in a `findings:<id>` section, so a report need not read them back.
pub fn encode_with(
    ledger: &Ledger,
    mut findings: impl FnMut(&str) -> Option<Findings>,
) -> Option<Vec<u8>> {
    if ledger.books().is_rules_only()
        || ledger.is_partial()
        || ledger.size() == 0
        || ledger.sealed_through() != Some(ledger.size() - 1)
    {
        return None;
    }
    let (rest, programs) = ledger.split_programs();
    let mut parts: Vec<(String, Option<i32>, Vec<u8>)> = vec![
        ("identity".into(), None, to_bytes(&rest.identity())),
        ("ledger".into(), None, to_bytes(&rest)),
    ];
    for (id, books) in &programs {
        let year = Some(books.opened.fiscal_year);
        parts.push((format!("program:{id}"), year, to_bytes(&books.to_wire())));
        if let Some(fold) = findings(id) {
            parts.push((format!("findings:{id}"), year, to_bytes(&fold)));
        }
    }
    let mut body = Vec::with_capacity(parts.iter().map(|p| p.2.len()).sum());
    let mut sections = Vec::with_capacity(parts.len());
    for (name, fiscal_year, bytes) in parts {
        sections.push(Section {
            name,
            offset: body.len() as u64,
            bytes: bytes.len() as u64,
            blake3: hash(&bytes),
            fiscal_year,
        });
        body.extend_from_slice(&bytes);
    }
    let header = SnapshotHeader {
        format: SNAPSHOT_FORMAT,
        writer: writer(),
        ledger_id: ledger.ledger_id()?,
        size: ledger.size(),
        head: ledger.head(),
        recorded_at: ledger.last_recorded_at()?.to_string(),
        body_bytes: body.len() as u64,
        body_blake3: hash(&body),
        sections,
    };
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(serde_json::to_string(&header).expect("header").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&body);
    Some(out)
}

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("the books serialize")
}

/// The header at the start of a snapshot file (`prefix`: at least its
/// first two lines), checked for format and writer, and where the body
/// starts.
pub fn read_header(prefix: &[u8]) -> Result<(SnapshotHeader, usize), Refusal> {
    let rest = prefix
        .strip_prefix(MAGIC)
        .ok_or_else(|| Refusal::OtherVersion("not a fundledger snapshot".into()))?;
    let line_end = rest
        .iter()
        .position(|b| *b == b'\n')
        .ok_or(Refusal::Truncated {
            got: 0,
            expected: 1,
        })?;
    let header: SnapshotHeader = serde_json::from_slice(&rest[..line_end]).map_err(|e| {
        match serde_json::from_slice::<serde_json::Value>(&rest[..line_end]) {
            Ok(v) if v["format"] != SNAPSHOT_FORMAT || v["writer"] != writer() => {
                Refusal::OtherVersion(format!("{} format {}", v["writer"], v["format"]))
            }
            _ => Refusal::Corrupted(format!("its header does not parse: {e}")),
        }
    })?;
    if header.format != SNAPSHOT_FORMAT || header.writer != writer() {
        return Err(Refusal::OtherVersion(format!(
            "{} format {}",
            header.writer, header.format
        )));
    }
    Ok((header, MAGIC.len() + line_end + 1))
}

/// The header of a whole snapshot file and its body, checked against each
/// other (format, writer, length, hash) but not yet against a chain.
pub fn open(bytes: &[u8]) -> Result<(SnapshotHeader, &[u8]), Refusal> {
    let (header, start) = read_header(bytes)?;
    let body = &bytes[start..];
    if (body.len() as u64) < header.body_bytes {
        return Err(Refusal::Truncated {
            got: body.len() as u64,
            expected: header.body_bytes,
        });
    }
    if body.len() as u64 != header.body_bytes {
        return Err(Refusal::Corrupted(format!(
            "{} bytes follow its body",
            body.len() as u64 - header.body_bytes
        )));
    }
    // Hundreds of MB at a million records: hashed on every core.
    let mut hasher = blake3::Hasher::new();
    hasher.update_rayon(body);
    if Hash32(*hasher.finalize().as_bytes()) != header.body_blake3 {
        return Err(Refusal::Corrupted(
            "its body does not hash to its header's body_blake3".into(),
        ));
    }
    Ok((header, body))
}

impl SnapshotHeader {
    /// Is this snapshot's seal the record `head` at seq `size - 1` of the
    /// ledger `ledger_id`? `seal_hash` is the hash of that record in the
    /// chain at hand (`None`: the chain is shorter).
    pub fn check(&self, ledger_id: Hash32, seal_hash: Option<Hash32>) -> Result<(), Refusal> {
        if self.ledger_id != ledger_id {
            return Err(Refusal::Foreign {
                theirs: self.ledger_id,
                ours: ledger_id,
            });
        }
        match seal_hash {
            None => Err(Refusal::Stale(format!(
                "it was taken at record {}, which this chain does not hold",
                self.size - 1
            ))),
            Some(hash) if hash != self.head => Err(Refusal::Stale(format!(
                "record {} here is {hash}, not the seal {} it was taken at",
                self.size - 1,
                self.head
            ))),
            Some(_) => Ok(()),
        }
    }

    fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The sections a report of `program` reads: the identity (which
    /// keeps the seqs of every program's opening and allocations), the
    /// program's books and its findings fold, if the snapshot has one.
    /// `None` if the snapshot has no such program.
    pub fn report_sections(&self, program: &str) -> Option<Vec<&Section>> {
        let own = self.section(&format!("program:{program}"))?;
        let mut wanted = vec![self.section("identity")?, own];
        wanted.extend(self.section(&format!("findings:{program}")));
        Some(wanted)
    }

    /// What opening the whole ledger reads: the `ledger` section and every
    /// program's books; not the findings folds (a report, or a fold taken
    /// from the snapshot, checks the one it reads).
    pub fn open_sections(&self) -> Result<(&Section, Vec<&Section>), Refusal> {
        let rest = self
            .section("ledger")
            .ok_or_else(|| Refusal::Corrupted("it has no ledger section".into()))?;
        let programs = self
            .sections
            .iter()
            .filter(|s| s.name.starts_with("program:"))
            .collect();
        Ok((rest, programs))
    }

    /// The section holding `program`'s findings fold, if there is one.
    pub fn findings_section(&self, program: &str) -> Option<&Section> {
        self.section(&format!("findings:{program}"))
    }
}

/// A program's findings fold from its section ([`SnapshotHeader::findings_section`]),
/// read apart from the body: whole and hashing to its header's hash.
pub fn decode_findings(section: &Section, bytes: &[u8]) -> Result<Findings, Refusal> {
    check_section(section, bytes)?;
    decode_part(section, bytes)
}

/// A section read apart from the body (a report's): whole, and hashing
/// to its header's hash. (A whole body is hashed once by [`open`].)
fn check_section(section: &Section, bytes: &[u8]) -> Result<(), Refusal> {
    if bytes.len() as u64 != section.bytes {
        return Err(Refusal::Truncated {
            got: bytes.len() as u64,
            expected: section.bytes,
        });
    }
    if hash(bytes) != section.blake3 {
        return Err(Refusal::Corrupted(format!(
            "its section {} does not hash to its header's",
            section.name
        )));
    }
    Ok(())
}

fn decode_part<'a, T: Deserialize<'a>>(section: &Section, bytes: &'a [u8]) -> Result<T, Refusal> {
    if bytes.len() as u64 != section.bytes {
        return Err(Refusal::Truncated {
            got: bytes.len() as u64,
            expected: section.bytes,
        });
    }
    postcard::from_bytes(bytes).map_err(|e| {
        Refusal::Corrupted(format!("its section {} does not decode: {e}", section.name))
    })
}

/// A program's books from its section ([`ProgramBooks::to_wire`]).
fn decode_books(section: &Section, bytes: &[u8]) -> Result<ProgramBooks, Refusal> {
    ProgramBooks::from_wire(decode_part(section, bytes)?)
        .map_err(|e| Refusal::Corrupted(format!("its section {}: {e}", section.name)))
}

fn matches_header(ledger: &Ledger, header: &SnapshotHeader) -> Result<(), Refusal> {
    if ledger.size() != header.size
        || ledger.head() != header.head
        || ledger.ledger_id() != Some(header.ledger_id)
        || ledger.sealed_through() != Some(header.size - 1)
    {
        return Err(Refusal::Corrupted(
            "its body is not the ledger its header names".into(),
        ));
    }
    Ok(())
}

/// The ledger without its programs' books, from its `ledger` section
/// ([`SnapshotHeader::open_sections`]) read apart from the body: whole and
/// hashing to its header's hash. With [`decode_program`] for each program's
/// section, a caller decodes the sections (on several cores), then
/// [`assemble`]s them into the whole ledger.
pub fn decode_ledger_section(section: &Section, bytes: &[u8]) -> Result<Ledger, Refusal> {
    check_section(section, bytes)?;
    decode_part(section, bytes)
}

/// One program's books, from its section read apart from the body: whole
/// and hashing to its header's hash.
pub fn decode_program(section: &Section, bytes: &[u8]) -> Result<(String, ProgramBooks), Refusal> {
    check_section(section, bytes)?;
    let id = section.name.strip_prefix("program:").unwrap_or_default();
    Ok((id.to_string(), decode_books(section, bytes)?))
}

/// The ledger from its decoded sections, checked against the header.
pub fn assemble(
    header: &SnapshotHeader,
    mut ledger: Ledger,
    programs: Vec<(String, ProgramBooks)>,
) -> Result<Ledger, Refusal> {
    for (id, books) in programs {
        ledger.insert_program(id, books);
    }
    matches_header(&ledger, header)?;
    Ok(ledger)
}

/// A ledger for reports only, from a snapshot's identity and the program
/// sections given (each with its bytes, as [`SnapshotHeader::report_sections`]
/// names them): it knows those programs' books and refuses every record;
/// with the findings fold, if one was given.
pub fn decode_programs(
    header: &SnapshotHeader,
    parts: &[(&Section, Vec<u8>)],
) -> Result<(Ledger, Option<Findings>), Refusal> {
    let findings_part = parts
        .iter()
        .find(|(section, _)| section.name.starts_with("findings:"));
    // The findings section (the program's records) is decoded on a second
    // core while this one decodes the identity and the books.
    let (books, findings) = std::thread::scope(|scope| {
        let findings = findings_part.map(|(section, bytes)| {
            scope.spawn(move || -> Result<Findings, Refusal> {
                check_section(section, bytes)?;
                decode_part(section, bytes)
            })
        });
        let books = decode_report_books(parts);
        let findings = findings
            .map(|handle| handle.join().expect("decoding a section does not panic"))
            .transpose();
        (books, findings)
    });
    let (identity, programs) = books?;
    let mut ledger = assemble(header, identity, programs)?;
    ledger.set_partial();
    Ok((ledger, findings?))
}

/// The identity and the program books of [`decode_programs`]' parts.
#[allow(clippy::type_complexity)]
fn decode_report_books(
    parts: &[(&Section, Vec<u8>)],
) -> Result<(Ledger, Vec<(String, ProgramBooks)>), Refusal> {
    let mut ledger: Option<Ledger> = None;
    let mut programs = Vec::new();
    for (section, bytes) in parts {
        if section.name == "identity" {
            check_section(section, bytes)?;
            ledger = Some(decode_part(section, bytes)?);
        } else if section.name.starts_with("program:") {
            programs.push(decode_program(section, bytes)?);
        }
    }
    let ledger = ledger.ok_or_else(|| Refusal::Corrupted("it has no identity section".into()))?;
    Ok((ledger, programs))
}

/// Serde helpers: imbl hash maps and sets written in key order, so that
/// one state has one encoding.
pub(crate) mod sorted_map {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::hash::Hash;

    pub fn serialize<K, V, S>(map: &imbl::HashMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Ord + Serialize + Hash + Eq + Clone,
        V: Serialize + Clone,
        S: Serializer,
    {
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_seq(entries)
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<imbl::HashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Hash + Eq + Clone,
        V: Deserialize<'de> + Clone,
        D: Deserializer<'de>,
    {
        let entries = Vec::<(K, V)>::deserialize(d)?;
        Ok(entries.into_iter().collect())
    }
}

/// [`sorted_map`] for sets.
pub(crate) mod sorted_set {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::hash::Hash;

    pub fn serialize<K, S>(set: &imbl::HashSet<K>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Ord + Serialize + Hash + Eq + Clone,
        S: Serializer,
    {
        let mut keys: Vec<&K> = set.iter().collect();
        keys.sort_unstable();
        s.collect_seq(keys)
    }

    pub fn deserialize<'de, K, D>(d: D) -> Result<imbl::HashSet<K>, D::Error>
    where
        K: Deserialize<'de> + Hash + Eq + Clone,
        D: Deserializer<'de>,
    {
        let keys = Vec::<K>::deserialize(d)?;
        Ok(keys.into_iter().collect())
    }
}

/// A fixed offset as its seconds east of UTC.
pub(crate) mod utc_offset {
    use chrono::FixedOffset;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(offset: &FixedOffset, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(offset.local_minus_utc())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FixedOffset, D::Error> {
        let seconds = i32::deserialize(d)?;
        FixedOffset::east_opt(seconds)
            .ok_or_else(|| serde::de::Error::custom("an offset within a day"))
    }
}

/// A decimal as its text.
pub(crate) mod decimal_text {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
