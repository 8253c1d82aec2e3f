//! A roster's session and documents, from a small TOML or JSON file beside
//! the sheet, flags overriding it:
//!
//! ```toml
//! title = "2022年禄劝县第1期农村残疾人实用技术培训（种植）"
//! start_date = "2022-06-01"
//! end_date = "2022-06-05"
//! location = "翠华镇文化站"          # optional
//!
//! [documents]                          # the seven 台账 documents
//! training_plan = "培训方案.pdf"       # a file (digested here) …
//! trainee_roster = "3f9a…"             # … or its 64-hex BLAKE3 digest
//! # a document left out is recorded as missing (null)
//! ```

use crate::IntakeError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The seven documents of a training ledger (培训台账).
pub const DOCUMENTS: [&str; 7] = [
    "training_plan",
    "trainee_roster",
    "participant_publicity",
    "training_briefing",
    "training_summary",
    "fund_use_statement",
    "courseware",
];

/// A session, ready for the event.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// Title.
    pub title: String,
    /// First day, `YYYY-MM-DD`.
    pub start_date: String,
    /// Last day.
    pub end_date: String,
    /// Where.
    pub location: Option<String>,
    /// Each of the seven documents' digest (hex) or `None` (missing).
    pub documents: BTreeMap<String, Option<String>>,
}

/// The file's members (all optional: flags may give them).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    /// Title.
    pub title: Option<String>,
    /// First day.
    pub start_date: Option<String>,
    /// Last day.
    pub end_date: Option<String>,
    /// Where.
    pub location: Option<String>,
    /// Document name → file path or digest.
    #[serde(default)]
    pub documents: BTreeMap<String, String>,
}

/// Reads a session file (`.toml` or `.json`).
pub fn read_file(path: &Path) -> Result<SessionFile, IntakeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| IntakeError::Input(format!("--session {}: {e}", path.display())))?;
    let json = path.extension().is_some_and(|e| e == "json");
    parse_text(&text, json)
        .map_err(|e| IntakeError::Input(format!("--session {}: {e}", path.display())))
}

/// A session file's text, TOML (or JSON when `json`).
pub fn parse_text(text: &str, json: bool) -> Result<SessionFile, String> {
    if json {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// The BLAKE3 digest of a document file, as `fundledger digest` prints it.
pub fn digest_file(path: &Path) -> Result<String, IntakeError> {
    let bytes = std::fs::read(path)
        .map_err(|e| IntakeError::Input(format!("document {}: {e}", path.display())))?;
    Ok(blake3::hash(&bytes).to_hex().to_string())
}

fn is_date(text: &str) -> bool {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() && text.len() == 10
}

/// The session: the file's members, each overridden by its flag; document
/// paths are read relative to the file's directory.
pub fn resolve(
    file: Option<(&Path, SessionFile)>,
    title: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    location: Option<String>,
) -> Result<Session, IntakeError> {
    let (base, from_file) = match file {
        Some((path, f)) => (path.parent().map(Path::to_path_buf), f),
        None => (None, SessionFile::default()),
    };
    let need = |value: Option<String>, flag: &str| {
        value.ok_or_else(|| {
            IntakeError::Usage(format!(
                "the session's {flag} is missing: give --{} or put `{flag} = …` in the --session file",
                flag.replace('_', "-")
            ))
        })
    };
    let title = need(title.or(from_file.title), "title")?;
    let start_date = need(start_date.or(from_file.start_date), "start_date")?;
    let end_date = need(end_date.or(from_file.end_date), "end_date")?;
    for (flag, date) in [("start_date", &start_date), ("end_date", &end_date)] {
        if !is_date(date) {
            return Err(IntakeError::Usage(format!(
                "the session's {flag} {date:?} is not a date YYYY-MM-DD"
            )));
        }
    }
    let mut documents: BTreeMap<String, Option<String>> =
        DOCUMENTS.iter().map(|d| (d.to_string(), None)).collect();
    for (name, value) in from_file.documents {
        if !documents.contains_key(&name) {
            return Err(IntakeError::Input(format!(
                "--session: unknown document {name:?} (the seven are {})",
                DOCUMENTS.join(", ")
            )));
        }
        let is_digest = value.len() == 64
            && value
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let digest = if is_digest {
            value
        } else {
            let path = base
                .as_ref()
                .map_or_else(|| Path::new(&value).to_path_buf(), |b| b.join(&value));
            digest_file(&path)?
        };
        documents.insert(name, Some(digest));
    }
    Ok(Session {
        title,
        start_date,
        end_date,
        location: location.or(from_file.location),
        documents,
    })
}
