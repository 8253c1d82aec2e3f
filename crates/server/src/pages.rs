//! The read-only web UI: the ledger's identity and programs at `/`, each
//! program's report with charts at `/programs/{id}` (as of now, or of a
//! chosen date), each district at `/programs/{id}/districts/{code}`, and
//! the latest records at `/records`, each linking to its JSON and its
//! inclusion proof. No script; the pages are the HTML report's
//! (`fundledger_report::html`), laid out for a screen and for print.

use crate::findings_cache::{each_record, Audited};
use crate::http::{now, program_audited, ApiError, App};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fundledger_core::findings::{audited, Findings};
use fundledger_core::ids::Timestamp;
use fundledger_core::ledger::{parse_stored, Ledger};
use fundledger_core::projection::program_figures;
use fundledger_report::html::{document, esc, report_page, PageOptions};
use fundledger_report::{compliance, grouped, pct, ChainIdentity, Lang};
use serde::Deserialize;
use std::fmt::Write;

/// `?lang=en`, `?as_of=2023-06-30` (a day, read as its end, local time) or an RFC 3339 instant.
#[derive(Deserialize, Default)]
pub(crate) struct PageQuery {
    lang: Option<String>,
    as_of: Option<String>,
    before: Option<u64>,
}

impl PageQuery {
    fn lang(&self) -> Lang {
        match self.lang.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

fn html(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:",
            ),
        ],
        body,
    )
        .into_response()
}

fn nav(lang: Lang, suffix: &str) -> String {
    format!(
        "<nav class=\"site\"><a href=\"/{suffix}\">{}</a><a href=\"/records{suffix}\">{}</a><a href=\"/v1/openapi.json\">API</a><a href=\"?lang={}\">{}</a></nav>",
        lang.t("账本总览", "Ledger"),
        lang.t("最新记录", "Latest records"),
        lang.t("en", "zh"),
        lang.t("English", "中文")
    )
}

fn identity(app: &App) -> (std::sync::Arc<crate::writer::Snapshot>, ChainIdentity) {
    let snapshot = app.snapshot();
    let mut chain = ChainIdentity::of(&snapshot.ledger);
    chain.checkpoint = snapshot.checkpoint.as_ref().map(|c| c.note().to_string());
    (snapshot, chain)
}

/// `/`: the ledger's identity, its programs with their key figures.
pub(crate) async fn dashboard(State(app): State<App>, Query(q): Query<PageQuery>) -> Response {
    let lang = q.lang();
    let t = |zh, en| lang.t(zh, en);
    let (snapshot, chain) = identity(&app);
    let ledger = &snapshot.ledger;
    let (_, now) = now(&app);
    let mut o = nav(lang, "");
    let _ = write!(
        o,
        "<header class=\"doc\"><h1>{}</h1><div>{}</div></header>",
        esc(&chain.name),
        t("公共补助资金账本", "Ledger of a public subsidy fund")
    );
    o.push_str("<h2>");
    o.push_str(t("账本", "The chain"));
    o.push_str("</h2><table class=\"facts\"><tbody>");
    let rows = [
        (t("账本标识", "Ledger id"), esc(&chain.ledger_id)),
        (t("记录数", "Records"), chain.size.to_string()),
        (t("头哈希", "Head"), esc(&chain.head)),
        (t("已封印至", "Sealed through seq"), chain.sealed_through.map_or("—".to_string(), |s| s.to_string())),
        (t("最新检查点", "Latest checkpoint"), chain.checkpoint.as_deref().map_or("—".to_string(), |c| format!("<pre>{}</pre>", esc(c)))),
        (t("启动时核验", "Checked at start"), esc(t("启动时已逐条重算每条记录的哈希、链接与规则（签名在写入时已验证；完整复核请用 fundledger verify）", "at start the server re-checked every record's hash, link and rules (signatures were verified when appended; run fundledger verify for a full check)"))),
    ];
    for (label, value) in rows {
        let _ = write!(o, "<tr><td>{}</td><td>{value}</td></tr>", esc(label));
    }
    o.push_str("</tbody></table><h2>");
    o.push_str(t("项目", "Programs"));
    o.push_str("</h2><table><thead><tr>");
    for h in [
        t("项目", "Program"),
        t("年度", "Year"),
        t("全年预算", "Budget"),
        t("实际支出", "Spent"),
        t("执行率", "Rate"),
        t("培训人数", "Trained"),
        t("评价", "Evaluation"),
    ] {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for (id, _) in ledger.books().programs() {
        let Some(f) = program_figures(ledger.books(), id, ledger.utc_offset(), now) else {
            continue;
        };
        let grade = f.evaluation.as_ref().map_or("—".to_string(), |e| {
            format!("{} {}", e.score, e.grade_label(lang == Lang::Zh))
        });
        let _ = write!(
            o,
            "<tr><td><a href=\"/programs/{id_url}{suffix}\">{name}</a></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            f.fiscal_year, grouped(f.budget_approved_cny), grouped(f.spent_cny), pct(f.execution_rate_percent), f.outputs.trainees, esc(&grade),
            id_url = esc(id), name = esc(&f.name), suffix = if lang == Lang::En { "?lang=en" } else { "" },
        );
    }
    o.push_str("</tbody></table>");
    html(document(&chain.name, lang, &o))
}

/// The end of a local day, or an RFC 3339 instant.
fn parse_as_of(text: &str, ledger: &Ledger) -> Result<Timestamp, ApiError> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(fundledger_core::projection::due_end(
            day,
            ledger.utc_offset(),
        ));
    }
    Timestamp::parse(text).map_err(|e| {
        ApiError::bad_request(format!(
            "as_of: {} (give 2023-06-30 or an RFC 3339 time)",
            e.0
        ))
        .field("as_of")
    })
}

