//! The HTTP service on loopback: concurrency, every error status, SIGKILL
//! under load, and an auditor's mirror that catches rewritten history.

use crate::chain::key;
use crate::support::{demo_ledger, fails, ok, tempdir};
use fundledger_core::crypto::SecretKey;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    pub fn start(ledger: &Path) -> Server {
        Server::start_with(ledger, &[])
    }

    /// [`Server::start`] with more of `serve`'s flags.
    pub fn start_with(ledger: &Path, flags: &[&str]) -> Server {
        let operator = key("kunming-dpf");
        let mut args = vec!["--key", operator.as_str()];
        args.extend_from_slice(flags);
        Server::start_flags(ledger, &args)
    }

    /// `serve` without the operator's key: it only reads (any ledger).
    pub fn start_reading(ledger: &Path) -> Server {
        Server::start_flags(ledger, &[])
    }

    fn start_flags(ledger: &Path, flags: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fundledger"))
            .args([
                "serve",
                "--ledger",
                ledger.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
            ])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line:?}"))
            .to_string();
        Server { child, url }
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(
            exit.success(),
            "the server exits cleanly on SIGTERM: {exit:?}"
        );
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into()
}

/// POSTs a JSON body; returns the status and the parsed reply.
pub fn post(agent: &ureq::Agent, url: &str, body: &str) -> Result<(u16, Value), String> {
    let mut response = agent
        .post(format!("{url}/v1/submissions"))
        .header("content-type", "application/json")
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

pub fn get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let mut response = agent.get(url).call().unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap(),
    )
}

