//! The checks of an event or a record that need no ledger state, on a
//! JSON tree, naming what is wrong. A canonical line first tries the fast
//! path ([`crate::canonical`]), which accepts exactly what this accepts.

use super::{CheckedEvent, CheckedRecord, StoredRecord};
use crate::body::Body;
use crate::canonical::{parse_stored_typed, precheck_canonical, EVENT_START};
use crate::crypto::{domain_hash, domain_hash_parts, EVENT_DOMAIN, RECORD_DOMAIN};
use crate::ids::{is_valid_id, truncate, Hash32, Timestamp};
use crate::jcs::canonical_bytes;
use crate::kind::EventKind;
use crate::limits::{BODY_BYTES_MAX, RECORD_BYTES_MAX};
use crate::privacy::find_clear_identifier;
use crate::schema::validate_body;
use crate::Rejection;
use serde_json::{Map, Value};

/// The checks of an event that need no ledger state: members, id, actor,
/// kind and time formats, canonical form and size, privacy, schema, and the
/// typed body.
pub fn precheck_event(event: &Value) -> Result<CheckedEvent, Rejection> {
    precheck_event_with(event, None)
}

/// [`precheck_event`], given the event's canonical bytes when the caller
/// already has them (a canonical record contains its event's canonical bytes).
pub(crate) fn precheck_event_with(
    event: &Value,
    canonical: Option<&[u8]>,
) -> Result<CheckedEvent, Rejection> {
    let members = event.as_object().ok_or_else(|| {
        Rejection::malformed("an event is a JSON object".to_string()).with_field("event")
    })?;
    // Privacy first: a clear identifier anywhere in the event (its id and
    // actor, member names, the body) is reported as such whatever else is wrong.
    if let Some(found) = find_clear_identifier(event, "") {
        let field = match found.path.strip_prefix("body") {
            Some(_) => found.path,
            None => format!("event.{}", found.path),
        };
        return Err(Rejection::privacy(format!(
            "holds {} in clear; rosters carry only keyed digests (person_digest) and masked names",
            found.what
        ))
        .with_field(&field));
    }
    const MEMBERS: [&str; 5] = ["id", "actor", "kind", "at", "body"];
    if let Some(extra) = members
        .keys()
        .find(|k| !MEMBERS.contains(&k.as_str()) && *k != "ledger")
    {
        return Err(Rejection::malformed(format!(
            "unknown event member {extra:?} (an event has id, actor, kind, at, ledger, body)"
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
    let ledger = members
        .get("ledger")
        .map(|l| {
            l.as_str()
                .and_then(|l| Hash32::parse(l).ok())
                .ok_or_else(|| {
                    Rejection::malformed(
                        "ledger is the ledger's id: 64 lowercase hex characters".to_string(),
                    )
                    .with_field("event.ledger")
                })
        })
        .transpose()?;
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
        ledger,
        body: typed,
    })
}

/// A member that must be an id: 1–64 characters of `[A-Za-z0-9._:-]`.
pub(crate) fn id_member<'a>(
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
/// Every check of [`precheck_line`] on a JSON tree of the record, naming
/// what is wrong.
pub(crate) fn precheck_line_slow(line: &[u8]) -> Result<CheckedRecord, Rejection> {
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
/// The stateless part of [`Ledger::replay_stored`]: JSON, members, the
/// record hash, the event's kind, time and typed body.
pub fn parse_stored(line: &[u8]) -> Result<StoredRecord, Rejection> {
    match parse_stored_typed(line) {
        Some(record) => Ok(record),
        None => parse_stored_slow(line),
    }
}
/// [`parse_stored`] on a JSON tree, naming what is wrong.
pub(crate) fn parse_stored_slow(line: &[u8]) -> Result<StoredRecord, Rejection> {
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
            ledger: event
                .get("ledger")
                .and_then(Value::as_str)
                .and_then(|l| Hash32::parse(l).ok()),
            body,
        },
    })
}

/// A record's own members, checked without ledger state.
pub(crate) struct Envelope<'r> {
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
pub(crate) fn check_members<'r>(
    record: &'r Value,
    line: &'r [u8],
) -> Result<Envelope<'r>, Rejection> {
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
    if members["v"] != crate::ledger::FORMAT_VERSION {
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
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(haystack, needle)
}
