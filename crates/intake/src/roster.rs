//! A roster sheet (花名册) to the trainees of a `roster_filed` event: every
//! row checked, every problem named, each person digested with the
//! program's secret and their name masked. No clear number leaves here.

use crate::columns::{self, Columns, Field};
use crate::grid::Grid;
use crate::person::{self, mask_name, ResidentId};
use crate::{IntakeError, Problem};
use fundledger_core::crypto::person_digest;
use serde_json::{json, Value};
use std::collections::HashMap;

/// How to read a roster sheet.
#[derive(Clone, Debug, Default)]
pub struct RosterOptions {
    /// The township the roster is for; a township column must agree.
    pub township: String,
    /// `--columns`: fields to header names or column letters.
    pub mapping: Vec<(Field, String)>,
    /// The sheet to read (default: the first with a roster header).
    pub sheet: Option<String>,
    /// Every trainee signed (when the sheet has no signature column).
    pub all_signed: bool,
}

/// The trainees of a sheet, and the rows that could not be taken.
#[derive(Clone, Debug)]
pub struct PreparedRoster {
    /// The sheet read.
    pub sheet: Option<String>,
    /// The trainees, in row order, as the event's `trainees` array holds them.
    pub trainees: Vec<Value>,
    /// Every problem, one per line, in row order.
    pub problems: Vec<Problem>,
    /// Rows with at least one problem.
    pub bad_rows: usize,
}

/// Reads the trainees of the roster sheet among `grids`.
pub fn prepare(
    grids: &[Grid],
    digest_secret: &[u8],
    options: &RosterOptions,
) -> Result<PreparedRoster, IntakeError> {
    let required = [Field::Name, Field::ResidentId];
    let found = columns::locate(grids, options.sheet.as_deref(), &required, &options.mapping);
    let Some((grid, columns)) = found else {
        let file = grids.first().map_or("the file", |g| g.file.as_str());
        return Err(IntakeError::Input(match &options.sheet {
            Some(sheet) if !grids.iter().any(|g| g.sheet.as_ref() == Some(sheet)) => {
                format!("{file} has no sheet named {sheet:?}")
            }
            _ => format!(
                "{file}: no sheet has a header row naming 姓名 and 身份证号 (or a variant) in its first 30 rows; name the columns with --columns name=…,id=…"
            ),
        }));
    };
    if columns.get(Field::Signed).is_none() && !options.all_signed {
        return Err(IntakeError::Input(format!(
            "{}: the sheet has no 签名 (signature) column; add one, or say --all-signed if every trainee signed the paper roster",
            grid.place(columns.header_row, None)
        )));
    }
    let mut reader = RowReader {
        grid,
        columns: &columns,
        options,
        seen: HashMap::new(),
        problems: Vec::new(),
    };
    let mut trainees = Vec::new();
    let mut bad_rows = 0;
    for row in columns.header_row + 1..grid.rows.len() {
        let before = reader.problems.len();
        if let Some(trainee) = reader.row(row, digest_secret) {
            trainees.push(trainee);
        } else if reader.problems.len() > before {
            bad_rows += 1;
        }
    }
    Ok(PreparedRoster {
        sheet: grid.sheet.clone(),
        trainees,
        problems: reader.problems,
        bad_rows,
    })
}

struct RowReader<'a> {
    grid: &'a Grid,
    columns: &'a Columns,
    options: &'a RosterOptions,
    /// Each person's first row.
    seen: HashMap<ResidentId, usize>,
    problems: Vec<Problem>,
}

