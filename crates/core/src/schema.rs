//! The event body schemas (`schemas/events/<kind>.schema.json`, JSON Schema
//! 2020-12), compiled in at build time and checked at every append and verify.

use crate::kind::EventKind;
use serde_json::Value;
use std::sync::OnceLock;

/// The schema text of every kind, in [`EventKind::ALL`] order.
pub const SCHEMA_SOURCES: [(&str, &str); 21] = [
    (
        "ledger_opened",
        include_str!("../../../schemas/events/ledger_opened.schema.json"),
    ),
    (
        "actor_enrolled",
        include_str!("../../../schemas/events/actor_enrolled.schema.json"),
    ),
    (
        "actor_revoked",
        include_str!("../../../schemas/events/actor_revoked.schema.json"),
    ),
    (
        "program_opened",
        include_str!("../../../schemas/events/program_opened.schema.json"),
    ),
    (
        "budget_approved",
        include_str!("../../../schemas/events/budget_approved.schema.json"),
    ),
    (
        "funds_received",
        include_str!("../../../schemas/events/funds_received.schema.json"),
    ),
    (
        "allocation_made",
        include_str!("../../../schemas/events/allocation_made.schema.json"),
    ),
    (
        "roster_filed",
        include_str!("../../../schemas/events/roster_filed.schema.json"),
    ),
    (
        "expenditure_reported",
        include_str!("../../../schemas/events/expenditure_reported.schema.json"),
    ),
    (
        "fund_use_reported",
        include_str!("../../../schemas/events/fund_use_reported.schema.json"),
    ),
    (
        "settlement_filed",
        include_str!("../../../schemas/events/settlement_filed.schema.json"),
    ),
    (
        "offset_applied",
        include_str!("../../../schemas/events/offset_applied.schema.json"),
    ),
    (
        "survey_recorded",
        include_str!("../../../schemas/events/survey_recorded.schema.json"),
    ),
    (
        "indicator_scored",
        include_str!("../../../schemas/events/indicator_scored.schema.json"),
    ),
    (
        "spot_check_recorded",
        include_str!("../../../schemas/events/spot_check_recorded.schema.json"),
    ),
    (
        "event_reversed",
        include_str!("../../../schemas/events/event_reversed.schema.json"),
    ),
    (
        "ledger_sealed",
        include_str!("../../../schemas/events/ledger_sealed.schema.json"),
    ),
    (
        "budget_adjusted",
        include_str!("../../../schemas/events/budget_adjusted.schema.json"),
    ),
    (
        "settlement_imposed",
        include_str!("../../../schemas/events/settlement_imposed.schema.json"),
    ),
    (
        "program_closed",
        include_str!("../../../schemas/events/program_closed.schema.json"),
    ),
    (
        "spot_check_planned",
        include_str!("../../../schemas/events/spot_check_planned.schema.json"),
    ),
];

fn validators() -> &'static Vec<jsonschema::Validator> {
    static VALIDATORS: OnceLock<Vec<jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        EventKind::ALL
            .iter()
            .zip(SCHEMA_SOURCES.iter())
            .map(|(kind, (name, source))| {
                assert_eq!(
                    kind.as_str(),
                    *name,
                    "SCHEMA_SOURCES is in EventKind::ALL order"
                );
                let schema: Value = serde_json::from_str(source).expect("schemas are valid JSON");
                jsonschema::draft202012::new(&schema).expect("schemas compile")
            })
            .collect()
    })
}

/// A body that breaks its kind's schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {path}: {problem}")]
pub struct SchemaError {
    /// Dotted path, e.g. `body.trainees[2].person_digest`.
    pub path: String,
    /// What is wrong, in words.
    pub problem: String,
}

/// Checks `body` against the schema of `kind`; reports the first violation.
pub fn validate_body(kind: EventKind, body: &Value) -> Result<(), SchemaError> {
    let index = EventKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL");
    let validator = &validators()[index];
    // The quick yes/no first; the error, with its path, only for a no.
    if validator.is_valid(body) {
        return Ok(());
    }
    let Some(error) = validator.iter_errors(body).next() else {
        return Ok(());
    };
    let mut path = String::from("body");
    for segment in error.instance_path().as_str().split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str(&format!("[{segment}]"));
        } else {
            path.push('.');
            path.push_str(&segment);
        }
    }
    Err(SchemaError {
        path,
        problem: describe(&error),
    })
}

