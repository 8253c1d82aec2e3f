//! The HTTP API (`docs/openapi.json`). Errors everywhere have one shape:
//! `{"error": {"status", "class", "message", "field"?, "item"?}}`.

use crate::writer::{Job, JobOutcome, Writer};
use crate::{HTTP_BATCH_EVENTS_MAX, HTTP_BODY_BYTES_MAX, HTTP_RECORDS_LIMIT_MAX};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fundledger_core::ids::{DistrictCode, Timestamp};
use fundledger_core::projection::{program_figures, ReportJson};
use fundledger_core::{Rejection, RejectionClass};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

type App = Arc<Writer>;

/// The API's routes over a running writer.
pub fn router(writer: Arc<Writer>) -> Router {
    Router::new()
        .route("/v1/submissions", post(submit).fallback(method_not_allowed))
        .route("/v1/records", get(records).fallback(method_not_allowed))
        .route(
            "/v1/records/{seq}",
            get(record).fallback(method_not_allowed),
        )
        .route(
            "/v1/checkpoint",
            get(checkpoint).fallback(method_not_allowed),
        )
        .route(
            "/v1/programs/{id}/report",
            get(report).fallback(method_not_allowed),
        )
        .route(
            "/v1/programs/{id}/districts/{code}",
            get(district).fallback(method_not_allowed),
        )
        .route("/v1/status", get(status).fallback(method_not_allowed))
        .route(
            "/v1/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) })
                .fallback(method_not_allowed),
        )
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint (see /v1/openapi.json)".into(),
                None,
                None,
            )
        })
        .layer(DefaultBodyLimit::max(HTTP_BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
        .with_state(writer)
}

fn error(
    status: StatusCode,
    class: &str,
    message: String,
    field: Option<String>,
    item: Option<usize>,
) -> Response {
    let mut body = json!({"status": status.as_u16(), "class": class, "message": message});
    if let Some(f) = field {
        body["field"] = json!(f);
    }
    if let Some(i) = item {
        body["item"] = json!(i);
    }
    (status, axum::Json(json!({"error": body}))).into_response()
}

/// Refuses a body whose declared length is over the limit before reading
/// it (a chunked body is cut at the limit while it is read).
async fn refuse_declared_oversize(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > HTTP_BODY_BYTES_MAX as u64) {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {HTTP_BODY_BYTES_MAX} bytes; split the batch"),
            None,
            None,
        );
    }
    next.run(request).await
}

async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method (see /v1/openapi.json)".into(),
        None,
        None,
    )
}

fn rejection_response(index: usize, rejection: Rejection) -> Response {
    let (status, class) = match rejection.class {
        RejectionClass::Signature => (StatusCode::FORBIDDEN, "signature"),
        RejectionClass::Unauthorized => (StatusCode::FORBIDDEN, "unauthorized"),
        RejectionClass::Conflict => (StatusCode::CONFLICT, "conflict"),
        RejectionClass::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        RejectionClass::Malformed => (StatusCode::UNPROCESSABLE_ENTITY, "malformed"),
        RejectionClass::Chain => (StatusCode::UNPROCESSABLE_ENTITY, "chain"),
        RejectionClass::Schema => (StatusCode::UNPROCESSABLE_ENTITY, "schema"),
        RejectionClass::Privacy => (StatusCode::UNPROCESSABLE_ENTITY, "privacy"),
        RejectionClass::Rule => (StatusCode::UNPROCESSABLE_ENTITY, "rule"),
    };
    let message = format!("item {index}: {rejection}; nothing was appended");
    error(status, class, message, rejection.field, Some(index))
}

fn jsonl(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum());
    for record in records {
        out.extend_from_slice(record);
        out.push(b'\n');
    }
    out
}

