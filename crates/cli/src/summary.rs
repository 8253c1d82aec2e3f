//! Short text summaries of a ledger: what `demo` prints, and `status`.

use crate::error::CliResult;
use crate::report::{grouped, now_or};
use fundledger_core::ids::Timestamp;
use fundledger_core::ledger::Ledger;
use fundledger_core::projection::program_figures;
use std::fmt::Write;
use std::path::Path;

pub fn render(dir: &Path, ledger: &Ledger, export_bytes: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "ledger   {} ({})", ledger.name(), dir.display());
    let _ = writeln!(
        out,
        "verified {} records, {} bytes of export, head {}",
        ledger.size(),
        export_bytes,
        ledger.head()
    );
    let _ = writeln!(
        out,
        "sealed   through seq {} by the operator · ledger id {} (events are signed for it)",
        ledger
            .sealed_through()
            .map_or("— (no seal)".to_string(), |s| s.to_string()),
        ledger.ledger_id().map_or("—".to_string(), |id| id.to_hex())
    );
    let _ = writeln!(out, "actors   {}", ledger.actors().count());
    // Judge deadlines as of the last record: the demo's output never depends on today's date.
    let as_of = ledger
        .last_recorded_at()
        .unwrap_or_else(|| Timestamp::parse("2000-01-01T00:00:00+08:00").expect("valid"));
    for (id, _) in ledger.books().programs() {
        let f = program_figures(ledger.books(), id, ledger.utc_offset(), as_of).expect("listed");
        let pct = |p: Option<fundledger_core::projection::Fixed2>| {
            p.map_or("—".to_string(), |p| format!("{p}%"))
        };
        let _ = writeln!(out, "program  {id} ({}) — {}", f.fiscal_year, f.name);
        let _ = writeln!(
            out,
            "  money      budget {} · received {} · pre-allocated {} to {} districts · spent {} · execution rate {} · carry-over {} CNY",
            grouped(f.budget_approved_cny),
            grouped(f.funds_received_cny),
            grouped(f.allocated_cny),
            f.districts.len(),
            grouped(f.spent_cny),
            pct(f.execution_rate_percent),
            grouped(f.carry_over_cny)
        );
        let _ = writeln!(
            out,
            "  outputs    {} people trained (target {}) · cost per trainee {} CNY · deadlines met {}/{}",
            f.outputs.trainees,
            f.outputs.trainees_target,
            f.outputs.cost_per_trainee_cny.map_or("—".to_string(), grouped),
            f.outputs.deadlines_on_time,
            f.outputs.deadlines_due
        );
        let _ = writeln!(
            out,
            "  survey     satisfaction {} (target ≥ {})",
            f.outputs
                .satisfaction
                .map_or("—".to_string(), |s| s.to_string()),
            f.outputs.satisfaction_target
        );
        if let Some(e) = &f.evaluation {
            let levels: Vec<String> = e
                .indicators
                .iter()
                .map(|i| format!("{} {}", i.code, i.score))
                .collect();
            let _ = writeln!(
                out,
                "  evaluation {} · total {} · grade {}",
                levels.join(" · "),
                e.score,
                e.grade_label(false)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nnext: fundledger report --ledger {} --program kunming-2022   (add --format json|html|xlsx --out FILE, --lang en, --as-of TIME; or `fundledger serve` and open http://127.0.0.1:8080/)",
        dir.display()
    );
    out
}

/// `status`: every program's key figures, one line each.
pub fn status(dir: &Path) -> CliResult<()> {
    let store = fundledger_store::Store::open_raw(dir)?;
    if store.is_empty() {
        return Err(crate::error::CliError::usage(format!(
            "ledger {}: no ledger here",
            dir.display()
        )));
    }
    // Never dropped: the process ends soon after, and the OS takes the
    // memory back faster than a walk over millions of map nodes would.
    let ledger = std::mem::ManuallyDrop::new(store.replay_until(None, None)?);
    let now = now_or(None, &ledger);
    println!(
        "{} — {} records, head {}, sealed through seq {}",
        ledger.name(),
        ledger.size(),
        ledger.head(),
        ledger
            .sealed_through()
            .map_or("— (no seal)".to_string(), |s| s.to_string())
    );
    println!(
        "ledger id {} (what every event is signed for: sign --ledger-id)",
        ledger.ledger_id().map_or("—".to_string(), |id| id.to_hex())
    );
    match store.opened_from_snapshot() {
        Some(n) => println!(
            "books opened from the snapshot at seal {} ({} records folded after it)",
            n - 1,
            ledger.size() - n
        ),
        None => println!("books replayed from record 0 (no snapshot applied)"),
    }
    let mut any = false;
    for (id, _) in ledger.books().programs() {
        any = true;
        let f = program_figures(ledger.books(), id, ledger.utc_offset(), now).expect("listed");
        let score = f
            .evaluation
            .as_ref()
            .map_or("not evaluated".to_string(), |e| {
                format!("score {} {}", e.score, e.grade_label(true))
            });
        println!(
            "{id} ({}): budget {} · received {} · spent {} ({}) · trainees {}/{} · deadlines {}/{} on time · satisfaction {} · {score}",
            f.fiscal_year,
            grouped(f.budget_approved_cny),
            grouped(f.funds_received_cny),
            grouped(f.spent_cny),
            fundledger_report::pct(f.execution_rate_percent),
            f.outputs.trainees,
            f.outputs.trainees_target,
            f.outputs.deadlines_on_time,
            f.outputs.deadlines_due,
            f.outputs.satisfaction.map_or("—".to_string(), |s| s.to_string()),
        );
    }
    if !any {
        println!("no programs yet");
    }
    Ok(())
}
