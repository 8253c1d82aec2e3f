//! The fast path over canonical lines: a record whose bytes are canonical
//! and hold nothing like an ID number ([`scan`], one pass) has its members
//! sliced from the bytes ([`members`]) and its body typed without a JSON
//! tree where it can be ([`crate::bulk_bodies`]). Anything unusual returns
//! `None`, and the slow path of [`crate::ledger`] decides and names what is
//! wrong. The fast path accepts exactly what the slow path accepts, with
//! the same result (the tests here and the mutation property tests).

mod members;
pub mod scan;
#[cfg(test)]
mod tests;

pub(crate) use members::EVENT_START;

use crate::body::Body;
use crate::crypto::{domain_hash, EVENT_DOMAIN};
use crate::ids::{is_valid_id, Timestamp};
use crate::kind::EventKind;
use crate::ledger::{CheckedEvent, CheckedRecord, StoredRecord};
use crate::limits::BODY_BYTES_MAX;
use crate::schema::validate_body;
use members::{canonical_members, TypedEnvelope};
use serde_json::Value;

/// The fast path of [`precheck_line`], for a line that is canonical and
/// holds nothing like an ID number ([`is_canonical_and_clean`], one pass over
/// the bytes): the members are sliced from the bytes, the body is checked by
/// [`checked_body`], and nothing is written again. `None` whenever anything
/// is off: the slow path then decides, and says what is wrong. It accepts
/// exactly what the slow path accepts, with the same result (tested below
/// and by the mutation property tests).
///
/// [`is_canonical_and_clean`]: scan::is_canonical_and_clean
pub(crate) fn precheck_canonical(line: &[u8]) -> Option<CheckedRecord> {
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
pub(crate) fn checked_body(kind: EventKind, body_json: &str) -> Option<Body> {
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
/// [`is_canonical_and_clean`]: scan::is_canonical_and_clean
pub(crate) fn canonical_record(
    line: &[u8],
    body_of: impl FnOnce(EventKind, &str) -> Option<Body>,
) -> Option<(TypedEnvelope<'_>, CheckedEvent)> {
    let text = scan::canonical_and_clean(line)?;
    let members = canonical_members(text)?;
    let kind = EventKind::parse(members.kind)?;
    let at = Timestamp::parse(members.at).ok()?;
    let body = body_of(kind, members.body)?;
    let event = CheckedEvent {
        event_hash: domain_hash(EVENT_DOMAIN, members.envelope.event_bytes),
        kind,
        id: members.id.to_string(),
        actor: members.actor.to_string(),
        at,
        ledger: members.ledger,
        body,
    };
    Some((members.envelope, event))
}
/// [`parse_stored`] straight into typed fields, without a JSON tree: a
/// stored line is canonical, so its members are sliced from its bytes
/// (after the same one-pass scan as [`precheck_line`]'s fast path). `None`
/// whenever anything is off: the slow path then names the problem.
pub(crate) fn parse_stored_typed(line: &[u8]) -> Option<StoredRecord> {
    let (envelope, event) = canonical_record(line, |kind, body| Body::parse_json(kind, body).ok())?;
    Some(StoredRecord {
        seq: Some(envelope.seq),
        prev: envelope.prev,
        recorded_at: envelope.recorded_at,
        hash: envelope.hash,
        event,
    })
}
