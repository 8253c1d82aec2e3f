//! The 项目支出绩效自评表 as a workbook (财预〔2020〕10号 annex, in the
//! shape of a published provincial variant), then a sheet each for the
//! districts, the deadlines, the survey, the findings and the chain.
//!
//! Amounts and rates are numbers with number formats (`#,##0.00`, `0.00%`),
//! never text. Excel holds numbers as binary doubles; every amount here has
//! two decimals and fewer than 16 significant digits, so the cell shows the
//! exact fen the ledger holds.

use crate::{compliance, date, leaf_values, ChainIdentity, Lang};
use fundledger_core::findings::Finding;
use fundledger_core::money::Money;
use fundledger_core::projection::{Fixed2, IndicatorFigures, ProgramFigures};
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

/// The cell formats of the workbook.
struct Styles {
    title: Format,
    head: Format,
    text: Format,
    money: Format,
    rate: Format,
    score: Format,
    count: Format,
    bold_text: Format,
}

impl Styles {
    fn new() -> Styles {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_text_wrap()
            .set_align(FormatAlign::VerticalCenter);
        Styles {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            head: cell
                .clone()
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_background_color(Color::RGB(0xDDE6F0)),
            text: cell.clone(),
            money: cell.clone().set_num_format("#,##0.00"),
            rate: cell.clone().set_num_format("0.00%"),
            score: cell.clone().set_num_format("0.00"),
            count: cell.clone().set_num_format("#,##0"),
            bold_text: cell.set_bold(),
        }
    }
}

fn money(m: Money) -> f64 {
    m.decimal().to_f64().unwrap_or(0.0)
}

fn ratio(p: Fixed2) -> f64 {
    (p.0 / rust_decimal::Decimal::from(100))
        .to_f64()
        .unwrap_or(0.0)
}

fn num(p: Fixed2) -> f64 {
    p.0.round_dp(2).to_f64().unwrap_or(0.0)
}

/// A4 landscape, `rows` repeated on every printed page, the head hash in the footer.
fn print_setup(
    sheet: &mut Worksheet,
    repeat: (u32, u32),
    chain: &ChainIdentity,
) -> Result<(), XlsxError> {
    sheet.set_landscape();
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(repeat.0, repeat.1)?;
    sheet.set_footer(format!(
        "&L&8fundledger {} · {} records · head {}&R&8&P / &N",
        chain.name, chain.size, chain.head
    ));
    Ok(())
}

/// A header row at `row`, frozen below, with column widths (in characters).
fn header(
    sheet: &mut Worksheet,
    row: u32,
    columns: &[(&str, f64)],
    s: &Styles,
) -> Result<(), XlsxError> {
    for (col, (name, width)) in columns.iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, *name, &s.head)?;
        sheet.set_column_width(col as u16, *width)?;
    }
    Ok(())
}

/// The workbook's bytes.
pub fn workbook(
    chain: &ChainIdentity,
    f: &ProgramFigures,
    findings: &[Finding],
    lang: Lang,
) -> Result<Vec<u8>, XlsxError> {
    let s = Styles::new();
    let mut book = Workbook::new();
    self_evaluation(book.add_worksheet(), chain, f, lang, &s)?;
    districts(book.add_worksheet(), chain, f, lang, &s)?;
    deadlines(book.add_worksheet(), chain, f, lang, &s)?;
    survey(book.add_worksheet(), chain, f, lang, &s)?;
    findings_sheet(book.add_worksheet(), chain, findings, lang, &s)?;
    chain_sheet(book.add_worksheet(), chain, f, lang, &s)?;
    book.save_to_buffer()
}

/// Leaves of the indicator tree with their ancestors' names.
fn leaves<'a>(nodes: &'a [IndicatorFigures], path: &mut Vec<&'a str>, out: &mut Vec<Leaf<'a>>) {
    for node in nodes {
        if node.children.is_empty() {
            out.push((path.clone(), node));
        } else {
            path.push(&node.name);
            leaves(&node.children, path, out);
            path.pop();
        }
    }
}

