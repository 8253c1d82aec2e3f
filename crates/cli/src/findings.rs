//! `findings`: what an auditor would otherwise find by reading tables —
//! overspending, claims beyond the rosters, missing documents, late,
//! missing and backdated filings, people claimed twice, reversals — each
//! with the seqs and event ids that prove it (docs/audit.md).

use crate::error::{CliError, CliResult};
use crate::report::{Format, Lang};
use fundledger_core::findings::{Finding, Findings};
use fundledger_core::ids::Timestamp;
use fundledger_core::ledger::Ledger;
use fundledger_store::Store;
use std::path::Path;

/// The ledger as of `as_of` (or its first `records_max` records), and the
/// records of `program` gathered for its findings, in one replay.
pub fn replay(
    dir: &Path,
    program: &str,
    as_of: Option<Timestamp>,
    records_max: Option<u64>,
) -> CliResult<(
    std::mem::ManuallyDrop<Ledger>,
    std::mem::ManuallyDrop<Findings>,
)> {
    // From a snapshot, only the program's books and findings are read when
    // nothing was recorded after it (a partial ledger, for this report only).
    let (store, inputs) = Store::open_for_report(dir, program, records_max, as_of)?;
    let Some((ledger, findings)) = inputs else {
        return Err(CliError::usage(format!(
            "ledger {}: no ledger here",
            dir.display()
        )));
    };
    let findings = match findings {
        Some(findings) => findings,
        None => store.reader().findings(&ledger, program)?,
    };
    // Both live until the process exits: freeing them would only cost time.
    Ok((
        std::mem::ManuallyDrop::new(ledger),
        std::mem::ManuallyDrop::new(findings),
    ))
}

/// The program's figures and findings ([`fundledger_core::findings::audited`]),
/// or the sentence naming the programs there are (`scoped`: as of a time).
pub fn audited(
    ledger: &Ledger,
    fold: &Findings,
    program: &str,
    instant: Timestamp,
    scoped: bool,
) -> CliResult<(fundledger_core::projection::ProgramFigures, Vec<Finding>)> {
    fundledger_core::findings::audited(ledger.books(), fold, program, ledger.utc_offset(), instant)
        .ok_or_else(|| {
            let known: Vec<&String> = ledger.books().programs().map(|(id, _)| id).collect();
            CliError::usage(format!(
                "--program: no program {program:?} in this ledger{} (programs: {known:?})",
                if scoped { " as of that time" } else { "" }
            ))
        })
}

/// The findings of `program` as of `as_of` (default: now), and the instant.
pub fn compute(
    dir: &Path,
    program: &str,
    as_of: Option<Timestamp>,
) -> CliResult<(Vec<Finding>, Timestamp)> {
    let (ledger, findings) = replay(dir, program, as_of, None)?;
    let instant = as_of.unwrap_or_else(|| {
        let now = Timestamp::from_datetime(chrono::Utc::now().with_timezone(&ledger.utc_offset()));
        ledger.books().default_report_instant(program, now)
    });
    let (_, list) = audited(&ledger, &findings, program, instant, false)?;
    Ok((list, instant))
}

/// One finding as a line: severity, code, district, sentence, evidence.
pub fn line(finding: &Finding, lang: Lang) -> String {
    fundledger_report::markdown::finding_line(finding, lang.into())
}

/// The report's JSON with its findings added (`findings`, docs/audit.md).
/// The report and the findings (most of the bytes) are written on two cores.
pub fn with_json(report: impl FnOnce() -> String + Send, findings: &[Finding]) -> String {
    let (report, list) = std::thread::scope(|scope| {
        let list =
            scope.spawn(|| serde_json::to_string_pretty(findings).expect("findings serialize"));
        (report(), list.join().expect("serializing does not panic"))
    });
    // Spliced in as the last member, so the report keeps its members' order.
    let body = report
        .trim_end()
        .strip_suffix('}')
        .expect("the report is a JSON object");
    let indented = list.replace('\n', "\n  ");
    format!("{},\n  \"findings\": {indented}\n}}\n", body.trim_end())
}

/// Runs `findings`.
pub fn run(
    dir: &Path,
    program: &str,
    as_of: Option<&str>,
    format: Format,
    lang: Lang,
) -> CliResult<()> {
    let as_of = as_of
        .map(|t| Timestamp::parse(t).map_err(|e| CliError::usage(format!("--as-of: {}", e.0))))
        .transpose()?;
    let (list, instant) = compute(dir, program, as_of)?;
    match format {
        Format::Json => {
            let value = serde_json::json!({"program": program, "as_of": instant.to_string(), "findings": list});
            println!(
                "{}",
                serde_json::to_string_pretty(&value).expect("findings serialize")
            );
        }
        Format::Md => {
            println!(
                "# {} {program} — {}\n",
                match lang {
                    Lang::Zh => "审计发现",
                    Lang::En => "Findings",
                },
                instant
            );
            if list.is_empty() {
                println!(
                    "{}",
                    match lang {
                        Lang::Zh => "无。",
                        Lang::En => "None.",
                    }
                );
            }
            for finding in &list {
                println!("{}", line(finding, lang));
            }
        }
    }
    Ok(())
}
