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

use crate::body::Body;
use crate::books::Books;
use crate::crypto::{domain_hash, domain_hash_parts, PublicKey, EVENT_DOMAIN, RECORD_DOMAIN};
use crate::event_index::{CompactIndex, NoRecall, Recall};
use crate::ids::{
    is_valid_id, parse_lower_hex, parse_utc_offset, truncate, DistrictCode, Hash32, Timestamp,
};
use crate::jcs::canonical_bytes;
use crate::kind::{EventKind, Role};
use crate::limits::{BODY_BYTES_MAX, RECORD_BYTES_MAX};
use crate::privacy::find_clear_identifier;
use crate::schema::validate_body;
use crate::Rejection;
use chrono::FixedOffset;
use serde_json::{Map, Value};

/// An enrolled actor.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
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

/// A record that passed every check, ready to store.
#[derive(Clone, Debug)]
pub struct SealedRecord {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub hash: Hash32,
    /// The event's id.
    pub event_id: String,
    /// The canonical (RFC 8785) bytes: one export line without the newline.
    pub bytes: Vec<u8>,
}

/// An event that passed the checks that need no ledger state: shape,
/// canonical form, size, privacy, schema, typed body. Computed in parallel
/// by `verify`; decided against the state by [`Ledger::accept`].
#[derive(Clone, Debug)]
pub struct CheckedEvent {
    event_hash: Hash32,
    kind: EventKind,
    id: String,
    actor: String,
    at: Timestamp,
    body: Body,
}

/// A record that passed the checks that need no ledger state: canonical
/// bytes, members, formats, its own hash, and its event's checks.
#[derive(Clone, Debug)]
pub struct CheckedRecord {
    seq: Option<u64>,
    prev: Option<Hash32>,
    recorded_at: Timestamp,
    hash: Hash32,
    sig: String,
    event: CheckedEvent,
}

/// A signature whose check was deferred to a batch.
#[derive(Clone, Debug)]
pub struct PendingSignature {
    /// The record.
    pub seq: u64,
    /// The actor.
    pub actor: String,
    /// Its enrolled key.
    pub key: PublicKey,
    /// What was signed.
    pub event_hash: Hash32,
    /// The signature, lowercase hex.
    pub sig: String,
}

impl PendingSignature {
    /// The rejection a failing signature produces.
    pub fn rejection(&self) -> Rejection {
        Rejection::signature(format!(
            "the signature does not verify with the enrolled key of actor {:?}",
            self.actor
        ))
        .with_field("sig")
    }
}

/// The outcome of offering an event to the ledger.
#[derive(Clone, Debug)]
pub enum Appended {
    /// A new record.
    New(SealedRecord),
    /// An identical event is already in the ledger at this seq: nothing appended.
    Exists(u64),
}

/// The state of a ledger after some prefix of its records.
#[derive(Clone, Debug)]
pub struct Ledger {
    size: u64,
    head: Hash32,
    ledger_id: Option<Hash32>,
    name: String,
    utc_offset: FixedOffset,
    operator: Option<String>,
    last_recorded_at: Option<Timestamp>,
    /// Behind an `Arc`: a map node then holds pointers, not keys of 200 bytes.
    actors: imbl::HashMap<String, std::sync::Arc<Actor>>,
    /// Every event, in full mode.
    events: imbl::HashMap<String, EventEntry>,
    /// Every event id, in compact mode (then `events` stays empty).
    compact: Option<CompactIndex>,
    /// In compact mode: the seqs of reversed events, with the reversal's id.
    reversed: imbl::HashMap<u64, String>,
    books: Books,
}