/// Sends only the headers of a POST announcing `length` bytes; returns the reply.
fn raw_headers_only(url: &str, length: usize) -> String {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(stream, "POST /v1/submissions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n").unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if reply.windows(4).any(|w| w == b"\r\n\r\n") && reply.ends_with(b"}}") {
            break;
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// A submission of `event` for the demo ledger, signed by its actor's demo key.
pub fn signed(event: &Value) -> Value {
    let mut event = event.clone();
    event["ledger"] = json!(crate::support::demo_ledger_id());
    let actor = event["actor"].as_str().unwrap();
    let sig = SecretKey::demo(actor).sign_event(&event).unwrap();
    json!({"event": event, "sig": sig})
}

pub const DISTRICTS: [(&str, &str); 4] = [
    ("530128", "luquan-dpf"),
    ("530113", "dongchuan-dpf"),
    ("530124", "fumin-dpf"),
    ("530102", "wuhua-dpf"),
];

/// The demo ledger plus program kunming-2023, funded and pre-allocated, appended by the CLI.
pub fn ledger_with_2023(dir: &Path) -> std::path::PathBuf {
    let ledger = demo_ledger(dir);
    let l = ledger.to_str().unwrap();
    let city = "kunming-dpf-jiuye";
    let at = "2023-06-01T09:00:00+08:00";
    let mut events = vec![
        json!({"id": "kunming-2023.opened", "actor": city, "kind": "program_opened", "at": at, "body": {
        "program": "kunming-2023", "fiscal_year": 2023, "name": "2023年培训补助", "funding_documents": [],
        "districts": DISTRICTS.iter().map(|(c, _)| json!({"code": c, "name": c})).collect::<Vec<_>>(),
        "targets": {"trainees_min": 100, "satisfaction_min": "80.00"},
        "deadlines": {"training_ledger_due_local": "2023-10-30", "fund_use_report_due_local": "2023-11-30"}}}),
    ];
    events.push(json!({"id": "kunming-2023.budget", "actor": city, "kind": "budget_approved", "at": at, "body": {"program": "kunming-2023", "amount_cny": "400000.00", "document": {"number": "昆财社〔2023〕1号", "title": "t"}}}));
    for (code, _) in DISTRICTS {
        events.push(json!({"id": format!("kunming-2023.alloc.{code}"), "actor": city, "kind": "allocation_made", "at": at, "body": {"program": "kunming-2023", "district_code": code, "amount_cny": "100000.00"}}));
    }
    let file = dir.join("2023.jsonl");
    std::fs::write(
        &file,
        events
            .iter()
            .map(|e| e.to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    crate::support::append_at_event_time(dir, l, city, file.to_str().unwrap());
    ledger
}

/// Client `client`'s `n`-th event: spending, a roster or a fund-use report of its district.
pub fn client_event(client: usize, n: usize) -> Value {
    let (code, actor) = DISTRICTS[client % DISTRICTS.len()];
    let id = format!("c{client}.e{n}");
    let at = "2023-06-01T10:00:00+08:00";
    let body = match n % 3 {
        0 => {
            json!({"program": "kunming-2023", "district_code": code, "amount_cny": format!("{}.{:02}", 10 + n, client), "purpose": "培训"})
        }
        1 => {
            let digest = blake3::hash(format!("person {client} {n}").as_bytes())
                .to_hex()
                .to_string();
            let doc = "ab".repeat(32);
            json!({"program": "kunming-2023", "district_code": code, "township": "镇", "session": {"title": "t", "start_date": "2023-05-01", "end_date": "2023-05-02"},
                   "trainees": [{"person_digest": digest, "name_masked": "王*", "disability_category": 2, "disability_level": 3, "signed": true}],
                   "documents": {"training_plan": doc, "trainee_roster": doc, "participant_publicity": doc, "training_briefing": doc, "training_summary": doc, "fund_use_statement": doc, "courseware": doc}})
        }
        _ => {
            json!({"program": "kunming-2023", "district_code": code, "spent_cny": "1.00", "trainees_reported": n})
        }
    };
    let kind = ["expenditure_reported", "roster_filed", "fund_use_reported"][n % 3];
    json!({"id": id, "actor": actor, "kind": kind, "at": at, "body": body})
}

fn figures(dir: &Path, ledger: &Path) -> Value {
    let out = ok(
        dir,
        &[
            "report",
            "--ledger",
            ledger.to_str().unwrap(),
            "--program",
            "kunming-2023",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    let p = &report["program"];
    json!({
        "spent": p["spent_cny"], "allocated": p["allocated_cny"], "trainees": p["outputs"]["trainees"],
        "districts": p["districts"].as_array().unwrap().iter().map(|d| json!([d["code"], d["allocated_cny"], d["spent_cny"], d["trainees"], d["rosters"]])).collect::<Vec<_>>(),
    })
}

#[test]
fn sixteen_concurrent_clients_make_one_chain_equal_to_the_cli() {
    let dir = tempdir();
    let ledger = ledger_with_2023(dir.path());
    let server = Server::start(&ledger);
    let per_client = 12;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for client in 0..16 {
            let (url, acknowledged) = (server.url.clone(), acknowledged.clone());
            scope.spawn(move || {
                let agent = agent();
                let mut n = 0;
                while n < per_client {
                    // Alternate single submissions and batches of two.
                    let batch: Vec<Value> = (n..(n + 1 + n % 2).min(per_client))
                        .map(|k| signed(&client_event(client, k)))
                        .collect();
                    let (status, reply) =
                        post(&agent, &url, &Value::Array(batch.clone()).to_string()).unwrap();
                    assert_eq!(status, 201, "{reply}");
                    let records = reply["records"].as_array().unwrap();
                    assert_eq!(records.len(), batch.len());
                    for r in records {
                        acknowledged
                            .lock()
                            .unwrap()
                            .push(r["event"]["id"].as_str().unwrap().to_string());
                    }
                    n += batch.len();
                }
            });
        }
    });
    let (_, status) = get(&agent(), &format!("{}/v1/status", server.url));
    let status: Value = serde_json::from_str(&status).unwrap();
    server.stop();
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), 16 * per_client);
    // The chain verifies and holds every acknowledged event exactly once.
    let out = ok(
        dir.path(),
        &["verify", "--ledger", ledger.to_str().unwrap()],
    );
    // The demo, 2023's six events and their seal, the clients' events and
    // one seal for each group commit.
    let commits = status["group_commit"]["commits"].as_u64().unwrap() as usize;
    assert!(
        out.starts_with(&format!(
            "ok: {} records",
            154 + 7 + 16 * per_client + commits
        )),
        "{out}"
    );
    assert_each_logged_once(dir.path(), &ledger, &acknowledged);
    assert!(status["group_commit"]["commits"].as_u64().unwrap() <= (16 * per_client) as u64);
    // The same events through the CLI give the same projections.
    let cli_dir = tempdir();
    let cli_ledger = ledger_with_2023(cli_dir.path());
    let submissions: String = (0..16)
        .flat_map(|c| (0..per_client).map(move |n| signed(&client_event(c, n)).to_string() + "\n"))
        .collect();
    std::fs::write(cli_dir.path().join("all.jsonl"), submissions).unwrap();
    ok(
        cli_dir.path(),
        &[
            "submit",
            "--ledger",
            cli_ledger.to_str().unwrap(),
            "--operator-key",
            &key("kunming-dpf"),
            "all.jsonl",
        ],
    );
    assert_eq!(
        figures(dir.path(), &ledger),
        figures(cli_dir.path(), &cli_ledger)
    );
}

#[test]
fn every_error_status() {
    let dir = tempdir();
    let ledger = ledger_with_2023(dir.path());
    let server = Server::start(&ledger);
    let (a, url) = (agent(), server.url.clone());
    let event = client_event(0, 0);
    let good = signed(&event).to_string();
    let (status, reply) = post(&a, &url, &good).unwrap();
    assert_eq!(status, 201, "{reply}");
    let original = reply["records"][0].clone();
    assert_eq!(original["seq"], 161);
    // An identical retry: 200 and the original record.
    let (status, reply) = post(&a, &url, &good).unwrap();
    assert_eq!((status, &reply["records"][0]), (200, &original));
    // The same id, other content: 409.
    let mut other = event.clone();
    other["body"]["amount_cny"] = json!("99.00");
    let (status, reply) = post(&a, &url, &signed(&other).to_string()).unwrap();
    assert_eq!(
        (status, reply["error"]["class"].as_str()),
        (409, Some("conflict")),
        "{reply}"
    );
    // A schema violation: 422 naming the field and the item.
    let mut bad = client_event(0, 3);
    bad["body"]["amount_cny"] = json!("1.001");
    let batch = json!([signed(&client_event(0, 6)), signed(&bad)]).to_string();
    let (status, reply) = post(&a, &url, &batch).unwrap();
    assert_eq!(status, 422, "{reply}");
    assert_eq!(
        (
            reply["error"]["field"].as_str(),
            reply["error"]["item"].as_u64()
        ),
        (Some("body.amount_cny"), Some(1))
    );
    // A money rule: 422 with class rule.
    let mut rule = client_event(0, 9);
    rule["body"]["program"] = json!("kunming-2030");
    let (status, reply) = post(&a, &url, &signed(&rule).to_string()).unwrap();
    assert_eq!(
        (status, reply["error"]["class"].as_str()),
        (422, Some("rule")),
        "{reply}"
    );
    // Not JSON: 422.
    let (status, reply) = post(&a, &url, "{not json").unwrap();
    assert_eq!(
        (status, reply["error"]["class"].as_str()),
        (422, Some("malformed"))
    );
    // A signature that does not verify: 403.
    let mut forged = signed(&client_event(0, 12));
    forged["sig"] = signed(&client_event(0, 15))["sig"].clone();
    let (status, reply) = post(&a, &url, &forged.to_string()).unwrap();
    assert_eq!(
        (status, reply["error"]["class"].as_str()),
        (403, Some("signature")),
        "{reply}"
    );
    // A district writing for another district: 403.
    let mut foreign = client_event(1, 0); // dongchuan-dpf …
    foreign["body"]["district_code"] = json!("530128"); // … for 禄劝县
    let (status, reply) = post(&a, &url, &signed(&foreign).to_string()).unwrap();
    assert_eq!(
        (status, reply["error"]["class"].as_str()),
        (403, Some("unauthorized")),
        "{reply}"
    );
    // Over the limits: 413.
    let many = Value::Array((0..1001).map(|n| signed(&client_event(2, n))).collect()).to_string();
    let (status, reply) = post(&a, &url, &many).unwrap();
    assert_eq!(
        (status, reply["error"]["class"].as_str()),
        (413, Some("too_large")),
        "{reply}"
    );
    // A body over 8 MiB is refused from its Content-Length, before it is sent.
    let reply = raw_headers_only(&url, 9 * 1024 * 1024);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("\"class\":\"too_large\""), "{reply}");
    // An event signed for another ledger, or for none: 403.
    let mut elsewhere = client_event(0, 18);
    elsewhere["ledger"] = json!("ab".repeat(32));
    let sig = SecretKey::demo("luquan-dpf")
        .sign_event(&elsewhere)
        .unwrap();
    let body = json!({"event": elsewhere, "sig": sig}).to_string();
    let (status, reply) = post(&a, &url, &body).unwrap();
    assert_eq!(
        (status, reply["error"]["class"].as_str()),
        (403, Some("unauthorized")),
        "{reply}"
    );
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was signed for ledger abab"),
        "{reply}"
    );
    let unbound = client_event(0, 21);
    let sig = SecretKey::demo("luquan-dpf").sign_event(&unbound).unwrap();
    let body = json!({"event": unbound, "sig": sig}).to_string();
    let (status, reply) = post(&a, &url, &body).unwrap();
    assert_eq!(
        reply["error"]["field"].as_str(),
        Some("event.ledger"),
        "{reply}"
    );
    assert_eq!(status, 403);
    // Nothing of the rejected batches was written: the record and its seal.
    let (_, records) = get(&a, &format!("{url}/v1/records?from=161"));
    assert_eq!(records.lines().count(), 2);
    // Reads.
    let (status, body) = get(&a, &format!("{url}/v1/records/161"));
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).unwrap()),
        (200, original)
    );
    assert_eq!(get(&a, &format!("{url}/v1/records/9999")).0, 404);
    assert_eq!(get(&a, &format!("{url}/v1/records/x")).0, 400);
    let (status, body) = get(&a, &format!("{url}/v1/programs/kunming-2022/report"));
    assert_eq!(status, 200);
    let report = serde_json::from_str::<Value>(&body).unwrap();
    assert_eq!(report["program"]["evaluation"]["score"], "94.50");
    // The findings, as the CLI gives them: the demo's clean year has none.
    assert_eq!(report["findings"], serde_json::json!([]), "{report}");
    assert_eq!(report["program"]["findings_counted"], 0);
    // The same report as Markdown, in Chinese or English; other formats are refused.
    let (status, md) = get(
        &a,
        &format!("{url}/v1/programs/kunming-2022/report?format=md"),
    );
    assert_eq!(status, 200);
    assert!(
        md.contains("绩效自评报告") && md.contains("94.50") && md.contains("、审计发现\n"),
        "{md}"
    );
    let (_, en) = get(
        &a,
        &format!("{url}/v1/programs/kunming-2022/report?format=md&lang=en"),
    );
    assert!(en.contains(". Findings\n"), "{en}");
    assert_eq!(
        get(
            &a,
            &format!("{url}/v1/programs/kunming-2022/report?format=xml")
        )
        .0,
        400
    );
    let (status, body) = get(
        &a,
        &format!("{url}/v1/programs/kunming-2022/districts/530128"),
    );
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["district"]["allocated_cny"].as_str()
        ),
        (200, Some("370000.00"))
    );
    assert_eq!(get(&a, &format!("{url}/v1/programs/nope/report")).0, 404);
    check_checkpoints_and_proofs(&a, &url);
    assert_eq!(get(&a, &format!("{url}/v1/openapi.json")).0, 200);
    assert_eq!(get(&a, &format!("{url}/v2/anything")).0, 404);
    let (status, body) = get(&a, &format!("{url}/v1/records?from=abc"));
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["error"]["class"].as_str()
        ),
        (400, Some("malformed")),
        "{body}"
    );
    let (status, body) = get(&a, &format!("{url}/v1/submissions"));
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["error"]["class"].as_str()
        ),
        (405, Some("method_not_allowed")),
        "{body}"
    );
    // hyper's own answers, before any handler runs, carry the JSON shape too.
    let addr = url.strip_prefix("http://").unwrap();
    let unparsable = raw_exchange(addr, b"GET /v1/status HTTP/1.1\r\nHost x\r\n\r\n");
    let many_headers: String = (0..200).map(|i| format!("x-h{i}: {i}\r\n")).collect();
    let too_large = raw_exchange(
        addr,
        format!("GET /v1/status HTTP/1.1\r\nHost: {addr}\r\n{many_headers}\r\n").as_bytes(),
    );
    for (reply, status, class) in [
        (unparsable, 400, "malformed"),
        (too_large, 431, "too_large"),
    ] {
        let (head, body) = reply.split_once("\r\n\r\n").expect("a whole answer");
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{reply}");
        assert!(head.contains("content-type: application/json"), "{reply}");
        let body: Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(body["error"]["status"], status, "{reply}");
        assert_eq!(body["error"]["class"], class, "{reply}");
    }
    // The server still answers after them.
    assert_eq!(get(&a, &format!("{url}/v1/status")).0, 200);
    server.stop();
}

