//! `sample`: the spot-check draw of a program, from its draw seal
//! (docs/audit.md, "The draw"): which districts to visit and which
//! trainees to call back in each. Anyone with the chain gets the same
//! draw; `--format event` writes the `spot_check_planned` event the rules
//! accept, for `append` with the auditor's key.

use crate::error::{CliError, CliResult};
use crate::scaffold::{now_in_china, write_event};
use fundledger_core::body::Body;
use fundledger_core::books::{last_deadline, DrawBasis};
use fundledger_core::draw::{districts_to_draw, parse_fraction};
use fundledger_core::ids::{DistrictCode, Hash32};
use fundledger_core::kind::{EventKind, Role};
use fundledger_core::ledger::Ledger;
use fundledger_store::Store;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;

/// `fundledger sample …`.
#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// The ledger directory.
    #[arg(long)]
    pub ledger: PathBuf,
    /// The program id.
    #[arg(long)]
    pub program: String,
    /// The share of participating districts to visit (two decimals), rounded up.
    #[arg(long, default_value = "0.30")]
    pub fraction: String,
    /// Trainees to call back in each district drawn.
    #[arg(long, default_value_t = 5)]
    pub people: u32,
    /// text (default), json, or event: the `spot_check_planned` event to append.
    #[arg(long, value_enum, default_value = "text")]
    pub format: SampleFormat,
    /// For --format event: the auditor's actor id (default: the ledger's only auditor).
    #[arg(long)]
    pub actor: Option<String>,
    /// For --format event: the event's id (default: PROGRAM.spot-check-plan).
    #[arg(long)]
    pub id: Option<String>,
    /// For --format event: the event's time, RFC 3339 (default: now, in UTC+08:00).
    #[arg(long)]
    pub at: Option<String>,
    /// The directory actually read, when it is not `ledger` (a served
    /// ledger's temporary copy, `crate::served`).
    #[arg(skip)]
    pub read_from: Option<PathBuf>,
}

/// What `sample` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleFormat {
    /// The draw, readably.
    Text,
    /// The draw as JSON.
    Json,
    /// The unsigned `spot_check_planned` event (one line), for `append`.
    Event,
}

/// One district drawn, with the people to call back.
struct DistrictDrawn {
    code: DistrictCode,
    name: String,
    signed: usize,
    people: Vec<(Hash32, String)>,
}

/// Runs `sample`.
pub fn run(args: &SampleArgs) -> CliResult<()> {
    let fraction = parse_fraction(&args.fraction).ok_or_else(|| {
        CliError::usage(format!(
            "--fraction {:?}: give two decimals between 0.01 and 1.00, e.g. 0.30",
            args.fraction
        ))
    })?;
    let (ledger, names) = replay(args)?;
    let books = ledger.books();
    let program = books.program(&args.program).ok_or_else(|| {
        let known: Vec<&String> = books.programs().map(|(id, _)| id).collect();
        CliError::usage(format!(
            "--program: no program {:?} in this ledger (programs: {known:?})",
            args.program
        ))
    })?;
    let Some(basis) = program.draw_basis.as_deref() else {
        let due =
            last_deadline(program, ledger.utc_offset()).map_or_else(String::new, |t| t.to_string());
        return Err(CliError::rejected(format!(
            "program {}: no seal has been recorded after its last filing deadline ({due}) yet; \
the draw is made from the first one, so nobody can choose it — append anything after the deadline, then sample",
            args.program
        )));
    };
    let drawn: Vec<DistrictDrawn> = basis
        .districts_drawn(&args.program, fraction)
        .into_iter()
        .map(|code| DistrictDrawn {
            code,
            name: basis
                .districts
                .get(&code)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            signed: basis.signed_people(code).len(),
            people: basis
                .people_drawn(&args.program, code, args.people as usize)
                .into_iter()
                .map(|digest| {
                    let name = names.get(&(code, digest)).cloned().unwrap_or_default();
                    (digest, name)
                })
                .collect(),
        })
        .collect();
    let body = json!({
        "program": args.program,
        "seal_seq": basis.seal_seq,
        "checkpoint_root": basis.root_hex(),
        "fraction": args.fraction,
        "people_per_district": args.people,
        "districts": drawn.iter().map(|d| d.code.to_string()).collect::<Vec<_>>(),
    });
    match args.format {
        SampleFormat::Event => {
            let event = json!({
                "id": args.id.clone().unwrap_or_else(|| format!("{}.spot-check-plan", args.program)),
                "actor": auditor(&ledger, args.actor.as_deref())?,
                "kind": EventKind::SpotCheckPlanned.as_str(),
                "at": args.at.clone().unwrap_or_else(now_in_china),
                "body": body,
            });
            write_event("-", &event)
        }
        SampleFormat::Json => {
            let value = json!({
                "program": args.program,
                "seal_seq": basis.seal_seq,
                "seal_recorded_at": basis.recorded_at.to_string(),
                "checkpoint_root": basis.root_hex(),
                "fraction": args.fraction,
                "participating": basis.districts.len(),
                "districts": drawn.iter().map(|d| json!({
                    "code": d.code.to_string(),
                    "name": d.name,
                    "signed_trainees": d.signed,
                    "people": d.people.iter().map(|(digest, name)| json!({
                        "person_digest": digest.to_hex(),
                        "name_masked": name,
                    })).collect::<Vec<Value>>(),
                })).collect::<Vec<Value>>(),
                "body": body,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&value).expect("a draw serializes")
            );
            Ok(())
        }
        SampleFormat::Text => {
            print!("{}", text(args, basis, &drawn));
            Ok(())
        }
    }
}