/// The sheet's name, widths, title and the program's facts; the next row.
fn title_rows(
    sheet: &mut Worksheet,
    chain: &ChainIdentity,
    f: &ProgramFigures,
    lang: Lang,
    s: &Styles,
) -> Result<u32, XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    sheet.set_name(t("自评表", "Self-evaluation"))?;
    let widths = [16.0, 16.0, 22.0, 10.0, 14.0, 14.0, 9.0, 9.0, 40.0];
    for (col, w) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *w)?;
    }
    sheet.set_row_height(0, 30)?;
    sheet.merge_range(
        0,
        0,
        0,
        8,
        t(
            "项目支出绩效自评表",
            "Project expenditure performance self-evaluation",
        ),
        &s.title,
    )?;
    let year = format!("（{}{}）", f.fiscal_year, t("年度", ""));
    sheet.merge_range(
        1,
        0,
        1,
        8,
        &year,
        &Format::new().set_align(FormatAlign::Center),
    )?;
    let info = [
        (t("项目名称", "Project"), f.name.clone()),
        (
            t("填报单位", "Reporting unit"),
            f.reporting_unit
                .clone()
                .unwrap_or_else(|| chain.name.clone()),
        ),
        (t("填报日期", "Date"), date(&f.as_of, lang)),
        (
            t("联系人", "Contact"),
            f.contact.clone().unwrap_or_else(|| "—".to_string()),
        ),
    ];
    let mut row = 2;
    for (label, value) in info {
        sheet.write_string_with_format(row, 0, label, &s.bold_text)?;
        sheet.merge_range(row, 1, row, 8, &value, &s.text)?;
        row += 1;
    }
    Ok(row)
}

fn self_evaluation(
    sheet: &mut Worksheet,
    chain: &ChainIdentity,
    f: &ProgramFigures,
    lang: Lang,
    s: &Styles,
) -> Result<(), XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    let mut row = title_rows(sheet, chain, f, lang, s)?;
    let mut all = Vec::new();
    if let Some(e) = &f.evaluation {
        leaves(&e.indicators, &mut Vec::new(), &mut all);
    }
    row = funds_table(sheet, row, f, &all, lang, s)?;
    row += 1;
    sheet.write_string_with_format(row, 0, t("年度总体目标", "Overall goals"), &s.head)?;
    sheet.merge_range(row, 1, row, 4, t("预期目标", "Expected"), &s.head)?;
    sheet.merge_range(row, 5, row, 8, t("实际完成情况", "Achieved"), &s.head)?;
    row += 1;
    let o = &f.outputs;
    let expected = match lang {
        Lang::Zh => format!("培训农村困难残疾人不少于 {} 人；服务对象满意度不低于 {}%；资金按时足额拨付使用", o.trainees_target, o.satisfaction_target),
        Lang::En => format!("train at least {} rural disabled people; satisfaction at least {}%; funds paid and used in full and on time", o.trainees_target, o.satisfaction_target),
    };
    let achieved = match lang {
        Lang::Zh => format!(
            "培训 {} 人；满意度 {}；预算执行率 {}；{}/{} 项报送按时",
            o.trainees,
            crate::pct(o.satisfaction),
            crate::pct(f.execution_rate_percent),
            o.deadlines_on_time,
            o.deadlines_due
        ),
        Lang::En => format!(
            "{} trained; satisfaction {}; execution rate {}; {}/{} filings on time",
            o.trainees,
            crate::pct(o.satisfaction),
            crate::pct(f.execution_rate_percent),
            o.deadlines_on_time,
            o.deadlines_due
        ),
    };
    sheet.write_string_with_format(row, 0, "", &s.text)?;
    sheet.merge_range(row, 1, row, 4, &expected, &s.text)?;
    sheet.merge_range(row, 5, row, 8, &achieved, &s.text)?;
    sheet.set_row_height(row, 45)?;
    row += 1;
    let indicator_head = row;
    row = indicator_table(sheet, row, f, &all, lang, s)?;
    if let Some(e) = &f.evaluation {
        row += 1;
        sheet.merge_range(row, 0, row, 5, t("总分", "Total"), &s.bold_text)?;
        sheet.write_number_with_format(row, 6, num(e.weight), &s.score)?;
        sheet.write_number_with_format(row, 7, num(e.score), &s.score)?;
        sheet.write_string_with_format(row, 8, "", &s.text)?;
        row += 1;
        sheet.merge_range(
            row,
            0,
            row,
            5,
            t("评价结论（等级）", "Conclusion (grade)"),
            &s.bold_text,
        )?;
        sheet.merge_range(
            row,
            6,
            row,
            8,
            &e.grade_label(lang == Lang::Zh),
            &s.bold_text,
        )?;
    }
    sheet.set_freeze_panes(2, 0)?;
    print_setup(sheet, (indicator_head, indicator_head), chain)
}

