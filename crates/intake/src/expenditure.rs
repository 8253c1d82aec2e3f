//! A spending sheet (支出明细) to `expenditure_reported` events, one per
//! row (the schema holds one amount and its purpose): the date, the amount
//! (text or number, to the fen — a float artefact such as 29999.999999 or
//! a fraction of a fen is refused), the purpose (摘要) with its voucher
//! number (凭证号) and payee category, and the roster it paid for. A total
//! line (合计/总计/小计), if present, must equal the sum of the rows.

use crate::columns::{self, Columns, Field};
use crate::grid::{Cell, Grid};
use crate::{IntakeError, Problem};
use rust_decimal::Decimal;
use std::str::FromStr;

/// How to read a spending sheet.
#[derive(Clone, Debug, Default)]
pub struct SpendingOptions {
    /// `--columns`.
    pub mapping: Vec<(Field, String)>,
    /// The sheet to read.
    pub sheet: Option<String>,
}

/// One spending row, ready for its event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendingRow {
    /// Its row (1-based, as Excel shows it).
    pub row: usize,
    /// The day the money was spent, if the sheet says.
    pub date: Option<chrono::NaiveDate>,
    /// The amount, with exactly two decimals.
    pub amount_cny: String,
    /// 摘要, with the voucher number and payee category.
    pub purpose: String,
    /// The roster it paid for (an event id).
    pub roster_event_id: Option<String>,
}

/// The rows of a spending sheet, and its problems.
#[derive(Clone, Debug)]
pub struct PreparedSpending {
    /// The sheet read.
    pub sheet: Option<String>,
    /// Rows without problems.
    pub rows: Vec<SpendingRow>,
    /// Every problem, one per line.
    pub problems: Vec<Problem>,
    /// Rows with a problem.
    pub bad_rows: usize,
    /// The sum of every amount read, in fen-exact decimals.
    pub total: Decimal,
}

/// An amount to the fen: a number cell (whole fen, or refused as a float
/// artefact) or text (`1,234.50`, `￥1234.5`, `1234.50元`).
pub fn amount(cell: &Cell) -> Result<Decimal, String> {
    let value = match cell {
        Cell::Empty => return Err("the amount is blank; fill it in".to_string()),
        Cell::Number(n) => {
            let fen = (n * 100.0).round();
            if (n * 100.0 - fen).abs() > 1e-6 || !n.is_finite() {
                return Err(format!(
                    "{n} is not a whole number of fen (分): the cell holds a fraction of a fen or a float artefact of a formula; type the amount with at most two decimals"
                ));
            }
            Decimal::new(fen as i64, 2)
        }
        other => {
            let text: String = other
                .text()
                .chars()
                .filter(|c| !matches!(c, ',' | '，' | ' ' | '￥' | '¥' | '元'))
                .collect();
            let value = Decimal::from_str(&text)
                .map_err(|_| format!("{:?} is not an amount (e.g. 1234.50)", other.text()))?;
            if value.scale() > 2 && value.normalize().scale() > 2 {
                return Err(format!(
                    "{text} has a fraction of a fen (分); amounts have at most two decimals"
                ));
            }
            value
        }
    };
    if value <= Decimal::ZERO {
        return Err(format!("{value} is not a positive amount"));
    }
    let mut value = value;
    value.rescale(2);
    Ok(value)
}

/// A date: a date cell, `2022-06-01`, `2022/6/1`, `2022.6.1`, `2022年6月1日`, `20220601`.
pub fn date(cell: &Cell) -> Result<chrono::NaiveDate, String> {
    let text = cell.text();
    let plain: String = text
        .replace(['年', '月', '/', '.'], "-")
        .replace('日', "")
        .trim()
        .to_string();
    let plain = plain.split(' ').next().unwrap_or("").to_string();
    chrono::NaiveDate::parse_from_str(&plain, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(&plain, "%Y%m%d"))
        .map_err(|_| format!("{text:?} is not a date (e.g. 2022-06-01)"))
}

fn is_total(grid: &Grid, row: usize, columns: &Columns) -> bool {
    let purpose = columns
        .get(Field::Purpose)
        .map(|c| grid.cell(row, c).text());
    let first = grid.cell(row, 0).text();
    [purpose.unwrap_or_default(), first].iter().any(|t| {
        ["合计", "总计", "小计", "本页合计"]
            .iter()
            .any(|w| t.replace(' ', "").starts_with(w))
    })
}