/// What the rules need of an earlier event.
struct Earlier {
    seq: u64,
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
        }
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
            ..Ledger::new()
        }
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
        if self.compact.is_some() {
            return Err(Rejection::rule(
                "a compact ledger only verifies; open the full ledger to append".to_string(),
            ));
        }
        let decided = self.decide_event(event, sig)?;
        let mut record = Map::new();
        record.insert("v".into(), Value::from(1));
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
        self.apply(&decided, hash, recorded_at, None);
        Ok(Appended::New(sealed))
    }

    /// The seq of an identical event already in the ledger, or a conflict.
    fn existing(&self, event: &Value) -> Result<Option<u64>, Rejection> {
        let Some(id) = event.get("id").and_then(Value::as_str) else {
            return Ok(None);
        };
        let Some(entry) = self.events.get(id) else {
            return Ok(None);
        };
        let hash = domain_hash(
            EVENT_DOMAIN,
            &canonical_bytes(event).map_err(Rejection::from)?,
        );
        if hash == entry.event_hash {
            Ok(Some(entry.seq))
        } else {
            Err(Rejection::conflict(format!(
                "event id {id:?} is already in the ledger at seq {} with other content; a correction needs a new id",
                entry.seq
            ))
            .with_field("event.id"))
        }
    }

    /// Checks one record (an export line, without its newline) as the next
    /// record, and folds it in. On error `self` is unchanged.
    pub fn verify_line(&mut self, line: &[u8]) -> Result<Hash32, Rejection> {
        let checked = precheck_line(line)?;
        self.accept(checked, true).map(|(hash, _)| hash)
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
                actor: entry.actor.clone(),
                kind: entry.kind,
                reversed_by: entry.reversed_by.clone(),
                body: None,
            }));
        };
        for seq in index.candidates(id) {
            let unreadable =
                |why: String| Rejection::chain(format!("record {seq} cannot be read back: {why}"));
            let line = recall.recall(seq).map_err(unreadable)?;
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
            return Ok(Some(Earlier {
                seq,
                actor: event["actor"].as_str().unwrap_or_default().to_string(),
                kind,
                reversed_by: self.reversed.get(&seq).cloned(),
                body,
            }));
        }
        Ok(None)
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
        let original = self.decide_body(
            &event.id,
            &event.actor,
            role,
            event.kind,
            event.at,
            &event.body,
            &NoRecall,
        )?;
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
    fn decide_event(&self, event: &Value, sig: &str) -> Result<CheckedEvent, Rejection> {
        let checked = precheck_event(event)?;
        self.decide_checked(&checked, sig, true, &NoRecall)?;
        Ok(checked)
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
        // Who signs: record 0 is signed by the operator key it declares.
        let (key, role, district) = if self.size == 0 {
            let Body::LedgerOpened(opened) = &event.body else {
                return Err(
                    Rejection::rule(format!("record 0 must be ledger_opened, got {kind}"))
                        .with_field("event.kind"),
                );
            };
            let key = PublicKey::parse(&opened.operator_key).map_err(|_| {
                Rejection::schema("operator_key must be a hex Ed25519 public key".to_string())
                    .with_field("body.operator_key")
            })?;
            (key, Role::Operator, None)
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
        let original = self.decide_body(
            &event.id,
            actor_id,
            role,
            kind,
            event.at,
            &event.body,
            recall,
        )?;
        Ok((pending, original))
    }

    /// Rules that depend on what the ledger already holds. For a reversal,
    /// returns the reversed event as the rules saw it.
    #[allow(clippy::too_many_arguments)]
    fn decide_body(
        &self,
        id: &str,
        actor_id: &str,
        role: Role,
        kind: EventKind,
        at: Timestamp,
        body: &Body,
        recall: &dyn Recall,
    ) -> Result<Option<Earlier>, Rejection> {
        if self.compact.is_none() && self.events.contains_key(id) {
            return Err(
                Rejection::conflict(format!("event id {id:?} is already in the ledger"))
                    .with_field("event.id"),
            );
        }
        // The event a reversal reverses, once its own rules hold.
        let mut reversed = None;
        match body {
            Body::LedgerOpened(b) => {
                parse_utc_offset(&b.utc_offset)
                    .map_err(|e| Rejection::schema(e.0).with_field("body.utc_offset"))?;
            }
            Body::ActorEnrolled(b) => {
                if self.actors.contains_key(&b.actor) {
                    return Err(Rejection::rule(format!(
                        "actor {:?} is already enrolled; enrol a new actor id to rotate a key",
                        b.actor
                    ))
                    .with_field("body.actor"));
                }
                PublicKey::parse(&b.key)
                    .map_err(|e| Rejection::schema(e.0).with_field("body.key"))?;
            }
            Body::ActorRevoked(b) => {
                let target = self.actors.get(&b.actor).ok_or_else(|| {
                    Rejection::rule(format!("actor {:?} is not enrolled", b.actor))
                        .with_field("body.actor")
                })?;
                if target.revoked_at_seq.is_some() {
                    return Err(
                        Rejection::rule(format!("actor {:?} is already revoked", b.actor))
                            .with_field("body.actor"),
                    );
                }
                if self.operator.as_deref() == Some(b.actor.as_str()) {
                    return Err(
                        Rejection::rule("the operator cannot revoke itself".to_string())
                            .with_field("body.actor"),
                    );
                }
            }
            Body::EventReversed(b) => {
                let original = self
                    .earlier(&b.event_id, recall, self.compact.is_some())?
                    .ok_or_else(|| {
                        Rejection::rule(format!("event {:?} is not in the ledger", b.event_id))
                            .with_field("body.event_id")
                    })?;
                if role != Role::Operator && original.actor != actor_id {
                    return Err(Rejection::unauthorized(format!(
                        "actor {actor_id:?} (role {role}) may reverse only its own events; {:?} was asserted by {:?}",
                        b.event_id, original.actor
                    ))
                    .with_field("body.event_id"));
                }
                if let Some(by) = &original.reversed_by {
                    return Err(Rejection::rule(format!(
                        "event {:?} was already reversed by {by:?}",
                        b.event_id
                    ))
                    .with_field("body.event_id"));
                }
                if matches!(
                    original.kind,
                    EventKind::LedgerOpened
                        | EventKind::ActorEnrolled
                        | EventKind::ActorRevoked
                        | EventKind::EventReversed
                ) {
                    return Err(Rejection::rule(format!(
                        "{} events cannot be reversed (revoke the actor, or append a new event)",
                        original.kind
                    ))
                    .with_field("body.event_id"));
                }
                self.books
                    .decide_reversal(&b.event_id, original.kind, original.body.as_ref())?;
                reversed = Some(original);
            }
            _ => {}
        }
        let context = crate::books::Context {
            event_id: id,
            kind,
            at,
            utc_offset: self.utc_offset,
        };
        self.books.decide(&context, body)?;
        Ok(reversed)
    }

    /// Folds an accepted event into the state. Holds no checks.
    fn apply(
        &mut self,
        decided: &CheckedEvent,
        hash: Hash32,
        recorded_at: Timestamp,
        original: Option<Earlier>,
    ) {
        let seq = self.size;
        match &decided.body {
            Body::LedgerOpened(b) => {
                let key = PublicKey::parse(&b.operator_key).expect("decided");
                self.name = b.name.clone();
                self.utc_offset = parse_utc_offset(&b.utc_offset).expect("decided");
                self.operator = Some(decided.actor.clone());
                self.ledger_id = Some(hash);
                self.actors.insert(
                    decided.actor.clone(),
                    std::sync::Arc::new(Actor {
                        id: decided.actor.clone(),
                        role: Role::Operator,
                        key,
                        district: None,
                        name: Some(b.name.clone()),
                        revoked_at_seq: None,
                    }),
                );
            }
            Body::ActorEnrolled(b) => {
                self.actors.insert(
                    b.actor.clone(),
                    std::sync::Arc::new(Actor {
                        id: b.actor.clone(),
                        role: b.role,
                        key: PublicKey::parse(&b.key).expect("decided"),
                        district: b.district,
                        name: b.name.clone(),
                        revoked_at_seq: None,
                    }),
                );
            }
            Body::ActorRevoked(b) => {
                if let Some(actor) = self.actors.get_mut(&b.actor).map(std::sync::Arc::make_mut) {
                    actor.revoked_at_seq = Some(seq);
                }
            }
            Body::EventReversed(b) => {
                if let Some(entry) = self.events.get_mut(&b.event_id) {
                    entry.reversed_by = Some(decided.id.clone());
                }
                if let (Some(_), Some(original)) = (&self.compact, &original) {
                    self.reversed.insert(original.seq, decided.id.clone());
                }
            }
            _ => {}
        }
        let context = crate::books::Applied {
            seq,
            event_id: &decided.id,
            kind: decided.kind,
            at: decided.at,
            recorded_at,
            reversed_original: original.as_ref().and_then(|o| o.body.as_ref()),
        };
        self.books.apply(&context, &decided.body);
        match &mut self.compact {
            Some(index) => index.push(seq, &decided.id),
            None => {
                self.events.insert(
                    decided.id.clone(),
                    EventEntry {
                        seq,
                        event_hash: decided.event_hash,
                        actor: decided.actor.clone(),
                        kind: decided.kind,
                        reversed_by: None,
                    },
                );
            }
        }
        self.size += 1;
        self.head = hash;
        self.last_recorded_at = Some(recorded_at);
    }
}

