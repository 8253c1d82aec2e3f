//! The chain state machine: what the ledger knows after each record, and the
//! one `decide` step that both append and verify use to accept a record.
//!
//! [`Ledger::append_event`] seals a signed event into the next record;
//! [`Ledger::verify_line`] checks a record read from an export or a store.
//! Both go through [`Ledger::decide_event`], so a record is valid on disk
//! exactly when it would have been accepted at append. Accepting a record
//! folds it into the state ([`Ledger::apply`]), which holds no checks.
//!
//! The state is made of persistent maps: cloning a [`Ledger`] is O(1), so a
//! batch is decided on a clone and the clone kept only if every event passes.

mod apply;
mod batch;
pub(crate) mod precheck;
mod records;
mod rules;
mod seal;

pub use batch::{
    refuse_far_future, BatchItem, BatchRejection, DecidedBatch, ItemOutcome, RecordClock,
    FUTURE_SKEW_DEFAULT_HOURS,
};
pub use precheck::{parse_stored, precheck_event, precheck_line};
pub use records::{
    Appended, CheckedEvent, CheckedRecord, PendingSignature, SealedRecord, StoredRecord,
};
pub use seal::{seal_id, RESERVED_ID_PREFIX};

use seal::Merkle;

/// The chain format's version: every record's `v`.
pub const FORMAT_VERSION: u64 = 2;

use crate::body::Body;
use crate::books::Books;
use crate::crypto::{domain_hash, PublicKey, RECORD_DOMAIN};
use crate::event_index::{CompactIndex, NoRecall, Recall};
use crate::ids::{parse_lower_hex, DistrictCode, Hash32, Timestamp};
use crate::jcs::canonical_bytes;
use crate::kind::{EventKind, Role};
use crate::limits::RECORD_BYTES_MAX;
use crate::Rejection;
use chrono::FixedOffset;
use serde_json::{Map, Value};

/// An enrolled actor.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    /// Actor id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Signing key.
    pub key: PublicKey,
    /// District, for district actors.
    pub district: Option<DistrictCode>,
    /// Display name.
    pub name: Option<String>,
    /// The seq of the `actor_revoked` that revoked it.
    pub revoked_at_seq: Option<u64>,
}

/// What the ledger remembers of each event.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct EventEntry {
    /// Where it is.
    pub seq: u64,
    /// Its event hash (identical retries have the same one).
    pub event_hash: Hash32,
    /// Who asserted it.
    pub actor: String,
    /// What it is.
    pub kind: EventKind,
    /// The id of the `event_reversed` that reversed it.
    pub reversed_by: Option<String>,
}

/// The state of a ledger after some prefix of its records.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    size: u64,
    head: Hash32,
    ledger_id: Option<Hash32>,
    name: String,
    #[serde(with = "crate::snapshot::utc_offset")]
    utc_offset: FixedOffset,
    operator: Option<String>,
    last_recorded_at: Option<Timestamp>,
    /// Behind an `Arc`: a map node then holds pointers, not keys of 200 bytes.
    #[serde(with = "crate::snapshot::sorted_map")]
    actors: imbl::HashMap<String, std::sync::Arc<Actor>>,
    /// Every event, in full mode.
    #[serde(with = "crate::snapshot::sorted_map")]
    events: imbl::HashMap<String, EventEntry>,
    /// Every event id, in compact mode (then `events` stays empty).
    compact: Option<CompactIndex>,
    /// In compact mode: the seqs of reversed events, with the reversal's id.
    #[serde(with = "crate::snapshot::sorted_map")]
    reversed: imbl::HashMap<u64, String>,
    books: Books,
    /// The RFC 6962 tree over the record hashes.
    merkle: Merkle,
    /// The seq of the last `ledger_sealed`.
    last_seal: Option<u64>,
    /// Opened from a snapshot with some programs' books only
    /// ([`crate::snapshot::decode_programs`]): for reports, never for records.
    #[serde(skip)]
    partial: bool,
    /// Where a compact ledger reads its earlier records back, when it reads
    /// from its own store ([`Ledger::recalling`]).
    #[serde(skip)]
    recall: OwnRecall,
    /// The records this compact ledger appended that its store may not
    /// hold yet, by seq, until [`Ledger::mark_stored`].
    #[serde(skip)]
    unstored: imbl::OrdMap<u64, std::sync::Arc<Vec<u8>>>,
}

