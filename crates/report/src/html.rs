//! The report as one self-contained HTML page, laid out like the seed's
//! report: no script, no font or stylesheet from anywhere else (it must
//! open on an intranet PC), inline SVG charts, and a print stylesheet for
//! A4 so the browser's "print to PDF" gives the stamped document.

use crate::{compliance, date, grouped, leaf_values, pct, svg, ChainIdentity, Lang};
use fundledger_core::findings::Finding;
use fundledger_core::projection::{IndicatorFigures, ProgramFigures};
use std::fmt::Write;

/// Escapes text for HTML and SVG.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The page's stylesheet: system fonts only, A4 print rules.
pub const STYLE: &str = r#"
:root { --ink: #1d2733; --muted: #5b6770; --line: #c8d0d8; --head: #eef2f6; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", "SimSun", sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 60rem; padding: 1.5rem; line-height: 1.55; font-size: 15px; }
header.doc { text-align: center; border-bottom: 2px solid var(--ink); margin-bottom: 1rem; }
header.doc h1 { font-size: 1.5rem; margin: .3rem 0; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; font-size: .9rem; color: var(--muted); }
nav.site { font-size: .9rem; margin-bottom: 1rem; }
nav.site a { margin-right: 1rem; }
h2 { font-size: 1.15rem; border-left: 4px solid #2f6db5; padding-left: .5rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .88rem; }
th, td { border: 1px solid var(--line); padding: .25rem .45rem; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 600; }
table.indicators td:first-child { width: 30%; }
table.indicators th { white-space: nowrap; }
table.indicators td:last-child { width: 26%; }
table.survey td:nth-child(2) { width: 34%; }
table.survey td.num { white-space: normal; }
table.survey small { color: var(--muted); }
table.facts td:first-child { width: 9rem; white-space: nowrap; }
table.facts td { word-break: break-all; }
pre { white-space: pre-wrap; word-break: break-all; margin: 0; font-size: .8rem; }
form.asof { margin: .5rem 0 1rem; }
.chart { max-width: 100%; height: auto; margin: .5rem 0; }
.chart-title { font-weight: 600; font-size: 14px; fill: var(--ink); }
.label, .value { font-size: 12px; fill: var(--ink); }
.ref { fill: #c0392b; }
.cell-ok { fill: #1e6b43; } .cell-late { fill: #8a5a00; } .cell-missing { fill: #a02c20; } .cell-not-due { fill: #5b6770; }
.grade { font-size: 1.3rem; font-weight: 700; }
.finding-high { color: #a02c20; } .finding-medium { color: #8a5a00; }
.stamp { margin-top: 2.5rem; display: grid; grid-template-columns: 1fr 1fr; gap: 2rem; font-size: .95rem; }
.stamp div { border-top: 1px solid var(--ink); padding-top: .3rem; min-height: 4rem; }
footer.chain { margin-top: 2rem; font-size: .75rem; color: var(--muted); word-break: break-all; }
@page { size: A4; margin: 18mm 15mm 18mm 15mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  table { font-size: 8.5pt; }
  nav.site, form.asof { display: none; }
  h2 { break-after: avoid; }
  table, .chart, .stamp { break-inside: avoid; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// What surrounds a program's report: the served pages add navigation.
#[derive(Clone, Debug, Default)]
pub struct PageOptions {
    /// HTML placed above the document (links of the served pages).
    pub nav: Option<String>,
    /// A link per district name, `{code}` replaced (served pages).
    pub district_link: Option<String>,
}

/// A whole HTML document with `title` and `body`.
pub fn document(title: &str, lang: Lang, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        lang.t("zh-CN", "en"),
        esc(title)
    )
}

fn section(o: &mut String, n: &mut usize, zh: &str, en: &str, lang: Lang) {
    *n += 1;
    let title = format!("{}{}", crate::section_number(*n, lang), lang.t(zh, en));
    let _ = writeln!(o, "<h2>{}</h2>", esc(&title));
}

fn row(o: &mut String, cells: &[(String, bool)]) {
    o.push_str("<tr>");
    for (text, numeric) in cells {
        let _ = write!(
            o,
            "<td{}>{}</td>",
            if *numeric { " class=\"num\"" } else { "" },
            text
        );
    }
    o.push_str("</tr>\n");
}

fn head(o: &mut String, cells: &[&str]) {
    o.push_str("<thead><tr>");
    for c in cells {
        let _ = write!(o, "<th>{}</th>", esc(c));
    }
    o.push_str("</tr></thead>\n");
}

/// A program's report page.
pub fn report_page(
    chain: &ChainIdentity,
    f: &ProgramFigures,
    findings: &[Finding],
    lang: Lang,
    options: &PageOptions,
) -> String {
    let t = |zh, en| lang.t(zh, en);
    let mut o = String::new();
    if let Some(nav) = &options.nav {
        o.push_str(nav);
    }
    let _ = writeln!(
        o,
        "<header class=\"doc\"><h1>{}</h1><div>{}</div></header>\n<div class=\"meta\"><span>{}</span><span>{}</span><span>{}</span><span>{}</span><span>{}</span><span>{}</span><span>{}</span><span>{}</span></div>",
        esc(&f.name),
        esc(t("项目支出绩效自评报告", "Project expenditure performance self-evaluation report")),
        t("填报单位", "Reporting unit"),
        esc(f.reporting_unit.as_deref().unwrap_or(&chain.name)),
        t("填报日期（数据截至）", "Date (figures as of)"),
        esc(&date(&f.as_of, lang)),
        t("联系人", "Contact"),
        esc(f.contact.as_deref().unwrap_or("—")),
        t("账本", "Ledger"),
        esc(&format!("{} {} · {} {}", chain.size, t("条记录", "records"), t("头哈希", "head"), &chain.head[..16.min(chain.head.len())]))
    );
    let mut n = 0;
    overview(&mut o, &mut n, f, lang);
    funding(&mut o, &mut n, f, lang);
    districts(&mut o, &mut n, f, lang, options);
    deadlines(&mut o, &mut n, f, lang);
    outputs(&mut o, &mut n, f, lang);
    survey(&mut o, &mut n, f, lang);
    evaluation(&mut o, &mut n, f, lang);
    audit(&mut o, &mut n, f, findings, lang);
    let _ = writeln!(
        o,
        "<div class=\"stamp\"><div>{}</div><div>{}</div></div>",
        t("填报单位（盖章）", "Reporting unit (seal)"),
        t("负责人 / 联系人（签字）", "Head / contact (signature)")
    );
    let _ = write!(
        o,
        "<footer class=\"chain\">{} {} · {} {} · {} {} · {} {} · {}</footer>",
        t("账本标识", "Ledger id"),
        esc(&chain.ledger_id),
        t("记录数", "records"),
        chain.size,
        t("头哈希", "head"),
        esc(&chain.head),
        t("已封印至", "sealed through"),
        chain.sealed_through.map_or("—".to_string(), |s| s.to_string()),
        t("每个数字均由已签名、哈希链接的事件计算得出，可用 fundledger verify 复核。", "Every figure is computed from signed, hash-chained events; check them with fundledger verify.")
    );
    document(&f.name, lang, &o)
}

fn overview(o: &mut String, n: &mut usize, f: &ProgramFigures, lang: Lang) {
    section(o, n, "项目概况", "The project", lang);
    let t = |zh, en| lang.t(zh, en);
    o.push_str("<table class=\"facts\"><tbody>\n");
    row(
        o,
        &[
            (esc(t("项目名称", "Project")), false),
            (esc(&f.name), false),
        ],
    );
    row(
        o,
        &[
            (esc(t("年度", "Fiscal year")), false),
            (f.fiscal_year.to_string(), false),
        ],
    );
    row(
        o,
        &[
            (esc(t("资金文件", "Funding documents")), false),
            (esc(&f.funding_documents.join("；")), false),
        ],
    );
    let targets = format!(
        "{} ≥ {}；{} ≥ {}%",
        t("培训人数", "trainees"),
        f.outputs.trainees_target,
        t("满意度", "satisfaction"),
        f.outputs.satisfaction_target
    );
    row(
        o,
        &[
            (esc(t("绩效目标", "Targets")), false),
            (esc(&targets), false),
        ],
    );
    o.push_str("</tbody></table>\n");
}

fn funding(o: &mut String, n: &mut usize, f: &ProgramFigures, lang: Lang) {
    section(o, n, "资金情况", "Funding", lang);
    let t = |zh, en| lang.t(zh, en);
    o.push_str(&svg::funds_flow(f, lang));
    o.push_str("<table>");
    head(o, &[t("项目", "Item"), t("金额（元）", "Amount (CNY)")]);
    o.push_str("<tbody>\n");
    let lines = [
        (
            t("年初预算数", "Budget at start"),
            grouped(f.budget_initial_cny),
        ),
        (
            t("全年预算数", "Budget for the year"),
            grouped(f.budget_approved_cny),
        ),
        (
            t("资金到位", "Funds received"),
            format!(
                "{}（{}）",
                grouped(f.funds_received_cny),
                pct(f.funds_received_rate_percent)
            ),
        ),
        (
            t("年初预拨县区", "Pre-allocated to districts"),
            grouped(f.allocated_cny),
        ),
        (t("实际支出", "Spent"), grouped(f.spent_cny)),
        (
            t("预算执行率", "Execution rate"),
            pct(f.execution_rate_percent),
        ),
        (t("结转结余", "Carry-over"), grouped(f.carry_over_cny)),
        (
            t("上年结余抵补", "Offset in from last year"),
            grouped(f.offset_in_cny),
        ),
    ];
    for (label, value) in lines {
        row(o, &[(esc(label), false), (esc(&value), true)]);
    }
    o.push_str("</tbody></table>\n");
}

fn districts(o: &mut String, n: &mut usize, f: &ProgramFigures, lang: Lang, options: &PageOptions) {
    section(o, n, "县区资金与执行", "Districts", lang);
    let t = |zh, en| lang.t(zh, en);
    o.push_str(&svg::execution_by_district(f, lang));
    o.push_str("<table>");
    head(
        o,
        &[
            t("代码", "Code"),
            t("县区", "District"),
            t("预拨资金", "Pre-allocated"),
            t("支出", "Spent"),
            t("执行率", "Rate"),
            t("结余", "Surplus"),
            t("培训人数", "Trained"),
            t("决算", "Settled"),
        ],
    );
    o.push_str("<tbody>\n");
    for d in &f.districts {
        let name = match &options.district_link {
            Some(pattern) => format!(
                "<a href=\"{}\">{}</a>",
                esc(&pattern.replace("{code}", &d.code.to_string())),
                esc(&d.name)
            ),
            None => esc(&d.name),
        };
        let settled = match (&d.settlement_imposed, d.settled) {
            (Some(_), _) => t("代为决算", "imposed"),
            (None, true) => t("已决算", "settled"),
            (None, false) => t("未决算", "open"),
        };
        row(
            o,
            &[
                (d.code.to_string(), false),
                (name, false),
                (grouped(d.allocated_cny), true),
                (grouped(d.spent_cny), true),
                (pct(d.execution_rate_percent), true),
                (grouped(d.surplus_cny), true),
                (d.trainees.to_string(), true),
                (esc(settled), false),
            ],
        );
    }
    let _ = writeln!(o, "<tr class=\"total\"><td></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td></td></tr>",
        esc(t("合计", "Total")), grouped(f.allocated_cny), grouped(f.spent_cny), pct(f.execution_rate_percent), grouped(f.surplus_cny), f.outputs.trainees);
    o.push_str("</tbody></table>\n");
}

fn deadlines(o: &mut String, n: &mut usize, f: &ProgramFigures, lang: Lang) {
    section(o, n, "报送时限", "Deadlines", lang);
    let t = |zh, en| lang.t(zh, en);
    let _ = writeln!(
        o,
        "<p>{} {}/{}</p>",
        esc(t("按时报送：", "Filed on time:")),
        f.outputs.deadlines_on_time,
        f.outputs.deadlines_due
    );
    o.push_str(&svg::deadline_matrix(f, lang));
    if f.districts.len() > svg::DISTRICTS_DRAWN_MAX {
        o.push_str("<table>");
        head(
            o,
            &[
                t("县区", "District"),
                t("培训台账", "Training ledger"),
                t("资金使用报告", "Fund-use report"),
            ],
        );
        o.push_str("<tbody>\n");
        for d in &f.districts {
            let (a, ca) = compliance(&d.training_ledger, lang);
            let (b, cb) = compliance(&d.fund_use_report, lang);
            if ca != "ok" || cb != "ok" {
                row(
                    o,
                    &[
                        (esc(&format!("{} {}", d.code, d.name)), false),
                        (esc(&a), false),
                        (esc(&b), false),
                    ],
                );
            }
        }
        o.push_str("</tbody></table>\n");
    }
}

fn outputs(o: &mut String, n: &mut usize, f: &ProgramFigures, lang: Lang) {
    section(o, n, "项目产出", "Outputs", lang);
    let t = |zh, en| lang.t(zh, en);
    o.push_str(&svg::trainees(f, lang));
    let out = &f.outputs;
    o.push_str("<table><tbody>\n");
    row(
        o,
        &[
            (esc(t("培训人数（签字确认）", "Trained (signed)")), false),
            (
                format!(
                    "{} / {} ({})",
                    out.trainees,
                    out.trainees_target,
                    pct(out.trainees_rate_percent)
                ),
                true,
            ),
        ],
    );
    row(
        o,
        &[
            (esc(t("名单人数 / 未签字", "Listed / unsigned")), false),
            (
                format!("{} / {}", out.trainees_listed, out.trainees_unsigned),
                true,
            ),
        ],
    );
    row(
        o,
        &[
            (
                esc(t("人均培训成本（元）", "Cost per trainee (CNY)")),
                false,
            ),
            (
                format!(
                    "{} / {}",
                    out.cost_per_trainee_cny.map_or("—".to_string(), grouped),
                    out.cost_per_trainee_max_cny
                        .map_or("—".to_string(), grouped)
                ),
                true,
            ),
        ],
    );
    o.push_str("</tbody></table>\n");
}

fn survey(o: &mut String, n: &mut usize, f: &ProgramFigures, lang: Lang) {
    section(o, n, "满意度调查", "Satisfaction survey", lang);
    let t = |zh, en| lang.t(zh, en);
    if f.surveys.is_empty() {
        let _ = writeln!(
            o,
            "<p>{}</p>",
            esc(t("尚无满意度调查。", "No survey recorded yet."))
        );
    }
    for s in &f.surveys {
        let _ = writeln!(
            o,
            "<p>{}（{} {}）：<strong>{}</strong></p>",
            esc(&s.title),
            s.respondents,
            esc(t("份有效问卷", "respondents")),
            s.score
        );
        o.push_str("<table class=\"survey\"><thead><tr>");
        let _ = write!(
            o,
            "<th>{}</th><th>{}</th>",
            esc(t("序号", "No.")),
            esc(t("问题", "Question"))
        );
        for option in &s.totals {
            let _ = write!(o, "<th>{} {}</th>", esc(&option.code), esc(&option.label));
        }
        let _ = writeln!(
            o,
            "<th>{}</th></tr></thead><tbody>",
            esc(t("得分", "Score"))
        );
        for q in &s.questions {
            let mut cells = vec![(q.number.to_string(), true), (esc(&q.text), false)];
            cells.extend(q.options.iter().map(|opt| {
                (
                    format!("{}<br><small>{}%</small>", opt.count, opt.share_percent),
                    true,
                )
            }));
            cells.push((q.score.to_string(), true));
            row(o, &cells);
        }
        let mut cells = vec![(String::new(), false), (esc(t("合计", "Total")), false)];
        cells.extend(s.totals.iter().map(|opt| {
            (
                format!("{}<br><small>{}%</small>", opt.count, opt.share_percent),
                true,
            )
        }));
        cells.push((s.score.to_string(), true));
        o.push_str("<tr class=\"total\">");
        for (text, _) in &cells {
            let _ = write!(o, "<td class=\"num\">{text}</td>");
        }
        o.push_str("</tr></tbody></table>\n");
    }
}

fn evaluation(o: &mut String, n: &mut usize, f: &ProgramFigures, lang: Lang) {
    let Some(e) = &f.evaluation else { return };
    section(o, n, "绩效评价", "Evaluation", lang);
    let t = |zh, en| lang.t(zh, en);
    let _ = writeln!(
        o,
        "<p>{} <span class=\"grade\">{} {}</span></p>",
        esc(t("总分与等级：", "Score and grade:")),
        e.score,
        esc(&e.grade_label(lang == Lang::Zh))
    );
    o.push_str(&svg::score_tree(f, lang));
    o.push_str("<table class=\"indicators\">");
    head(
        o,
        &[
            t("指标", "Indicator"),
            t("指标性质", "Sense"),
            t("年度指标值", "Target"),
            t("实际完成值", "Actual"),
            t("分值", "Weight"),
            t("得分", "Score"),
            t("偏差原因分析及改进措施", "Deviation and measures"),
        ],
    );
    o.push_str("<tbody>\n");
    fn walk(o: &mut String, nodes: &[IndicatorFigures], f: &ProgramFigures) {
        for node in nodes {
            let indent = "　".repeat(node.level.saturating_sub(1));
            let (sense, target, actual) =
                leaf_values(&node.basis, f).unwrap_or(("", String::new(), String::new()));
            let note = if node.children.is_empty() && !node.deduction.0.is_zero() {
                node.note.clone()
            } else {
                String::new()
            };
            row(
                o,
                &[
                    (esc(&format!("{indent}{} {}", node.code, node.name)), false),
                    (esc(sense), false),
                    (esc(&target), true),
                    (esc(&actual), true),
                    (node.weight.to_string(), true),
                    (node.score.to_string(), true),
                    (esc(&note), false),
                ],
            );
            walk(o, &node.children, f);
        }
    }
    walk(o, &e.indicators, f);
    let _ = writeln!(o, "<tr class=\"total\"><td>{}</td><td></td><td></td><td></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>", esc(t("总分", "Total")), e.weight, e.score, esc(&e.grade_label(lang == Lang::Zh)));
    o.push_str("</tbody></table>\n");
}

fn audit(o: &mut String, n: &mut usize, f: &ProgramFigures, findings: &[Finding], lang: Lang) {
    section(o, n, "抽查与审计发现", "Spot checks and findings", lang);
    let t = |zh, en| lang.t(zh, en);
    o.push_str("<ul>\n");
    for s in &f.spot_checks {
        let _ = writeln!(
            o,
            "<li>{} {}（{}）：{}</li>",
            esc(t("抽查", "Spot check of")),
            esc(&s.district_names.join("、")),
            pct(s.sample_rate_percent),
            esc(&s.findings)
        );
    }
    for plan in &f.spot_check_plans {
        let drawn: Vec<String> = plan
            .districts
            .iter()
            .map(|d| format!("{}{}", d.name, if d.visited { "✓" } else { "✗" }))
            .collect();
        let _ = writeln!(
            o,
            "<li>{} {}：{} · {} {}，{}</li>",
            esc(t("抽查计划", "Plan")),
            esc(&plan.event_id),
            esc(&drawn.join("、")),
            esc(t("覆盖", "coverage")),
            pct(plan.coverage_percent),
            esc(if plan.fraction_met {
                t("达到抽查比例", "fraction met")
            } else {
                t("未达到抽查比例", "fraction not met")
            })
        );
    }
    o.push_str("</ul>\n");
    if findings.is_empty() {
        let _ = writeln!(o, "<p>{}</p>", esc(t("审计发现：无。", "Findings: none.")));
        return;
    }
    o.push_str("<table>");
    head(
        o,
        &[
            t("严重程度", "Severity"),
            t("代码", "Code"),
            t("说明", "Finding"),
            t("证据（记录序号）", "Evidence (seq)"),
        ],
    );
    o.push_str("<tbody>\n");
    for finding in findings {
        let text = match lang {
            Lang::Zh => &finding.zh,
            Lang::En => &finding.en,
        };
        let evidence: Vec<String> = finding.evidence.iter().map(|e| e.seq.to_string()).collect();
        let _ = writeln!(
            o,
            "<tr class=\"finding-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            finding.severity,
            finding.severity,
            finding.code,
            esc(text),
            evidence.join(", ")
        );
    }
    o.push_str("</tbody></table>\n");
}