/// The ledger, and the masked name of every (district, person digest) on a
/// roster of the program, in one replay.
type Names = HashMap<(DistrictCode, Hash32), String>;

fn replay(args: &SampleArgs) -> CliResult<(std::mem::ManuallyDrop<Ledger>, Names)> {
    let dir = args.read_from.as_deref().unwrap_or(&args.ledger);
    let store = Store::open_raw(dir)?;
    if store.is_empty() {
        return Err(CliError::usage(format!(
            "ledger {}: no ledger here",
            args.ledger.display()
        )));
    }
    let mut names = Names::new();
    let ledger = store.replay_each(None, None, |_, _, record| {
        if let Body::RosterFiled(b) = record.body() {
            if b.program == args.program {
                for t in &b.trainees {
                    names
                        .entry((b.district_code, t.person_digest))
                        .or_insert_with(|| t.name_masked.clone());
                }
            }
        }
    })?;
    Ok((std::mem::ManuallyDrop::new(ledger), names))
}

/// The auditor who plans: `--actor`, or the ledger's only auditor.
fn auditor(ledger: &Ledger, given: Option<&str>) -> CliResult<String> {
    if let Some(actor) = given {
        return Ok(actor.to_string());
    }
    let auditors: Vec<&str> = ledger
        .actors()
        .filter(|a| a.role == Role::Auditor && a.revoked_at_seq.is_none())
        .map(|a| a.id.as_str())
        .collect();
    match auditors.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(CliError::usage(
            "--actor: the ledger enrols no auditor; enrol one first".to_string(),
        )),
        many => Err(CliError::usage(format!(
            "--actor: the ledger enrols several auditors ({}); name the one who plans",
            many.join(", ")
        ))),
    }
}

fn text(args: &SampleArgs, basis: &DrawBasis, drawn: &[DistrictDrawn]) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let n = basis.districts.len();
    let fraction = parse_fraction(&args.fraction).expect("checked");
    let _ = writeln!(o, "Spot-check draw of {}", args.program);
    let _ = writeln!(
        o,
        "  seed: seal {} (recorded {}), the first after the filing deadlines; its checkpoint signs root {}",
        basis.seal_seq,
        basis.recorded_at,
        basis.root_hex()
    );
    let _ = writeln!(
        o,
        "  districts: {} of {n} participating (fraction {}, rounded up), in draw order:",
        districts_to_draw(fraction, n),
        args.fraction
    );
    for (i, d) in drawn.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:>3}. {} {} — call back {} of {} trainees who signed",
            i + 1,
            d.code,
            d.name,
            d.people.len(),
            d.signed
        );
        for (digest, name) in &d.people {
            let shown = if name.is_empty() { "?" } else { name };
            let _ = writeln!(o, "         {shown}  {}", digest.to_hex());
        }
    }
    let _ = writeln!(
        o,
        "Anyone with the chain re-derives this draw (docs/audit.md). To record it as the plan:\n  \
fundledger sample --ledger {} --program {} --fraction {} --people {} --format event \\\n    | fundledger append --ledger {} --key AUDITOR.key -",
        args.ledger.display(),
        args.program,
        args.fraction,
        args.people,
        args.ledger.display()
    );
    o
}
