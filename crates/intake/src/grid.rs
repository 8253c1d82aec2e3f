//! A sheet as a grid of cells: `.xlsx`, `.xlsm`, `.xls`, `.ods` (calamine)
//! or `.csv` (UTF-8, with or without a byte-order mark, or GB18030 as
//! Chinese Excel writes it). Rows and columns keep the numbers the clerk
//! sees in Excel (row 1, column A), whatever empty rows the file skips.

use crate::IntakeError;
use calamine::{Data, Reader};
use std::path::Path;

/// One cell, as the file holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Nothing, or only spaces.
    Empty,
    /// Text.
    Text(String),
    /// A number (Excel keeps every number as a 64-bit float).
    Number(f64),
    /// TRUE or FALSE.
    Bool(bool),
    /// A date, as the file shows it (`2022-06-01`).
    Date(String),
}

impl Cell {
    /// True for an empty cell or one of spaces only.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as text (numbers without a needless `.0`).
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(text) | Cell::Date(text) => text.trim().to_string(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        }
    }
}

/// A sheet's cells, row by row.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The file's name, as errors show it.
    pub file: String,
    /// The sheet's name (`None` for a CSV file, which has one).
    pub sheet: Option<String>,
    /// `rows[i][j]` is the cell of row `i + 1`, column `j + 1`.
    pub rows: Vec<Vec<Cell>>,
}

impl Grid {
    /// The cell at a 0-based row and column (empty past the end).
    pub fn cell(&self, row: usize, column: usize) -> &Cell {
        self.rows
            .get(row)
            .and_then(|r| r.get(column))
            .unwrap_or(&Cell::Empty)
    }

    /// Where a cell is, as a clerk finds it: `file, sheet S, row 7, column C`.
    pub fn place(&self, row: usize, column: Option<usize>) -> String {
        let mut place = self.file.clone();
        if let Some(sheet) = &self.sheet {
            place.push_str(&format!(", sheet {sheet}"));
        }
        place.push_str(&format!(", row {}", row + 1));
        if let Some(column) = column {
            place.push_str(&format!(", column {}", column_letters(column)));
        }
        place
    }
}

/// `0` → `A`, `25` → `Z`, `26` → `AA`.
pub fn column_letters(column: usize) -> String {
    let mut n = column + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// The column of letters such as `C` or `AB` (`None` if not letters).
pub fn column_of_letters(text: &str) -> Option<usize> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let n = text.bytes().fold(0usize, |n, b| {
        n * 26 + usize::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    Some(n - 1)
}

/// Every sheet of the file at `path` (one for a CSV file), in file order.
pub fn read_grids(path: &Path) -> Result<Vec<Grid>, IntakeError> {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "csv" | "txt" => Ok(vec![read_csv(path, file)?]),
        "xlsx" | "xlsm" | "xls" | "ods" | "xlsb" => read_workbook(path, file),
        _ => Err(IntakeError::Input(format!(
            "{file}: not a spreadsheet this tool reads (.xlsx, .xls, .ods or .csv)"
        ))),
    }
}

fn read_workbook(path: &Path, file: String) -> Result<Vec<Grid>, IntakeError> {
    let mut workbook = calamine::open_workbook_auto(path)
        .map_err(|e| IntakeError::Input(format!("{file}: cannot be read as a workbook: {e}")))?;
    let mut grids = Vec::new();
    for sheet in workbook.sheet_names() {
        let range = workbook.worksheet_range(&sheet).map_err(|e| {
            IntakeError::Input(format!("{file}, sheet {sheet}: cannot be read: {e}"))
        })?;
        let (first_row, first_column) = range.start().unwrap_or((0, 0));
        let mut rows = vec![Vec::new(); first_row as usize];
        for row in range.rows() {
            let mut cells = vec![Cell::Empty; first_column as usize];
            cells.extend(row.iter().map(cell_of));
            rows.push(cells);
        }
        grids.push(Grid {
            file: file.clone(),
            sheet: Some(sheet),
            rows,
        });
    }
    Ok(grids)
}

fn cell_of(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(text) => Cell::Text(text.clone()),
        Data::Float(n) => Cell::Number(*n),
        Data::Int(n) => Cell::Number(*n as f64),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => {
            // Excel counts days from 1899-12-30 (the 1900 system).
            let serial = d.as_f64();
            let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("a date");
            match epoch.checked_add_signed(chrono::Duration::days(serial.floor() as i64)) {
                Some(date) => Cell::Date(date.to_string()),
                _ => Cell::Number(serial),
            }
        }
        Data::DateTimeIso(text) | Data::DurationIso(text) => Cell::Date(text.clone()),
        Data::Error(e) => Cell::Text(format!("#{e:?}")),
    }
}

/// A CSV file's text: UTF-8 (a byte-order mark dropped), else GB18030.
pub fn decode_csv_bytes(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

fn read_csv(path: &Path, file: String) -> Result<Grid, IntakeError> {
    let bytes = std::fs::read(path).map_err(|e| IntakeError::Input(format!("{file}: {e}")))?;
    csv_grid(file, &bytes)
}

/// The grid of a CSV file's bytes (UTF-8 or GB18030), named `file`.
pub fn csv_grid(file: String, bytes: &[u8]) -> Result<Grid, IntakeError> {
    let text = decode_csv_bytes(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            IntakeError::Input(format!("{file}, row {}: not valid CSV: {e}", n + 1))
        })?;
        // The reader skips empty lines (a record's position is where it
        // began reading, before them); Excel counts them as rows.
        let line = record.position().map_or(rows.len() + 1, |p| {
            let mut line = p.line() as usize;
            let mut at = p.byte() as usize;
            let bytes = text.as_bytes();
            while let Some(skip) = [&b"\r\n"[..], &b"\n"[..]]
                .iter()
                .find(|eol| bytes[at.min(bytes.len())..].starts_with(eol))
            {
                at += skip.len();
                line += 1;
            }
            line
        });
        while rows.len() + 1 < line {
            rows.push(Vec::new());
        }
        rows.push(
            record
                .iter()
                .map(|field| {
                    if field.trim().is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(field.to_string())
                    }
                })
                .collect(),
        );
    }
    Ok(Grid {
        file,
        sheet: None,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_as_excel_names_them() {
        for (n, letters) in [
            (0, "A"),
            (2, "C"),
            (25, "Z"),
            (26, "AA"),
            (27, "AB"),
            (701, "ZZ"),
        ] {
            assert_eq!(column_letters(n), letters);
            assert_eq!(column_of_letters(letters), Some(n));
        }
        assert_eq!(column_of_letters("身份证"), None);
    }

    #[test]
    fn csv_text_is_utf8_or_gb18030() {
        let text = "姓名,身份证号\n张三,1\n";
        let (gb, _, _) = encoding_rs::GB18030.encode(text);
        assert_eq!(decode_csv_bytes(&gb), text);
        assert_eq!(decode_csv_bytes(format!("\u{feff}{text}").as_bytes()), text);
    }
}
