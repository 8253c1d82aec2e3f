//! Reading a ledger that `serve` holds. Only one process opens a store;
//! while `serve` runs, it names itself in `<ledger>/SERVING` (its URL), and
//! the reading commands (`report`, `findings`, `sample`, `status`, `log`,
//! `export`, `verify --ledger`) read the records through it instead:
//! every record is fetched from `GET /v1/records`, verified as `import`
//! verifies an export (signatures included) into a temporary ledger, and
//! the command runs on that. The figures are the served ledger's, to its
//! newest record.

use crate::error::{CliError, CliResult};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file `serve` writes into the ledger directory while it runs.
pub const SERVING_FILE: &str = "SERVING";

/// Records asked for per request (the server's limit).
const PAGE: u64 = 10_000;

/// Names the running server in `dir` (called once it listens).
pub fn announce(dir: &Path, url: &str) {
    let _ = std::fs::write(dir.join(SERVING_FILE), format!("{url}\n"));
}

/// Removes the note (called when the server stops).
pub fn withdraw(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(SERVING_FILE));
}

/// A ledger directory to read: the given one, or a temporary copy of the
/// served ledger, removed when this is dropped.
pub struct Readable {
    path: PathBuf,
    temporary: bool,
}

impl Readable {
    /// The directory to open.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Readable {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(self.path.parent().unwrap_or(&self.path));
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// GET `url`: its status and at most `records` records' worth of body.
pub fn get(agent: &ureq::Agent, url: &str, records: u64) -> Result<(u16, Vec<u8>), String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(records * fundledger_core::limits::RECORD_BYTES_MAX as u64)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// The ledger in `dir`, or — when `serve` holds it and answers at the URL
/// in its `SERVING` note — a verified temporary copy of the records it
/// serves. A stale note (no server answers) is ignored.
pub fn readable(dir: &Path) -> CliResult<Readable> {
    let direct = Readable {
        path: dir.to_path_buf(),
        temporary: false,
    };
    let Ok(note) = std::fs::read_to_string(dir.join(SERVING_FILE)) else {
        return Ok(direct);
    };
    let base = note.trim().trim_end_matches('/').to_string();
    let agent = agent();
    let Ok((200, status)) = get(&agent, &format!("{base}/v1/status"), 1) else {
        return Ok(direct);
    };
    let status: serde_json::Value = serde_json::from_slice(&status).unwrap_or_default();
    let size = status["size"].as_u64().unwrap_or(0);
    eprintln!(
        "note: `serve` holds ledger {} and answers at {base}; reading its {size} records through it (verified as an import)",
        dir.display()
    );
    let scratch = std::env::temp_dir().join(format!(
        "fundledger-served-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| CliError::usage(format!("{}: cannot create: {e}", scratch.display())))?;
    let copy = Readable {
        path: scratch.join("ledger"),
        temporary: true,
    };
    let export = scratch.join("records.jsonl");
    let mut file = std::fs::File::create(&export)
        .map_err(|e| CliError::usage(format!("{}: cannot write: {e}", export.display())))?;
    let mut from = 0;
    while from < size {
        let url = format!("{base}/v1/records?from={from}&limit={PAGE}");
        let (code, body) =
            get(&agent, &url, PAGE).map_err(|e| CliError::usage(format!("{url}: {e}")))?;
        if code != 200 {
            return Err(CliError::usage(format!(
                "{url}: the server answered {code}"
            )));
        }
        let count = body.iter().filter(|b| **b == b'\n').count() as u64;
        if count == 0 {
            break;
        }
        file.write_all(&body)
            .map_err(|e| CliError::usage(format!("{}: cannot write: {e}", export.display())))?;
        from += count;
    }
    drop(file);
    crate::commands::import_quietly(copy.path(), &export.to_string_lossy())?;
    Ok(copy)
}