type Leaf<'a> = (Vec<&'a str>, &'a IndicatorFigures);

/// 年度资金总额 and its two lines, from `row`; the last row written.
fn funds_table(
    sheet: &mut Worksheet,
    mut row: u32,
    f: &ProgramFigures,
    all: &[Leaf<'_>],
    lang: Lang,
    s: &Styles,
) -> Result<u32, XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    // 年度资金总额: the execution-rate leaf of the evaluation gives 分值 and 得分.
    let execution = all
        .iter()
        .find(|(_, l)| l.basis == "execution_rate")
        .map(|(_, l)| *l);
    let funds_head = [
        t("项目", "Funds"),
        t("年初预算数", "Budget at start"),
        t("全年预算数", "Budget for the year"),
        t("全年执行数", "Spent in the year"),
        t("分值", "Weight"),
        t("执行率", "Execution rate"),
        t("得分", "Score"),
    ];
    for (col, name) in funds_head.iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, *name, &s.head)?;
    }
    let lines = [
        (t("年度资金总额", "Total funds"), true),
        (t("其中：财政资金", "of which: fiscal funds"), true),
        (t("其他资金", "other funds"), false),
    ];
    for (label, fiscal) in lines {
        row += 1;
        sheet.write_string_with_format(row, 0, label, &s.text)?;
        let (start, year_budget, spent) = if fiscal {
            (f.budget_initial_cny, f.budget_approved_cny, f.spent_cny)
        } else {
            (Money::ZERO, Money::ZERO, Money::ZERO)
        };
        sheet.write_number_with_format(row, 1, money(start), &s.money)?;
        sheet.write_number_with_format(row, 2, money(year_budget), &s.money)?;
        sheet.write_number_with_format(row, 3, money(spent), &s.money)?;
        match (fiscal, execution, f.execution_rate_percent) {
            (true, Some(leaf), Some(rate)) => {
                sheet.write_number_with_format(row, 4, num(leaf.weight), &s.score)?;
                sheet.write_number_with_format(row, 5, ratio(rate), &s.rate)?;
                sheet.write_number_with_format(row, 6, num(leaf.score), &s.score)?;
            }
            (true, None, Some(rate)) => {
                sheet.write_string_with_format(row, 4, "—", &s.text)?;
                sheet.write_number_with_format(row, 5, ratio(rate), &s.rate)?;
                sheet.write_string_with_format(row, 6, "—", &s.text)?;
            }
            _ => {
                for col in 4..=6 {
                    sheet.write_string_with_format(row, col, "—", &s.text)?;
                }
            }
        }
    }
    Ok(row)
}

