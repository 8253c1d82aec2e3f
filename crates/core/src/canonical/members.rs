//! A canonical record's members, read straight from its bytes.

use crate::crypto::{domain_hash_parts, RECORD_DOMAIN};
use crate::ids::{Hash32, Timestamp};

/// How every canonical record begins (members sort `event` first).
pub(crate) const EVENT_START: &[u8] = b"{\"event\":";

/// A record's members read into borrowed fields, its hash checked, and its
/// event's bytes sliced from the line: what both typed paths share.
pub(crate) struct TypedEnvelope<'a> {
    pub(crate) seq: u64,
    pub(crate) prev: Option<Hash32>,
    pub(crate) recorded_at: Timestamp,
    pub(crate) hash: Hash32,
    pub(crate) sig: &'a str,
    pub(crate) event_bytes: &'a [u8],
}

/// A canonical record's members, sliced from its bytes.
pub(crate) struct CanonicalMembers<'a> {
    pub(crate) envelope: TypedEnvelope<'a>,
    pub(crate) id: &'a str,
    pub(crate) actor: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) at: &'a str,
    pub(crate) ledger: Option<Hash32>,
    /// The body's JSON text (not yet known to be one value: its parser
    /// refuses trailing members).
    pub(crate) body: &'a str,
}

/// The members of a line that [`is_canonical_and_clean`] accepted, read
/// straight from its bytes. Canonical members come in one order, without
/// spaces, so the record is
/// `{"event":{"actor":A,"at":T,"body":B,"id":I,"kind":K,"ledger":L},"hash":H,"prev":P,"recorded_at":R,"seq":N,"sig":S,"v":2}`
/// (`"ledger"` absent on record 0)
/// and everything but the body is read from either end. `"hash"` and
/// `"id"` are found from the back: no string holds `,"` unescaped, so the
/// last `,"hash":"` is the record's own. `None` for any other shape, and
/// for strings with escapes (the tree path then decides).
///
/// [`is_canonical_and_clean`]: super::scan::is_canonical_and_clean
pub(crate) fn canonical_members(text: &str) -> Option<CanonicalMembers<'_>> {
    let line = text.as_bytes();
    const HASH_KEY: &[u8] = b",\"hash\":\"";
    const ID_KEY: &[u8] = b",\"id\":\"";
    use memchr::memmem::FinderRev;
    use std::sync::LazyLock;
    static FIND_HASH: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(HASH_KEY));
    static FIND_ID: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(ID_KEY));
    if !line.starts_with(EVENT_START) {
        return None;
    }
    let cut = FIND_HASH.rfind(line)?;
    let mut tail = Members { text, at: cut };
    let claimed = tail.string(HASH_KEY)?;
    let hash_end = tail.at;
    let prev = tail.string(b",\"prev\":\"")?;
    let recorded_at = tail.string(b",\"recorded_at\":\"")?;
    let seq = tail.integer(b",\"seq\":")?;
    let sig = tail.string(b",\"sig\":\"")?;
    if &line[tail.at..] != b",\"v\":2}" {
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
    let ledger = if event_bytes[end.at..].starts_with(b",\"ledger\":\"") {
        Some(Hash32::parse(end.string(b",\"ledger\":\"")?).ok()?)
    } else {
        None
    };
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
        ledger,
        body,
    })
}

/// A cursor over canonical JSON text, for [`canonical_members`].
pub(crate) struct Members<'a> {
    pub(crate) text: &'a str,
    pub(crate) at: usize,
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
