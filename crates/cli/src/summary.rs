//! A short text summary of a ledger: what `demo` prints.

use fundledger_core::ledger::Ledger;
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
    let _ = writeln!(out, "actors   {}", ledger.actors().count());
    for (id, program) in ledger.books().programs() {
        let people: std::collections::BTreeSet<_> = program
            .districts
            .values()
            .flat_map(|d| d.people.keys().copied())
            .collect();
        let _ = writeln!(
            out,
            "program  {id} ({}): budget {} received {} allocated {} spent {} CNY; {} districts; {} trainees",
            program.opened.fiscal_year,
            program.budget_approved,
            program.funds_received,
            program.allocated(),
            program.spent(),
            program.districts.len(),
            people.len()
        );
    }
    out
}
