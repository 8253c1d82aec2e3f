//! The report's audit sections — spot checks, findings, deviations and
//! problems — its overview, and the section numbering.

use super::Labels;
use crate::Lang;
use fundledger_core::findings::Finding;
use fundledger_core::projection::ProgramFigures;
use std::fmt::Write;

/// The report's lines on spot checks: the draw seal, each plan with its
/// coverage and the people to call back, each check recorded.
pub(super) fn spot_check_lines(o: &mut String, zh: bool, f: &ProgramFigures) {
    use std::fmt::Write;
    let t = |z: &'static str, e: &'static str| if zh { z } else { e };
    let pct = |v: Option<fundledger_core::projection::Fixed2>| {
        v.map_or("—".to_string(), |v| format!("{v}%"))
    };
    if let Some(seal) = &f.draw_seal {
        let _ = writeln!(
            o,
            "- {} {}{}（{} {}），{} `{}…`",
            t("抽样种子：第", "Draw seal: record"),
            seal.seal_seq,
            t(" 条记录的封印", ""),
            t("记录于", "recorded"),
            seal.recorded_at,
            t("其检查点根哈希", "checkpoint root"),
            &seal.checkpoint_root[..16]
        );
    }
    for plan in &f.spot_check_plans {
        let names: Vec<String> = plan
            .districts
            .iter()
            .map(|d| {
                let mark = if d.visited { "✓" } else { "✗" };
                format!("{}{mark}", d.name)
            })
            .collect();
        let _ = writeln!(
            o,
            "- {} `{}`：{} {}/{}，{} {}，{}",
            t("抽查计划", "Plan"),
            plan.event_id,
            t("计划抽查", "districts drawn"),
            plan.districts.len(),
            plan.participating,
            t("已抽查覆盖", "visited"),
            pct(plan.coverage_percent),
            match (plan.fraction_met, zh) {
                (true, true) => format!(
                    "达到不低于 {}% 的要求",
                    (plan.fraction.0 * rust_decimal::Decimal::from(100)).normalize()
                ),
                (false, true) => format!(
                    "未达到不低于 {}% 的要求",
                    (plan.fraction.0 * rust_decimal::Decimal::from(100)).normalize()
                ),
                (true, false) => format!("meets the {} fraction", plan.fraction),
                (false, false) => format!("short of the {} fraction", plan.fraction),
            }
        );
        let _ = writeln!(o, "  - {}", names.join("、"));
        for d in &plan.districts {
            let people: Vec<String> = d
                .people
                .iter()
                .map(|p| p.to_hex()[..12].to_string())
                .collect();
            if !people.is_empty() {
                let _ = writeln!(
                    o,
                    "  - {} {}：{}",
                    d.name,
                    t("回访学员（人员摘要）", "call back (person digests)"),
                    people.join(", ")
                );
            }
        }
    }
    for s in &f.spot_checks {
        let _ = writeln!(
            o,
            "- {} {}（{}）：{}",
            t("抽查", "Spot check of"),
            s.district_names.join("、"),
            pct(s.sample_rate_percent),
            s.findings
        );
    }
}

/// One finding as a line: severity, code, district, sentence, evidence.
pub fn finding_line(finding: &Finding, lang: Lang) -> String {
    let evidence: Vec<String> = finding
        .evidence
        .iter()
        .map(|e| format!("seq {} {}", e.seq, e.event_id))
        .collect();
    format!(
        "- **{}** `{}`{}: {} ({}: {})",
        finding.severity,
        finding.code,
        finding
            .district
            .as_ref()
            .map_or(String::new(), |d| format!(" {d}")),
        match lang {
            Lang::Zh => &finding.zh,
            Lang::En => &finding.en,
        },
        match lang {
            Lang::Zh => "证据",
            Lang::En => "evidence",
        },
        evidence.join("; ")
    )
}

/// The report's Markdown section of findings.
pub(super) fn findings_section(findings: &[Finding], lang: Lang) -> String {
    let mut text = match lang {
        Lang::Zh => "\n## §审计发现\n\n".to_string(),
        Lang::En => "\n## §Findings\n\n".to_string(),
    };
    if findings.is_empty() {
        text.push_str(match lang {
            Lang::Zh => "无。\n",
            Lang::En => "None.\n",
        });
    }
    for finding in findings {
        text.push_str(&finding_line(finding, lang));
        text.push('\n');
    }
    text
}

/// How a leaf was scored, in the report's language.
pub fn basis_name(basis: &str, lang: Lang) -> String {
    let (zh, en) = match basis {
        "sum" => ("下级合计", "sum"),
        "judged" => ("评价组评分", "judged"),
        "not_scored" => ("尚未评分", "not scored"),
        "not_due" => ("未到期", "not yet due"),
        "execution_rate" => ("账本数据：预算执行率", "ledger: execution rate"),
        "trainees_against_target" => ("账本数据：培训人数", "ledger: trainees against target"),
        "timeliness" => ("账本数据：按时报送", "ledger: deadlines met"),
        "satisfaction_against_target" => ("账本数据：满意度", "ledger: satisfaction"),
        "cost_per_trainee" => ("账本数据：人均成本", "ledger: cost per trainee"),
        "audit_findings" => ("账本数据：审计发现", "ledger: audit findings"),
        other => (other, other),
    };
    lang.t(zh, en).to_string()
}

