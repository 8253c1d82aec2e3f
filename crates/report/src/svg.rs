//! Inline SVG charts: no script, no font or file from anywhere else. Each
//! chart says in text what its colours say, for readers who cannot tell
//! the colours apart and for printers without colour.
//!
//! Up to [`DISTRICTS_DRAWN_MAX`] districts each get a bar or a row; above
//! that (a province has about 3,000), the charts aggregate: execution rates
//! as a histogram of bands with the lowest districts named, deadlines as
//! counts per status with the districts that missed them listed.

use crate::html::esc;
use crate::{compliance, pct, Lang};
use fundledger_core::money::Money;
use fundledger_core::projection::{DistrictFigures, Fixed2, ProgramFigures};
use rust_decimal::prelude::ToPrimitive;
use std::fmt::Write;

/// Above this many districts, charts aggregate instead of drawing each.
pub const DISTRICTS_DRAWN_MAX: usize = 40;

const BLUE: &str = "#2f6db5";
const GREY: &str = "#9aa5b1";
const GREEN: &str = "#2e8b57";
const RED: &str = "#c0392b";
const AMBER: &str = "#d68910";

fn f64_of(p: Option<Fixed2>) -> f64 {
    p.and_then(|p| p.0.to_f64()).unwrap_or(0.0)
}

fn money(m: Money) -> f64 {
    m.decimal().to_f64().unwrap_or(0.0)
}

/// Horizontal bars: (label, value, text shown at the bar's end), scaled to
/// `max`; an optional vertical reference line at a value, labelled.
fn bars(
    title: &str,
    items: &[(String, f64, String, &str)],
    max: f64,
    reference: Option<(f64, String)>,
) -> String {
    let (label_w, bar_w, row_h) = (130.0, 420.0, 22.0);
    let height = 34.0 + row_h * items.len() as f64 + 16.0;
    let width = label_w + bar_w + 120.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="0" y="16" class="chart-title">{t}</text>"#,
        t = esc(title)
    );
    let scale = if max > 0.0 { bar_w / max } else { 0.0 };
    for (i, (label, value, text, colour)) in items.iter().enumerate() {
        let y = 30.0 + row_h * i as f64;
        let w = (value.max(0.0) * scale).min(bar_w + 40.0);
        let _ = write!(
            o,
            r#"<text x="{lx}" y="{ty}" text-anchor="end" class="label">{label}</text><rect x="{label_w}" y="{y}" width="{w:.1}" height="{h}" fill="{colour}"/><text x="{tx:.1}" y="{ty}" class="value">{text}</text>"#,
            lx = label_w - 6.0,
            ty = y + 14.0,
            label = esc(label),
            h = row_h - 6.0,
            tx = label_w + w + 4.0,
            text = esc(text),
        );
    }
    if let Some((value, text)) = reference {
        let x = label_w + value * scale;
        let _ = write!(
            o,
            r#"<line x1="{x:.1}" y1="26" x2="{x:.1}" y2="{y2}" stroke="{RED}" stroke-dasharray="4 3"/><text x="{x:.1}" y="{ty}" text-anchor="middle" class="value ref">{text}</text>"#,
            y2 = height - 14.0,
            ty = height - 2.0,
            text = esc(&text)
        );
    }
    o.push_str("</svg>");
    o
}

