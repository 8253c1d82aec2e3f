//! The reports people look at rather than read: the 项目支出绩效自评表 as a
//! workbook ([`xlsx`]), and one self-contained HTML page per program with
//! inline SVG charts ([`html`], [`svg`]) that the CLI writes to a file and
//! the server serves. Pure: every figure comes from the core's projection
//! ([`fundledger_core::projection::ProgramFigures`]) and its findings; the
//! renderers only lay them out. No I/O but the workbook's own bytes.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod html;
pub mod markdown;
pub mod svg;
pub mod xlsx;

use fundledger_core::money::Money;
use fundledger_core::projection::{Compliance, Fixed2};

/// The report's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// 中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh` in Chinese, `en` in English.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// What a report says about the chain it was computed from.
#[derive(Clone, Debug)]
pub struct ChainIdentity {
    /// The ledger's name.
    pub name: String,
    /// Its id (the hash of record 0).
    pub ledger_id: String,
    /// Records.
    pub size: u64,
    /// The newest record's hash.
    pub head: String,
    /// The newest seal's seq.
    pub sealed_through: Option<u64>,
    /// The newest checkpoint note, if known.
    pub checkpoint: Option<String>,
}

impl ChainIdentity {
    /// The identity of a ledger state.
    pub fn of(ledger: &fundledger_core::ledger::Ledger) -> ChainIdentity {
        ChainIdentity {
            name: ledger.name().to_string(),
            ledger_id: ledger
                .ledger_id()
                .map_or_else(String::new, |id| id.to_string()),
            size: ledger.size(),
            head: ledger.head().to_string(),
            sealed_through: ledger.sealed_through(),
            checkpoint: None,
        }
    }
}

/// 1234567.50 → 1,234,567.50
pub fn grouped(amount: Money) -> String {
    let text = amount.to_string();
    let (sign, rest) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |r| ("-", r));
    let (whole, fraction) = rest.split_once('.').expect("money has a point");
    let mut out = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    format!("{sign}{out}.{fraction}")
}

/// The number of the report's `n`-th section (from 1): `一、` … `十二、`, or `1. `.
pub fn section_number(n: usize, lang: Lang) -> String {
    const NUMERALS: [&str; 12] = [
        "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
    ];
    match lang {
        Lang::Zh => format!("{}、", NUMERALS[n.clamp(1, 12) - 1]),
        Lang::En => format!("{n}. "),
    }
}

/// A rate as `96.28%`, or `—`.
pub fn pct(value: Option<Fixed2>) -> String {
    value.map_or("—".to_string(), |v| format!("{v}%"))
}

/// A date as a Chinese document writes it: 2023年5月20日 (or 2023-05-20).
pub fn date(t: &fundledger_core::ids::Timestamp, lang: Lang) -> String {
    let text = t.to_string();
    let (y, m, d) = (&text[..4], &text[5..7], &text[8..10]);
    match lang {
        Lang::Zh => format!(
            "{y}年{}月{}日",
            m.trim_start_matches('0'),
            d.trim_start_matches('0')
        ),
        Lang::En => format!("{y}-{m}-{d}"),
    }
}

/// A deadline's status in words, and its class: `ok`, `late`, `missing`, `not-due`.
pub fn compliance(c: &Compliance, lang: Lang) -> (String, &'static str) {
    match c {
        Compliance::OnTime { recorded_at } => (
            format!(
                "✓ {} {}",
                lang.t("按时", "on time"),
                date(recorded_at, lang)
            ),
            "ok",
        ),
        Compliance::Late { days_late, .. } => (
            format!(
                "✗ {} {days_late} {}",
                lang.t("逾期", "late"),
                lang.t("天", "days")
            ),
            "late",
        ),
        Compliance::Missing {
            incomplete_rosters: Some(n),
        } if *n > 0 => (
            format!(
                "✗ {}（{n} {}）",
                lang.t("未报齐", "incomplete"),
                lang.t("份资料不全", "rosters lack documents")
            ),
            "missing",
        ),
        Compliance::Missing { .. } => (format!("✗ {}", lang.t("未报", "missing")), "missing"),
        Compliance::NotDue => (format!("… {}", lang.t("未到期", "not due")), "not-due"),
    }
}

/// The measured target and actual of a derived leaf: (指标性质, 年度指标值, 实际完成值).
pub fn leaf_values(
    basis: &str,
    f: &fundledger_core::projection::ProgramFigures,
) -> Option<(&'static str, String, String)> {
    let o = &f.outputs;
    Some(match basis {
        "execution_rate" => ("=", "100.00%".to_string(), pct(f.execution_rate_percent)),
        "trainees_against_target" => ("≥", o.trainees_target.to_string(), o.trainees.to_string()),
        "timeliness" => (
            "=",
            "100.00%".to_string(),
            format!("{}/{}", o.deadlines_on_time, o.deadlines_due),
        ),
        "satisfaction_against_target" => (
            "≥",
            format!("{}%", o.satisfaction_target),
            pct(o.satisfaction),
        ),
        "cost_per_trainee" => (
            "≤",
            o.cost_per_trainee_max_cny.map_or("—".to_string(), grouped),
            o.cost_per_trainee_cny.map_or("—".to_string(), grouped),
        ),
        "audit_findings" => (
            "=",
            "0".to_string(),
            f.findings_counted
                .map_or("—".to_string(), |n| n.to_string()),
        ),
        _ => return None,
    })
}