async fn submit(State(app): State<App>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the request body is larger than {HTTP_BODY_BYTES_MAX} bytes; split the batch"
                ),
                None,
                None,
            )
        }
        Err(e) => return error(e.status(), "malformed", e.body_text(), None, None),
    };
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed",
                format!(
                    "the body is not JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
                None,
                None,
            )
        }
    };
    let items = match value {
        Value::Array(items) => items,
        single => vec![single],
    };
    if items.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed",
            "the batch is empty".into(),
            None,
            None,
        );
    }
    if items.len() > HTTP_BATCH_EVENTS_MAX {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "{} submissions, more than the batch limit of {HTTP_BATCH_EVENTS_MAX}",
                items.len()
            ),
            None,
            None,
        );
    }
    let mut pairs = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let Value::Object(mut object) = item else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed",
                format!("item {index}: a submission is an object {{\"event\", \"sig\"}}"),
                None,
                Some(index),
            );
        };
        if let Some(extra) = object.keys().find(|k| *k != "event" && *k != "sig") {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "malformed", format!("item {index}: unknown member {extra:?}; a submission has only \"event\" and \"sig\""), Some(extra.clone()), Some(index));
        }
        let (Some(event), Some(Value::String(sig))) =
            (object.remove("event"), object.remove("sig"))
        else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed",
                format!("item {index}: a submission needs \"event\" (object) and \"sig\" (string)"),
                None,
                Some(index),
            );
        };
        pairs.push((event, sig));
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    if !app.submit(Job {
        items: pairs,
        reply,
    }) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the writer's queue is full; retry with the same ids".into(),
            None,
            None,
        );
    }
    match answer.await {
        Ok(JobOutcome::Committed { records, any_new }) => {
            let status = if any_new {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let records: Vec<Value> = records
                .iter()
                .map(|r| serde_json::from_slice(r).unwrap_or(Value::Null))
                .collect();
            (status, axum::Json(json!({"records": records}))).into_response()
        }
        Ok(JobOutcome::Rejected { index, rejection }) => rejection_response(index, rejection),
        Ok(JobOutcome::StoreFailed(why)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store",
            format!("the store failed; nothing was acknowledged: {why}"),
            None,
            None,
        ),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down; retry with the same ids".into(),
            None,
            None,
        ),
    }
}

#[derive(Deserialize)]
struct RecordsQuery {
    from: Option<u64>,
    limit: Option<u64>,
}

async fn records(
    State(app): State<App>,
    q: Result<Query<RecordsQuery>, QueryRejection>,
) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("from and limit are whole numbers: {}", e.body_text()),
                None,
                None,
            )
        }
    };
    let size = app.snapshot().ledger.size();
    let from = q.from.unwrap_or(0);
    let limit = q.limit.unwrap_or(1000).clamp(1, HTTP_RECORDS_LIMIT_MAX);
    let reader = app.reader.clone();
    let result =
        tokio::task::spawn_blocking(move || reader.range(from, size, limit as usize)).await;
    match result {
        Ok(Ok(rows)) => {
            let records: Vec<Vec<u8>> = rows.into_iter().map(|(_, bytes)| bytes).collect();
            (
                [(header::CONTENT_TYPE, "application/x-ndjson")],
                jsonl(&records),
            )
                .into_response()
        }
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "store",
            e.to_string(),
            None,
            None,
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            e.to_string(),
            None,
            None,
        ),
    }
}

async fn record(State(app): State<App>, Path(seq): Path<String>) -> Response {
    let Ok(seq) = seq.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("seq must be a whole number, got {seq:?}"),
            Some("seq".into()),
            None,
        );
    };
    if seq >= app.snapshot().ledger.size() {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no record at seq {seq}"),
            Some("seq".into()),
            None,
        );
    }
    match app.reader.record(seq) {
        Ok(Some(bytes)) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no record at seq {seq}"),
            Some("seq".into()),
            None,
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "store",
            e.to_string(),
            None,
            None,
        ),
    }
}

async fn checkpoint(State(app): State<App>) -> Response {
    match &app.snapshot().checkpoint {
        Some(c) => axum::Json(c).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no checkpoint: the server runs without the operator key (--key)".into(),
            None,
            None,
        ),
    }
}

fn now(app: &App) -> (Arc<crate::Snapshot>, Timestamp) {
    let snapshot = app.snapshot();
    let now =
        Timestamp::from_datetime(chrono::Utc::now().with_timezone(&snapshot.ledger.utc_offset()));
    (snapshot, now)
}

async fn report(State(app): State<App>, Path(id): Path<String>) -> Response {
    let (snapshot, now) = now(&app);
    let ledger = &snapshot.ledger;
    match program_figures(ledger.books(), &id, ledger.utc_offset(), now) {
        Some(figures) => axum::Json(ReportJson::new(ledger, &figures)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no program {id:?}"),
            Some("id".into()),
            None,
        ),
    }
}

async fn district(State(app): State<App>, Path((id, code)): Path<(String, String)>) -> Response {
    let Ok(code) = DistrictCode::parse(&code) else {
        return error(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("a district code is six digits, got {code:?}"),
            Some("code".into()),
            None,
        );
    };
    let (snapshot, now) = now(&app);
    let ledger = &snapshot.ledger;
    let Some(figures) = program_figures(ledger.books(), &id, ledger.utc_offset(), now) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no program {id:?}"),
            Some("id".into()),
            None,
        );
    };
    match figures.districts.iter().find(|d| d.code == code) {
        Some(d) => axum::Json(json!({"program": id, "as_of": now, "district": d})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("district {code} is not in program {id:?}"),
            Some("code".into()),
            None,
        ),
    }
}

async fn status(State(app): State<App>) -> Response {
    let snapshot = app.snapshot();
    axum::Json(json!({
        "ledger": snapshot.ledger.name(),
        "size": snapshot.ledger.size(),
        "head": snapshot.ledger.head(),
        "group_commit": app.stats.to_json(),
    }))
    .into_response()
}
