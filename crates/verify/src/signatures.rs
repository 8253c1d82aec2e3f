//! Ed25519 signatures checked in batches on the thread pool, apart from
//! the ordered steps of the pipeline.

use fundledger_core::ledger::PendingSignature;
use fundledger_core::Rejection;

/// Signature batches checked apart from the ordered steps of
/// [`crate::verify_stream`], on whichever core is free, with the lowest failing
/// seq among them.
#[derive(Default)]
pub(crate) struct SignatureChecks {
    state: std::sync::Mutex<SignatureState>,
}

#[derive(Default)]
struct SignatureState {
    queued: usize,
    failure: Option<(u64, Rejection)>,
}

impl SignatureChecks {
    /// Checks `batch` on the pool.
    pub(crate) fn queue<'scope>(
        &'scope self,
        scope: &rayon::Scope<'scope>,
        batch: Vec<PendingSignature>,
    ) {
        self.state.lock().expect("signature state").queued += 1;
        scope.spawn(move |_| {
            let all_valid = fundledger_core::crypto::verify_batch(
                batch
                    .iter()
                    .map(|p| (&p.key, &p.event_hash, p.sig.as_str())),
            );
            // A batch that fails says nothing of which: check one by one.
            let bad = (!all_valid)
                .then(|| batch.iter().find(|p| !p.key.verify(&p.event_hash, &p.sig)))
                .flatten()
                .map(|p| (p.seq, p.rejection()));
            let mut state = self.state.lock().expect("signature state");
            state.queued -= 1;
            if let Some(bad) = bad {
                if state.failure.as_ref().map_or(true, |(seq, _)| bad.0 < *seq) {
                    state.failure = Some(bad);
                }
            }
        });
    }

    pub(crate) fn failed(&self) -> bool {
        self.state
            .lock()
            .expect("signature state")
            .failure
            .is_some()
    }

    /// Until fewer than `max` batches are queued, checks queued batches
    /// (or other work of the pool) on this thread.
    pub(crate) fn wait_below(&self, max: usize) {
        while self.state.lock().expect("signature state").queued >= max {
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                std::thread::yield_now();
            }
        }
    }

    pub(crate) fn into_failure(self) -> Option<(u64, Rejection)> {
        self.state.into_inner().expect("signature state").failure
    }
}