/// A ledger's own [`Recall`], shared by its clones.
#[derive(Clone, Default)]
struct OwnRecall(Option<std::sync::Arc<dyn Recall + Send + Sync>>);

impl std::fmt::Debug for OwnRecall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "OwnRecall(..)"
        } else {
            "OwnRecall(none)"
        })
    }
}

/// What the rules need of an earlier event.
struct Earlier {
    seq: u64,
    /// Its event hash (an identical retry has the same one).
    event_hash: Hash32,
    actor: String,
    kind: EventKind,
    reversed_by: Option<String>,
    /// Its body, read back in compact mode.
    body: Option<Body>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

impl Ledger {
    /// An empty ledger: the next record is record 0, `ledger_opened`.
    pub fn new() -> Ledger {
        Ledger {
            size: 0,
            head: Hash32::ZERO,
            ledger_id: None,
            name: String::new(),
            utc_offset: FixedOffset::east_opt(8 * 3600).expect("valid offset"),
            operator: None,
            last_recorded_at: None,
            actors: imbl::HashMap::new(),
            events: imbl::HashMap::new(),
            compact: None,
            reversed: imbl::HashMap::new(),
            books: Books::default(),
            merkle: Merkle::Full(crate::merkle::MerkleTree::default()),
            last_seal: None,
            partial: false,
            recall: OwnRecall::default(),
            unstored: imbl::OrdMap::new(),
        }
    }

    /// An empty ledger that keeps everything a full one does for reports
    /// (every program's books) but, like [`Ledger::compact`], indexes its
    /// event ids by a 32-bit hash and reads an earlier record back through
    /// `recall` (its own store) when a rule needs it — an id that may appear
    /// again, a reversal (whose contribution it takes back from the
    /// reversed event's body). What a store opens into: a million records'
    /// ids take 9 MB, not a map of strings. It decides exactly as a full
    /// ledger does, appends included; [`Ledger::event`] knows nothing.
    pub fn recalling(recall: std::sync::Arc<dyn Recall + Send + Sync>) -> Ledger {
        Ledger {
            compact: Some(CompactIndex::default()),
            books: Books::recalling(),
            recall: OwnRecall(Some(recall)),
            ..Ledger::new()
        }
    }

    /// Gives a ledger decoded from a snapshot its store to read back from
    /// (a compact one needs it to decide anything).
    pub fn set_recall(&mut self, recall: std::sync::Arc<dyn Recall + Send + Sync>) {
        self.recall = OwnRecall(Some(recall));
    }

    /// Tells a compact ledger that its store now holds every record it
    /// appended (they were kept to be read back until then).
    pub fn mark_stored(&mut self) {
        self.unstored = imbl::OrdMap::new();
    }

    /// An empty ledger in compact mode, for verifying a long chain in little
    /// memory: it keeps a 32-bit hash per event id and the books the rules
    /// read ([`Books::rules_only`]), and reads an earlier record back (through
    /// the [`Recall`] given to [`Ledger::accept_recalling`]) when a rule needs
    /// it — a reversal, or an id that may appear again. It decides exactly as
    /// a full ledger does; [`Ledger::event`] knows nothing and the books have
    /// no projections.
    pub fn compact() -> Ledger {
        Ledger {
            compact: Some(CompactIndex::default()),
            books: Books::rules_only(),
            merkle: Merkle::Compact(crate::merkle::Frontier::default()),
            ..Ledger::new()
        }
    }

    /// The ledger without its programs' books, and those books (for a
    /// snapshot, which keeps each program apart).
    pub(crate) fn split_programs(&self) -> (Ledger, Vec<(String, crate::books::ProgramBooks)>) {
        let mut rest = self.clone();
        let programs = rest.books.take_programs();
        (rest, programs)
    }

