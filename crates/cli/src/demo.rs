//! `demo`: the 2022 Kunming ledger from the bundled fixture, built through
//! the same append path as every other command, then verified from scratch.

use crate::commands::{bind_to_ledger, create_ledger, sign_event};
use crate::error::{CliError, CliResult};
use crate::input::parse_values;
use crate::session::{Clock, Submission};
use fundledger_core::crypto::SecretKey;
use fundledger_core::ledger::Ledger;
use std::path::Path;

/// The fixture's events, unsigned (see `fixtures/kunming-2022/README.md`).
const FIXTURE_EVENTS: &str = include_str!("../../../fixtures/kunming-2022/events.jsonl");

pub fn run(dir: &Path) -> CliResult<()> {
    prepare_dir(dir)?;
    let mut items = parse_values("fixtures/kunming-2022/events.jsonl", FIXTURE_EVENTS)?;
    let (first, rest) = items.split_first_mut().expect("the fixture is not empty");
    let operator_key = SecretKey::demo(first.value["actor"].as_str().unwrap_or_default());
    let mut session = create_ledger(dir, &first.value, &operator_key)?;
    mark(dir)?;
    // Every later event is signed for this ledger.
    bind_to_ledger(rest, session.ledger.ledger_id().expect("record 0 is in"));
    let sigs = rest
        .iter()
        .map(|item| {
            let actor = item.value["actor"].as_str().unwrap_or_default();
            sign_event(&item.value, &item.location, &SecretKey::demo(actor))
        })
        .collect::<CliResult<Vec<_>>>()?;
    let batch: Vec<Submission<'_>> = rest
        .iter()
        .zip(&sigs)
        .map(|(item, sig)| Submission {
            location: &item.location,
            event: &item.value,
            sig,
        })
        .collect();
    session.append(&batch, Clock::Event, &operator_key)?;

    // Verify from scratch: replay every stored record through full verification.
    let mut replay = Ledger::new();
    let mut export_bytes = 0usize;
    for entry in session.store.records(0) {
        let (seq, bytes) = entry?;
        export_bytes += bytes.len() + 1;
        replay
            .verify_line(&bytes)
            .map_err(|r| CliError::rejected(format!("demo: seq {seq} fails verification: {r}")))?;
    }
    assert_eq!(replay.head(), session.ledger.head());
    print!(
        "{}",
        crate::summary::render(dir, &session.ledger, export_bytes)
    );
    Ok(())
}

/// The file that marks a directory as a demo ledger, which the next demo
/// may replace.
const DEMO_MARKER: &str = "DEMO-LEDGER";

/// Replaces a ledger an earlier demo left (it holds the marker); refuses
/// anything else, a ledger made with `init` above all.
fn prepare_dir(dir: &Path) -> CliResult<()> {
    if !dir.exists() {
        return Ok(());
    }
    let is_ledger = fundledger_store::Store::exists(dir);
    let is_demo = dir.join(DEMO_MARKER).is_file();
    let empty = std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false);
    if is_ledger && is_demo {
        eprintln!(
            "demo: replacing the demo ledger in {} (it holds {DEMO_MARKER})",
            dir.display()
        );
        std::fs::remove_dir_all(dir)
            .map_err(|e| CliError::usage(format!("demo: cannot replace {}: {e}", dir.display())))
    } else if empty {
        Ok(())
    } else if is_ledger {
        Err(CliError::usage(format!(
            "demo: {} holds a ledger that demo did not make; it is never replaced: give another --dir",
            dir.display()
        )))
    } else {
        Err(CliError::usage(format!(
            "demo: {} exists and is not a ledger; give another --dir",
            dir.display()
        )))
    }
}

/// Marks `dir` as a demo ledger.
fn mark(dir: &Path) -> CliResult<()> {
    std::fs::write(
        dir.join(DEMO_MARKER),
        "This ledger was made by `fundledger demo`, which may replace it.\n",
    )
    .map_err(|e| CliError::usage(format!("demo: cannot write {DEMO_MARKER}: {e}")))
}
