//! `load`: the server under concurrent clients on loopback. Each client
//! sends one signed event per request and waits for its 201, which the
//! server sends only after the group commit's flush.

use crate::error::{CliError, CliResult};
use crate::phases::{agent, remove_earlier, run_phase, Binary, Server};
use fundledger_core::crypto::SecretKey;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// The demo's districts and their actors: program kunming-2023 runs over them.
const DISTRICTS: [(&str, &str); 13] = [
    ("530103", "panlong-dpf"),
    ("530102", "wuhua-dpf"),
    ("530112", "xishan-dpf"),
    ("530111", "guandu-dpf"),
    ("530114", "chenggong-dpf"),
    ("530181", "anning-dpf"),
    ("530124", "fumin-dpf"),
    ("530125", "yiliang-dpf"),
    ("530126", "shilin-dpf"),
    ("530127", "songming-dpf"),
    ("530128", "luquan-dpf"),
    ("530113", "dongchuan-dpf"),
    ("530129", "xundian-dpf"),
];

/// The city actor of the demo.
const CITY: &str = "kunming-dpf-jiuye";
/// The demo's operator.
const OPERATOR: &str = "kunming-dpf";

pub fn load(dir: &Path, clients: &[usize], seconds: u64) -> CliResult<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::usage(format!("bench load: cannot create {}: {e}", dir.display()))
    })?;
    let ledger = dir.join("load-ledger");
    let operator_key = prepare_ledger(dir, &ledger)?;
    let server = Server::start(&ledger, Some(&operator_key))?;
    let ledger_id = status(&server.url)["ledger_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| CliError::usage("bench load: the server's status names no ledger id"))?;
    println!("\nserver load on loopback: each client sends one signed event per request and waits for its 201 (durable: after the group commit's flush)");
    println!("| clients | appends/s | p50 ms | p99 ms | requests | flushes | mean jobs/flush | max jobs/flush |\n|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (round, &n) in clients.iter().enumerate() {
        let before = status(&server.url);
        let start = Instant::now();
        let mut latencies = round_of_clients(
            &server.url,
            &ledger_id,
            round,
            n,
            Duration::from_secs(seconds),
        );
        let elapsed = start.elapsed().as_secs_f64();
        let after = status(&server.url);
        latencies.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
        };
        let delta = |field: &str| {
            after["group_commit"][field].as_u64().unwrap_or(0)
                - before["group_commit"][field].as_u64().unwrap_or(0)
        };
        let (flushes, jobs) = (delta("commits"), delta("jobs"));
        println!(
            "| {n} | {:.0} | {:.2} | {:.2} | {} | {flushes} | {:.1} | {} |",
            latencies.len() as f64 / elapsed,
            pct(0.50),
            pct(0.99),
            latencies.len(),
            jobs as f64 / flushes.max(1) as f64,
            after["group_commit"]["jobs_per_commit_max"]
        );
    }
    let hist = status(&server.url)["group_commit"]["jobs_per_commit_histogram"].clone();
    println!("\njobs per flush over the whole run (bucket, flushes): {hist}");
    Ok(())
}

/// The demo ledger with program kunming-2023 opened over its 13
/// districts and budgeted, so clients have something to report on; returns
/// the operator's key file, which seals every batch.
fn prepare_ledger(dir: &Path, ledger: &Path) -> CliResult<std::path::PathBuf> {
    remove_earlier(ledger)?;
    let ledger_s = ledger.to_string_lossy().to_string();
    run_phase(
        "demo ledger",
        Binary::Product,
        &["demo", "--dir", &ledger_s],
    )?;
    let at = "2023-06-01T09:00:00+08:00";
    let setup = [
        json!({"id": "kunming-2023.opened", "actor": CITY, "kind": "program_opened", "at": at, "body": {
        "program": "kunming-2023", "fiscal_year": 2023, "name": "2023", "funding_documents": [],
        "districts": DISTRICTS.iter().map(|(c, _)| json!({"code": c, "name": c})).collect::<Vec<_>>(),
        "targets": {"trainees_min": 2000, "satisfaction_min": "80.00"},
        "deadlines": {"training_ledger_due_local": "2023-10-30", "fund_use_report_due_local": "2023-11-30"}}}),
        json!({"id": "kunming-2023.budget", "actor": CITY, "kind": "budget_approved", "at": at, "body": {"program": "kunming-2023", "amount_cny": "1000000.00", "document": {"number": "n", "title": "t"}}}),
    ];
    let setup_file = dir.join("load-setup.jsonl");
    let lines: String = setup.iter().map(|e| e.to_string() + "\n").collect();
    std::fs::write(&setup_file, lines).map_err(|e| CliError::usage(format!("bench load: {e}")))?;
    let key_file = dir.join("load-city.key");
    let operator_file = dir.join("load-operator.key");
    for (file, actor) in [(&key_file, CITY), (&operator_file, OPERATOR)] {
        let _ = std::fs::remove_file(file);
        crate::keyfile::write(file, &SecretKey::demo(actor), "DEMO ONLY")?;
    }
    run_phase(
        "setup",
        Binary::Product,
        &[
            "append",
            "--ledger",
            &ledger_s,
            "--key",
            &key_file.to_string_lossy(),
            "--operator-key",
            &operator_file.to_string_lossy(),
            "--clock",
            "event",
            &setup_file.to_string_lossy(),
        ],
    )?;
    Ok(operator_file)
}