    /// This ledger's identity and time (name, id, size, head, seals,
    /// actors), with no event index, contributions, Merkle tree or books.
    pub(crate) fn identity(&self) -> Ledger {
        Ledger {
            events: imbl::HashMap::new(),
            compact: None,
            reversed: imbl::HashMap::new(),
            books: self.books.identity(),
            merkle: Merkle::Full(crate::merkle::MerkleTree::default()),
            ..self.clone()
        }
    }

    /// Adds a program's books back (decoding a snapshot).
    pub(crate) fn insert_program(&mut self, id: String, books: crate::books::ProgramBooks) {
        self.books.insert_program(id, books);
    }

    /// Marks a ledger opened with some programs only: it refuses records.
    pub(crate) fn set_partial(&mut self) {
        self.partial = true;
    }

    /// Was it opened with some programs' books only (for a report)?
    pub fn is_partial(&self) -> bool {
        self.partial
    }

    /// Number of records.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Hash of the last record (64 zeros when empty).
    pub fn head(&self) -> Hash32 {
        self.head
    }
    /// Hash of record 0, the ledger's identity.
    pub fn ledger_id(&self) -> Option<Hash32> {
        self.ledger_id
    }
    /// The ledger's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Offset of local deadlines.
    pub fn utc_offset(&self) -> FixedOffset {
        self.utc_offset
    }
    /// The operator's actor id.
    pub fn operator(&self) -> Option<&Actor> {
        self.operator
            .as_ref()
            .and_then(|id| self.actors.get(id))
            .map(|a| &**a)
    }
    /// `recorded_at` of the last record.
    pub fn last_recorded_at(&self) -> Option<Timestamp> {
        self.last_recorded_at
    }
    /// An enrolled actor.
    pub fn actor(&self, id: &str) -> Option<&Actor> {
        self.actors.get(id).map(|a| &**a)
    }
    /// All enrolled actors.
    pub fn actors(&self) -> impl Iterator<Item = &Actor> {
        self.actors.values().map(|a| &**a)
    }
    /// What the ledger knows of an event id (nothing in compact mode).
    pub fn event(&self, id: &str) -> Option<&EventEntry> {
        self.events.get(id)
    }
    /// The programs and their figures.
    pub fn books(&self) -> &Books {
        &self.books
    }

    /// Offers a signed event for the next record, stamped `recorded_at`.
    ///
    /// An id already in the ledger with the same event hash answers
    /// [`Appended::Exists`]; with another hash, a conflict. On success the
    /// record is folded into `self`; on error `self` is unchanged.
    pub fn append_event(
        &mut self,
        event: &Value,
        sig: &str,
        recorded_at: Timestamp,
    ) -> Result<Appended, Rejection> {
        self.append_event_with(event, sig, recorded_at, None)
    }

    /// [`Ledger::append_event`]; with `deferred`, the signature is not
    /// checked here but pushed there, for the caller to check in a batch
    /// (and to decide again, verifying each, if the batch fails).
    pub(crate) fn append_event_with(
        &mut self,
        event: &Value,
        sig: &str,
        recorded_at: Timestamp,
        deferred: Option<&mut Vec<PendingSignature>>,
    ) -> Result<Appended, Rejection> {
        // Checked first: without its store, a compact ledger cannot even
        // read an earlier record back to tell a retry from a conflict.
        if self.compact.is_some() && self.recall.0.is_none() {
            return Err(Rejection::rule(
                "a compact ledger only verifies; open the full ledger to append".to_string(),
            ));
        }
        if let Some(seq) = self.existing(event)? {
            return Ok(Appended::Exists(seq));
        }
        if let Some(last) = self.last_recorded_at {
            if recorded_at < last {
                return Err(Rejection::chain(format!(
                    "recorded_at {recorded_at} would be earlier than the last record's {last}; the ledger's time never decreases"
                )));
            }
        }
        let (decided, pending, original) = self.decide_event(event, sig, deferred.is_none())?;
        let mut record = Map::new();
        record.insert("v".into(), Value::from(FORMAT_VERSION));
        record.insert("seq".into(), Value::from(self.size));
        record.insert("prev".into(), Value::from(self.head.to_hex()));
        record.insert("recorded_at".into(), Value::from(recorded_at.to_string()));
        record.insert("event".into(), event.clone());
        record.insert("sig".into(), Value::from(sig));
        let mut record = Value::Object(record);
        let hash = domain_hash(
            RECORD_DOMAIN,
            &canonical_bytes(&record).map_err(Rejection::from)?,
        );
        record
            .as_object_mut()
            .expect("record is an object")
            .insert("hash".into(), Value::from(hash.to_hex()));
        let bytes = canonical_bytes(&record).map_err(Rejection::from)?;
        if bytes.len() > RECORD_BYTES_MAX {
            return Err(Rejection::too_large(format!(
                "the record would be {} bytes, more than the limit of {RECORD_BYTES_MAX}",
                bytes.len()
            )));
        }
        let sealed = SealedRecord {
            seq: self.size,
            hash,
            event_id: decided.id.clone(),
            bytes,
        };
        if self.compact.is_some() {
            self.unstored
                .insert(sealed.seq, std::sync::Arc::new(sealed.bytes.clone()));
        }
        self.apply(&decided, hash, recorded_at, original);
        if let (Some(deferred), Some(pending)) = (deferred, pending) {
            deferred.push(pending);
        }
        Ok(Appended::New(sealed))
    }