/// Writes `request` as raw bytes and reads the answer until the server closes.
fn raw_exchange(addr: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

/// The newest checkpoint is the seal after the last commit; older ones,
/// receipts and consistency proofs check against the operator's key.
fn check_checkpoints_and_proofs(a: &ureq::Agent, url: &str) {
    use fundledger_core::checkpoint::SignedCheckpoint;
    use fundledger_core::merkle::verify_consistency;
    use fundledger_core::receipt::Receipt;
    let operator = SecretKey::demo("kunming-dpf").public();
    let (status, body) = get(a, &format!("{url}/v1/checkpoint"));
    assert_eq!(status, 200);
    let newest = SignedCheckpoint::parse(&body).unwrap();
    assert_eq!(newest.checkpoint.size, 162, "{body}");
    assert!(newest.verify(&operator));
    let (status, body) = get(a, &format!("{url}/v1/checkpoints/153"));
    assert_eq!(status, 200, "{body}");
    let demo_seal = SignedCheckpoint::parse(&body).unwrap();
    assert_eq!(demo_seal.checkpoint.size, 153);
    assert_eq!(get(a, &format!("{url}/v1/checkpoints/152")).0, 404);
    // A receipt of the first record the server appended.
    let (status, body) = get(a, &format!("{url}/v1/proofs/inclusion?seq=161"));
    assert_eq!(status, 200, "{body}");
    let record = Receipt::parse(&body).unwrap().verify(&operator).unwrap();
    assert_eq!(record.event_id(), "c0.e0");
    let (status, body) = get(a, &format!("{url}/v1/proofs/inclusion?seq=162"));
    assert_eq!(status, 400, "a seal covers the records before it: {body}");
    // The log only grew from the demo's seal to the newest.
    let (status, body) = get(a, &format!("{url}/v1/proofs/consistency?from=153&to=162"));
    assert_eq!(status, 200, "{body}");
    let proof: Vec<[u8; 32]> = serde_json::from_str::<Value>(&body).unwrap()["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD.decode(h.as_str().unwrap());
            bytes.unwrap().try_into().unwrap()
        })
        .collect();
    let (old, new) = (&demo_seal.checkpoint, &newest.checkpoint);
    verify_consistency(old.size, new.size, &old.root, &new.root, &proof).unwrap();
    assert!(verify_consistency(old.size, new.size, &new.root, &new.root, &proof).is_err());
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let kills: usize = std::env::var("FUNDLEDGER_SERVER_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let dir = tempdir();
    let ledger = ledger_with_2023(dir.path());
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut seed = 0x0dd_u64;
    let mut next_event = [0usize; 4];
    for round in 0..kills {
        let server = Server::start(&ledger);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let handles: Vec<_> = (0..4)
            .map(|client| {
                let (url, acknowledged, stop) =
                    (server.url.clone(), acknowledged.clone(), stop.clone());
                let start = next_event[client];
                std::thread::spawn(move || {
                    let agent = agent();
                    let mut n = start;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let body = signed(&client_event(client, n)).to_string();
                        match post(&agent, &url, &body) {
                            Ok((201 | 200, reply)) => {
                                acknowledged.lock().unwrap().insert(
                                    reply["records"][0]["event"]["id"]
                                        .as_str()
                                        .unwrap()
                                        .to_string(),
                                );
                                n += 1;
                            }
                            Ok((status, reply)) => panic!("unexpected {status}: {reply}"),
                            Err(_) => break, // the server died mid-request: not acknowledged
                        }
                    }
                    n
                })
            })
            .collect();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(std::time::Duration::from_millis(50 + (seed >> 33) % 300));
        server.kill();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for (client, handle) in handles.into_iter().enumerate() {
            // A request in flight at the kill may or may not have landed: retry it next round (same id).
            next_event[client] = handle.join().unwrap();
        }
        let out = ok(
            dir.path(),
            &["verify", "--ledger", ledger.to_str().unwrap()],
        );
        assert!(out.starts_with("ok: "), "round {round}: {out}");
        let ids: BTreeSet<String> = logged_ids(dir.path(), &ledger).into_iter().collect();
        let missing: Vec<_> = acknowledged
            .lock()
            .unwrap()
            .difference(&ids)
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged but lost: {missing:?}"
        );
    }
    println!(
        "survived {kills} SIGKILLs under load; {} events acknowledged, none lost",
        acknowledged.lock().unwrap().len()
    );
}

