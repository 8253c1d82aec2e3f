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
use fundledger_core::checkpoint::SignedCheckpoint;
use fundledger_core::ids::{DistrictCode, Timestamp};
use fundledger_core::ledger::BatchItem;
use fundledger_core::projection::{program_figures, ReportJson};
use fundledger_core::receipt::Receipt;
use fundledger_core::{Rejection, RejectionClass};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The OpenAPI document.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

pub(crate) type App = Arc<Writer>;

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
            "/v1/checkpoints/{size}",
            get(checkpoint_of_size).fallback(method_not_allowed),
        )
        .route(
            "/v1/proofs/inclusion",
            get(inclusion_proof).fallback(method_not_allowed),
        )
        .route(
            "/v1/proofs/consistency",
            get(consistency_proof).fallback(method_not_allowed),
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
            "/",
            get(crate::pages::dashboard).fallback(method_not_allowed),
        )
        .route(
            "/programs/{id}",
            get(crate::pages::program).fallback(method_not_allowed),
        )
        .route(
            "/programs/{id}/districts/{code}",
            get(crate::pages::district).fallback(method_not_allowed),
        )
        .route(
            "/records",
            get(crate::pages::records).fallback(method_not_allowed),
        )
        .route(
            "/v1/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) })
                .fallback(method_not_allowed),
        )
        .fallback(|| async { ApiError::not_found("no such endpoint (see /v1/openapi.json)") })
        .layer(DefaultBodyLimit::max(HTTP_BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(refuse_declared_oversize))
        // A body sent too slowly is cut off (408); past the limit of requests
        // served at once, 503 — together they bound the bytes in flight.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            crate::REQUEST_BODY_TIMEOUT,
        ))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(
                    |_: tower::BoxError| async {
                        ApiError::unavailable(
                            "busy",
                            "the server is serving as many requests as it takes at once; retry",
                        )
                    },
                ))
                .load_shed()
                .concurrency_limit(crate::CONCURRENT_REQUESTS_MAX),
        )
        .with_state(writer)
}

/// An error answer: `{"error": {"status", "class", "message", "field"?, "item"?}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    class: &'static str,
    message: String,
    field: Option<String>,
    item: Option<usize>,
}

impl ApiError {
    fn new(status: StatusCode, class: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            class,
            message: message.into(),
            field: None,
            item: None,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "malformed", message)
    }

    fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    fn unavailable(class: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, class, message)
    }

    pub(crate) fn internal(class: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, class, message)
    }

    pub(crate) fn field(mut self, field: &str) -> ApiError {
        self.field = Some(field.to_string());
        self
    }

    /// Item `index` of a batch was refused: the status follows the rule broken.
    fn rejected(index: usize, rejection: Rejection) -> ApiError {
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
        ApiError {
            status,
            class,
            message: format!("item {index}: {rejection}; nothing was appended"),
            field: rejection.field,
            item: Some(index),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body =
            json!({"status": self.status.as_u16(), "class": self.class, "message": self.message});
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        if let Some(i) = self.item {
            body["item"] = json!(i);
        }
        (self.status, axum::Json(json!({"error": body}))).into_response()
    }
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
        return ApiError::too_large(format!(
            "the request body is larger than {HTTP_BODY_BYTES_MAX} bytes; split the batch"
        ))
        .into_response();
    }
    next.run(request).await
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method (see /v1/openapi.json)",
    )
}

fn jsonl(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum());
    for record in records {
        out.extend_from_slice(record);
        out.push(b'\n');
    }
    out
}