    /// The seq of an identical event already in the ledger, or a conflict.
    fn existing(&self, event: &Value) -> Result<Option<u64>, Rejection> {
        let Some(id) = event.get("id").and_then(Value::as_str) else {
            return Ok(None);
        };
        let (seq, earlier_hash) = if self.compact.is_some() {
            match self.earlier(id, &NoRecall, false)? {
                Some(earlier) => (earlier.seq, earlier.event_hash),
                None => return Ok(None),
            }
        } else {
            match self.events.get(id) {
                Some(entry) => (entry.seq, entry.event_hash),
                None => return Ok(None),
            }
        };
        let hash = crate::crypto::event_hash(event).map_err(Rejection::from)?;
        if hash == earlier_hash {
            Ok(Some(seq))
        } else {
            Err(Rejection::conflict(format!(
                "event id {id:?} is already in the ledger at seq {seq} with other content; a correction needs a new id"
            ))
            .with_field("event.id"))
        }
    }

    /// Checks one record (an export line, without its newline) as the next
    /// record, and folds it in. On error `self` is unchanged.
    pub fn verify_line(&mut self, line: &[u8]) -> Result<Hash32, Rejection> {
        let checked = precheck_line(line)?;
        let seq = self.size;
        let (hash, _) = self.accept(checked, true)?;
        // Kept to be read back until its store holds it (see `mark_stored`).
        if self.recall.0.is_some() {
            self.unstored
                .insert(seq, std::sync::Arc::new(line.to_vec()));
        }
        Ok(hash)
    }

    /// The checks of a [`CheckedRecord`] that need the state — seq, prev,
    /// time order, id reuse, enrolment, signature, authorization, rules —
    /// then folds it in. With `verify_signature` false the signature check is
    /// returned instead, for the caller to batch; on error `self` is unchanged.
    pub fn accept(
        &mut self,
        record: CheckedRecord,
        verify_signature: bool,
    ) -> Result<(Hash32, Option<PendingSignature>), Rejection> {
        self.accept_recalling(record, verify_signature, &NoRecall)
    }

    /// [`Ledger::accept`], reading earlier records back through `recall` when
    /// a compact ledger needs them.
    pub fn accept_recalling(
        &mut self,
        record: CheckedRecord,
        verify_signature: bool,
        recall: &dyn Recall,
    ) -> Result<(Hash32, Option<PendingSignature>), Rejection> {
        if let Some(index) = &self.compact {
            if !index.has_room() {
                return Err(Rejection::too_large(
                    "a compact ledger holds up to 2^32 records".to_string(),
                ));
            }
        }
        self.check_links(
            record.seq,
            record.prev,
            record.recorded_at,
            &record.event.id,
            recall,
        )?;
        let (pending, original) =
            self.decide_checked(&record.event, &record.sig, verify_signature, recall)?;
        self.apply(&record.event, record.hash, record.recorded_at, original);
        Ok((record.hash, pending))
    }

