//! The rules that depend on what the ledger already holds: one function per
//! kind of event the chain itself interprets (the money events go on to
//! [`crate::books`]).

use super::{CheckedEvent, Earlier, Ledger, RESERVED_ID_PREFIX};
use crate::body::{ActorEnrolled, ActorRevoked, Body, EventReversed};
use crate::event_index::Recall;
use crate::kind::{EventKind, Role};
use crate::Rejection;

impl Ledger {
    /// An event is bound to its ledger: record 0 defines the ledger's id
    /// (its hash) and names none; every later event names that id in
    /// `event.ledger`, under its actor's signature. Ids beginning with
    /// `ledger:` are the ledger's own (its seals).
    pub(super) fn check_binding(&self, event: &CheckedEvent) -> Result<(), Rejection> {
        if self.partial {
            return Err(Rejection::rule(
                "this ledger was opened with some programs' books only, for a report; it takes no record".to_string(),
            ));
        }
        match (self.ledger_id, event.ledger) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(Rejection::malformed(
                    "record 0 opens the ledger, whose id is its hash; it names no ledger".to_string(),
                )
                .with_field("event.ledger"))
            }
            (Some(id), None) => {
                return Err(Rejection::unauthorized(format!(
                    "the event names no ledger; every event after record 0 is signed for one: add \"ledger\": \"{id}\" and sign it again"
                ))
                .with_field("event.ledger"))
            }
            (Some(id), Some(named)) if id != named => {
                return Err(Rejection::unauthorized(format!(
                    "the event was signed for ledger {named}, not for this ledger {id}; an event signed for one ledger is never valid in another"
                ))
                .with_field("event.ledger"))
            }
            (Some(_), Some(_)) => {}
        }
        if event.kind != EventKind::LedgerSealed && event.id.starts_with(RESERVED_ID_PREFIX) {
            return Err(Rejection::rule(format!(
                "ids beginning with {RESERVED_ID_PREFIX:?} are the ledger's own; choose another"
            ))
            .with_field("event.id"));
        }
        Ok(())
    }

    /// Rules that depend on what the ledger already holds, for `event`
    /// asserted by an actor of `role`. For a reversal, returns the reversed
    /// event as the rules saw it.
    pub(super) fn decide_body(
        &self,
        event: &CheckedEvent,
        role: Role,
        recall: &dyn Recall,
    ) -> Result<Option<Earlier>, Rejection> {
        let id = event.id.as_str();
        if self.compact.is_none() && self.events.contains_key(id) {
            return Err(
                Rejection::conflict(format!("event id {id:?} is already in the ledger"))
                    .with_field("event.id"),
            );
        }
        // The event a reversal reverses, once its own rules hold.
        let mut reversed = None;
        match &event.body {
            // Its key and offset are typed when its body is parsed; that it
            // is record 0, signed by the key it declares, is checked by the caller.
            Body::LedgerOpened(_) => {}
            Body::ActorEnrolled(b) => self.decide_enrolment(b)?,
            Body::ActorRevoked(b) => self.decide_revocation(b)?,
            Body::LedgerSealed(b) => self.decide_seal(id, b)?,
            Body::EventReversed(b) => {
                reversed = Some(self.decide_reversal(b, &event.actor, role, recall)?);
            }
            _ => {}
        }
        let context = crate::books::Context {
            event_id: id,
            kind: event.kind,
            at: event.at,
            utc_offset: self.utc_offset,
        };
        self.books.decide(&context, &event.body)?;
        Ok(reversed)
    }

    fn decide_enrolment(&self, b: &ActorEnrolled) -> Result<(), Rejection> {
        if self.actors.contains_key(&b.actor) {
            return Err(Rejection::rule(format!(
                "actor {:?} is already enrolled; enrol a new actor id to rotate a key",
                b.actor
            ))
            .with_field("body.actor"));
        }
        if b.role == Role::Operator {
            return Err(Rejection::rule(format!(
                "a ledger has one operator, {:?}, who opened it; enrol {:?} as city, district or auditor",
                self.operator.as_deref().unwrap_or_default(),
                b.actor
            ))
            .with_field("body.role"));
        }
        // One key, one actor: a key is never shared, the operator's included.
        if let Some(holder) = self.actors.values().find(|a| a.key == b.key) {
            return Err(Rejection::rule(format!(
                "this key is already enrolled for actor {:?}; every actor has a key of its own",
                holder.id
            ))
            .with_field("body.key"));
        }
        Ok(())
    }

    fn decide_revocation(&self, b: &ActorRevoked) -> Result<(), Rejection> {
        let target = self.actors.get(&b.actor).ok_or_else(|| {
            Rejection::rule(format!("actor {:?} is not enrolled", b.actor)).with_field("body.actor")
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
        Ok(())
    }

    /// A reversal's own rules; returns the event it reverses.
    fn decide_reversal(
        &self,
        b: &EventReversed,
        actor_id: &str,
        role: Role,
        recall: &dyn Recall,
    ) -> Result<Earlier, Rejection> {
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
                | EventKind::LedgerSealed
        ) {
            return Err(Rejection::rule(format!(
                "{} events cannot be reversed (revoke the actor, or append a new event)",
                original.kind
            ))
            .with_field("body.event_id"));
        }
        self.books
            .decide_reversal(&b.event_id, original.kind, original.body.as_ref())?;
        Ok(original)
    }
}