#[test]
fn a_mirror_detects_rewritten_and_truncated_history() {
    let dir = tempdir();
    let p = dir.path();
    // Three ledgers: the honest one (demo + A), a rewrite of the same length (demo + B), a truncation (demo).
    for sub in ["honest", "rewritten", "truncated"] {
        std::fs::create_dir_all(p.join(sub)).unwrap();
    }
    let honest = demo_ledger(&p.join("honest"));
    let rewritten = demo_ledger(&p.join("rewritten"));
    let truncated = demo_ledger(&p.join("truncated"));
    let extra = |id: &str, spent: &str| {
        json!({"id": id, "actor": "luquan-dpf", "kind": "fund_use_reported", "at": "2023-06-01T10:00:00+08:00",
        "body": {"program": "kunming-2022", "district_code": "530128", "spent_cny": spent, "trainees_reported": 749}}).to_string()
    };
    // The honest ledger and its rewrite differ in one record: why 禄劝县's
    // settlement was reversed.
    let unsettle = |reason: &str| {
        json!({"id": "unsettle.530128", "actor": "luquan-dpf", "kind": "event_reversed", "at": "2023-06-01T10:00:00+08:00",
        "body": {"event_id": "kunming-2022.settlement.530128", "reason": reason}}).to_string()
    };
    std::fs::write(p.join("a.json"), unsettle("settled too early")).unwrap();
    std::fs::write(p.join("b.json"), unsettle("never settled")).unwrap();
    for (ledger, file) in [(&honest, "a.json"), (&rewritten, "b.json")] {
        crate::support::append_at_event_time(p, ledger.to_str().unwrap(), "luquan-dpf", file);
    }
    let mirror = p.join("mirror");
    let mirror = mirror.to_str().unwrap();
    let server = Server::start(&honest);
    let out = ok(
        p,
        &["follow", "--url", &server.url, "--mirror", mirror, "--once"],
    );
    assert!(
        out.contains("156 records verified") && out.contains("1 checkpoint(s) consistent"),
        "{out}"
    );
    // It says what it mirrored and checked (issue #14, 3).
    assert!(
        out.contains("mirrored seq 0–155: 156 record(s) verified")
            && out.contains(
                "checkpoint of size 155: signed by the operator, its root matches the mirror"
            ),
        "{out}"
    );
    server.stop();
    // The operator swaps in a rewritten history of the same length, or a
    // truncated one: the mirror raises the alarm at the first changed seq.
    for (history, what, seq) in [
        (&rewritten, "rewritten", 154),
        (&truncated, "truncated", 155),
    ] {
        let server = Server::start(history);
        let err = fails(
            p,
            &["follow", "--url", &server.url, "--mirror", mirror, "--once"],
            None,
            3,
        );
        assert!(
            err.contains("ALARM") && err.contains(&format!("seq {seq}")) && err.contains(what),
            "{err}"
        );
        assert!(err.contains("before the alarm: mirror"), "{err}");
        server.stop();
    }
    // The honest server again, after one more batch: the mirror is still
    // consistent, and the server proves its new checkpoint extends the
    // mirror's newest seal (RFC 6962 consistency proof).
    std::fs::write(p.join("c.json"), extra("later-report", "2.00")).unwrap();
    crate::support::append_at_event_time(p, honest.to_str().unwrap(), "luquan-dpf", "c.json");
    let server = Server::start(&honest);
    let out = ok(
        p,
        &[
            "follow",
            "--url",
            &server.url,
            "--mirror",
            mirror,
            "--once",
            "--quiet",
        ],
    );
    assert!(
        out.contains("158 records verified") && out.contains("1 consistency proof(s) checked"),
        "{out}"
    );
    assert_eq!(
        out.trim_end().lines().count(),
        1,
        "--quiet: the summary only: {out}"
    );
}