/// The program's figures and findings as of `as_of`, with the identity of
/// the chain they come from: the served snapshot (through the findings
/// cache), or, for a past instant, the ledger replayed from the store to it.
async fn audited_as_of(
    app: &App,
    program: &str,
    as_of: Timestamp,
) -> Result<(ChainIdentity, Option<Audited>), ApiError> {
    let (snapshot, chain) = identity(app);
    let ledger = &snapshot.ledger;
    let size = ledger.size();
    if !ledger.last_recorded_at().is_some_and(|last| as_of < last) {
        let audited = program_audited(app, snapshot.clone(), program, as_of).await?;
        return Ok((chain, audited));
    }
    let reader = app.reader.clone();
    let program = program.to_string();
    tokio::task::spawn_blocking(move || {
        let mut ledger = Ledger::new();
        let mut fold = Findings::new(&program);
        each_record(&reader, 0, size, |record| {
            if record.recorded_at() > as_of {
                return Ok(false);
            }
            ledger.accept_stored(record).map_err(|e| e.message)?;
            fold.add(record);
            Ok(true)
        })
        .map_err(|e| ApiError::internal("store", e))?;
        let audited = audited(ledger.books(), &fold, &program, ledger.utc_offset(), as_of);
        Ok((ChainIdentity::of(&ledger), audited.map(std::sync::Arc::new)))
    })
    .await
    .map_err(|e| ApiError::internal("internal", e.to_string()))?
}

/// `/programs/{id}`: the program's report with its charts.
pub(crate) async fn program(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let lang = q.lang();
    let (snapshot, now) = now(&app);
    let as_of = match q.as_of.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => parse_as_of(text, &snapshot.ledger)?,
        // Like `report`: once evaluated, the program is shown as of its evaluation.
        None => snapshot.ledger.books().default_report_instant(&id, now),
    };
    let (chain, audited) = audited_as_of(&app, &id, as_of).await?;
    let audited =
        audited.ok_or_else(|| ApiError::not_found(format!("no program {id:?}")).field("id"))?;
    let (figures, findings) = (&audited.0, &audited.1);
    let suffix = if lang == Lang::En { "?lang=en" } else { "" };
    let mut top = nav(lang, suffix);
    let _ = write!(
        top,
        "<form class=\"asof\" method=\"get\"><label>{} <input type=\"date\" name=\"as_of\" value=\"{}\"></label>{}<button type=\"submit\">{}</button> <a href=\"/v1/programs/{}/report\">JSON</a></form>",
        lang.t("数据截至", "As of"),
        &figures.as_of.to_string()[..10],
        if lang == Lang::En { "<input type=\"hidden\" name=\"lang\" value=\"en\">" } else { "" },
        lang.t("查看", "Show"),
        esc(&id)
    );
    let options = PageOptions {
        nav: Some(top),
        district_link: Some(format!("/programs/{}/districts/{{code}}{suffix}", esc(&id))),
    };
    Ok(html(report_page(&chain, figures, findings, lang, &options)))
}

