//! Folding an accepted event into the state.

use super::{Actor, CheckedEvent, Earlier, EventEntry, Ledger};
use crate::body::Body;
use crate::ids::{Hash32, Timestamp};
use crate::kind::{EventKind, Role};

impl Ledger {
    /// Folds an accepted event into the state. Holds no checks.
    pub(super) fn apply(
        &mut self,
        decided: &CheckedEvent,
        hash: Hash32,
        recorded_at: Timestamp,
        original: Option<Earlier>,
    ) {
        let seq = self.size;
        match &decided.body {
            Body::LedgerOpened(b) => {
                let key = b.operator_key;
                self.name = b.name.clone();
                self.utc_offset = b.utc_offset.0;
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
                        key: b.key,
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
        if decided.kind == EventKind::LedgerSealed {
            self.last_seal = Some(seq);
            let root = self.merkle.root();
            self.books
                .note_seal(seq, root, recorded_at, self.utc_offset);
        }
        self.merkle.push(&hash);
        self.size += 1;
        self.head = hash;
        self.last_recorded_at = Some(recorded_at);
    }
}