    /// An earlier event with this id: from the map in full mode, read back
    /// and parsed again in compact mode (its body too, when `with_body`).
    fn earlier(
        &self,
        id: &str,
        recall: &dyn Recall,
        with_body: bool,
    ) -> Result<Option<Earlier>, Rejection> {
        let Some(index) = &self.compact else {
            return Ok(self.events.get(id).map(|entry| Earlier {
                seq: entry.seq,
                event_hash: entry.event_hash,
                actor: entry.actor.clone(),
                kind: entry.kind,
                reversed_by: entry.reversed_by.clone(),
                body: None,
            }));
        };
        for seq in index.candidates(id) {
            let unreadable =
                |why: String| Rejection::chain(format!("record {seq} cannot be read back: {why}"));
            let line = self.read_back(seq, recall).map_err(unreadable)?;
            let record: Value =
                serde_json::from_slice(&line).map_err(|e| unreadable(format!("not JSON: {e}")))?;
            let event = &record["event"];
            if event["id"].as_str() != Some(id) {
                continue; // two ids with one hash
            }
            let kind = event["kind"]
                .as_str()
                .and_then(EventKind::parse)
                .ok_or_else(|| unreadable("no event kind".to_string()))?;
            let body = if with_body {
                Some(
                    Body::parse(kind, &event["body"])
                        .map_err(|e| unreadable(format!("its body: {e}")))?,
                )
            } else {
                None
            };
            let event_hash = crate::crypto::event_hash(event)
                .map_err(|e| unreadable(format!("its event: {e}")))?;
            return Ok(Some(Earlier {
                seq,
                event_hash,
                actor: event["actor"].as_str().unwrap_or_default().to_string(),
                kind,
                reversed_by: self.reversed.get(&seq).cloned(),
                body,
            }));
        }
        Ok(None)
    }

    /// Record `seq`'s line, read back: one this ledger appended and its store
    /// may not hold yet, or from its own store, or through `recall`.
    fn read_back(&self, seq: u64, recall: &dyn Recall) -> Result<Vec<u8>, String> {
        if let Some(line) = self.unstored.get(&seq) {
            return Ok(line.to_vec());
        }
        match &self.recall.0 {
            Some(own) => own.recall(seq),
            None => recall.recall(seq),
        }
    }

    /// Replays a record this ledger's own store wrote (it passed every check
    /// when it was appended): links, seq, time order and the record hash are
    /// checked and every ledger rule is re-applied, but signatures, schemas
    /// and the privacy scan are not re-run. `verify` re-runs everything.
    pub fn replay_stored(&mut self, line: &[u8]) -> Result<Hash32, Rejection> {
        self.accept_stored(&parse_stored(line)?)
    }

    /// The part of [`Ledger::replay_stored`] that needs the state: links,
    /// enrolment, rules; then folds the record in.
    pub fn accept_stored(&mut self, record: &StoredRecord) -> Result<Hash32, Rejection> {
        let StoredRecord {
            seq,
            prev,
            recorded_at,
            hash,
            event,
        } = record;
        let (seq, prev, recorded_at, hash) = (*seq, *prev, *recorded_at, *hash);
        self.check_links(seq, prev, recorded_at, &event.id, &NoRecall)?;
        self.check_binding(event)?;
        let role = if self.size == 0 {
            Role::Operator
        } else {
            self.actors
                .get(&event.actor)
                .map(|a| a.role)
                .ok_or_else(|| {
                    Rejection::unauthorized(format!("actor {:?} is not enrolled", event.actor))
                        .with_field("event.actor")
                })?
        };
        let original = self.decide_body(event, role, &NoRecall)?;
        self.apply(event, hash, recorded_at, original);
        Ok(hash)
    }