/// `n` clients appending for `length`; the latency (ms) of every 201.
/// Each client is a task on one thread, with its own kept-alive HTTP/1.1
/// connection: the client then costs the two cores it shares with the
/// server little more than its sockets (64 blocking threads spent half of
/// them waking and switching).
fn round_of_clients(
    url: &str,
    ledger_id: &str,
    round: usize,
    n: usize,
    length: Duration,
) -> Vec<f64> {
    let Some(addr) = url
        .strip_prefix("http://")
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
    else {
        return Vec::new();
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => return Vec::new(),
    };
    let deadline = Instant::now() + length;
    runtime.block_on(async move {
        let clients: Vec<_> = (0..n)
            .map(|client| {
                let ledger_id = ledger_id.to_string();
                tokio::spawn(
                    async move { one_client(addr, &ledger_id, round, client, deadline).await },
                )
            })
            .collect();
        let mut latencies = Vec::new();
        for client in clients {
            latencies.extend(client.await.unwrap_or_default());
        }
        latencies
    })
}

/// One client: a signed fund-use report per request until `deadline`, on
/// one connection (a new one if the server closed it).
async fn one_client(
    addr: std::net::SocketAddr,
    ledger_id: &str,
    round: usize,
    client: usize,
    deadline: Instant,
) -> Vec<f64> {
    use http_body_util::BodyExt as _;
    let (code, actor) = DISTRICTS[client % DISTRICTS.len()];
    let key = SecretKey::demo(actor);
    let host = addr.to_string();
    let mut latencies = Vec::new();
    let mut sender: Option<
        hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
    > = None;
    let mut k = 0u64;
    while Instant::now() < deadline {
        let event = json!({"id": format!("load.{round}.{client}.{k}"), "actor": actor, "kind": "fund_use_reported", "at": "2023-11-20T10:00:00+08:00", "ledger": ledger_id,
            "body": {"program": "kunming-2023", "district_code": code, "spent_cny": format!("{k}.00"), "trainees_reported": k}});
        k += 1;
        let sig = key.sign_event(&event).expect("canonical");
        let body = json!({"event": event, "sig": sig}).to_string();
        let t = Instant::now();
        if !sender.as_ref().is_some_and(|s| !s.is_closed()) {
            sender = connect(addr).await;
        }
        let Some(open) = sender.as_mut() else {
            // The server refused the connection: try again shortly.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let request = hyper::Request::post("/v1/submissions")
            .header(hyper::header::HOST, &host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(body)));
        let Ok(request) = request else { continue };
        let created = match open.send_request(request).await {
            // Read to the end: the connection is then ready for the next.
            Ok(response) => {
                let status = response.status().as_u16();
                response.into_body().collect().await.is_ok() && status == 201
            }
            Err(_) => {
                sender = None;
                false
            }
        };
        if created {
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    latencies
}

/// An HTTP/1.1 connection to the server, its driver spawned.
async fn connect(
    addr: std::net::SocketAddr,
) -> Option<hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .ok()?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Some(sender)
}

/// The server's `/v1/status`.
fn status(url: &str) -> Value {
    agent()
        .get(format!("{url}/v1/status"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}