/// The checks of an event that need no ledger state: members, id, actor,
/// kind and time formats, canonical form and size, privacy, schema, and the
/// typed body.
pub fn precheck_event(event: &Value) -> Result<CheckedEvent, Rejection> {
    precheck_event_with(event, None)
}

/// [`precheck_event`], given the event's canonical bytes when the caller
/// already has them (a canonical record contains its event's canonical bytes).
fn precheck_event_with(event: &Value, canonical: Option<&[u8]>) -> Result<CheckedEvent, Rejection> {
    let members = event.as_object().ok_or_else(|| {
        Rejection::malformed("an event is a JSON object".to_string()).with_field("event")
    })?;
    const MEMBERS: [&str; 5] = ["id", "actor", "kind", "at", "body"];
    if let Some(extra) = members.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(Rejection::malformed(format!(
            "unknown event member {extra:?} (an event has id, actor, kind, at, body)"
        ))
        .with_field(&format!("event.{extra}")));
    }
    if let Some(missing) = MEMBERS.iter().find(|k| !members.contains_key(**k)) {
        return Err(
            Rejection::malformed(format!("missing event member {missing:?}"))
                .with_field(&format!("event.{missing}")),
        );
    }
    let id = id_member(members, "id", "an event id")?;
    let actor_id = id_member(members, "actor", "an actor id")?;
    let kind = members["kind"]
        .as_str()
        .and_then(EventKind::parse)
        .ok_or_else(|| {
            Rejection::malformed(format!(
                "unknown event kind {}",
                truncate(&members["kind"].to_string())
            ))
            .with_field("event.kind")
        })?;
    let at = members["at"]
        .as_str()
        .ok_or_else(|| Rejection::malformed("at is a string".to_string()))
        .and_then(|t| Timestamp::parse(t).map_err(|e| Rejection::malformed(e.0)))
        .map_err(|r| r.with_field("event.at"))?;
    let body = &members["body"];
    if !body.is_object() {
        return Err(
            Rejection::malformed("body is a JSON object".to_string()).with_field("event.body")
        );
    }
    let computed;
    let event_bytes = match canonical {
        Some(bytes) => bytes,
        None => {
            computed = canonical_bytes(event).map_err(|e| {
                let field = if e.path.starts_with("body") {
                    e.path.clone()
                } else {
                    format!("event.{}", e.path)
                };
                Rejection::malformed(e.problem).with_field(&field)
            })?;
            &computed[..]
        }
    };
    // The body is part of the event: only an event over the limit can hold a body over it.
    let body_bytes = if event_bytes.len() > BODY_BYTES_MAX {
        canonical_bytes(body).map_err(Rejection::from)?.len()
    } else {
        0
    };
    if body_bytes > BODY_BYTES_MAX {
        return Err(Rejection::too_large(format!(
            "the body is {body_bytes} bytes, more than the limit of {BODY_BYTES_MAX}"
        ))
        .with_field("event.body"));
    }
    let event_hash = domain_hash(EVENT_DOMAIN, event_bytes);

    // Privacy first: a clear identifier is reported as such whatever else is wrong.
    if let Some(found) = find_clear_identifier(body, "body") {
        return Err(Rejection::privacy(format!(
            "holds {} in clear; rosters carry only keyed digests (person_digest) and masked names",
            found.what
        ))
        .with_field(&found.path));
    }
    validate_body(kind, body).map_err(Rejection::from)?;
    let typed = Body::parse(kind, body).map_err(|e| {
        Rejection::schema(format!("the body does not fit its kind: {e}")).with_field("body")
    })?;
    Ok(CheckedEvent {
        event_hash,
        kind,
        id: id.to_string(),
        actor: actor_id.to_string(),
        at,
        body: typed,
    })
}