/// A leaf's note in the report's language: for a derived leaf, the measured
/// figure against its target, from the figures; for a judged one, the
/// evaluators' rationale as recorded.
pub fn leaf_note(
    n: &fundledger_core::projection::IndicatorFigures,
    f: &ProgramFigures,
    lang: Lang,
) -> String {
    if n.basis == "not_due" {
        return lang.t("未到期，暂不评分", "not yet due").to_string();
    }
    match crate::leaf_values(&n.basis, f) {
        Some((sense, target, actual)) => match lang {
            Lang::Zh => format!("实际 {actual}，目标 {sense} {target}"),
            Lang::En => format!("actual {actual}, target {sense} {target}"),
        },
        None if n.children.is_empty() => n.note.clone(),
        None => String::new(),
    }
}

/// Numbers the report's sections in order (一、二、… or 1. 2. …), so an
/// absent section leaves no gap.
pub(super) fn renumber(text: &str, lang: Lang) -> String {
    let mut n = 0;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("## §") {
            n += 1;
            out.push_str("## ");
            out.push_str(&crate::section_number(n, lang));
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// 项目概况: what the program is, from its opening.
pub(super) fn overview(o: &mut String, l: &Labels, f: &ProgramFigures) {
    let _ = writeln!(o, "## §{}\n", l.t("项目概况", "The project"));
    let _ = writeln!(
        o,
        "- {}{}（{} {}）",
        l.t("项目名称：", "Project: "),
        f.name,
        f.fiscal_year,
        l.t("年度", "")
    );
    if !f.funding_documents.is_empty() {
        let _ = writeln!(
            o,
            "- {}{}",
            l.t("资金文件：", "Funding documents: "),
            f.funding_documents.join("；")
        );
    }
    let _ = writeln!(
        o,
        "- {}{} {}，{} {}%；{} {} {}\n",
        l.t("绩效目标：培训人数不少于", "Targets: at least"),
        f.outputs.trainees_target,
        l.t("人", "trainees"),
        l.t("满意度不低于", "satisfaction at least"),
        f.outputs.satisfaction_target,
        l.t("涉及县（市）区", "districts:"),
        f.districts.len(),
        l.t("个", "")
    );
}

/// 偏差原因分析及改进措施 and 存在问题和改进措施: every deduction with the
/// evaluators' reason, then the findings that call for action.
pub(super) fn deviations(o: &mut String, l: &Labels, f: &ProgramFigures, findings: &[Finding]) {
    let mut deductions = Vec::new();
    if let Some(e) = &f.evaluation {
        fn leaves<'a>(
            nodes: &'a [fundledger_core::projection::IndicatorFigures],
            out: &mut Vec<&'a fundledger_core::projection::IndicatorFigures>,
        ) {
            for n in nodes {
                if n.children.is_empty() && !n.deduction.0.is_zero() {
                    out.push(n);
                }
                leaves(&n.children, out);
            }
        }
        leaves(&e.indicators, &mut deductions);
    }
    let lang = if l.zh { Lang::Zh } else { Lang::En };
    let _ = writeln!(
        o,
        "\n## §{}\n",
        l.t("偏差原因分析及改进措施", "Deviations: causes and measures")
    );
    if deductions.is_empty() {
        let _ = writeln!(
            o,
            "{}",
            l.t(
                "各项指标均得满分，无偏差。",
                "Every indicator scored full marks."
            )
        );
    }
    for n in &deductions {
        let _ = writeln!(
            o,
            "- {} {}（{} {}）：{}",
            n.code,
            n.name,
            l.t("扣", "deducted"),
            n.deduction,
            leaf_note(n, f, lang)
        );
    }
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| matches!(f.severity, "high" | "medium"))
        .collect();
    let _ = writeln!(
        o,
        "\n## §{}\n",
        l.t("存在问题和改进措施", "Problems and improvements")
    );
    if deductions.is_empty() && serious.is_empty() {
        let _ = writeln!(
            o,
            "{}",
            l.t("未发现需要整改的问题。", "No problem calls for action.")
        );
    }
    for n in &deductions {
        let _ = writeln!(
            o,
            "- {}{}",
            n.name,
            l.t("：按评价意见整改。", ": act on the evaluators' remarks.")
        );
    }
    for finding in serious {
        let text = if l.zh { &finding.zh } else { &finding.en };
        let _ = writeln!(
            o,
            "- {text}{}",
            l.t("（见审计发现）", " (see the findings)")
        );
    }
}