/// Turns a validator error into words a clerk can act on.
fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as K;
    let got = crate::ids::truncate(&error.instance().to_string());
    match error.kind() {
        K::Pattern { pattern } => {
            let expected = match pattern.as_str() {
                p if p.contains(r"\.[0-9]{2}$") && p.contains("[0-9]{0,14}") => {
                    if p.starts_with("^-?") {
                        "money: a string with exactly two decimals such as \"30000.00\""
                    } else {
                        "money: a non-negative string with exactly two decimals such as \"30000.00\""
                    }
                }
                p if p.contains("[0-9]{0,2})") => {
                    "a score with exactly two decimals such as \"96.28\""
                }
                "^[0-9]{6}$" => "a six-digit district code such as \"530103\"",
                "^[0-9a-f]{64}$" => "64 lowercase hex characters (a BLAKE3 digest or Ed25519 key)",
                "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" => "a date such as \"2022-10-30\"",
                "^[A-Za-z0-9._:-]{1,64}$" => "an id of 1-64 characters [A-Za-z0-9._:-]",
                p if p.contains(r"\*") => "a masked name such as \"张*华\"",
                _ => "",
            };
            if expected.is_empty() {
                format!("{got} does not match the pattern {pattern}")
            } else {
                format!("must be {expected}, got {got}")
            }
        }
        K::AdditionalProperties { unexpected } => {
            format!("unknown member(s) {}", unexpected.join(", "))
        }
        K::Required { property } => format!("missing required member {property}"),
        K::Type { .. } => {
            if error.instance().is_number() {
                format!(
                    "{} (money and scores are strings such as \"30000.00\", never JSON numbers), got {got}",
                    error
                )
            } else {
                error.to_string()
            }
        }
        K::MaxItems { limit } => format!("has more than {limit} items"),
        K::MinItems { limit } => format!("has fewer than {limit} items"),
        K::MaxLength { limit } => format!("is longer than {limit} characters"),
        K::MinLength { limit } => format!("is shorter than {limit} characters (empty?)"),
        K::Maximum { limit } => format!("is more than {limit}, got {got}"),
        K::Minimum { limit } => format!("is less than {limit}, got {got}"),
        K::Enum { options } => format!("must be one of {options}, got {got}"),
        K::Constant { expected_value } => format!("must be {expected_value}, got {got}"),
        K::OneOfNotValid { .. } => {
            format!("must be a 64-character lowercase hex digest or null, got {got}")
        }
        // Anything else: the validator's words, never the whole (possibly huge) value.
        _ => crate::ids::truncate(&error.to_string())
            .chars()
            .take(200)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn named_limits_match_the_schemas() {
        let roster: Value = serde_json::from_str(SCHEMA_SOURCES[7].1).unwrap();
        assert_eq!(SCHEMA_SOURCES[7].0, "roster_filed");
        assert_eq!(
            roster["properties"]["trainees"]["maxItems"],
            crate::limits::ROSTER_TRAINEES_MAX as u64
        );
    }

    #[test]
    fn every_schema_compiles_and_names_the_field() {
        assert_eq!(validators().len(), EventKind::ALL.len());
        let err = validate_body(
            EventKind::AllocationMade,
            &json!({"program": "p", "district_code": "530103", "amount_cny": "10.001"}),
        )
        .unwrap_err();
        assert_eq!(err.path, "body.amount_cny");
        assert!(err.problem.contains("two decimals"), "{}", err.problem);
        let err = validate_body(
            EventKind::AllocationMade,
            &json!({"program": "p", "district_code": "530103", "amount_cny": 30000}),
        )
        .unwrap_err();
        assert_eq!(err.path, "body.amount_cny");
        let err = validate_body(
            EventKind::AllocationMade,
            &json!({"program": "p", "district_code": "530103", "amount_cny": "5.00", "x": 1}),
        )
        .unwrap_err();
        assert!(err.problem.contains("unknown member"), "{}", err.problem);
    }
}