/// A request body as a batch of submissions, each checked to be
/// `{"event", "sig"}`.
/// A batch as `fundledger sign` prints it (JSON Lines: one submission a
/// line), or one submission, or an array of them.
fn parse_batch(body: &[u8]) -> Result<Vec<Value>, ApiError> {
    let mut values = Vec::new();
    for value in serde_json::Deserializer::from_slice(body).into_iter::<Value>() {
        values.push(value.map_err(|e| {
            ApiError::unprocessable(format!(
                "the body is not JSON, a JSON array or JSON Lines (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?);
    }
    let items = match values.len() {
        1 => match values.pop().expect("one") {
            Value::Array(items) => items,
            single => vec![single],
        },
        _ => values,
    };
    if items.is_empty() {
        return Err(ApiError::unprocessable("the batch is empty"));
    }
    if items.len() > HTTP_BATCH_EVENTS_MAX {
        return Err(ApiError::too_large(format!(
            "{} submissions, more than the batch limit of {HTTP_BATCH_EVENTS_MAX}",
            items.len()
        )));
    }
    for (index, item) in items.iter().enumerate() {
        BatchItem::parse(item).map_err(|r| ApiError::rejected(index, r))?;
    }
    Ok(items)
}

async fn submit(
    State(app): State<App>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "the request body is larger than {HTTP_BODY_BYTES_MAX} bytes; split the batch"
            ))
        } else {
            ApiError {
                status: e.status(),
                ..ApiError::bad_request(e.body_text())
            }
        }
    })?;
    if app.read_only {
        return Err(ApiError::unavailable(
            "read_only",
            "this server was started without the operator key (--key), which seals every batch; it serves reads only",
        ));
    }
    let submissions = parse_batch(&body)?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    if !app.submit(Job { submissions, reply }) {
        return Err(ApiError::unavailable(
            "busy",
            "the writer's queue is full; retry with the same ids",
        ));
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
            Ok((status, axum::Json(json!({"records": records}))).into_response())
        }
        Ok(JobOutcome::Rejected { index, rejection }) => Err(ApiError::rejected(index, rejection)),
        Ok(JobOutcome::StoreFailed(why)) => Err(ApiError::unavailable(
            "store",
            format!("the store failed; nothing was acknowledged: {why}"),
        )),
        Err(_) => Err(ApiError::unavailable(
            "shutting_down",
            "the server is shutting down; retry with the same ids",
        )),
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
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!(
            "from and limit are whole numbers: {}",
            e.body_text()
        ))
    })?;
    let size = app.snapshot().ledger.size();
    let from = q.from.unwrap_or(0);
    let limit = q.limit.unwrap_or(1000).clamp(1, HTTP_RECORDS_LIMIT_MAX);
    let reader = app.reader.clone();
    let rows = tokio::task::spawn_blocking(move || reader.range(from, size, limit as usize))
        .await
        .map_err(|e| ApiError::internal("internal", e.to_string()))?
        .map_err(|e| ApiError::internal("store", e.to_string()))?;
    let records: Vec<Vec<u8>> = rows.into_iter().map(|(_, bytes)| bytes).collect();
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        jsonl(&records),
    )
        .into_response())
}

async fn record(State(app): State<App>, Path(seq): Path<String>) -> Result<Response, ApiError> {
    let Ok(seq) = seq.parse::<u64>() else {
        return Err(
            ApiError::bad_request(format!("seq must be a whole number, got {seq:?}")).field("seq"),
        );
    };
    let missing = || ApiError::not_found(format!("no record at seq {seq}")).field("seq");
    if seq >= app.snapshot().ledger.size() {
        return Err(missing());
    }
    match app.reader.record(seq) {
        Ok(Some(bytes)) => {
            Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
        }
        Ok(None) => Err(missing()),
        Err(e) => Err(ApiError::internal("store", e.to_string())),
    }
}

/// A C2SP note, as text.
fn note(text: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

async fn checkpoint(State(app): State<App>) -> Result<Response, ApiError> {
    match &app.snapshot().checkpoint {
        Some(c) => Ok(note(c.note())),
        None => Err(ApiError::not_found(
            "no checkpoint: the ledger holds no seal",
        )),
    }
}

/// The seal at seq `size` (which covers `size` records), from the store.
fn seal_at(app: &App, size: u64) -> Result<SignedCheckpoint, ApiError> {
    let missing = || {
        ApiError::not_found(format!(
            "no checkpoint of size {size}: checkpoints are the seals that end every batch (GET /v1/checkpoint is the newest)"
        ))
        .field("size")
    };
    if size >= app.snapshot().ledger.size() {
        return Err(missing());
    }
    let record = app
        .reader
        .record(size)
        .map_err(|e| ApiError::internal("store", e.to_string()))?
        .ok_or_else(missing)?;
    crate::writer::seal_checkpoint(&record).ok_or_else(missing)
}

async fn checkpoint_of_size(
    State(app): State<App>,
    Path(size): Path<String>,
) -> Result<Response, ApiError> {
    let size = size.parse::<u64>().map_err(|_| {
        ApiError::bad_request(format!("size must be a whole number, got {size:?}")).field("size")
    })?;
    Ok(note(seal_at(&app, size)?.note()))
}

#[derive(Deserialize)]
struct InclusionQuery {
    seq: u64,
    size: Option<u64>,
}

/// A receipt (c2sp.org/tlog-proof@v1) of record `seq` in the checkpoint of
/// `size` records (default the newest).
async fn inclusion_proof(
    State(app): State<App>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!("seq and size are whole numbers: {}", e.body_text()))
    })?;
    let snapshot = app.snapshot();
    let checkpoint = match q.size {
        Some(size) => seal_at(&app, size)?,
        None => snapshot
            .checkpoint
            .as_deref()
            .cloned()
            .ok_or_else(|| ApiError::not_found("no checkpoint: the ledger holds no seal"))?,
    };
    let tree = snapshot
        .ledger
        .merkle_tree()
        .expect("the server keeps the full tree");
    let proof = tree
        .inclusion_proof(q.seq, checkpoint.checkpoint.size)
        .map_err(|e| ApiError::bad_request(e.to_string()).field("seq"))?;
    let record = app
        .reader
        .record(q.seq)
        .map_err(|e| ApiError::internal("store", e.to_string()))?
        .ok_or_else(|| ApiError::not_found(format!("no record at seq {}", q.seq)).field("seq"))?;
    Ok(note(&Receipt::render(
        &record,
        q.seq,
        &proof,
        checkpoint.note(),
    )))
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: u64,
}

