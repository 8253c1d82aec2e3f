//! The self-evaluation report as Markdown, laid out like the seed, in
//! Chinese or English; the CLI prints it and the server answers
//! `?format=md` with it.

use crate::Lang;
use fundledger_core::findings::Finding;
use fundledger_core::ledger::Ledger;
use fundledger_core::projection::{Compliance, Fixed2, ProgramFigures};
use std::fmt::Write;

use crate::{grouped, pct};

mod audit;

pub use audit::{basis_name, finding_line};
use audit::{deviations, findings_section, leaf_note, overview, renumber, spot_check_lines};

struct Labels {
    zh: bool,
}

impl Labels {
    fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.zh {
            zh
        } else {
            en
        }
    }
    fn compliance(&self, c: &Compliance) -> String {
        match c {
            Compliance::OnTime { recorded_at } => format!(
                "{} {}",
                self.t("按时", "on time"),
                &recorded_at.to_string()[..16].replace('T', " ")
            ),
            Compliance::Late {
                recorded_at,
                days_late,
            } => format!(
                "{} {days_late} {} ({})",
                self.t("逾期", "late"),
                self.t("天", "days"),
                &recorded_at.to_string()[..16].replace('T', " ")
            ),
            Compliance::Missing {
                incomplete_rosters: None | Some(0),
            } => self.t("未报", "missing").to_string(),
            Compliance::Missing {
                incomplete_rosters: Some(incomplete_rosters),
            } => format!(
                "{} ({incomplete_rosters} {})",
                self.t("未报齐", "missing"),
                self.t("份台账资料不全", "rosters lack documents")
            ),
            Compliance::NotDue => self.t("未到期", "not due").to_string(),
        }
    }
}

/// One Markdown table row: `| a | b | … |`.
fn row(o: &mut String, cells: &[&dyn std::fmt::Display]) {
    for cell in cells {
        let _ = write!(o, "| {cell} ");
    }
    let _ = writeln!(o, "|");
}

/// The self-evaluation report as Markdown: one section per function.
/// The self-evaluation report as Markdown: one section per function,
/// findings last.
pub fn render(ledger: &Ledger, f: &ProgramFigures, findings: &[Finding], lang: Lang) -> String {
    let l = Labels {
        zh: lang == Lang::Zh,
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# {} — {}\n",
        f.name,
        l.t("绩效自评报告", "performance self-evaluation")
    );
    let _ = writeln!(
        o,
        "{}{}　{}{}　{}{}\n",
        l.t("填报单位：", "Reporting unit: "),
        f.reporting_unit.as_deref().unwrap_or(ledger.name()),
        l.t("填报日期：", "Date: "),
        crate::date(&f.as_of, lang),
        l.t("联系人：", "Contact: "),
        f.contact.as_deref().unwrap_or("—"),
    );
    let _ = writeln!(
        o,
        "> {} {}，{} {}（{} {} {}，{} `{}`）。{}\n",
        l.t("账本", "Ledger"),
        ledger.name(),
        l.t("截至", "as of"),
        crate::date(&f.as_of, lang),
        l.t("共", "records:"),
        ledger.size(),
        l.t("条记录", ""),
        l.t("头哈希", "head"),
        ledger.head(),
        l.t(
            "本报告的每个数字均由账本中已签名、哈希链接的事件计算得出，可用 `fundledger verify` 复核。",
            "Every figure below is computed from signed, hash-chained events and can be re-checked with `fundledger verify`."
        )
    );
    if let Some(c) = &f.closed {
        let _ = writeln!(
            o,
            "**{} {}（{}，{}）**\n",
            l.t("项目年度已关闭：", "The program's year is closed:"),
            c.event_id,
            &c.recorded_at.to_string()[..10],
            c.reason
        );
    }
    if !f.reopened.is_empty() {
        let _ = writeln!(
            o,
            "{}{}\n",
            l.t(
                "曾关闭后重新开放（撤销的关闭）：",
                "Reopened after closing (closings reversed): "
            ),
            f.reopened.join(", ")
        );
    }
    overview(&mut o, &l, f);
    funding(&mut o, &l, f);
    districts(&mut o, &l, f);
    deadlines(&mut o, &l, f);
    outputs(&mut o, &l, f);
    surveys(&mut o, &l, f);
    evaluation(&mut o, &l, f);
    checks(&mut o, &l, f);
    o.push_str(&findings_section(findings, lang));
    deviations(&mut o, &l, f, findings);
    renumber(&o, lang)
}

