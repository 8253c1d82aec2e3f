//! The JSON report: the chain it was computed from, and the figures.

use super::ProgramFigures;
use serde::Serialize;

/// The JSON report: the chain it was computed from, and the figures.
#[derive(Serialize)]
pub struct ReportJson<'a> {
    /// Always `fundledger-report-v1`.
    pub format: &'static str,
    /// Which chain, up to where.
    pub ledger: LedgerRef,
    /// The figures.
    pub program: &'a ProgramFigures,
}

/// The chain a report was computed from.
#[derive(Serialize)]
pub struct LedgerRef {
    /// Name.
    pub name: String,
    /// Hash of record 0.
    pub id: String,
    /// Records included.
    pub size: u64,
    /// Hash of the last record included.
    pub head: String,
}

impl<'a> ReportJson<'a> {
    /// The report of `figures`, computed from `ledger`.
    pub fn new(ledger: &crate::ledger::Ledger, figures: &'a ProgramFigures) -> ReportJson<'a> {
        ReportJson {
            format: "fundledger-report-v1",
            ledger: LedgerRef {
                name: ledger.name().to_string(),
                id: ledger.ledger_id().map(|h| h.to_hex()).unwrap_or_default(),
                size: ledger.size(),
                head: ledger.head().to_hex(),
            },
            program: figures,
        }
    }
}