impl RowReader<'_> {
    fn cell(&self, row: usize, field: Field) -> &crate::grid::Cell {
        match self.columns.get(field) {
            Some(column) => self.grid.cell(row, column),
            None => &crate::grid::Cell::Empty,
        }
    }

    fn problem(&mut self, row: usize, field: Field, message: String) {
        let column = self.columns.get(field);
        let header = column
            .map(|c| self.grid.cell(self.columns.header_row, c).text())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| field.header().to_string());
        let place = match column {
            Some(c) => format!("{} ({header})", self.grid.place(row, Some(c))),
            None => self.grid.place(row, None),
        };
        self.problems.push(Problem { place, message });
    }

    /// One row: its trainee, or `None` (a blank row, or one with problems,
    /// which are recorded).
    fn row(&mut self, row: usize, secret: &[u8]) -> Option<Value> {
        let name_cell = self.cell(row, Field::Name).clone();
        let id_cell = self.cell(row, Field::ResidentId).clone();
        if name_cell.is_blank() && id_cell.is_blank() {
            return None; // a blank row, or a note under the table
        }
        let before = self.problems.len();
        let name = mask_name(&name_cell.text());
        if name.is_none() {
            self.problem(
                row,
                Field::Name,
                "the name is blank; fill it in".to_string(),
            );
        }
        let id = match person::resident_id(&id_cell) {
            Ok(id) => Some(id),
            Err(message) => {
                self.problem(row, Field::ResidentId, message);
                None
            }
        };
        let (category, level) = self.category_and_level(row, id.as_ref());
        if let Some(id) = &id {
            if let Err(message) = person::gender_matches(self.cell(row, Field::Gender), id) {
                self.problem(row, Field::Gender, message);
            }
            if let Some(first) = self.seen.get(id) {
                let message = format!(
                    "the same person ({}) as row {}; a roster lists each trainee once",
                    person::mask_id(id.as_str()),
                    first + 1
                );
                self.problem(row, Field::ResidentId, message);
            } else {
                self.seen.insert(id.clone(), row);
            }
        }
        self.check_township(row);
        let signed = match self.columns.get(Field::Signed) {
            Some(_) => person::signed(self.cell(row, Field::Signed)),
            None => self.options.all_signed,
        };
        if self.problems.len() > before {
            return None;
        }
        let (id, name, category, level) = (id?, name?, category?, level?);
        Some(json!({
            "person_digest": person_digest(secret, id.as_str()).to_hex(),
            "name_masked": name,
            "disability_category": category,
            "disability_level": level,
            "signed": signed,
        }))
    }

    /// The category and level from their columns and the certificate
    /// number, which must agree.
    fn category_and_level(
        &mut self,
        row: usize,
        id: Option<&ResidentId>,
    ) -> (Option<u8>, Option<u8>) {
        let has = |field| self.columns.get(field).is_some();
        let from_certificate = match (id, has(Field::Certificate)) {
            (Some(id), true) if !self.cell(row, Field::Certificate).is_blank() => {
                match person::certificate(self.cell(row, Field::Certificate), id) {
                    Ok(pair) => Some(pair),
                    Err(message) => {
                        self.problem(row, Field::Certificate, message);
                        return (None, None);
                    }
                }
            }
            _ => None,
        };
        let mut read = |field: Field,
                        parse: fn(&crate::grid::Cell) -> Result<u8, String>,
                        certified: Option<u8>| {
            if !has(field) || (self.cell(row, field).is_blank() && certified.is_some()) {
                if certified.is_none() {
                    let message = format!(
                        "no {} here and no certificate number to read it from; fill in the {} column",
                        field.header(),
                        field.header()
                    );
                    self.problem(row, field, message);
                }
                return certified;
            }
            match parse(self.cell(row, field)) {
                Ok(value) if certified.is_some_and(|c| c != value) => {
                    let message = format!(
                        "{} {value} contradicts the certificate number, which says {}",
                        field.header(),
                        certified.expect("some")
                    );
                    self.problem(row, field, message);
                    None
                }
                Ok(value) => Some(value),
                Err(message) => {
                    self.problem(row, field, message);
                    None
                }
            }
        };
        let category = read(
            Field::Category,
            person::category,
            from_certificate.map(|c| c.0),
        );
        let level = read(Field::Level, person::level, from_certificate.map(|c| c.1));
        (category, level)
    }

    fn check_township(&mut self, row: usize) {
        let cell = self.cell(row, Field::Township);
        if cell.is_blank() {
            return;
        }
        let township = cell.text();
        if columns::normal(&township) != columns::normal(&self.options.township) {
            let message = format!(
                "township {:?} is not {:?}: a roster is one township's; split the sheet or fix the cell",
                person::shown(&township),
                self.options.township
            );
            self.problem(row, Field::Township, message);
        }
    }
}
