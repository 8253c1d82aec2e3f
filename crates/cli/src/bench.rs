//! `bench`: measures the real binary, phase by phase, on one generated
//! workload, and prints figures with the command that produced each.
//! Each phase runs as a child process so its wall time and peak memory are its own.

use crate::error::{CliError, CliResult};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Environment variable that makes the binary print its peak RSS at exit.
pub const PEAK_RSS_ENV: &str = "FUNDLEDGER_PRINT_PEAK_RSS";

/// Prints `peak_rss_kib: N` to stderr when [`PEAK_RSS_ENV`] is set (Linux).
pub fn print_peak_rss_if_asked() {
    if std::env::var_os(PEAK_RSS_ENV).is_none() {
        return;
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
            let kib: String = line.chars().filter(char::is_ascii_digit).collect();
            eprintln!("peak_rss_kib: {kib}");
        }
    }
}

struct Phase {
    name: &'static str,
    seconds: f64,
    peak_rss_mib: f64,
    stdout: String,
}

fn run_phase(name: &'static str, args: &[&str]) -> CliResult<Phase> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::usage(format!("bench: cannot find own binary: {e}")))?;
    eprintln!("bench: {name}: fundledger {}", args.join(" "));
    let start = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .env(PEAK_RSS_ENV, "1")
        .output()
        .map_err(|e| CliError::usage(format!("bench: cannot run {name}: {e}")))?;
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(CliError::rejected(format!(
            "bench: {name} failed: {stderr}"
        )));
    }
    let peak_rss_mib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib: "))
        .and_then(|k| k.trim().parse::<f64>().ok())
        .map_or(f64::NAN, |k| k / 1024.0);
    Ok(Phase {
        name,
        seconds,
        peak_rss_mib,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

/// Starts `serve` on the ledger and times 20 report requests for the last
/// program `status` listed: (program, seconds to open, p50 ms, max ms).
fn report_on_open_ledger(
    ledger: &Path,
    status: &str,
) -> CliResult<Option<(String, f64, f64, f64)>> {
    use std::io::BufRead;
    // The last line `status` prints is the last program: "province-2031 (2031): …".
    let Some(program) = status
        .lines()
        .filter_map(|l| l.split(' ').next())
        .rfind(|id| !id.is_empty() && !id.contains('—'))
    else {
        return Ok(None);
    };
    let program = program.to_string();
    let exe = std::env::current_exe().map_err(|e| CliError::usage(format!("bench: {e}")))?;
    eprintln!(
        "bench: report on an open ledger: fundledger serve --ledger {}",
        ledger.display()
    );
    let start = Instant::now();
    let mut server = Command::new(exe)
        .args([
            "serve",
            "--ledger",
            &ledger.to_string_lossy(),
            "--addr",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| CliError::usage(format!("bench: cannot start the server: {e}")))?;
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("bench: {e}")))?;
    let open_seconds = start.elapsed().as_secs_f64();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_default()
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let ok = agent
            .get(format!("{url}/v1/programs/{program}/report"))
            .call()
            .ok()
            .and_then(|mut r| {
                (r.status().as_u16() == 200)
                    .then(|| r.body_mut().read_to_string().ok())
                    .flatten()
            })
            .is_some();
        if !ok {
            let _ = server.kill();
            return Err(CliError::rejected(format!(
                "bench: the report of {program} failed"
            )));
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(Some((
        program,
        open_seconds,
        times[times.len() / 2],
        times[times.len() - 1],
    )))
}

/// Runs another program, polling its peak RSS; `None` when it is not installed.
fn run_external(tool: &'static str, args: &[&str]) -> Option<Phase> {
    if !Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return None;
    }
    eprintln!("bench: {tool}: {tool} {}", args.join(" "));
    let start = Instant::now();
    let mut child = Command::new(tool)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0f64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if child.try_wait().ok()?.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(Phase {
        name: if tool == "ledger" {
            "ledger-cli balance (same postings)"
        } else {
            "hledger balance (same postings)"
        },
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_mib: peak_kib / 1024.0,
        stdout: String::new(),
    })
}

pub fn run(dir: &Path, input: Option<&Path>, counties: u32, years: u32) -> CliResult<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::usage(format!("bench: cannot create {}: {e}", dir.display())))?;
    let export: PathBuf = match input {
        Some(path) => path.to_path_buf(),
        None => dir.join(format!("province-{counties}x{years}.jsonl")),
    };
    let mut phases = Vec::new();
    if input.is_none() && !export.exists() {
        phases.push(run_phase(
            "gen",
            &[
                "gen",
                "--out",
                &export.to_string_lossy(),
                "--counties",
                &counties.to_string(),
                "--years",
                &years.to_string(),
            ],
        )?);
    }
    let bytes = std::fs::metadata(&export)
        .map_err(|e| CliError::usage(format!("bench: {}: {e}", export.display())))?
        .len();
    let verify = run_phase(
        "verify (full, streaming)",
        &["verify", "--file", &export.to_string_lossy()],
    )?;
    let records: u64 = verify
        .stdout
        .trim()
        .strip_prefix("ok: ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            CliError::rejected(format!(
                "bench: unexpected verify output {:?}",
                verify.stdout
            ))
        })?;
    phases.push(verify);
    let floor = run_phase(
        "floor (Ed25519 batch + BLAKE3, all cores)",
        &["bench-floor", "--input", &export.to_string_lossy()],
    )?;
    let floor_value = |key: &str| -> f64 {
        floor
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    let (ed25519_seconds, blake3_seconds) = (
        floor_value("ed25519_batch_seconds:"),
        floor_value("blake3_seconds:"),
    );
    let ledger = dir.join("bench-ledger");
    if ledger.exists() {
        std::fs::remove_dir_all(&ledger).map_err(|e| {
            CliError::usage(format!("bench: cannot remove {}: {e}", ledger.display()))
        })?;
    }
    phases.push(run_phase(
        "import (durable)",
        &[
            "import",
            "--ledger",
            &ledger.to_string_lossy(),
            &export.to_string_lossy(),
        ],
    )?);
    // The storage engine writes its snapshot of where pages are only
    // when it is opened, so the first open after an import also scans its
    // whole log. Timed apart: the rebuild is the open after it.
    phases.push(run_phase(
        "first open after import (the store scans its log) + status",
        &["status", "--ledger", &ledger.to_string_lossy()],
    )?);
    phases.push(run_phase(
        "projection rebuild (open + status)",
        &["status", "--ledger", &ledger.to_string_lossy()],
    )?);
    let report_latency =
        report_on_open_ledger(&ledger, phases.last().map_or("", |p| p.stdout.as_str()))?;
    let journal = dir.join("bench.journal");
    phases.push(run_phase(
        "export --format ledger (journal)",
        &[
            "export",
            "--ledger",
            &ledger.to_string_lossy(),
            "--format",
            "ledger",
            "--out",
            &journal.to_string_lossy(),
        ],
    )?);
    for tool in ["ledger", "hledger"] {
        match run_external(
            tool,
            &[
                "-f",
                &journal.to_string_lossy(),
                "balance",
                "--flat",
                "--no-total",
            ],
        ) {
            Some(phase) => phases.push(phase),
            None => {
                eprintln!("bench: skipping {tool}: not installed (apt-get install ledger hledger)")
            }
        }
    }
    println!(
        "\nworkload: {} records, {:.1} MB ({})",
        records,
        bytes as f64 / 1e6,
        export.display()
    );
    println!("| phase | seconds | records/s | MB/s | peak RSS MiB |\n|---|---:|---:|---:|---:|");
    for p in &phases {
        println!(
            "| {} | {:.2} | {:.0} | {:.1} | {:.1} |",
            p.name,
            p.seconds,
            records as f64 / p.seconds,
            bytes as f64 / 1e6 / p.seconds,
            p.peak_rss_mib
        );
    }
    if let Some((program, open_seconds, p50, max)) = &report_latency {
        println!(
            "\nreport on an open ledger: GET /v1/programs/{program}/report, 20 requests after `serve` opened the ledger in {open_seconds:.1} s: p50 {p50:.1} ms, max {max:.1} ms"
        );
    }
    let seconds = |name: &str| {
        phases
            .iter()
            .find(|p| p.name.starts_with(name))
            .map(|p| p.seconds)
    };
    println!(
        "\nfloor, same run, all cores: Ed25519 batch verification {:.0} signatures/s ({ed25519_seconds:.2} s); BLAKE3 {:.0} MB/s ({blake3_seconds:.2} s)",
        records as f64 / ed25519_seconds,
        bytes as f64 / 1e6 / blake3_seconds
    );
    for name in ["verify", "import"] {
        if let Some(ours) = seconds(name) {
            println!(
                "{name}: {:.1} % of the Ed25519 batch floor ({:.0} vs {:.0} records/s); {:.1} % of the BLAKE3 floor",
                100.0 * ed25519_seconds / ours,
                records as f64 / ours,
                records as f64 / ed25519_seconds,
                100.0 * blake3_seconds / ours
            );
        }
    }
    for (tool, label) in [("ledger-cli", "ledger-cli"), ("hledger", "hledger")] {
        if let (Some(ours), Some(theirs)) = (seconds("projection rebuild"), seconds(tool)) {
            println!(
                "\nprojection rebuild vs {label} balance on the same postings: fundledger takes {:.2}× the time of {label} ({:.2}× {})",
                ours / theirs,
                (theirs / ours).max(ours / theirs),
                if ours < theirs { "faster" } else { "slower" }
            );
        }
    }
    println!(
        "\nmachine: {} logical CPUs; fundledger {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}

/// `bench-load`: the server under 1, 16 and 64 concurrent clients.
pub fn load(dir: &Path, clients: &[usize], seconds: u64) -> CliResult<()> {
    use fundledger_core::crypto::SecretKey;
    use serde_json::{json, Value};
    use std::io::BufRead;

    std::fs::create_dir_all(dir).map_err(|e| {
        CliError::usage(format!("bench-load: cannot create {}: {e}", dir.display()))
    })?;
    let ledger = dir.join("load-ledger");
    if ledger.exists() {
        std::fs::remove_dir_all(&ledger).map_err(|e| {
            CliError::usage(format!(
                "bench-load: cannot remove {}: {e}",
                ledger.display()
            ))
        })?;
    }
    let ledger_s = ledger.to_string_lossy().to_string();
    run_phase("demo ledger", &["demo", "--dir", &ledger_s])?;
    // Program kunming-2023 over the 13 demo districts, so clients have something to report on.
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
    let city = "kunming-dpf-jiuye";
    let at = "2023-06-01T09:00:00+08:00";
    let mut setup = vec![
        json!({"id": "kunming-2023.opened", "actor": city, "kind": "program_opened", "at": at, "body": {
        "program": "kunming-2023", "fiscal_year": 2023, "name": "2023", "funding_documents": [],
        "districts": DISTRICTS.iter().map(|(c, _)| json!({"code": c, "name": c})).collect::<Vec<_>>(),
        "targets": {"trainees_min": 2000, "satisfaction_min": "80.00"},
        "deadlines": {"training_ledger_due_local": "2023-10-30", "fund_use_report_due_local": "2023-11-30"}}}),
    ];
    setup.push(json!({"id": "kunming-2023.budget", "actor": city, "kind": "budget_approved", "at": at, "body": {"program": "kunming-2023", "amount_cny": "1000000.00", "document": {"number": "n", "title": "t"}}}));
    let setup_file = dir.join("load-setup.jsonl");
    std::fs::write(
        &setup_file,
        setup
            .iter()
            .map(|e| e.to_string() + "\n")
            .collect::<String>(),
    )
    .map_err(|e| CliError::usage(format!("bench-load: {e}")))?;
    let key = SecretKey::demo(city);
    let key_file = dir.join("load-city.key");
    let _ = std::fs::remove_file(&key_file);
    crate::keyfile::write(&key_file, &key, "DEMO ONLY")?;
    run_phase(
        "setup",
        &[
            "append",
            "--ledger",
            &ledger_s,
            "--key",
            &key_file.to_string_lossy(),
            "--clock",
            "event",
            &setup_file.to_string_lossy(),
        ],
    )?;

    let exe = std::env::current_exe().map_err(|e| CliError::usage(format!("bench-load: {e}")))?;
    let mut server = Command::new(exe)
        .args(["serve", "--ledger", &ledger_s, "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| CliError::usage(format!("bench-load: cannot start the server: {e}")))?;
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("bench-load: {e}")))?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_default()
        .to_string();
    let agent = || -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into()
    };
    let status = |agent: &ureq::Agent| -> Value {
        agent
            .get(format!("{url}/v1/status"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    };
    println!("\nserver load on loopback: each client sends one signed event per request and waits for its 201 (durable: after the group commit's flush)");
    println!("| clients | appends/s | p50 ms | p99 ms | requests | flushes | mean jobs/flush | max jobs/flush |\n|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (round, &n) in clients.iter().enumerate() {
        let before = status(&agent());
        let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
        let start = Instant::now();
        let latencies: Vec<Vec<f64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..n)
                .map(|client| {
                    let (url, agent) = (url.clone(), agent());
                    scope.spawn(move || {
                        let (code, actor) = DISTRICTS[client % DISTRICTS.len()];
                        let key = SecretKey::demo(actor);
                        let mut latencies = Vec::new();
                        let mut k = 0u64;
                        while Instant::now() < deadline {
                            let event = json!({"id": format!("load.{round}.{client}.{k}"), "actor": actor, "kind": "fund_use_reported", "at": "2023-11-20T10:00:00+08:00",
                                "body": {"program": "kunming-2023", "district_code": code, "spent_cny": format!("{k}.00"), "trainees_reported": k}});
                            let sig = key.sign_event(&event).expect("canonical");
                            let body = json!({"event": event, "sig": sig}).to_string();
                            let t = Instant::now();
                            let ok = agent
                                .post(format!("{url}/v1/submissions"))
                                .header("content-type", "application/json")
                                .send(body.as_str())
                                .map(|r| r.status().as_u16() == 201)
                                .unwrap_or(false);
                            if ok {
                                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                            }
                            k += 1;
                        }
                        latencies
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("client thread"))
                .collect()
        });
        let elapsed = start.elapsed().as_secs_f64();
        let after = status(&agent());
        let mut all: Vec<f64> = latencies.into_iter().flatten().collect();
        all.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
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
            all.len() as f64 / elapsed,
            pct(0.50),
            pct(0.99),
            all.len(),
            jobs as f64 / flushes.max(1) as f64,
            after["group_commit"]["jobs_per_commit_max"]
        );
    }
    let hist = status(&agent())["group_commit"]["jobs_per_commit_histogram"].clone();
    println!("\njobs per flush over the whole run (bucket, flushes): {hist}");
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    Ok(())
}

/// `bench-floor`: what the hardware allows on the same export, on every core:
/// Ed25519 batch verification of its signatures and BLAKE3 of its bytes.
/// Gathering the keys, hashes and signatures is not timed.
pub fn floor(input: &Path) -> CliResult<()> {
    use fundledger_core::crypto::{verify_batch, PublicKey};
    use fundledger_core::ids::Hash32;
    use rayon::prelude::*;
    use serde_json::Value;
    let bytes = std::fs::read(input)
        .map_err(|e| CliError::usage(format!("input {}: {e}", input.display())))?;
    let mut keys: std::collections::HashMap<String, PublicKey> = std::collections::HashMap::new();
    let mut items: Vec<(PublicKey, Hash32, String)> = Vec::new();
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let record: Value = serde_json::from_slice(line)
            .map_err(|e| CliError::rejected(format!("bench-floor: {e}")))?;
        let event = &record["event"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        match event["kind"].as_str() {
            Some("ledger_opened") => {
                keys.insert(
                    text(&event["actor"]),
                    PublicKey::parse(&text(&event["body"]["operator_key"]))
                        .map_err(|e| CliError::rejected(e.0))?,
                );
            }
            Some("actor_enrolled") => {
                keys.insert(
                    text(&event["body"]["actor"]),
                    PublicKey::parse(&text(&event["body"]["key"]))
                        .map_err(|e| CliError::rejected(e.0))?,
                );
            }
            _ => {}
        }
        let key = *keys
            .get(&text(&event["actor"]))
            .ok_or_else(|| CliError::rejected("bench-floor: unknown actor"))?;
        let hash = fundledger_core::crypto::event_hash(event)
            .map_err(|e| CliError::rejected(e.to_string()))?;
        items.push((key, hash, text(&record["sig"])));
    }
    let start = Instant::now();
    let all_ok = items
        .par_chunks(128)
        .all(|batch| verify_batch(batch.iter().map(|(k, h, s)| (k, h, s.as_str()))));
    let ed25519_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut hasher = blake3::Hasher::new();
    hasher.update_rayon(&bytes);
    let digest = hasher.finalize();
    let blake3_seconds = start.elapsed().as_secs_f64();
    println!("records: {}", items.len());
    println!("bytes: {}", bytes.len());
    println!("ed25519_batch_seconds: {ed25519_seconds:.6}");
    println!("blake3_seconds: {blake3_seconds:.6}");
    println!("signatures_valid: {all_ok}");
    println!("blake3: {digest}");
    Ok(())
}