/// A member that must be an id: 1–64 characters of `[A-Za-z0-9._:-]`.
fn id_member<'a>(
    members: &'a Map<String, Value>,
    name: &str,
    what: &str,
) -> Result<&'a str, Rejection> {
    members[name]
        .as_str()
        .filter(|v| is_valid_id(v))
        .ok_or_else(|| {
            Rejection::malformed(format!(
                "{what} is 1-64 characters of [A-Za-z0-9._:-], got {}",
                truncate(&members[name].to_string())
            ))
            .with_field(&format!("event.{name}"))
        })
}

/// The checks of a record that need no ledger state: size, JSON, canonical
/// bytes, members and their formats, the record hash, and [`precheck_event`].
pub fn precheck_line(line: &[u8]) -> Result<CheckedRecord, Rejection> {
    if line.len() > RECORD_BYTES_MAX {
        return Err(Rejection::too_large(format!(
            "the record is {} bytes, more than the limit of {RECORD_BYTES_MAX}",
            line.len()
        )));
    }
    match precheck_canonical(line) {
        Some(checked) => Ok(checked),
        None => precheck_line_slow(line),
    }
}

/// A record's members read into borrowed fields, its hash checked, and its
/// event's bytes sliced from the line: what both typed paths share.
struct TypedEnvelope<'a> {
    seq: u64,
    prev: Option<Hash32>,
    recorded_at: Timestamp,
    hash: Hash32,
    sig: &'a str,
    event_bytes: &'a [u8],
}

/// The fast path of [`precheck_line`], for a line that is canonical and
/// holds nothing like an ID number ([`is_canonical_and_clean`], one pass over
/// the bytes): the members are sliced from the bytes, the body is checked by
/// [`checked_body`], and nothing is written again. `None` whenever anything
/// is off: the slow path then decides, and says what is wrong. It accepts
/// exactly what the slow path accepts, with the same result (tested below
/// and by the mutation property tests).
///
/// [`is_canonical_and_clean`]: crate::canonical_scan::is_canonical_and_clean
fn precheck_canonical(line: &[u8]) -> Option<CheckedRecord> {
    let (envelope, event) = canonical_record(line, checked_body)?;
    if envelope.event_bytes.len() > BODY_BYTES_MAX
        || !is_valid_id(&event.id)
        || !is_valid_id(&event.actor)
    {
        return None;
    }
    Some(CheckedRecord {
        seq: Some(envelope.seq),
        prev: envelope.prev,
        recorded_at: envelope.recorded_at,
        hash: envelope.hash,
        sig: envelope.sig.to_string(),
        event,
    })
}

/// A body that passes its kind's schema, typed: by the bulk kinds' shortcut
/// ([`crate::bulk_bodies`]) when it is sure, else by the schema on a tree.
fn checked_body(kind: EventKind, body_json: &str) -> Option<Body> {
    if let Some(body) = crate::bulk_bodies::parse_checked(kind, body_json) {
        // Every debug build (every test run) holds the shortcut to the
        // schema's verdict and the tree's body.
        #[cfg(debug_assertions)]
        {
            let tree: Value = serde_json::from_str(body_json).expect("JSON");
            assert!(validate_body(kind, &tree).is_ok(), "the schema accepts it");
            let want = Body::parse(kind, &tree).expect("the tree's body");
            assert_eq!(format!("{body:?}"), format!("{want:?}"));
        }
        return Some(body);
    }
    let tree: Value = serde_json::from_str(body_json).ok()?;
    if !tree.is_object() {
        return None;
    }
    validate_body(kind, &tree).ok()?;
    Body::parse(kind, &tree).ok()
}