/// The indicator table's header at `row` and a row per leaf; the last row written.
fn indicator_table(
    sheet: &mut Worksheet,
    mut row: u32,
    f: &ProgramFigures,
    all: &[Leaf<'_>],
    lang: Lang,
    s: &Styles,
) -> Result<u32, XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    let head = [
        t("一级指标", "Level 1"),
        t("二级指标", "Level 2"),
        t("三级指标", "Level 3"),
        t("指标性质", "Sense"),
        t("年度指标值", "Target"),
        t("实际完成值", "Actual"),
        t("分值", "Weight"),
        t("得分", "Score"),
        t(
            "偏差原因分析及改进措施",
            "Deviation: causes and corrective measures",
        ),
    ];
    for (col, name) in head.iter().enumerate() {
        sheet.write_string_with_format(row, col as u16, *name, &s.head)?;
    }
    for (path, leaf) in all {
        row += 1;
        let level = |i: usize| path.get(i).copied().unwrap_or("");
        let third = if path.len() >= 3 {
            format!("{}：{}", path[2], leaf.name)
        } else {
            leaf.name.clone()
        };
        sheet.write_string_with_format(row, 0, level(0), &s.text)?;
        sheet.write_string_with_format(row, 1, level(1), &s.text)?;
        sheet.write_string_with_format(row, 2, &third, &s.text)?;
        let (sense, target, actual) = leaf_values(&leaf.basis, f).map_or(
            ("—", "—".to_string(), "—".to_string()),
            |(a, b, c)| (a, b, c),
        );
        sheet.write_string_with_format(row, 3, sense, &s.text)?;
        sheet.write_string_with_format(row, 4, &target, &s.text)?;
        sheet.write_string_with_format(row, 5, &actual, &s.text)?;
        sheet.write_number_with_format(row, 6, num(leaf.weight), &s.score)?;
        sheet.write_number_with_format(row, 7, num(leaf.score), &s.score)?;
        let deviation = if leaf.deduction.0.is_zero() {
            String::new()
        } else {
            leaf.note.clone()
        };
        sheet.write_string_with_format(row, 8, &deviation, &s.text)?;
    }
    Ok(row)
}

fn districts(
    sheet: &mut Worksheet,
    chain: &ChainIdentity,
    f: &ProgramFigures,
    lang: Lang,
    s: &Styles,
) -> Result<(), XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    sheet.set_name(t("县区", "Districts"))?;
    header(
        sheet,
        0,
        &[
            (t("代码", "Code"), 9.0),
            (t("县区", "District"), 12.0),
            (t("预拨资金", "Pre-allocated"), 15.0),
            (t("支出", "Spent"), 15.0),
            (t("执行率", "Execution rate"), 11.0),
            (t("结余（负为赤字）", "Surplus (− deficit)"), 15.0),
            (t("培训人数", "Trained"), 10.0),
            (t("名单人数", "Listed"), 10.0),
            (t("决算", "Settled"), 10.0),
            (t("抵补入次年", "Offset to next year"), 15.0),
            (t("上年抵补", "Offset in"), 13.0),
            (t("净拨付", "Net transfer"), 15.0),
        ],
        s,
    )?;
    for (i, d) in f.districts.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string_with_format(row, 0, d.code.to_string(), &s.text)?;
        sheet.write_string_with_format(row, 1, &d.name, &s.text)?;
        sheet.write_number_with_format(row, 2, money(d.allocated_cny), &s.money)?;
        sheet.write_number_with_format(row, 3, money(d.spent_cny), &s.money)?;
        match d.execution_rate_percent {
            Some(rate) => sheet.write_number_with_format(row, 4, ratio(rate), &s.rate)?,
            None => sheet.write_string_with_format(row, 4, "—", &s.text)?,
        };
        sheet.write_number_with_format(row, 5, money(d.surplus_cny), &s.money)?;
        sheet.write_number_with_format(row, 6, d.trainees as f64, &s.count)?;
        sheet.write_number_with_format(row, 7, d.trainees_listed as f64, &s.count)?;
        let settled = match (&d.settlement_imposed, d.settled) {
            (Some(_), _) => t("代为决算", "imposed"),
            (None, true) => t("已决算", "settled"),
            (None, false) => t("未决算", "open"),
        };
        sheet.write_string_with_format(row, 8, settled, &s.text)?;
        let out = d.offset_out.as_ref().map_or(Money::ZERO, |o| o.surplus_cny);
        sheet.write_number_with_format(row, 9, money(out), &s.money)?;
        sheet.write_number_with_format(row, 10, money(d.offset_in_cny), &s.money)?;
        sheet.write_number_with_format(row, 11, money(d.net_transfer_cny), &s.money)?;
    }
    let total = f.districts.len() as u32 + 1;
    sheet.write_string_with_format(total, 1, t("合计", "Total"), &s.bold_text)?;
    sheet.write_number_with_format(total, 2, money(f.allocated_cny), &s.money)?;
    sheet.write_number_with_format(total, 3, money(f.spent_cny), &s.money)?;
    if let Some(rate) = f.execution_rate_percent {
        sheet.write_number_with_format(total, 4, ratio(rate), &s.rate)?;
    }
    sheet.write_number_with_format(total, 5, money(f.surplus_cny), &s.money)?;
    sheet.write_number_with_format(total, 6, f.outputs.trainees as f64, &s.count)?;
    sheet.set_freeze_panes(1, 2)?;
    print_setup(sheet, (0, 0), chain)
}