/// The funding table (一、资金情况).
fn funding(o: &mut String, l: &Labels, f: &ProgramFigures) {
    let _ = writeln!(o, "## §{}\n", l.t("资金情况", "Funding"));
    let _ = writeln!(
        o,
        "| {} | {} |\n|---|---:|",
        l.t("项目", "item"),
        l.t("金额（元）/ 比率", "CNY / rate")
    );
    for (zh, en, value) in [
        (
            "年初预算数（预算批复）",
            "year-start budget (approved)",
            grouped(f.budget_initial_cny),
        ),
        (
            "全年预算数（含调整）",
            "full-year budget (after adjustments)",
            grouped(f.budget_approved_cny),
        ),
        ("资金到位", "funds received", grouped(f.funds_received_cny)),
        (
            "到位率",
            "received ÷ budget",
            pct(f.funds_received_rate_percent),
        ),
        (
            "年初预拨",
            "pre-allocated (年初预拨)",
            grouped(f.allocated_cny),
        ),
        ("支出", "spent", grouped(f.spent_cny)),
        (
            "支出率（支出÷预算）",
            "execution rate (spent ÷ budget)",
            pct(f.execution_rate_percent),
        ),
        (
            "结转结余（到位−支出）",
            "carry-over (received − spent)",
            grouped(f.carry_over_cny),
        ),
        (
            "　其中：未预拨资金（到位−预拨）",
            "  of which never pre-allocated (received − allocated)",
            grouped(f.unallocated_cny),
        ),
        (
            "　　　　已决算县区结余",
            "  surpluses of settled districts",
            grouped(f.settled_surplus_cny),
        ),
        (
            "　　　　已决算县区超支（减）",
            "  less deficits of settled districts",
            grouped(f.settled_deficit_cny),
        ),
        (
            "　　　　未决算县区余额（预拨−支出）",
            "  balances of districts not yet settled (allocated − spent)",
            grouped(f.unsettled_balance_cny),
        ),
        (
            "上年结余抵补",
            "offset from last year",
            grouped(f.offset_in_cny),
        ),
        (
            "本年净拨付（预拨−抵补）",
            "net transfer (allocated − offset)",
            grouped(f.net_transfer_cny),
        ),
    ] {
        let _ = writeln!(o, "| {} | {} |", l.t(zh, en), value);
    }
    for a in &f.budget_adjustments {
        let _ = writeln!(
            o,
            "\n{} {} {}（{}）：{}",
            l.t("预算调整", "Budget adjustment"),
            grouped(a.amount_cny),
            l.t("元", "CNY"),
            a.document,
            a.reason
        );
    }
    if !f.funding_documents.is_empty() {
        let _ = writeln!(
            o,
            "\n{}{}",
            l.t("资金文件：", "Funding documents: "),
            f.funding_documents.join(l.t("；", "; "))
        );
    }
}

/// Each district's money and trainees (二).
fn districts(o: &mut String, l: &Labels, f: &ProgramFigures) {
    let _ = writeln!(
        o,
        "\n## §{}\n",
        l.t("各县（市）区资金及培训情况", "Districts")
    );
    let _ = writeln!(
        o,
        "| {} |\n|---|---|---:|---:|---:|---:|---:|---|---|",
        l.t(
            "代码 | 县（市）区 | 年初预拨 | 支出 | 执行率 | 结余 | 培训人数 | 决算 | 次年抵补",
            "code | district | pre-allocated | spent | execution | surplus | trainees | settled | next-year offset"
        )
    );
    for d in &f.districts {
        let offset = d.offset_out.as_ref().map_or("—".to_string(), |x| {
            format!("{} → {}", grouped(x.surplus_cny), x.into_program)
        });
        let settled = match (&d.settlement_imposed, d.settled) {
            (Some(_), _) => l.t("已决算（市残联代为决算）", "yes, imposed by the city"),
            (None, true) => l.t("已决算", "yes"),
            (None, false) => l.t("未决算", "no"),
        };
        // A surplus is a settled district's; before, the money is a balance.
        let surplus = if d.settled {
            grouped(d.surplus_cny)
        } else {
            format!(
                "{} {}",
                l.t("未决算，余额", "unsettled, balance"),
                grouped(d.surplus_cny)
            )
        };
        row(
            o,
            &[
                &d.code,
                &d.name,
                &grouped(d.allocated_cny),
                &grouped(d.spent_cny),
                &pct(d.execution_rate_percent),
                &surplus,
                &d.trainees,
                &settled,
                &offset,
            ],
        );
    }
}

