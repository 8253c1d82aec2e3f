//! RFC 8785 (JSON Canonicalization Scheme) for ledger data.
//!
//! Ledger data holds no JSON floats, so the one hard part of JCS — number
//! serialisation — reduces to integers, which are written in plain decimal.
//! A non-integer number, or an integer of magnitude 2^53 or more, is refused:
//! it cannot appear in a valid record. Object members are sorted by their
//! names' UTF-16 code units; strings are escaped exactly as ECMAScript's
//! `JSON.stringify` does; there is no whitespace.

use serde_json::Value;

/// The largest integer magnitude that JCS (IEEE 754 doubles) represents exactly, plus one.
pub const INTEGER_LIMIT: u64 = 1 << 53;

/// A value that has no canonical form in ledger data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {path}: {problem}")]
pub struct JcsError {
    /// Dotted path to the value, e.g. `event.body.amount_cny`.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

/// The canonical bytes of `value`.
pub fn canonical_bytes(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out).map_err(|mut e| {
        if e.path.is_empty() {
            e.path = "(top level)".to_string();
        }
        e
    })?;
    Ok(out)
}

/// Puts `step` (a member name, or `[i]`) in front of the error's path: the
/// path is written only for an error, on the way out.
fn within(mut error: JcsError, step: &str) -> JcsError {
    error.path = if error.path.is_empty() {
        step.to_string()
    } else if error.path.starts_with('[') {
        format!("{step}{}", error.path)
    } else {
        format!("{step}.{}", error.path)
    };
    error
}

/// RFC 8785 orders member names by UTF-16 code units; for ASCII names that
/// is byte order.
fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            if let Some(u) = number.as_u64().filter(|u| *u < INTEGER_LIMIT) {
                write_integer(u, false, out);
            } else if let Some(i) = number.as_i64().filter(|i| i.unsigned_abs() < INTEGER_LIMIT) {
                write_integer(i.unsigned_abs(), i < 0, out);
            } else {
                return Err(JcsError {
                    path: String::new(),
                    problem: format!(
                        "numbers must be integers below 2^53 (money is a string such as \"30000.00\"), got {number}"
                    ),
                });
            }
        }
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(item, out).map_err(|e| within(e, &format!("[{index}]")))?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            let mut names: Vec<&String> = members.keys().collect();
            names.sort_by(|a, b| utf16_order(a, b));
            out.push(b'{');
            for (index, name) in names.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                write_value(&members[name], out).map_err(|e| within(e, name))?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Plain decimal, without allocating.
fn write_integer(magnitude: u64, negative: bool, out: &mut Vec<u8>) {
    if negative {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = magnitude;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    // Only `"`, `\` and controls below 0x20 are escaped; everything else,
    // multi-byte UTF-8 included, is copied as it is, a run at a time.
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{:04x}", b).as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: Value, expect: &str) {
        let got = String::from_utf8(canonical_bytes(&value).unwrap()).unwrap();
        assert_eq!(got, expect);
    }

    #[test]
    fn sorts_escapes_and_strips_whitespace() {
        check(
            json!({"b": 1, "a": [true, null, "x"]}),
            r#"{"a":[true,null,"x"],"b":1}"#,
        );
        check(json!("\u{1}\n\"\\é€"), "\"\\u0001\\n\\\"\\\\é€\"");
        check(json!(-9007199254740991i64), "-9007199254740991");
        // RFC 8785 §3.2.3: sorting is by UTF-16 code units, so U+1F600 (a
        // surrogate pair, 0xD83D...) sorts before U+FB33 (0xFB33).
        check(
            json!({"\u{fb33}": 1, "\u{1f600}": 2}),
            "{\"\u{1f600}\":2,\"\u{fb33}\":1}",
        );
        // "\u{7f}" is not a control character for JSON: left literal.
        check(json!("\u{7f}"), "\"\u{7f}\"");
    }

    #[test]
    fn refuses_floats_and_huge_integers() {
        let err = canonical_bytes(&json!({"body": {"amount_cny": 1.5}})).unwrap_err();
        assert_eq!(err.path, "body.amount_cny");
        assert!(canonical_bytes(&json!(9007199254740992u64)).is_err());
        let parsed: Value = serde_json::from_str(r#"{"x": 1e3}"#).unwrap();
        assert!(canonical_bytes(&parsed).is_err());
    }
}