fn deadlines(
    sheet: &mut Worksheet,
    chain: &ChainIdentity,
    f: &ProgramFigures,
    lang: Lang,
    s: &Styles,
) -> Result<(), XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    sheet.set_name(t("报送时限", "Deadlines"))?;
    header(
        sheet,
        0,
        &[
            (t("代码", "Code"), 9.0),
            (t("县区", "District"), 12.0),
            (t("培训台账（10月30日）", "Training ledger (Oct 30)"), 26.0),
            (
                t("资金使用报告（11月30日）", "Fund-use report (Nov 30)"),
                26.0,
            ),
        ],
        s,
    )?;
    for (i, d) in f.districts.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string_with_format(row, 0, d.code.to_string(), &s.text)?;
        sheet.write_string_with_format(row, 1, &d.name, &s.text)?;
        sheet.write_string_with_format(row, 2, compliance(&d.training_ledger, lang).0, &s.text)?;
        sheet.write_string_with_format(row, 3, compliance(&d.fund_use_report, lang).0, &s.text)?;
    }
    sheet.set_freeze_panes(1, 2)?;
    print_setup(sheet, (0, 0), chain)
}

fn survey(
    sheet: &mut Worksheet,
    chain: &ChainIdentity,
    f: &ProgramFigures,
    lang: Lang,
    s: &Styles,
) -> Result<(), XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    sheet.set_name(t("满意度调查", "Survey"))?;
    sheet.set_column_width(0, 6)?;
    sheet.set_column_width(1, 44)?;
    let mut row = 0;
    for survey in &f.surveys {
        sheet.merge_range(
            row,
            0,
            row,
            12,
            &format!(
                "{}（{} {}）",
                survey.title,
                survey.respondents,
                t("份有效问卷", "respondents")
            ),
            &s.bold_text,
        )?;
        row += 1;
        sheet.write_string_with_format(row, 0, t("序号", "No."), &s.head)?;
        sheet.write_string_with_format(row, 1, t("问题", "Question"), &s.head)?;
        let options = survey.totals.len() as u16;
        for (i, option) in survey.totals.iter().enumerate() {
            let col = 2 + 2 * i as u16;
            sheet.write_string_with_format(
                row,
                col,
                format!("{} {}", option.code, option.label),
                &s.head,
            )?;
            sheet.write_string_with_format(row, col + 1, t("占比", "share"), &s.head)?;
            sheet.set_column_width(col, 10)?;
            sheet.set_column_width(col + 1, 9)?;
        }
        sheet.write_string_with_format(row, 2 + 2 * options, t("得分", "Score"), &s.head)?;
        for q in &survey.questions {
            row += 1;
            sheet.write_number_with_format(row, 0, q.number, &s.count)?;
            sheet.write_string_with_format(row, 1, &q.text, &s.text)?;
            for (i, option) in q.options.iter().enumerate() {
                let col = 2 + 2 * i as u16;
                sheet.write_number_with_format(row, col, option.count as f64, &s.count)?;
                sheet.write_number_with_format(
                    row,
                    col + 1,
                    ratio(option.share_percent),
                    &s.rate,
                )?;
            }
            sheet.write_number_with_format(row, 2 + 2 * options, num(q.score), &s.score)?;
        }
        row += 1;
        sheet.write_string_with_format(row, 1, t("合计", "Total"), &s.bold_text)?;
        for (i, option) in survey.totals.iter().enumerate() {
            let col = 2 + 2 * i as u16;
            sheet.write_number_with_format(row, col, option.count as f64, &s.count)?;
            sheet.write_number_with_format(row, col + 1, ratio(option.share_percent), &s.rate)?;
        }
        sheet.write_number_with_format(row, 2 + 2 * options, num(survey.score), &s.score)?;
        row += 2;
    }
    if f.surveys.is_empty() {
        sheet.write_string(0, 0, t("尚无满意度调查。", "No survey recorded yet."))?;
        return print_setup(sheet, (0, 0), chain);
    }
    // The first survey's header row (row 1) stays in view and on every page.
    sheet.set_freeze_panes(2, 2)?;
    print_setup(sheet, (1, 1), chain)
}