/// `/programs/{id}/districts/{code}`: one district's figures and deadlines.
pub(crate) async fn district(
    State(app): State<App>,
    Path((id, code)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let lang = q.lang();
    let t = |zh, en| lang.t(zh, en);
    let (snapshot, now) = now(&app);
    let ledger = &snapshot.ledger;
    let figures = program_figures(ledger.books(), &id, ledger.utc_offset(), now)
        .ok_or_else(|| ApiError::not_found(format!("no program {id:?}")).field("id"))?;
    let d = figures
        .districts
        .iter()
        .find(|d| d.code.to_string() == code)
        .ok_or_else(|| {
            ApiError::not_found(format!("district {code:?} is not in program {id:?}")).field("code")
        })?;
    let suffix = if lang == Lang::En { "?lang=en" } else { "" };
    let mut o = nav(lang, suffix);
    let _ = write!(o, "<header class=\"doc\"><h1>{} {}</h1><div><a href=\"/programs/{}{suffix}\">{}</a></div></header><table class=\"facts\"><tbody>", esc(&d.name), d.code, esc(&id), esc(&figures.name));
    let (ledger_status, _) = compliance(&d.training_ledger, lang);
    let (report_status, _) = compliance(&d.fund_use_report, lang);
    let rows = [
        (t("预拨资金", "Pre-allocated"), grouped(d.allocated_cny)),
        (t("支出", "Spent"), grouped(d.spent_cny)),
        (t("执行率", "Execution rate"), pct(d.execution_rate_percent)),
        (
            t("结余（负为赤字）", "Surplus (− deficit)"),
            grouped(d.surplus_cny),
        ),
        (
            t("培训人数 / 名单人数", "Trained / listed"),
            format!("{} / {}", d.trainees, d.trainees_listed),
        ),
        (t("台账份数", "Rosters"), d.rosters.to_string()),
        (t("培训台账", "Training ledger"), ledger_status),
        (t("资金使用报告", "Fund-use report"), report_status),
        (
            t("决算", "Settlement"),
            if d.settled {
                t("已决算", "settled").to_string()
            } else {
                t("未决算", "open").to_string()
            },
        ),
        (t("上年抵补", "Offset in"), grouped(d.offset_in_cny)),
    ];
    for (label, value) in rows {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(label),
            esc(&value)
        );
    }
    let _ = write!(
        o,
        "</tbody></table><p><a href=\"/v1/programs/{}/districts/{}\">JSON</a></p>",
        esc(&id),
        d.code
    );
    Ok(html(document(
        &format!("{} — {}", d.name, figures.name),
        lang,
        &o,
    )))
}

/// `/records`: the latest records, newest first, 50 a page.
pub(crate) async fn records(
    State(app): State<App>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let lang = q.lang();
    let t = |zh, en| lang.t(zh, en);
    let (snapshot, chain) = identity(&app);
    let size = snapshot.ledger.size();
    let end = q.before.unwrap_or(size).min(size);
    let from = end.saturating_sub(50);
    let reader = app.reader.clone();
    let rows = tokio::task::spawn_blocking(move || reader.range(from, end, 50))
        .await
        .map_err(|e| ApiError::internal("internal", e.to_string()))?
        .map_err(|e| ApiError::internal("store", e.to_string()))?;
    let suffix = if lang == Lang::En { "?lang=en" } else { "" };
    let mut o = nav(lang, suffix);
    let _ = write!(
        o,
        "<h2>{} {}–{}</h2><table><thead><tr>",
        esc(t("最新记录", "Latest records")),
        from,
        end.saturating_sub(1)
    );
    for h in [
        t("序号", "Seq"),
        t("记账时间", "Recorded"),
        t("类型", "Kind"),
        t("事件", "Event"),
        t("签署方", "Actor"),
        "",
    ] {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for (seq, bytes) in rows.iter().rev() {
        let Ok(record) = parse_stored(bytes) else {
            continue;
        };
        let _ = write!(
            o,
            "<tr><td class=\"num\">{seq}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/v1/records/{seq}\">JSON</a> · <a href=\"/v1/proofs/inclusion?seq={seq}\">{}</a></td></tr>",
            esc(&record.recorded_at().to_string()),
            record.kind(),
            esc(record.event_id()),
            esc(record.actor()),
            esc(t("存在性证明", "inclusion proof"))
        );
    }
    o.push_str("</tbody></table>");
    if from > 0 {
        let _ = write!(
            o,
            "<p><a href=\"/records?before={from}{}\">{}</a></p>",
            if lang == Lang::En { "&lang=en" } else { "" },
            esc(t("更早的记录 →", "Older records →"))
        );
    }
    Ok(html(document(&chain.name, lang, &o)))
}