/// The RFC 6962 consistency proof from the tree of `from` records to the
/// tree of `to` records, hashes in base64.
async fn consistency_proof(
    State(app): State<App>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!("from and to are whole numbers: {}", e.body_text()))
    })?;
    let snapshot = app.snapshot();
    let tree = snapshot
        .ledger
        .merkle_tree()
        .expect("the server keeps the full tree");
    let proof = tree
        .consistency_proof(q.from, q.to)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    use base64::Engine;
    let proof: Vec<String> = proof
        .iter()
        .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
        .collect();
    Ok(axum::Json(json!({"from": q.from, "to": q.to, "proof": proof})).into_response())
}

/// The served snapshot and the time now, in the ledger's offset.
pub(crate) fn now(app: &App) -> (Arc<crate::Snapshot>, Timestamp) {
    let snapshot = app.snapshot();
    let now =
        Timestamp::from_datetime(chrono::Utc::now().with_timezone(&snapshot.ledger.utc_offset()));
    (snapshot, now)
}

fn no_program(id: &str) -> ApiError {
    ApiError::not_found(format!("no program {id:?}")).field("id")
}

/// `?format=md|json` (default json), `?lang=zh|en` (Markdown; default zh).
#[derive(Deserialize)]
struct ReportQuery {
    format: Option<String>,
    lang: Option<String>,
}

async fn report(
    State(app): State<App>,
    Path(id): Path<String>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let markdown = match q.format.as_deref() {
        None | Some("json") => false,
        Some("md") => true,
        Some(other) => {
            return Err(
                ApiError::bad_request(format!("format is md or json, not {other:?}"))
                    .field("format"),
            )
        }
    };
    let lang = match q.lang.as_deref() {
        None | Some("zh") => fundledger_report::Lang::Zh,
        Some("en") => fundledger_report::Lang::En,
        Some(other) => {
            return Err(
                ApiError::bad_request(format!("lang is zh or en, not {other:?}")).field("lang"),
            )
        }
    };
    let (snapshot, now) = now(&app);
    let audited = program_audited(&app, snapshot.clone(), &id, now)
        .await?
        .ok_or_else(|| no_program(&id))?;
    let ledger = &snapshot.ledger;
    let (figures, findings) = (&audited.0, &audited.1);
    if markdown {
        let text = fundledger_report::markdown::render(ledger, figures, findings, lang);
        return Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            text,
        )
            .into_response());
    }
    let mut report = serde_json::to_value(ReportJson::new(ledger, figures))
        .map_err(|e| ApiError::internal("internal", e.to_string()))?;
    report["findings"] = json!(findings);
    Ok(axum::Json(report).into_response())
}

/// `program`'s figures and findings on `snapshot` as of `now`, through the
/// server's findings cache (docs/audit.md).
pub(crate) async fn program_audited(
    app: &App,
    snapshot: Arc<crate::writer::Snapshot>,
    program: &str,
    now: Timestamp,
) -> Result<Option<crate::findings_cache::Audited>, ApiError> {
    let app = app.clone();
    let program = program.to_string();
    tokio::task::spawn_blocking(move || {
        app.findings
            .audited(&app.reader, &snapshot.ledger, &program, now)
            .map_err(|e| ApiError::internal("store", e))
    })
    .await
    .map_err(|e| ApiError::internal("internal", e.to_string()))?
}

async fn district(
    State(app): State<App>,
    Path((id, code)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let Ok(code) = DistrictCode::parse(&code) else {
        return Err(
            ApiError::bad_request(format!("a district code is six digits, got {code:?}"))
                .field("code"),
        );
    };
    let (snapshot, now) = now(&app);
    let ledger = &snapshot.ledger;
    let figures = program_figures(ledger.books(), &id, ledger.utc_offset(), now)
        .ok_or_else(|| no_program(&id))?;
    match figures.districts.iter().find(|d| d.code == code) {
        Some(d) => {
            Ok(axum::Json(json!({"program": id, "as_of": now, "district": d})).into_response())
        }
        None => Err(
            ApiError::not_found(format!("district {code} is not in program {id:?}")).field("code"),
        ),
    }
}

async fn status(State(app): State<App>) -> Response {
    let snapshot = app.snapshot();
    axum::Json(json!({
        "ledger": snapshot.ledger.name(),
        "ledger_id": snapshot.ledger.ledger_id(),
        "size": snapshot.ledger.size(),
        "head": snapshot.ledger.head(),
        "sealed_through": snapshot.ledger.sealed_through(),
        "group_commit": app.stats.to_json(),
    }))
    .into_response()
}
