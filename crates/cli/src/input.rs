//! Reading events and submissions from a file or standard input, keeping
//! where each came from so errors can name the line.

use crate::error::{CliError, CliResult};
use fundledger_core::limits::{BATCH_BYTES_MAX, BATCH_EVENTS_MAX};
use serde_json::Value;
use std::io::Read;

/// One JSON value from the input, and where it started.
pub struct Located {
    /// "input FILE, line N" or "input FILE, item N".
    pub location: String,
    /// The value.
    pub value: Value,
}

/// Reads FILE (or `-` for standard input) whole, within the batch byte limit.
pub fn read_source(path: &str) -> CliResult<(String, String)> {
    let name = if path == "-" {
        "<stdin>".to_string()
    } else {
        path.to_string()
    };
    let mut bytes = Vec::new();
    let result = if path == "-" {
        std::io::stdin()
            .take(BATCH_BYTES_MAX as u64 + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(BATCH_BYTES_MAX as u64 + 1).read_to_end(&mut bytes))
    };
    result.map_err(|e| CliError::usage(format!("input {name}: cannot read: {e}")))?;
    if bytes.len() > BATCH_BYTES_MAX {
        return Err(CliError::rejected(format!(
            "input {name}: larger than the batch limit of {BATCH_BYTES_MAX} bytes; split it"
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| CliError::rejected(format!("input {name}: not UTF-8 ({e})")))?;
    Ok((name, text))
}

/// Parses a JSON array, a single object, or JSON Lines (one value per line).
pub fn parse_values(name: &str, text: &str) -> CliResult<Vec<Located>> {
    let trimmed = text.trim_start();
    let mut out = Vec::new();
    if trimmed.starts_with('[') {
        let items: Vec<Value> = serde_json::from_str(text).map_err(|e| {
            CliError::rejected(format!(
                "input {name}, line {}: not valid JSON: {e}",
                e.line()
            ))
        })?;
        for (index, value) in items.into_iter().enumerate() {
            out.push(Located {
                location: format!("input {name}, item {}", index + 1),
                value,
            });
        }
    } else {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        // Lines are counted from where the last value started, not from the
        // top of the input: reading stays linear in its size.
        let (mut counted_to, mut line) = (0, 1);
        loop {
            let start = stream.byte_offset();
            match stream.next() {
                None => break,
                Some(Ok(value)) => {
                    let skipped = text[start..].len() - text[start..].trim_start().len();
                    line +=
                        memchr::memchr_iter(b'\n', &text.as_bytes()[counted_to..start + skipped])
                            .count();
                    counted_to = start + skipped;
                    out.push(Located {
                        location: format!("input {name}, line {line}"),
                        value,
                    });
                    // Past the batch limit: stop reading, say so.
                    if out.len() > BATCH_EVENTS_MAX {
                        return Err(CliError::rejected(format!(
                            "input {name}: more than the batch limit of {BATCH_EVENTS_MAX} events (stopped reading at event {}, line {line}); split it",
                            out.len()
                        )));
                    }
                }
                Some(Err(e)) => {
                    return Err(CliError::rejected(format!(
                        "input {name}, line {}: not valid JSON: {e}",
                        e.line()
                    )))
                }
            }
        }
    }
    if out.is_empty() {
        return Err(CliError::rejected(format!("input {name}: holds no events")));
    }
    if out.len() > BATCH_EVENTS_MAX {
        return Err(CliError::rejected(format!(
            "input {name}: {} events, more than the batch limit of {BATCH_EVENTS_MAX}; split it",
            out.len()
        )));
    }
    Ok(out)
}

/// Reads and parses in one step.
pub fn read_values(path: &str) -> CliResult<Vec<Located>> {
    let (name, text) = read_source(path)?;
    parse_values(&name, &text)
}
