//! `demo`: the 2022 Kunming ledger from the bundled fixture, built through
//! the same append path as every other command, then verified from scratch.

use crate::commands::{bind_to_ledger, create_ledger, sign_event};
use crate::error::{CliError, CliResult};
use crate::input::parse_values;
use crate::session::Clock;
use fundledger_core::crypto::SecretKey;
use fundledger_core::ledger::Ledger;
use std::path::Path;

/// The fixture's events, unsigned (see `fixtures/kunming-2022/README.md`).
const FIXTURE_EVENTS: &str = include_str!("../../../fixtures/kunming-2022/events.jsonl");

/// One district's roster sheet (synthetic people) and its session, which
/// the demo builds its roster from with `prepare roster`'s code, and the
/// demo's (public) digest secret.
const SHEET_PATH: &str = "fixtures/kunming-2022/sheets/luquan-roster-1.csv";
const SHEET: &[u8] = include_bytes!("../../../fixtures/kunming-2022/sheets/luquan-roster-1.csv");
const SHEET_SESSION: &str =
    include_str!("../../../fixtures/kunming-2022/sheets/luquan-roster-1.session.toml");
const DEMO_SECRET: &str = include_str!("../../../fixtures/kunming-2022/demo.secret");
const SHEET_ROSTER: &str = "kunming-2022.roster.530128.1";

/// The roster `fixture` names, built from the sheet as `prepare roster`
/// builds it: every row checked, IDs digested with the demo secret, names
/// masked. Returns the event and its trainees' count.
fn roster_from_sheet(fixture: &serde_json::Value) -> CliResult<(serde_json::Value, usize)> {
    use fundledger_intake::{grid, roster, session, RosterHeader};
    let fail = |e: fundledger_intake::IntakeError| CliError::rejected(format!("demo: {e}"));
    let grid = grid::csv_grid(SHEET_PATH.to_string(), SHEET).map_err(fail)?;
    let secret =
        crate::prepare::parse_secret(DEMO_SECRET, Path::new("fixtures/kunming-2022/demo.secret"))?;
    let file = session::parse_text(SHEET_SESSION, false).map_err(CliError::rejected)?;
    let session = session::resolve(Some((Path::new(SHEET_PATH), file)), None, None, None, None)
        .map_err(fail)?;
    let text = |member: &str| fixture[member].as_str().unwrap_or_default().to_string();
    let body = &fixture["body"];
    let township = body["township"].as_str().unwrap_or_default().to_string();
    let options = roster::RosterOptions {
        township: township.clone(),
        ..Default::default()
    };
    let prepared = roster::prepare(&[grid], &secret, &options).map_err(fail)?;
    if let Some(problem) = prepared.problems.first() {
        return Err(CliError::rejected(format!("demo: {problem}")));
    }
    let count = prepared.trainees.len();
    let commitment = fundledger_core::crypto::person_digest_commitment(&secret).to_hex();
    let event = fundledger_intake::roster_event(
        &RosterHeader {
            id: &text("id"),
            actor: &text("actor"),
            at: &text("at"),
            program: body["program"].as_str().unwrap_or_default(),
            district_code: body["district_code"].as_str().unwrap_or_default(),
            township: &township,
            session: &session,
            commitment: &commitment,
        },
        prepared.trainees,
    );
    Ok((event, count))
}

pub fn run(dir: &Path) -> CliResult<()> {
    prepare_dir(dir)?;
    let mut items = parse_values("fixtures/kunming-2022/events.jsonl", FIXTURE_EVENTS)?;
    // One district's roster comes from its sheet, as a clerk's would.
    let from_sheet = items
        .iter_mut()
        .find(|item| item.value["id"] == SHEET_ROSTER)
        .expect("the fixture has the sheet's roster");
    let (built, trainees) = roster_from_sheet(&from_sheet.value)?;
    if built != from_sheet.value {
        return Err(CliError::rejected(format!(
            "demo: the roster built from {SHEET_PATH} is not the fixture's {SHEET_ROSTER}"
        )));
    }
    from_sheet.value = built;
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
    let batch = crate::session::signed_batch(rest, &sigs);
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
    let mut summary = crate::summary::render(dir, &session.ledger, export_bytes);
    let sheet = format!(
        "sheet    {SHEET_ROSTER}: {trainees} trainees read from {SHEET_PATH} (synthetic people) by `prepare roster`'s code — keyed digests and masked names only\n"
    );
    let at = summary.find("\n\nnext:").map_or(summary.len(), |i| i + 1);
    summary.insert_str(at, &sheet);
    print!("{summary}");
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