/// What both typed paths share: a line that [`is_canonical_and_clean`]
/// accepts, its members sliced by [`canonical_members`] (the record hash
/// checked), the event's kind and time parsed, and its body typed by
/// `body_of`. `None` whenever anything is off.
///
/// [`is_canonical_and_clean`]: crate::canonical_scan::is_canonical_and_clean
fn canonical_record(
    line: &[u8],
    body_of: impl FnOnce(EventKind, &str) -> Option<Body>,
) -> Option<(TypedEnvelope<'_>, CheckedEvent)> {
    if !crate::canonical_scan::is_canonical_and_clean(line) {
        return None;
    }
    let members = canonical_members(line)?;
    let kind = EventKind::parse(members.kind)?;
    let at = Timestamp::parse(members.at).ok()?;
    let body = body_of(kind, members.body)?;
    let event = CheckedEvent {
        event_hash: domain_hash(EVENT_DOMAIN, members.envelope.event_bytes),
        kind,
        id: members.id.to_string(),
        actor: members.actor.to_string(),
        at,
        body,
    };
    Some((members.envelope, event))
}

/// A canonical record's members, sliced from its bytes.
struct CanonicalMembers<'a> {
    envelope: TypedEnvelope<'a>,
    id: &'a str,
    actor: &'a str,
    kind: &'a str,
    at: &'a str,
    /// The body's JSON text (not yet known to be one value: its parser
    /// refuses trailing members).
    body: &'a str,
}

/// The members of a line that [`is_canonical_and_clean`] accepted, read
/// straight from its bytes. Canonical members come in one order, without
/// spaces, so the record is
/// `{"event":{"actor":A,"at":T,"body":B,"id":I,"kind":K},"hash":H,"prev":P,"recorded_at":R,"seq":N,"sig":S,"v":1}`
/// and everything but the body is read from either end. `"hash"` and
/// `"id"` are found from the back: no string holds `,"` unescaped, so the
/// last `,"hash":"` is the record's own. `None` for any other shape, and
/// for strings with escapes (the tree path then decides).
///
/// [`is_canonical_and_clean`]: crate::canonical_scan::is_canonical_and_clean
fn canonical_members(line: &[u8]) -> Option<CanonicalMembers<'_>> {
    const HASH_KEY: &[u8] = b",\"hash\":\"";
    const ID_KEY: &[u8] = b",\"id\":\"";
    use memchr::memmem::FinderRev;
    use std::sync::LazyLock;
    static FIND_HASH: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(HASH_KEY));
    static FIND_ID: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(ID_KEY));
    if !line.starts_with(EVENT_START) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let cut = FIND_HASH.rfind(line)?;
    let mut tail = Members { text, at: cut };
    let claimed = tail.string(HASH_KEY)?;
    let hash_end = tail.at;
    let prev = tail.string(b",\"prev\":\"")?;
    let recorded_at = tail.string(b",\"recorded_at\":\"")?;
    let seq = tail.integer(b",\"seq\":")?;
    let sig = tail.string(b",\"sig\":\"")?;
    if &line[tail.at..] != b",\"v\":1}" {
        return None;
    }
    let event_bytes = line.get(EVENT_START.len()..cut)?;
    let event_text = &text[EVENT_START.len()..cut];
    let id_cut = FIND_ID.rfind(event_bytes)?;
    let mut head = Members {
        text: event_text,
        at: 0,
    };
    let actor = head.string(b"{\"actor\":\"")?;
    let at = head.string(b",\"at\":\"")?;
    if !event_bytes[head.at..].starts_with(b",\"body\":") || head.at + 8 > id_cut {
        return None;
    }
    let body = &event_text[head.at + 8..id_cut];
    let mut end = Members {
        text: event_text,
        at: id_cut,
    };
    let id = end.string(ID_KEY)?;
    let kind = end.string(b",\"kind\":\"")?;
    if &event_bytes[end.at..] != b"}" {
        return None;
    }
    let claimed = Hash32::parse(claimed).ok()?;
    let hash = domain_hash_parts(RECORD_DOMAIN, &[&line[..cut], &line[hash_end..]]);
    if hash != claimed {
        return None;
    }
    Some(CanonicalMembers {
        envelope: TypedEnvelope {
            seq,
            prev: Hash32::parse(prev).ok(),
            recorded_at: Timestamp::parse(recorded_at).ok()?,
            hash,
            sig,
            event_bytes,
        },
        id,
        actor,
        kind,
        at,
        body,
    })
}

/// A cursor over canonical JSON text, for [`canonical_members`].
struct Members<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Members<'a> {
    /// `key` (which ends in the string's opening quote), then a string
    /// without escapes, then its closing quote.
    fn string(&mut self, key: &[u8]) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        if !bytes[self.at..].starts_with(key) {
            return None;
        }
        let start = self.at + key.len();
        let len = memchr::memchr2(b'"', b'\\', &bytes[start..])?;
        if bytes[start + len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        Some(&self.text[start..start + len])
    }

    /// `key`, then a non-negative integer (canonical: no sign, no leading 0).
    fn integer(&mut self, key: &[u8]) -> Option<u64> {
        let bytes = self.text.as_bytes();
        if !bytes[self.at..].starts_with(key) {
            return None;
        }
        let start = self.at + key.len();
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at = start + len;
        self.text[start..start + len].parse().ok()
    }
}