fn findings_sheet(
    sheet: &mut Worksheet,
    chain: &ChainIdentity,
    findings: &[Finding],
    lang: Lang,
    s: &Styles,
) -> Result<(), XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    sheet.set_name(t("审计发现", "Findings"))?;
    header(
        sheet,
        0,
        &[
            (t("代码", "Code"), 28.0),
            (t("严重程度", "Severity"), 10.0),
            (t("县区", "District"), 9.0),
            (t("说明", "Finding"), 70.0),
            (t("证据（记录序号 事件）", "Evidence (seq event)"), 40.0),
        ],
        s,
    )?;
    for (i, finding) in findings.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string_with_format(row, 0, finding.code, &s.text)?;
        sheet.write_string_with_format(row, 1, finding.severity, &s.text)?;
        sheet.write_string_with_format(
            row,
            2,
            finding.district.as_deref().unwrap_or(""),
            &s.text,
        )?;
        let text = match lang {
            Lang::Zh => &finding.zh,
            Lang::En => &finding.en,
        };
        sheet.write_string_with_format(row, 3, text, &s.text)?;
        let evidence: Vec<String> = finding
            .evidence
            .iter()
            .map(|e| format!("{} {}", e.seq, e.event_id))
            .collect();
        sheet.write_string_with_format(row, 4, evidence.join("\n"), &s.text)?;
    }
    if findings.is_empty() {
        sheet.write_string_with_format(1, 0, t("无审计发现。", "No findings."), &s.text)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    print_setup(sheet, (0, 0), chain)
}

fn chain_sheet(
    sheet: &mut Worksheet,
    chain: &ChainIdentity,
    f: &ProgramFigures,
    lang: Lang,
    s: &Styles,
) -> Result<(), XlsxError> {
    let t = |zh, en| lang.t(zh, en);
    sheet.set_name(t("账本", "Chain"))?;
    header(
        sheet,
        0,
        &[(t("项目", "Item"), 22.0), (t("内容", "Value"), 80.0)],
        s,
    )?;
    let rows = [
        (t("账本", "Ledger"), chain.name.clone()),
        (t("账本标识", "Ledger id"), chain.ledger_id.clone()),
        (t("记录数", "Records"), chain.size.to_string()),
        (t("头哈希", "Head"), chain.head.clone()),
        (
            t("已封印至", "Sealed through seq"),
            chain
                .sealed_through
                .map_or("—".to_string(), |s| s.to_string()),
        ),
        (
            t("检查点", "Checkpoint"),
            chain.checkpoint.clone().unwrap_or_else(|| "—".to_string()),
        ),
        (t("报告时点", "As of"), f.as_of.to_string()),
        (
            t("复核方法", "How to check"),
            t(
                "fundledger verify --ledger 账本目录（或 --file 导出文件 --checkpoint 检查点）",
                "fundledger verify --ledger DIR (or --file EXPORT --checkpoint NOTE)",
            )
            .to_string(),
        ),
    ];
    for (i, (label, value)) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string_with_format(row, 0, *label, &s.bold_text)?;
        sheet.write_string_with_format(row, 1, value, &s.text)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    print_setup(sheet, (0, 0), chain)
}
