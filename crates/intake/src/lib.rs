//! fundledger's way in: a district's spreadsheets read, checked and
//! digested into events on the district's own machine.
//!
//! - [`grid`] reads `.xlsx`, `.xls`, `.ods` and `.csv` (UTF-8 or GB18030)
//!   into cells, keeping Excel's row and column numbers;
//! - [`columns`] finds the header row by its Chinese names or `--columns`;
//! - [`person`] reads and checks ID and certificate numbers, categories,
//!   levels, genders and names, and masks what it shows;
//! - [`roster`] turns a roster sheet into trainees (keyed digests, masked
//!   names), listing every problem;
//! - [`session`] reads a roster's session and documents from a small TOML
//!   or JSON file, and [`roster_event`] assembles the unsigned event.
//!
//! Nothing here writes a file or prints: the CLI does, and no clear ID,
//! certificate number, name or phone number ever reaches it.
#![forbid(unsafe_code)]

pub mod columns;
pub mod expenditure;
pub mod grid;
pub mod person;
pub mod roster;
pub mod session;

use serde_json::{json, Value};

/// Why a sheet could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The file, a sheet, or what it holds.
    #[error("{0}")]
    Input(String),
    /// A flag.
    #[error("{0}")]
    Usage(String),
}

/// One problem of one row: where, and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `file, sheet S, row 7, column C (身份证号)`.
    pub place: String,
    /// One sentence.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// What a roster event says besides its trainees.
#[derive(Clone, Debug)]
pub struct RosterHeader<'a> {
    /// The event's id.
    pub id: &'a str,
    /// The district's actor.
    pub actor: &'a str,
    /// When (RFC 3339).
    pub at: &'a str,
    /// The program.
    pub program: &'a str,
    /// The district's GB/T 2260 code.
    pub district_code: &'a str,
    /// The township.
    pub township: &'a str,
    /// The session and documents.
    pub session: &'a session::Session,
    /// The commitment to the digest secret (hex).
    pub commitment: &'a str,
}

/// The unsigned `roster_filed` event.
pub fn roster_event(header: &RosterHeader<'_>, trainees: Vec<Value>) -> Value {
    let s = header.session;
    let mut session = json!({"title": s.title, "start_date": s.start_date, "end_date": s.end_date});
    if let Some(location) = &s.location {
        session["location"] = json!(location);
    }
    json!({
        "id": header.id,
        "actor": header.actor,
        "kind": "roster_filed",
        "at": header.at,
        "body": {
            "program": header.program,
            "district_code": header.district_code,
            "township": header.township,
            "session": session,
            "trainees": trainees,
            "documents": s.documents,
            "person_digest_commitment": header.commitment,
        }
    })
}

/// A program file (TOML, as `fundledger program template` prints) as the
/// `program_opened` body it holds.
pub fn program_body(toml_text: &str) -> Result<Value, IntakeError> {
    toml::from_str(toml_text).map_err(|e| IntakeError::Input(e.to_string()))
}