/// Every check of [`precheck_line`] on a JSON tree of the record, naming
/// what is wrong.
fn precheck_line_slow(line: &[u8]) -> Result<CheckedRecord, Rejection> {
    let record: Value = serde_json::from_slice(line)
        .map_err(|e| Rejection::malformed(format!("the record is not valid JSON: {e}")))?;
    let canonical = canonical_bytes(&record).map_err(Rejection::from)?;
    if canonical != line {
        return Err(Rejection::malformed(
            "the record is not in canonical form (RFC 8785): its bytes were altered".to_string(),
        ));
    }
    let envelope = check_members(&record, line)?;
    let members = envelope.members;
    let sig = members["sig"]
        .as_str()
        .ok_or_else(|| Rejection::malformed("sig is a string".to_string()).with_field("sig"))?
        .to_string();
    let event = precheck_event_with(&members["event"], envelope.event_bytes)?;
    Ok(CheckedRecord {
        seq: envelope.seq,
        prev: envelope.prev,
        recorded_at: envelope.recorded_at,
        hash: envelope.hash,
        sig,
        event,
    })
}

/// How every canonical record begins (members sort `event` first).
const EVENT_START: &[u8] = b"{\"event\":";

/// A record of the ledger's own store, parsed: what
/// [`Ledger::accept_stored`] needs. [`parse_stored`] needs no state, so a
/// store is parsed on every core and folded in order.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    seq: Option<u64>,
    prev: Option<Hash32>,
    recorded_at: Timestamp,
    hash: Hash32,
    event: CheckedEvent,
}

impl StoredRecord {
    /// When the ledger recorded it.
    pub fn recorded_at(&self) -> Timestamp {
        self.recorded_at
    }
    /// The event's id.
    pub fn event_id(&self) -> &str {
        &self.event.id
    }
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.event.kind
    }
    /// The event's typed body.
    pub fn body(&self) -> &Body {
        &self.event.body
    }
}

/// The stateless part of [`Ledger::replay_stored`]: JSON, members, the
/// record hash, the event's kind, time and typed body.
pub fn parse_stored(line: &[u8]) -> Result<StoredRecord, Rejection> {
    match parse_stored_typed(line) {
        Some(record) => Ok(record),
        None => parse_stored_slow(line),
    }
}

/// [`parse_stored`] straight into typed fields, without a JSON tree: a
/// stored line is canonical, so its members are sliced from its bytes
/// (after the same one-pass scan as [`precheck_line`]'s fast path). `None`
/// whenever anything is off: the slow path then names the problem.
fn parse_stored_typed(line: &[u8]) -> Option<StoredRecord> {
    let (envelope, event) = canonical_record(line, |kind, body| Body::parse_json(kind, body).ok())?;
    Some(StoredRecord {
        seq: Some(envelope.seq),
        prev: envelope.prev,
        recorded_at: envelope.recorded_at,
        hash: envelope.hash,
        event,
    })
}

/// [`parse_stored`] on a JSON tree, naming what is wrong.
fn parse_stored_slow(line: &[u8]) -> Result<StoredRecord, Rejection> {
    let record: Value = serde_json::from_slice(line)
        .map_err(|e| Rejection::malformed(format!("the record is not valid JSON: {e}")))?;
    let envelope = check_members(&record, line)?;
    let event = &envelope.members["event"];
    let text = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or_default();
    let kind = EventKind::parse(text("kind")).ok_or_else(|| {
        Rejection::malformed("unknown event kind".to_string()).with_field("event.kind")
    })?;
    let at = Timestamp::parse(text("at"))
        .map_err(|e| Rejection::malformed(e.0).with_field("event.at"))?;
    let body = Body::parse(kind, &event["body"]).map_err(|e| {
        Rejection::schema(format!("the body does not fit its kind: {e}")).with_field("body")
    })?;
    let event_hash = match envelope.event_bytes {
        Some(bytes) => domain_hash(EVENT_DOMAIN, bytes),
        None => domain_hash(
            EVENT_DOMAIN,
            &canonical_bytes(event).map_err(Rejection::from)?,
        ),
    };
    Ok(StoredRecord {
        seq: envelope.seq,
        prev: envelope.prev,
        recorded_at: envelope.recorded_at,
        hash: envelope.hash,
        event: CheckedEvent {
            event_hash,
            kind,
            id: text("id").to_string(),
            actor: text("actor").to_string(),
            at,
            body,
        },
    })
}

/// A record's own members, checked without ledger state.
struct Envelope<'r> {
    members: &'r Map<String, Value>,
    seq: Option<u64>,
    prev: Option<Hash32>,
    recorded_at: Timestamp,
    hash: Hash32,
    /// The event's canonical bytes, when they could be sliced from the line.
    event_bytes: Option<&'r [u8]>,
}