/// Issue #11, 4: a client that sends its headers a byte at a time is cut
/// off at the header read timeout (here 1 s), and the server still serves.
#[test]
fn headers_sent_slowly_are_cut_off() {
    use std::io::{Read, Write};
    let dir = tempdir();
    let ledger = ledger_with_2023(dir.path());
    let server = Server::start_with(&ledger, &["--header-timeout-secs", "1"]);
    let addr = server.url.strip_prefix("http://").unwrap().to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let start = std::time::Instant::now();
    let mut closed = false;
    for byte in format!("GET /v1/status HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ")
        .bytes()
        .chain(std::iter::repeat(b'a'))
    {
        if stream.write_all(&[byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        if start.elapsed() > std::time::Duration::from_secs(10) {
            break;
        }
    }
    if !closed {
        // The write side may still be open; the server must have stopped reading.
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .unwrap();
        let mut rest = Vec::new();
        closed = stream.read_to_end(&mut rest).is_ok();
    }
    let elapsed = start.elapsed();
    assert!(closed, "the connection is still open after {elapsed:?}");
    assert!(
        elapsed < std::time::Duration::from_secs(5),
        "cut off after {elapsed:?}, not near the 1 s timeout"
    );
    assert_eq!(get(&agent(), &format!("{}/v1/status", server.url)).0, 200);
    server.stop();
}

/// Issue #11, 4: a client that sends headers and half a body does not hold
/// the server after SIGTERM past its shutdown deadline; nothing of the
/// half-sent request is written.
#[test]
fn a_half_sent_request_does_not_hold_shutdown() {
    use std::io::Write;
    let dir = tempdir();
    let ledger = ledger_with_2023(dir.path());
    let server = Server::start(&ledger);
    let addr = server.url.strip_prefix("http://").unwrap().to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let body = signed(&client_event(0, 0)).to_string();
    write!(
        stream,
        "POST /v1/submissions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..body.len() / 2]
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let start = std::time::Instant::now();
    server.stop(); // SIGTERM, and the exit must be clean
    let waited = start.elapsed();
    // The deadline is 5 s; a hung connection used to hold it indefinitely.
    assert!(waited < std::time::Duration::from_secs(20), "{waited:?}");
    let out = ok(
        dir.path(),
        &["log", "--ledger", ledger.to_str().unwrap(), "--json"],
    );
    assert!(!out.contains("\"c0.e0\""), "a half-sent event was written");
    drop(stream);
}

/// Issue #11, 3: a ledger held by a running server, or one that already
/// exists where one would be made, is in the way (exit 5), not a usage error.
#[test]
fn a_locked_or_existing_ledger_is_in_the_way() {
    let dir = tempdir();
    let ledger = demo_ledger(dir.path());
    let l = ledger.to_str().unwrap();
    let server = Server::start(&ledger);
    // Reading works through the server (tests/it/way_out.rs); without the
    // note that names it, the lock is in the way and says so.
    assert!(ok(dir.path(), &["status", "--ledger", l]).contains("94.50"));
    std::fs::remove_file(ledger.join("SERVING")).unwrap();
    let err = fails(dir.path(), &["status", "--ledger", l], None, 5);
    assert!(err.contains("is another fundledger process"), "{err}");
    server.stop();
    let export = ok(dir.path(), &["export", "--ledger", l]);
    std::fs::write(dir.path().join("e.jsonl"), export).unwrap();
    let err = fails(dir.path(), &["import", "--ledger", l, "e.jsonl"], None, 5);
    assert!(err.contains("a ledger already exists here"), "{err}");
}

/// Issue #12, 6: one path from `sign` to the server. `submit --url` sends
/// JSON Lines, as `sign` prints them, to `POST /v1/submissions`; an
/// identical retry is reported as present; a rejected batch is one
/// sentence (exit 1); and while `serve` holds the ledger, `append` says
/// to use `--url`.
#[test]
fn submit_url_sends_what_sign_prints_to_the_server() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = ledger_with_2023(p);
    let server = Server::start(&ledger);
    let lines: String = (0..3)
        .map(|n| signed(&client_event(1, n)).to_string() + "\n")
        .collect();
    std::fs::write(p.join("batch.jsonl"), &lines).unwrap();
    let out = ok(p, &["submit", "--url", &server.url, "batch.jsonl"]);
    assert!(
        out.contains("recorded seq 161: c1.e0") && out.contains("3 record(s)"),
        "{out}"
    );
    let again = ok(p, &["submit", "--url", &server.url, "batch.jsonl"]);
    assert!(
        again.contains("exists   seq 161: c1.e0") && again.contains("identical retry"),
        "{again}"
    );
    let mut bad = client_event(1, 3);
    bad["body"]["amount_cny"] = json!("1.001");
    std::fs::write(p.join("bad.jsonl"), signed(&bad).to_string() + "\n").unwrap();
    let err = fails(p, &["submit", "--url", &server.url, "bad.jsonl"], None, 1);
    assert!(
        err.contains("(422 schema), item 0, field body.amount_cny")
            && err.contains("nothing was appended"),
        "{err}"
    );
    let err = fails(
        p,
        &[
            "append",
            "--ledger",
            ledger.to_str().unwrap(),
            "--key",
            &key("kunming-dpf"),
            "batch.jsonl",
        ],
        None,
        5,
    );
    assert!(err.contains("fundledger submit --url"), "{err}");
    server.stop();
}

/// The writer checks a group's signatures in one batch; a bad one among
/// them makes it decide the group again checking each, so exactly the bad
/// submissions are refused (403), and an event first sent with a bad
/// signature is appended when sent again signed (it never got in).
#[test]
fn bad_signatures_among_concurrent_good_ones_are_refused_one_by_one() {
    let dir = tempdir();
    let ledger = ledger_with_2023(dir.path());
    let server = Server::start(&ledger);
    let url = server.url.clone();
    let forged = |submission: &Value| {
        let mut submission = submission.clone();
        let sig = submission["sig"].as_str().unwrap().to_string();
        let flipped = if sig.starts_with('0') { "1" } else { "0" };
        submission["sig"] = json!(format!("{flipped}{}", &sig[1..]));
        submission
    };
    let threads: Vec<_> = (0..16)
        .map(|client| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = agent();
                let mut seen = Vec::new();
                for n in 0..6 {
                    let submission = signed(&client_event(client, n));
                    if (client + n) % 4 == 0 {
                        let (status, reply) =
                            post(&agent, &url, &forged(&submission).to_string()).unwrap();
                        assert_eq!(
                            (status, reply["error"]["class"].as_str()),
                            (403, Some("signature")),
                            "{reply}"
                        );
                    }
                    let (status, reply) = post(&agent, &url, &submission.to_string()).unwrap();
                    assert_eq!(status, 201, "client {client} event {n}: {reply}");
                    seen.push(format!("c{client}.e{n}"));
                }
                seen
            })
        })
        .collect();
    let appended: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    server.stop();
    ok(
        dir.path(),
        &["verify", "--ledger", ledger.to_str().unwrap()],
    );
    assert_each_logged_once(dir.path(), &ledger, &appended);
}