/// Deadline compliance (三).
fn deadlines(o: &mut String, l: &Labels, f: &ProgramFigures) {
    let _ = writeln!(o, "\n## §{}\n", l.t("报送时限", "Deadlines"));
    let _ = writeln!(
        o,
        "| {} |\n|---|---|---|---|",
        l.t(
            "代码 | 县（市）区 | 培训台账（10月30日前） | 资金使用情况上报（11月30日前）",
            "code | district | training ledger (by Oct 30) | fund-use report (by Nov 30)"
        )
    );
    for d in &f.districts {
        row(
            o,
            &[
                &d.code,
                &d.name,
                &l.compliance(&d.training_ledger),
                &l.compliance(&d.fund_use_report),
            ],
        );
    }
    let _ = writeln!(
        o,
        "\n{} {} / {}",
        l.t("按时完成的报送：", "Deadlines met on time:"),
        f.outputs.deadlines_on_time,
        f.outputs.deadlines_due
    );
}

/// Outputs against targets (四).
fn outputs(o: &mut String, l: &Labels, f: &ProgramFigures) {
    let _ = writeln!(
        o,
        "\n## §{}\n",
        l.t("产出与目标", "Outputs against targets")
    );
    let _ = writeln!(
        o,
        "| {} |\n|---|---:|---:|---|",
        l.t(
            "指标 | 目标 | 实际 | 完成情况",
            "indicator | target | actual | result"
        )
    );
    let met = |ok: bool| {
        if ok {
            l.t("达标", "met")
        } else {
            l.t("未达标", "not met")
        }
    };
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} |",
        l.t("培训人数（去重）", "people trained (distinct)"),
        f.outputs.trainees_target,
        f.outputs.trainees,
        pct(f.outputs.trainees_rate_percent)
    );
    let _ = writeln!(
        o,
        "| {} | ≥ {} | {} | {} |",
        l.t("服务对象满意度", "beneficiary satisfaction"),
        f.outputs.satisfaction_target,
        f.outputs
            .satisfaction
            .map_or("—".to_string(), |s| s.to_string()),
        f.outputs
            .satisfaction
            .map_or(l.t("未调查", "no survey").to_string(), |s| met(
                s >= f.outputs.satisfaction_target
            )
            .to_string())
    );
    let _ = writeln!(
        o,
        "| {} | {} | {} | {} |",
        l.t("人均培训成本（元）", "cost per trainee (CNY)"),
        f.outputs
            .cost_per_trainee_max_cny
            .map_or("—".to_string(), |m| format!("≤ {}", grouped(m))),
        f.outputs
            .cost_per_trainee_cny
            .map_or("—".to_string(), grouped),
        match (
            f.outputs.cost_per_trainee_cny,
            f.outputs.cost_per_trainee_max_cny
        ) {
            (Some(c), Some(m)) => met(c <= m).to_string(),
            _ => "—".to_string(),
        }
    );
    let _ = writeln!(
        o,
        "\n{} {}{} {}{}",
        l.t(
            "名册所列人员（去重）",
            "People listed on rosters (distinct):"
        ),
        f.outputs.trainees_listed,
        l.t("，其中签字按手印", "; signed and thumb-printed:"),
        f.outputs.trainees,
        if f.outputs.trainees_unsigned > 0 {
            format!(
                "{}{}{}",
                l.t("；未签字按手印 ", "; not signed: "),
                f.outputs.trainees_unsigned,
                l.t(" 人，不计入培训人数", " (not counted as trained)")
            )
        } else {
            String::new()
        }
    );
}

/// Each survey, in the seed's table shape (五).
fn surveys(o: &mut String, l: &Labels, f: &ProgramFigures) {
    for s in &f.surveys {
        let _ = writeln!(
            o,
            "\n## §{}\n\n{}（{} {}）\n",
            l.t("满意度调查", "Satisfaction survey"),
            s.title,
            s.respondents,
            l.t("份有效问卷", "valid questionnaires")
        );
        let header: Vec<String> = s
            .totals
            .iter()
            .map(|t| format!("{}（{}）", t.code, t.label))
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |\n|---|---|{}---:|",
            l.t("问卷题目", "question"),
            l.t("项目", "row"),
            header.join(" | "),
            l.t("合计", "total"),
            "---:|".repeat(header.len())
        );
        let rows = |o: &mut String,
                    title: &str,
                    options: &[fundledger_core::projection::OptionFigures],
                    n: u64,
                    score: Fixed2| {
            let counts: Vec<String> = options.iter().map(|x| x.count.to_string()).collect();
            let shares: Vec<String> = options
                .iter()
                .map(|x| format!("{}%", x.share_percent))
                .collect();
            let scores: Vec<String> = options.iter().map(|x| x.score.to_string()).collect();
            let _ = writeln!(
                o,
                "| {title} | {} | {} | {n} |",
                l.t("人数", "count"),
                counts.join(" | ")
            );
            let _ = writeln!(
                o,
                "| | {} | {} | 100% |",
                l.t("占比", "share"),
                shares.join(" | ")
            );
            let _ = writeln!(
                o,
                "| | {} | {} | {score} |",
                l.t("分数", "score"),
                scores.join(" | ")
            );
        };
        for q in &s.questions {
            rows(
                o,
                &format!("{}.{}", q.number, q.text),
                &q.options,
                s.respondents,
                q.score,
            );
        }
        rows(
            o,
            l.t("合计", "total"),
            &s.totals,
            s.respondents * s.questions.len() as u64,
            s.score,
        );
        let _ = writeln!(o, "\n{} **{}**", l.t("最终得分", "Final score"), s.score);
    }
}