/// Members, version, time format and the record hash of `record`, parsed
/// from `line`.
fn check_members<'r>(record: &'r Value, line: &'r [u8]) -> Result<Envelope<'r>, Rejection> {
    let members = record
        .as_object()
        .ok_or_else(|| Rejection::malformed("a record is a JSON object".to_string()))?;
    const MEMBERS: [&str; 7] = ["v", "seq", "prev", "recorded_at", "event", "sig", "hash"];
    if let Some(extra) = members.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
        return Err(
            Rejection::malformed(format!("unknown record member {extra:?}")).with_field(extra),
        );
    }
    if let Some(missing) = MEMBERS.iter().find(|k| !members.contains_key(**k)) {
        return Err(
            Rejection::malformed(format!("missing record member {missing:?}")).with_field(missing),
        );
    }
    if members["v"] != 1 {
        return Err(
            Rejection::malformed(format!("unknown format version {}", members["v"]))
                .with_field("v"),
        );
    }
    let recorded_at = members["recorded_at"]
        .as_str()
        .ok_or_else(|| Rejection::malformed("recorded_at is a string".to_string()))
        .and_then(|t| Timestamp::parse(t).map_err(|e| Rejection::malformed(e.0)))
        .map_err(|r| r.with_field("recorded_at"))?;
    let claimed = members["hash"]
        .as_str()
        .and_then(|h| Hash32::parse(h).ok())
        .ok_or_else(|| {
            Rejection::malformed("hash is 64 lowercase hex characters".to_string())
                .with_field("hash")
        })?;
    // Members sort as event, hash, prev, recorded_at, seq, sig, v, so a
    // canonical line is `{"event":<event>,"hash":"<hex>",…}`: the record
    // without its hash is the line with `,"hash":"<hex>"` cut out, and the
    // event's canonical bytes are the slice before it.
    let hex = members["hash"].as_str().unwrap_or_default().as_bytes();
    let marker = [&b",\"hash\":\""[..], hex, b"\""].concat();
    let copy;
    let (without_hash, event_bytes): ([&[u8]; 2], _) = match find(line, &marker) {
        Some(at) if line.starts_with(EVENT_START) => (
            [&line[..at], &line[at + marker.len()..]],
            Some(&line[EVENT_START.len()..at]),
        ),
        _ => {
            let mut members = members.clone();
            members.remove("hash");
            copy = canonical_bytes(&Value::Object(members)).map_err(Rejection::from)?;
            ([&copy[..], &[]], None)
        }
    };
    let hash = domain_hash_parts(RECORD_DOMAIN, &without_hash);
    if hash != claimed {
        return Err(Rejection::chain(format!(
            "hash does not match the record's content (computed {hash})"
        ))
        .with_field("hash"));
    }
    Ok(Envelope {
        members,
        seq: members["seq"].as_u64(),
        prev: members["prev"].as_str().and_then(|p| Hash32::parse(p).ok()),
        recorded_at,
        hash,
        event_bytes,
    })
}