/// Each of `ids` is the event id of exactly one record of `ledger`.
fn assert_each_logged_once(dir: &Path, ledger: &Path, ids: &[String]) {
    let logged = logged_ids(dir, ledger);
    for id in ids {
        assert_eq!(logged.iter().filter(|i| *i == id).count(), 1, "{id}");
    }
}

/// The event id of each record of `ledger`, in seq order (`log --json`).
fn logged_ids(dir: &Path, ledger: &Path) -> Vec<String> {
    ok(
        dir,
        &["log", "--ledger", ledger.to_str().unwrap(), "--json"],
    )
    .lines()
    .map(|line| {
        serde_json::from_str::<Value>(line).unwrap()["event"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    })
    .collect()
}

/// `fundledger-bench load`'s clients (tasks with their own connections)
/// get their events appended: the table counts every 201, and the demo
/// ledger they appended to verifies.
#[test]
fn the_load_test_appends_what_it_counts() {
    let dir = tempdir();
    let p = dir.path();
    let out = crate::support::bench_ok(
        p,
        &["load", "--dir", "w", "--seconds", "1", "--clients", "1,4"],
    );
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("| 1 |") || l.starts_with("| 4 |"))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    let mut acknowledged = 0;
    for row in &rows {
        // | clients | appends/s | p50 | p99 | requests | flushes | …
        let requests: u64 = row[5].parse().unwrap();
        let flushes: u64 = row[6].parse().unwrap();
        assert!(requests > 0 && flushes > 0 && flushes <= requests, "{out}");
        acknowledged += requests;
    }
    let ledger = p.join("w/load-ledger");
    let log = ok(p, &["log", "--ledger", ledger.to_str().unwrap(), "--json"]);
    let appended = log.matches("\"load.").count() as u64;
    assert_eq!(appended, acknowledged, "every 201 counted is a record");
    ok(p, &["verify", "--ledger", ledger.to_str().unwrap()]);
}