/// Execution rate by district, the program's rate as a line.
pub fn execution_by_district(f: &ProgramFigures, lang: Lang) -> String {
    let title = lang.t("各县区预算执行率", "Execution rate by district");
    let program_rate = f64_of(f.execution_rate_percent);
    let reference = Some((
        program_rate,
        format!(
            "{} {}",
            lang.t("全市", "programme"),
            pct(f.execution_rate_percent)
        ),
    ));
    if f.districts.len() <= DISTRICTS_DRAWN_MAX {
        let items: Vec<(String, f64, String, &str)> = f
            .districts
            .iter()
            .map(|d| {
                let rate = f64_of(d.execution_rate_percent);
                let colour = if rate > 100.0 { RED } else { BLUE };
                (d.name.clone(), rate, pct(d.execution_rate_percent), colour)
            })
            .collect();
        let max = items.iter().map(|i| i.1).fold(100.0, f64::max);
        return bars(title, &items, max, reference);
    }
    // Many districts: how many fall in each band of 10 points.
    let mut bands = [0usize; 12];
    for d in &f.districts {
        let rate = f64_of(d.execution_rate_percent);
        let band = if rate > 100.0 {
            11
        } else {
            ((rate / 10.0).floor() as usize).min(10)
        };
        bands[band] += 1;
    }
    let items: Vec<(String, f64, String, &str)> = bands
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let label = match i {
                10 => "100%".to_string(),
                11 => "> 100%".to_string(),
                _ => format!("{}–{}%", i * 10, i * 10 + 10),
            };
            let colour = if i == 11 { RED } else { BLUE };
            (
                label,
                *n as f64,
                format!("{n} {}", lang.t("个县区", "districts")),
                colour,
            )
        })
        .collect();
    let max = items.iter().map(|i| i.1).fold(1.0, f64::max);
    let title = match lang {
        Lang::Zh => format!("{title}（{} 个县区，按执行率分段）", f.districts.len()),
        Lang::En => format!(
            "{title} ({} districts, by band of execution rate)",
            f.districts.len()
        ),
    };
    bars(&title, &items, max, None)
}

/// Funds flow: budget → received → pre-allocated → spent → carry-over.
pub fn funds_flow(f: &ProgramFigures, lang: Lang) -> String {
    let items = vec![
        (
            lang.t("全年预算", "Budget").to_string(),
            money(f.budget_approved_cny),
            crate::grouped(f.budget_approved_cny),
            GREY,
        ),
        (
            lang.t("资金到位", "Received").to_string(),
            money(f.funds_received_cny),
            crate::grouped(f.funds_received_cny),
            BLUE,
        ),
        (
            lang.t("年初预拨", "Pre-allocated").to_string(),
            money(f.allocated_cny),
            crate::grouped(f.allocated_cny),
            BLUE,
        ),
        (
            lang.t("实际支出", "Spent").to_string(),
            money(f.spent_cny),
            crate::grouped(f.spent_cny),
            GREEN,
        ),
        (
            lang.t("结转结余", "Carry-over").to_string(),
            money(f.carry_over_cny),
            crate::grouped(f.carry_over_cny),
            AMBER,
        ),
    ];
    let max = items.iter().map(|i| i.1).fold(1.0, f64::max);
    bars(
        lang.t("资金流向（元）", "Funds flow (CNY)"),
        &items,
        max,
        None,
    )
}

/// Trainees against the target.
pub fn trainees(f: &ProgramFigures, lang: Lang) -> String {
    let o = &f.outputs;
    let items = vec![
        (
            lang.t("目标", "Target").to_string(),
            o.trainees_target as f64,
            o.trainees_target.to_string(),
            GREY,
        ),
        (
            lang.t("实际培训", "Trained").to_string(),
            o.trainees as f64,
            format!("{} ({})", o.trainees, pct(o.trainees_rate_percent)),
            GREEN,
        ),
        (
            lang.t("名单人数", "Listed").to_string(),
            o.trainees_listed as f64,
            o.trainees_listed.to_string(),
            BLUE,
        ),
    ];
    let max = items.iter().map(|i| i.1).fold(1.0, f64::max);
    bars(
        lang.t("培训人数与目标", "Trainees against target"),
        &items,
        max,
        Some((
            o.trainees_target as f64,
            lang.t("目标", "target").to_string(),
        )),
    )
}

/// The score tree: each level-1 and level-2 indicator's score against its weight.
pub fn score_tree(f: &ProgramFigures, lang: Lang) -> String {
    let Some(e) = &f.evaluation else {
        return String::new();
    };
    let mut items = Vec::new();
    for top in &e.indicators {
        items.push((
            format!("{} {}", top.code, top.name),
            f64_of(Some(top.score)),
            format!("{} / {}", top.score, top.weight),
            BLUE,
        ));
        for child in &top.children {
            let colour = if child.deduction.0.is_zero() {
                GREEN
            } else {
                AMBER
            };
            items.push((
                format!("  {} {}", child.code, child.name),
                f64_of(Some(child.score)),
                format!("{} / {}", child.score, child.weight),
                colour,
            ));
        }
    }
    let max = items.iter().map(|i| i.1).fold(1.0, f64::max);
    bars(
        &format!(
            "{} {} {}",
            lang.t("绩效评价得分", "Evaluation score"),
            e.score,
            e.grade_label(lang == Lang::Zh)
        ),
        &items,
        max,
        None,
    )
}