    /// The checks that tie a record to the chain so far: seq, prev, time
    /// order, and an event id not used before.
    fn check_links(
        &self,
        seq: Option<u64>,
        prev: Option<Hash32>,
        recorded_at: Timestamp,
        event_id: &str,
        recall: &dyn Recall,
    ) -> Result<(), Rejection> {
        if seq != Some(self.size) {
            return Err(Rejection::chain(format!(
                "seq is {}, expected {}: a record is missing, duplicated or out of order",
                seq.map_or("not a count".to_string(), |s| s.to_string()),
                self.size
            ))
            .with_field("seq"));
        }
        if prev != Some(self.head) {
            return Err(Rejection::chain(format!(
                "prev does not match the hash of the record before it ({})",
                self.head
            ))
            .with_field("prev"));
        }
        if let Some(last) = self.last_recorded_at {
            if recorded_at < last {
                return Err(Rejection::chain(format!(
                    "recorded_at {recorded_at} is earlier than the previous record's {last}"
                ))
                .with_field("recorded_at"));
            }
        }
        if let Some(entry) = self.earlier(event_id, recall, false)? {
            return Err(Rejection::conflict(format!(
                "event id {event_id:?} appears again; it is already at seq {}",
                entry.seq
            ))
            .with_field("event.id"));
        }
        Ok(())
    }

    /// Every check an event must pass to become the next record.
    /// (`verify_signature: false`: the signature is returned, pending, for
    /// a batch check, unless it is malformed.)
    fn decide_event(
        &self,
        event: &Value,
        sig: &str,
        verify_signature: bool,
    ) -> Result<(CheckedEvent, Option<PendingSignature>, Option<Earlier>), Rejection> {
        let checked = precheck_event(event)?;
        let (pending, original) =
            self.decide_checked(&checked, sig, verify_signature, &NoRecall)?;
        Ok((checked, pending, original))
    }

    /// The checks of a checked event that need the state: enrolment,
    /// signature (now, or returned for a batch), authorization, rules.
    fn decide_checked(
        &self,
        event: &CheckedEvent,
        sig: &str,
        verify_signature: bool,
        recall: &dyn Recall,
    ) -> Result<(Option<PendingSignature>, Option<Earlier>), Rejection> {
        let (kind, actor_id) = (event.kind, event.actor.as_str());
        self.check_binding(event)?;
        // Who signs: record 0 is signed by the operator key it declares.
        let (key, role, district) = if self.size == 0 {
            let Body::LedgerOpened(opened) = &event.body else {
                return Err(
                    Rejection::rule(format!("record 0 must be ledger_opened, got {kind}"))
                        .with_field("event.kind"),
                );
            };
            (opened.operator_key, Role::Operator, None)
        } else {
            let actor = self.actors.get(actor_id).ok_or_else(|| {
                Rejection::unauthorized(format!(
                    "actor {actor_id:?} is not enrolled in this ledger"
                ))
                .with_field("event.actor")
            })?;
            if let Some(seq) = actor.revoked_at_seq {
                return Err(Rejection::unauthorized(format!(
                    "actor {actor_id:?} was revoked at seq {seq}; its later events are invalid"
                ))
                .with_field("event.actor"));
            }
            (actor.key, actor.role, actor.district)
        };
        let pending = PendingSignature {
            seq: self.size,
            actor: actor_id.to_string(),
            key,
            event_hash: event.event_hash,
            sig: sig.to_string(),
        };
        let pending = if verify_signature || parse_lower_hex::<64>(sig).is_none() {
            if !key.verify(&event.event_hash, sig) {
                return Err(pending.rejection());
            }
            None
        } else {
            Some(pending)
        };
        if kind == EventKind::LedgerOpened && self.size != 0 {
            return Err(Rejection::rule(
                "ledger_opened can only be record 0; this ledger is already open".to_string(),
            )
            .with_field("event.kind"));
        }
        if !kind.allowed_roles().contains(&role) {
            return Err(Rejection::unauthorized(format!(
                "actor {actor_id:?} has role {role}, which may not append {kind}"
            ))
            .with_field("event.kind"));
        }
        // District actors write for their own district only.
        if role == Role::District {
            if let Some(code) = event.body.district() {
                if Some(code) != district {
                    return Err(Rejection::unauthorized(format!(
                        "actor {actor_id:?} (role district, district {}) may not append {kind} for district {code}",
                        district.map(|d| d.to_string()).unwrap_or_default()
                    ))
                    .with_field("body.district_code"));
                }
            }
        }
        let original = self.decide_body(event, role, recall)?;
        Ok((pending, original))
    }
}