/// Reads the spending rows of the sheet among `grids`.
pub fn prepare(grids: &[Grid], options: &SpendingOptions) -> Result<PreparedSpending, IntakeError> {
    let required = [Field::Amount, Field::Purpose];
    let found = columns::locate(grids, options.sheet.as_deref(), &required, &options.mapping);
    let Some((grid, columns)) = found else {
        let file = grids.first().map_or("the file", |g| g.file.as_str());
        return Err(IntakeError::Input(format!(
            "{file}: no sheet has a header row naming 金额 and 摘要 (or a variant) in its first 30 rows; name the columns with --columns amount=…,purpose=…"
        )));
    };
    let mut out = PreparedSpending {
        sheet: grid.sheet.clone(),
        rows: Vec::new(),
        problems: Vec::new(),
        bad_rows: 0,
        total: Decimal::ZERO,
    };
    let mut total_line: Option<(usize, Decimal)> = None;
    for row in columns.header_row + 1..grid.rows.len() {
        let cell = |field: Field| {
            columns
                .get(field)
                .map_or(&Cell::Empty, |c| grid.cell(row, c))
        };
        if grid.rows[row].iter().all(Cell::is_blank) {
            continue;
        }
        let place = |field: Field| {
            let column = columns.get(field);
            let header = column
                .map(|c| grid.cell(columns.header_row, c).text())
                .unwrap_or_default();
            format!("{} ({header})", grid.place(row, column))
        };
        if is_total(grid, row, &columns) {
            match amount(cell(Field::Amount)) {
                Ok(value) => total_line = Some((row, value)),
                Err(message) => out.problems.push(Problem {
                    place: place(Field::Amount),
                    message,
                }),
            }
            continue;
        }
        let before = out.problems.len();
        let value = amount(cell(Field::Amount));
        if let Ok(value) = &value {
            out.total += *value;
        }
        let mut problem = |field: Field, message: String| {
            out.problems.push(Problem {
                place: place(field),
                message,
            })
        };
        let value = value.map_err(|m| problem(Field::Amount, m)).ok();
        let when = match columns.get(Field::Date) {
            Some(_) => date(cell(Field::Date))
                .map(Some)
                .map_err(|m| problem(Field::Date, m))
                .ok()
                .flatten(),
            None => None,
        };
        let summary = cell(Field::Purpose).text();
        if summary.is_empty() {
            problem(
                Field::Purpose,
                "the purpose (摘要) is blank; fill it in".to_string(),
            );
        }
        let roster = cell(Field::RosterReference).text();
        if !roster.is_empty() && !fundledger_core::ids::is_valid_id(&roster) {
            problem(
                Field::RosterReference,
                format!("{roster:?} is not a roster's event id (letters, digits and . _ : - only)"),
            );
        }
        if out.problems.len() > before {
            out.bad_rows += 1;
            continue;
        }
        let mut purpose = summary;
        let voucher = cell(Field::Voucher).text();
        if !voucher.is_empty() {
            purpose.push_str(&format!("（凭证 {voucher}）"));
        }
        let payee = cell(Field::PayeeCategory).text();
        if !payee.is_empty() {
            purpose.push_str(&format!("［{payee}］"));
        }
        out.rows.push(SpendingRow {
            row: row + 1,
            date: when,
            amount_cny: value.expect("checked").to_string(),
            purpose: purpose.chars().take(500).collect(),
            roster_event_id: (!roster.is_empty()).then_some(roster),
        });
    }
    if let Some((row, stated)) = total_line {
        if stated != out.total && out.bad_rows == 0 {
            let column = columns.get(Field::Amount);
            out.problems.push(Problem {
                place: format!("{} (total)", grid.place(row, column)),
                message: format!(
                    "the total line says {stated} but the rows sum to {}; check the rows and the total",
                    out.total
                ),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_taken_to_the_fen_and_no_further() {
        let t = |s: &str| Cell::Text(s.to_string());
        assert_eq!(
            amount(&Cell::Number(30000.0)).unwrap().to_string(),
            "30000.00"
        );
        assert_eq!(
            amount(&Cell::Number(1234.5)).unwrap().to_string(),
            "1234.50"
        );
        assert!(amount(&Cell::Number(29999.999999))
            .unwrap_err()
            .contains("float artefact"));
        assert_eq!(amount(&t("￥1,234.5元")).unwrap().to_string(), "1234.50");
        assert_eq!(amount(&t("12.300")).unwrap().to_string(), "12.30");
        assert!(amount(&t("12.345"))
            .unwrap_err()
            .contains("fraction of a fen"));
        assert!(amount(&t("-5")).is_err());
        assert_eq!(date(&t("2022年6月1日")).unwrap().to_string(), "2022-06-01");
        assert_eq!(date(&t("2022/6/1")).unwrap().to_string(), "2022-06-01");
        assert_eq!(
            date(&Cell::Date("2022-06-01".into())).unwrap().to_string(),
            "2022-06-01"
        );
        assert!(date(&t("2022-02-30")).is_err());
    }
}