fn status_colour(class: &str) -> &'static str {
    match class {
        "ok" => GREEN,
        "late" => AMBER,
        "missing" => RED,
        _ => GREY,
    }
}

/// The deadline matrix: district × filing, a coloured cell with its status in words.
pub fn deadline_matrix(f: &ProgramFigures, lang: Lang) -> String {
    let title = lang.t(
        "报送时限（县区 × 报送事项）",
        "Deadlines (district × filing)",
    );
    let columns = [
        lang.t("培训台账 10月30日", "Training ledger, Oct 30"),
        lang.t("资金使用报告 11月30日", "Fund-use report, Nov 30"),
    ];
    let status = |d: &DistrictFigures| {
        [
            compliance(&d.training_ledger, lang),
            compliance(&d.fund_use_report, lang),
        ]
    };
    if f.districts.len() > DISTRICTS_DRAWN_MAX {
        // Counts per filing and status; the districts that missed one follow as a list.
        let mut counts = [[0usize; 4]; 2];
        for d in &f.districts {
            for (i, (_, class)) in status(d).iter().enumerate() {
                let k = match *class {
                    "ok" => 0,
                    "late" => 1,
                    "missing" => 2,
                    _ => 3,
                };
                counts[i][k] += 1;
            }
        }
        let names = [
            lang.t("按时", "on time"),
            lang.t("逾期", "late"),
            lang.t("未报", "missing"),
            lang.t("未到期", "not due"),
        ];
        let colours = [GREEN, AMBER, RED, GREY];
        let mut items = Vec::new();
        for (i, column) in columns.iter().enumerate() {
            for k in 0..4 {
                items.push((
                    format!("{column} · {}", names[k]),
                    counts[i][k] as f64,
                    counts[i][k].to_string(),
                    colours[k],
                ));
            }
        }
        let max = items.iter().map(|i| i.1).fold(1.0, f64::max);
        return bars(
            &format!(
                "{title}（{} {}）",
                f.districts.len(),
                lang.t("个县区，按状态计数", "districts, counted by status")
            ),
            &items,
            max,
            None,
        );
    }
    let (name_w, cell_w, row_h) = (130.0, 270.0, 22.0);
    let height = 52.0 + row_h * f.districts.len() as f64;
    let width = name_w + 2.0 * cell_w + 130.0;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg class="chart" role="img" aria-label="{t}" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="0" y="16" class="chart-title">{t}</text>"#,
        t = esc(title)
    );
    for (i, column) in columns.iter().enumerate() {
        let _ = write!(
            o,
            r#"<text x="{x}" y="40" text-anchor="middle" class="label">{c}</text>"#,
            x = name_w + cell_w * (i as f64 + 0.5),
            c = esc(column)
        );
    }
    for (r, d) in f.districts.iter().enumerate() {
        let y = 48.0 + row_h * r as f64;
        let _ = write!(
            o,
            r#"<text x="{x}" y="{ty}" text-anchor="end" class="label">{n}</text>"#,
            x = name_w - 6.0,
            ty = y + 15.0,
            n = esc(&d.name)
        );
        for (i, (text, class)) in status(d).iter().enumerate() {
            let x = name_w + cell_w * i as f64;
            let _ = write!(
                o,
                r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}" fill-opacity="0.22" stroke="{c}"/><text x="{tx}" y="{ty}" class="value cell-{class}">{t}</text>"#,
                w = cell_w - 4.0,
                h = row_h - 3.0,
                c = status_colour(class),
                tx = x + 6.0,
                ty = y + 15.0,
                t = esc(text)
            );
        }
    }
    o.push_str("</svg>");
    o
}