/// The position of `needle` in `haystack`, searching from the end (the hash
/// member is near the end of a record).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of the known-answer vectors, and thousands of one-byte
    /// changes of them: the fast path accepts only what the slow path
    /// accepts, with the same result, and takes the unchanged lines.
    #[test]
    fn the_fast_path_agrees_with_the_slow_one() {
        let vectors = include_str!("../../../fixtures/vectors/chain-v1.jsonl");
        let mut rng = crate::workload::SplitMix64(7);
        let mut fast = 0;
        for line in vectors.lines().map(str::as_bytes) {
            assert!(
                precheck_canonical(line).is_some(),
                "a vector line takes the fast path"
            );
            fast += changed_lines_agree(line, &mut rng, 2000);
        }
        assert!(fast > 500, "changed lines that pass: {fast}");
    }

    /// Offers `rounds` one-byte changes of `line`, as changed and re-sealed:
    /// whatever the fast path accepts, the slow path accepts with the same
    /// result. Returns how many the fast path accepted.
    fn changed_lines_agree(
        line: &[u8],
        rng: &mut crate::workload::SplitMix64,
        rounds: usize,
    ) -> usize {
        let mut fast = 0;
        for _ in 0..rounds {
            let mut changed = line.to_vec();
            let at = (rng.next_u64() % changed.len() as u64) as usize;
            changed[at] = match rng.next_u64() % 4 {
                0 => changed[at] ^ (1 << (rng.next_u64() % 8)),
                1 => b"0123456789abcdef"[(rng.next_u64() % 16) as usize],
                2 => b" \\\"{}[],:-.eE"[(rng.next_u64() % 13) as usize],
                _ => changed[at].wrapping_add(1),
            };
            // As changed, and re-sealed (so that the record hash holds
            // and the other checks decide).
            let mut resealed = changed.clone();
            reseal(&mut resealed);
            for candidate in [changed, resealed] {
                fast += fast_agrees_with_slow(&candidate) as usize;
            }
        }
        fast
    }

    /// True when the fast path accepts `line`; panics if the slow path
    /// then disagrees.
    fn fast_agrees_with_slow(line: &[u8]) -> bool {
        let slow = precheck_line_slow(line);
        let Some(checked) = precheck_canonical(line) else {
            return false;
        };
        let slow = slow.unwrap_or_else(|r| {
            panic!(
                "the fast path accepted what the slow path refuses ({r}): {}",
                String::from_utf8_lossy(line)
            )
        });
        assert_eq!(format!("{checked:?}"), format!("{slow:?}"));
        true
    }

    /// A record line around `event` (unsigned: prechecks do not verify
    /// signatures), sealed with its record hash.
    fn sealed_line(event: &Value) -> Vec<u8> {
        let record = serde_json::json!({
            "v": 1, "seq": 7, "prev": "ab".repeat(32),
            "recorded_at": "2022-03-01T09:00:00+08:00",
            "event": event, "sig": "cd".repeat(64), "hash": "00".repeat(32),
        });
        let mut line = canonical_bytes(&record).unwrap();
        reseal(&mut line);
        line
    }

    /// The bulk kinds' shortcut (`bulk_bodies`) against the schema: every
    /// member of a generated roster and line item set to values at and past
    /// the schema's edges, and thousands of one-byte changes.
    #[test]
    fn the_bulk_shortcut_agrees_with_the_schema() {
        let spec = crate::workload::WorkloadSpec {
            counties: 2,
            years: 1,
            first_year: 2022,
            seed: 3,
            trainees_min: 3,
            trainees_max: 4,
        };
        let mut samples = Vec::new();
        for kind in ["roster_filed", "expenditure_reported"] {
            let generated = crate::workload::Workload::new(spec)
                .find(|g| g.event["kind"] == kind)
                .expect("the workload has the kind");
            samples.push(generated.event);
        }
        let values: Vec<Value> = serde_json::from_str(
            r#"["", " ", "a b", "x", "张*华", "张 *", "张*\u3000", "张*\ufeff", "张*\u0085", "*",
            "0.00", "01.00", "-1.00", "1.0", "999999999999999.99", "1000000000000000.00",
            "530101", "53010", "5301011", "2022-01-01", "2022-1-01", "p.q:r-s_t", "a\"b", "a\\b",
            "a\nb", "ABCDEF", null, 0, 1, 4, 5, 7, 8, -1, 300, true, [], {}]"#,
        )
        .unwrap();
        let long = |n: usize| Value::from("字".repeat(n));
        let digest = |c: &str| Value::from(c.repeat(64));
        let mut values = values;
        values.extend([
            long(100),
            long(101),
            long(200),
            long(201),
            long(500),
            long(501),
        ]);
        values.extend([digest("a"), digest("A"), Value::from("a".repeat(63))]);
        let mut rng = crate::workload::SplitMix64(19);
        let (mut offered, mut fast) = (0, 0);
        for event in &samples {
            let line = sealed_line(event);
            assert!(
                precheck_canonical(&line).is_some(),
                "a generated line takes the fast path"
            );
            fast += changed_lines_agree(&line, &mut rng, 3000);
            let body = &event["body"];
            let mut paths: Vec<Vec<String>> = Vec::new();
            for (key, value) in body.as_object().unwrap() {
                paths.push(vec![key.clone()]);
                if let Value::Object(inner) = value {
                    for inner_key in inner.keys() {
                        paths.push(vec![key.clone(), inner_key.clone()]);
                    }
                }
            }
            for extra in [
                "roster_event_id",
                "zzz",
                "session/location",
                "trainees/0/name_masked",
                "trainees/0/person_digest",
                "trainees/0/disability_category",
                "trainees/0/disability_level",
                "trainees/0/signed",
                "trainees/0/extra",
            ] {
                paths.push(extra.split('/').map(str::to_string).collect());
            }
            for path in &paths {
                for value in values.iter().cloned().map(Some).chain([None]) {
                    let mut changed = event.clone();
                    let parent: String = path[..path.len() - 1]
                        .iter()
                        .map(|step| format!("/{step}"))
                        .collect();
                    let Some(at) = changed.pointer_mut(&format!("/body{parent}")) else {
                        continue;
                    };
                    let last = path.last().unwrap();
                    match (at, value) {
                        (Value::Object(members), Some(value)) => {
                            members.insert(last.clone(), value);
                        }
                        (Value::Object(members), None) => {
                            members.remove(last);
                        }
                        _ => continue,
                    }
                    offered += 1;
                    fast += fast_agrees_with_slow(&sealed_line(&changed)) as usize;
                }
            }
        }
        assert!(
            offered > 1000 && fast > 500,
            "offered {offered}, fast {fast}"
        );
    }

    /// The typed replay of stored lines agrees with the one on a tree.
    #[test]
    fn the_typed_replay_agrees_with_the_tree() {
        let vectors = include_str!("../../../fixtures/vectors/chain-v1.jsonl");
        let mut rng = crate::workload::SplitMix64(11);
        let mut typed = 0;
        for line in vectors.lines().map(str::as_bytes) {
            assert!(parse_stored_typed(line).is_some());
            for _ in 0..2000 {
                let mut changed = line.to_vec();
                let at = (rng.next_u64() % changed.len() as u64) as usize;
                changed[at] = b"0123456789abcdef \\\"{}[],:"[(rng.next_u64() % 25) as usize];
                reseal(&mut changed);
                if let Some(record) = parse_stored_typed(&changed) {
                    typed += 1;
                    let slow = parse_stored_slow(&changed).expect("the tree accepts it too");
                    assert_eq!(format!("{record:?}"), format!("{slow:?}"));
                }
            }
        }
        assert!(typed > 500, "changed lines replayed: {typed}");
    }

    /// Recomputes the record hash of a (changed) line in place.
    fn reseal(line: &mut [u8]) {
        let marker = b",\"hash\":\"";
        let Some(at) = (0..line.len())
            .rev()
            .find(|&i| line[i..].starts_with(marker))
        else {
            return;
        };
        let (hex_at, end) = (at + marker.len(), at + marker.len() + 64);
        if line.get(end) != Some(&b'"') {
            return;
        }
        let hash = domain_hash_parts(RECORD_DOMAIN, &[&line[..at], &line[end + 1..]]);
        line[hex_at..end].copy_from_slice(hash.to_hex().as_bytes());
    }
}
