//! `report` and `status`: the self-evaluation report, laid out like the
//! seed, in Chinese or English Markdown, or JSON with every figure a string.

use crate::error::{CliError, CliResult};
use fundledger_core::ids::Timestamp;
use fundledger_core::ledger::Ledger;
use fundledger_core::projection::{ProgramFigures, ReportJson};
use std::path::Path;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown, laid out like the seed report.
    Md,
    /// JSON; every figure a string with fixed decimals.
    Json,
}

/// What `report` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown, laid out like the seed report.
    Md,
    /// JSON; every figure a string with fixed decimals.
    Json,
    /// The 项目支出绩效自评表 workbook, with a sheet each for districts, deadlines, survey, findings, chain.
    Xlsx,
    /// One self-contained HTML page with SVG charts, printable to A4.
    Html,
}

/// The instant a report is as of: a time, or the first N records.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReportAs<'a> {
    /// `--as-of`.
    pub as_of: Option<&'a str>,
    /// `--as-of-seq`.
    pub as_of_seq: Option<u64>,
}

impl From<Lang> for fundledger_report::Lang {
    fn from(lang: Lang) -> fundledger_report::Lang {
        match lang {
            Lang::Zh => fundledger_report::Lang::Zh,
            Lang::En => fundledger_report::Lang::En,
        }
    }
}

/// Report language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// 中文 (default).
    Zh,
    /// English.
    En,
}

pub fn now_or(as_of: Option<Timestamp>, ledger: &Ledger) -> Timestamp {
    as_of.unwrap_or_else(|| {
        Timestamp::from_datetime(chrono::Utc::now().with_timezone(&ledger.utc_offset()))
    })
}

pub fn report(
    dir: &Path,
    program: &str,
    when: ReportAs<'_>,
    format: ReportFormat,
    out: Option<&Path>,
    lang: Lang,
) -> CliResult<()> {
    let ReportAs { as_of, as_of_seq } = when;
    if format == ReportFormat::Xlsx && out.is_none() {
        return Err(CliError::usage(
            "--out: a workbook is written to a file; give --out FILE.xlsx".to_string(),
        ));
    }
    let as_of = as_of
        .map(|t| Timestamp::parse(t).map_err(|e| CliError::usage(format!("--as-of: {}", e.0))))
        .transpose()?;
    // One replay gives the ledger and the findings (a second open of the
    // store could race the first one's release of its lock).
    let (ledger, findings) = crate::findings::replay(dir, program, as_of, as_of_seq)?;
    // As of a seq, deadlines are judged at the ledger's own time at that seq.
    let instant = match (as_of, as_of_seq) {
        (None, Some(_)) => ledger
            .last_recorded_at()
            .unwrap_or_else(|| now_or(None, &ledger)),
        (Some(t), _) => t,
        (None, None) => ledger
            .books()
            .default_report_instant(program, now_or(None, &ledger)),
    };
    let scoped = as_of.is_some() || as_of_seq.is_some();
    let (figures, findings) =
        crate::findings::audited(&ledger, &findings, program, instant, scoped)?;
    let chain = fundledger_report::ChainIdentity::of(&ledger);
    let bytes = match format {
        ReportFormat::Json => {
            crate::findings::with_json(|| render_json(&ledger, &figures), &findings).into_bytes()
        }
        ReportFormat::Md => render_markdown(&ledger, &figures, &findings, lang).into_bytes(),
        ReportFormat::Html => fundledger_report::html::report_page(
            &chain,
            &figures,
            &findings,
            lang.into(),
            &fundledger_report::html::PageOptions::default(),
        )
        .into_bytes(),
        ReportFormat::Xlsx => {
            fundledger_report::xlsx::workbook(&chain, &figures, &findings, lang.into())
                .map_err(|e| CliError::usage(format!("cannot build the workbook: {e}")))?
        }
    };
    match out {
        Some(path) => {
            std::fs::write(path, &bytes).map_err(|e| {
                CliError::usage(format!("--out {}: cannot write: {e}", path.display()))
            })?;
            eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .write_all(&bytes)
                .map_err(|e| CliError::usage(format!("cannot write output: {e}")))?;
        }
    }
    Ok(())
}

pub fn render_json(ledger: &Ledger, figures: &ProgramFigures) -> String {
    serde_json::to_string_pretty(&ReportJson::new(ledger, figures)).expect("figures serialize")
        + "\n"
}

pub use fundledger_report::grouped;

/// The self-evaluation report as Markdown, findings last.
pub fn render_markdown(
    ledger: &Ledger,
    f: &ProgramFigures,
    findings: &[fundledger_core::findings::Finding],
    lang: Lang,
) -> String {
    fundledger_report::markdown::render(ledger, f, findings, lang.into())
}