/// The evaluation: level-1 scores, the grade and every indicator (六).
fn evaluation(o: &mut String, l: &Labels, f: &ProgramFigures) {
    if let Some(e) = &f.evaluation {
        let _ = writeln!(o, "\n## §{}\n", l.t("绩效评价", "Performance evaluation"));
        let _ = writeln!(
            o,
            "{}\n",
            l.t("项目绩效指标体系得分情况", "Scores by level-1 indicator")
        );
        let _ = writeln!(
            o,
            "| {} |\n|---|---:|---:|---:|---:|",
            l.t(
                "项目 | 权重分 | 得分 | 扣分 | 得分率",
                "indicator | weight | score | deduction | rate"
            )
        );
        for i in &e.indicators {
            let _ = writeln!(
                o,
                "| {}{} | {} | {} | {} | {} |",
                i.code,
                i.name,
                i.weight,
                i.score,
                i.deduction,
                pct(i.score_rate_percent)
            );
        }
        let rate = if e.weight.0.is_zero() {
            None
        } else {
            Some(Fixed2(
                e.score.0 * rust_decimal::Decimal::from(100) / e.weight.0,
            ))
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            l.t("合计", "total"),
            e.weight,
            e.score,
            e.deduction,
            pct(rate)
        );
        let _ = writeln!(
            o,
            "\n**{} {} {}，{} {}**",
            l.t("评价结论：自评得分", "Conclusion: score"),
            e.score,
            l.t("分", "points"),
            l.t("评定等级为", "grade"),
            e.grade_label(l.zh)
        );
        if !e.not_due.is_empty() {
            let _ = writeln!(
                o,
                "\n{}{}",
                l.t(
                    "尚未到期的指标（不评分）：",
                    "Indicators not yet due (not scored): "
                ),
                e.not_due.join(", ")
            );
        }
        if !e.unscored.is_empty() {
            let _ = writeln!(
                o,
                "\n{}{}",
                l.t("尚未评分的指标：", "Indicators not yet scored: "),
                e.unscored.join(", ")
            );
        }
        let _ = writeln!(o, "\n### {}\n", l.t("指标明细", "All indicators"));
        let _ = writeln!(
            o,
            "| {} |\n|---|---|---:|---:|---:|---|---|",
            l.t(
                "代码 | 指标 | 级次 | 权重 | 得分 | 评分依据 | 说明",
                "code | indicator | level | weight | score | basis | note"
            )
        );
        fn walk(
            o: &mut String,
            nodes: &[fundledger_core::projection::IndicatorFigures],
            f: &ProgramFigures,
            zh: bool,
        ) {
            let lang = if zh { Lang::Zh } else { Lang::En };
            for n in nodes {
                let note = leaf_note(n, f, lang);
                row(
                    o,
                    &[
                        &n.code,
                        &n.name,
                        &n.level,
                        &n.weight,
                        &n.score,
                        &basis_name(&n.basis, lang),
                        &note.replace('|', "/"),
                    ],
                );
                walk(o, &n.children, f, zh);
            }
        }
        walk(o, &e.indicators, f, l.zh);
    }
}

/// Spot checks, double claims and backdated filings (七).
fn checks(o: &mut String, l: &Labels, f: &ProgramFigures) {
    let _ = writeln!(
        o,
        "\n## §{}\n",
        l.t("抽查与数据核验", "Spot checks and data checks")
    );
    spot_check_lines(o, l.zh, f);
    let _ = writeln!(
        o,
        "- {} {}",
        l.t(
            "跨县区重复申报的人员：",
            "People claimed by more than one district:"
        ),
        f.double_claims.len()
    );
    for c in &f.double_claims {
        let codes: Vec<String> = c.districts.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(
            o,
            "  - `{}…` {}",
            &c.person_digest.to_hex()[..16],
            codes.join(", ")
        );
    }
    let _ = writeln!(
        o,
        "- {} {}",
        l.t(
            "补录（声称时间早于记账时间一天以上）的报送：",
            "Backdated filings (claimed more than a day before recorded):"
        ),
        f.backdated.len()
    );
    for b in &f.backdated {
        let _ = writeln!(
            o,
            "  - {} {} at {} recorded {}",
            b.event_id, b.district_code, b.at, b.recorded_at
        );
    }
}
