//! Snapshots of the books (issue #16): an open from a snapshot gives the
//! bytes a full replay gives, at every checkpoint; a snapshot that is
//! corrupted, truncated, foreign, stale or of another version is named in
//! one line on stderr and the chain replayed; a kill while one is written
//! leaves a store that opens; a forged one is caught by `verify
//! --check-snapshot`.

use crate::support::{bench_ok, demo_ledger, fails, ok, run, tempdir};
use std::path::{Path, PathBuf};

/// A time after every generated record: reports as of it are the same in
/// every run (no "now").
const LATE: &str = "2040-01-01T00:00:00+08:00";

/// A workload from `fundledger-bench gen` with `args`, imported as ledger `g`.
fn generated_ledger(p: &Path, args: &[&str]) {
    let mut gen = vec!["gen", "--out", "w.jsonl"];
    gen.extend_from_slice(args);
    bench_ok(p, &gen);
    ok(p, &["import", "--ledger", "g", "w.jsonl"]);
}

fn seals(dir: &Path, ledger: &str) -> Vec<u64> {
    ok(dir, &["log", "--ledger", ledger, "--kind", "ledger_sealed"])
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect()
}

fn programs(dir: &Path, ledger: &str) -> Vec<String> {
    ok(dir, &["status", "--ledger", ledger])
        .lines()
        .filter(|l| l.contains(" · "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// Every program's report, JSON and Markdown, with `extra` flags: exit
/// code, stdout and stderr.
fn reports(dir: &Path, ledger: &str, programs: &[String], extra: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for program in programs {
        for format in ["json", "md"] {
            let mut args = vec![
                "report",
                "--ledger",
                ledger,
                "--program",
                program,
                "--format",
                format,
            ];
            args.extend_from_slice(extra);
            // A program not yet opened at that seq is an error, the same both ways.
            let output = run(dir, &args, None);
            out.push(format!(
                "{:?}\n{}\n{}",
                output.status.code(),
                String::from_utf8(output.stdout).unwrap(),
                String::from_utf8(output.stderr).unwrap()
            ));
        }
    }
    out
}

fn snapshot_dir(dir: &Path, ledger: &str) -> PathBuf {
    dir.join(ledger).join("snapshots")
}

fn opened_from(dir: &Path, ledger: &str) -> String {
    ok(dir, &["status", "--ledger", ledger])
        .lines()
        .find(|l| l.starts_with("books "))
        .unwrap()
        .to_string()
}

#[test]
fn a_snapshot_open_gives_the_bytes_of_a_full_replay_at_every_checkpoint() {
    let dir = tempdir();
    let p = dir.path();
    // Four years sealed every 120 records: 13 checkpoints, reversed
    // expenditures among the records.
    generated_ledger(
        p,
        &[
            "--counties",
            "10",
            "--years",
            "4",
            "--seed",
            "4",
            "--trainees-min",
            "3",
            "--trainees-max",
            "8",
            "--seal-every",
            "120",
        ],
    );
    let reversals = ok(p, &["log", "--ledger", "g", "--kind", "event_reversed"]);
    assert!(!reversals.trim().is_empty(), "the workload has reversals");
    let seals = seals(p, "g");
    assert!(seals.len() >= 10, "{seals:?}");
    let programs = programs(p, "g");
    assert_eq!(programs.len(), 4);
    // The full replay: no snapshot is there (a small ledger writes none by itself).
    assert!(!snapshot_dir(p, "g").exists());
    assert!(opened_from(p, "g").contains("replayed from record 0"));
    let whole = reports(p, "g", &programs, &["--as-of", LATE]);
    for &seal in &seals {
        let at = (seal + 1).to_string();
        let replayed_then = reports(p, "g", &programs, &["--as-of-seq", &at]);
        std::fs::remove_dir_all(snapshot_dir(p, "g")).ok();
        let wrote = ok(
            p,
            &["snapshot", "--ledger", "g", "--at-seq", &seal.to_string()],
        );
        assert!(wrote.contains(&format!("at-{at}.snapshot")), "{wrote}");
        // The whole ledger: the snapshot, then the records after it folded.
        assert_eq!(
            opened_from(p, "g"),
            format!(
                "books opened from the snapshot at seal {seal} ({} records folded after it)",
                seals.last().unwrap() - seal
            )
        );
        assert_eq!(
            reports(p, "g", &programs, &["--as-of", LATE]),
            whole,
            "seal {seal}"
        );
        // As of the checkpoint itself: the snapshot alone.
        assert_eq!(
            reports(p, "g", &programs, &["--as-of-seq", &at]),
            replayed_then,
            "seal {seal}"
        );
        ok(p, &["verify", "--ledger", "g", "--check-snapshot"]);
    }
    // A snapshot at a record that is not a seal is refused.
    let err = fails(p, &["snapshot", "--ledger", "g", "--at-seq", "5"], None, 2);
    assert!(err.contains("record 5 is not a seal"), "{err}");
}

/// The demo with a snapshot at its last seal, and its reports then.
fn demo_with_snapshot(p: &Path) -> (String, PathBuf) {
    demo_ledger(p);
    let (replayed, err) = report_with_stderr(p, "demo");
    assert_eq!(err, "");
    ok(p, &["snapshot", "--ledger", "demo"]);
    let file = snapshot_dir(p, "demo").join("at-154.snapshot");
    assert!(file.exists());
    (replayed, file)
}

/// Runs `report` once; returns stdout and stderr.
fn report_with_stderr(p: &Path, ledger: &str) -> (String, String) {
    let out = run(
        p,
        &[
            "report",
            "--ledger",
            ledger,
            "--program",
            "kunming-2022",
            "--format",
            "json",
            "--as-of",
            LATE,
        ],
        None,
    );
    assert!(out.status.success());
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_bad_snapshot_is_named_in_one_line_and_the_chain_replayed() {
    let dir = tempdir();
    let p = dir.path();
    let (replayed, file) = demo_with_snapshot(p);
    let good = std::fs::read(&file).unwrap();
    // A sound snapshot: the same bytes, nothing said.
    let (out, err) = report_with_stderr(p, "demo");
    assert_eq!(out, replayed);
    assert_eq!(err, "");

    let header_end = good.iter().skip(20).position(|b| *b == b'\n').unwrap() + 21;
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    let mut header: serde_json::Value = serde_json::from_slice(&good[20..header_end - 1]).unwrap();
    header["format"] = 999.into();
    let other_version = with_header(&header, &good[header_end..]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // A report reads the sections it needs; the flipped byte is in the
        // program's findings fold, the last.
        (
            "corrupted: its section findings:kunming-2022 does not hash to its header's",
            flipped,
        ),
        ("truncated:", good[..good.len() - 1000].to_vec()),
        ("written by another version", other_version),
    ];
    for (said, bytes) in cases {
        std::fs::write(&file, &bytes).unwrap();
        let (out, err) = report_with_stderr(p, "demo");
        assert_eq!(out, replayed, "{said}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("snapshot {}: {said}", file.display()))
                || err.starts_with(&format!("snapshot demo/snapshots/at-154.snapshot: {said}")),
            "{said}: {err}"
        );
        assert!(
            err.trim_end()
                .ends_with("; replaying the whole chain instead"),
            "{err}"
        );
    }

    // Foreign: another ledger's snapshot under this one's name.
    generated_ledger(
        p,
        &[
            "--counties",
            "10",
            "--years",
            "1",
            "--trainees-min",
            "3",
            "--trainees-max",
            "4",
        ],
    );
    ok(p, &["snapshot", "--ledger", "g"]);
    let theirs = std::fs::read_dir(snapshot_dir(p, "g"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(&theirs, &file).unwrap();
    let (out, err) = report_with_stderr(p, "demo");
    assert_eq!(out, replayed);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(": foreign: it is a snapshot of ledger "),
        "{err}"
    );

    // Stale: the ledger restored from an export that ends at an earlier
    // seal (seq 1), with the snapshot of the longer chain beside it.
    let export = ok(p, &["export", "--ledger", "demo"]);
    let first_two: String = export.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(p.join("short.jsonl"), first_two).unwrap();
    ok(p, &["import", "--ledger", "short", "short.jsonl"]);
    std::fs::create_dir_all(snapshot_dir(p, "short")).unwrap();
    std::fs::write(snapshot_dir(p, "short").join("at-154.snapshot"), &good).unwrap();
    let out = run(p, &["status", "--ledger", "short"], None);
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(": stale: it was taken at record 153, which this chain does not hold"),
        "{err}"
    );
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("books replayed from record 0"));
}

#[test]
fn a_forged_snapshot_is_caught_by_verify_check_snapshot() {
    let dir = tempdir();
    let p = dir.path();
    let (replayed, file) = demo_with_snapshot(p);
    ok(p, &["verify", "--ledger", "demo", "--check-snapshot"]);
    // Someone who can edit files changes the district name 官渡区 in the
    // books and writes the body's new hash into the header.
    let good = std::fs::read(&file).unwrap();
    let header_end = good.iter().skip(20).position(|b| *b == b'\n').unwrap() + 21;
    let mut body = good[header_end..].to_vec();
    let from = "官渡区".as_bytes();
    let to = "官渡县".as_bytes();
    let mut changed = 0;
    let mut i = 0;
    while i + from.len() <= body.len() {
        if &body[i..i + from.len()] == from {
            body[i..i + from.len()].copy_from_slice(to);
            changed += 1;
        }
        i += 1;
    }
    assert!(changed > 0);
    // … and every hash in the header: the body's and each section's.
    let mut header: serde_json::Value = serde_json::from_slice(&good[20..header_end - 1]).unwrap();
    header["body_blake3"] = blake3::hash(&body).to_hex().to_string().into();
    for section in header["sections"].as_array_mut().unwrap() {
        let start = section["offset"].as_u64().unwrap() as usize;
        let end = start + section["bytes"].as_u64().unwrap() as usize;
        section["blake3"] = blake3::hash(&body[start..end]).to_hex().to_string().into();
    }
    std::fs::write(&file, with_header(&header, &body)).unwrap();
    // An open trusts a snapshot that matches its seal: the report changes.
    // That is what `verify --check-snapshot` is for.
    let (out, _) = report_with_stderr(p, "demo");
    assert_ne!(out, replayed);
    assert!(out.contains("官渡县"));
    let err = fails(
        p,
        &["verify", "--ledger", "demo", "--check-snapshot"],
        None,
        1,
    );
    assert!(
        err.contains("FAILED: snapshot ")
            && err.contains("its books are not those a replay of records 0..153 gives"),
        "{err}"
    );
}

#[test]
fn a_kill_while_a_snapshot_is_written_leaves_a_store_that_opens() {
    let dir = tempdir();
    let p = dir.path();
    generated_ledger(p, &["--counties", "40", "--years", "3", "--seed", "7"]);
    let programs = programs(p, "g");
    let replayed = reports(p, "g", &programs, &["--as-of", LATE]);
    let snapshots = snapshot_dir(p, "g");
    let mut landed = 0;
    for _ in 0..30 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fundledger"))
            .args(["snapshot", "--ledger", "g"])
            .current_dir(p)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it as soon as its file is being written.
        let writing = loop {
            let tmp = std::fs::read_dir(&snapshots)
                .into_iter()
                .flatten()
                .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".tmp"));
            if tmp {
                break true;
            }
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        };
        child.kill().ok();
        child.wait().unwrap();
        let finished = snapshots
            .join(format!("at-{}.snapshot", replayed_size(p)))
            .exists();
        if writing && !finished {
            landed += 1;
            // The store opens, from the chain, and says nothing about the half-written file.
            assert!(opened_from(p, "g").contains("replayed from record 0"));
            assert_eq!(reports(p, "g", &programs, &["--as-of", LATE]), replayed);
            if landed == 3 {
                break;
            }
        } else if finished {
            std::fs::remove_dir_all(&snapshots).unwrap();
        }
    }
    assert!(landed >= 1, "no kill landed while the snapshot was written");
    // The next snapshot replaces the unfinished file, and is used.
    ok(p, &["snapshot", "--ledger", "g"]);
    let names: Vec<String> = std::fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert!(opened_from(p, "g").contains("books opened from the snapshot"));
    assert_eq!(reports(p, "g", &programs, &["--as-of", LATE]), replayed);
    ok(p, &["verify", "--ledger", "g", "--check-snapshot"]);
}

/// A snapshot file: the magic line, `header`, `body`.
fn with_header(header: &serde_json::Value, body: &[u8]) -> Vec<u8> {
    let mut file = b"fundledger snapshot\n".to_vec();
    file.extend_from_slice(serde_json::to_string(header).unwrap().as_bytes());
    file.push(b'\n');
    file.extend_from_slice(body);
    file
}

fn replayed_size(p: &Path) -> u64 {
    seals(p, "g").last().unwrap() + 1
}

#[test]
fn serve_leaves_a_snapshot_when_it_stops() {
    let dir = tempdir();
    let p = dir.path();
    demo_ledger(p);
    let server = crate::server::Server::start(&p.join("demo"));
    server.stop();
    assert!(snapshot_dir(p, "demo").join("at-154.snapshot").exists());
    assert!(opened_from(p, "demo").contains("books opened from the snapshot at seal 153"));
}

/// The layout of a snapshot's body is pinned: a change to a type it holds
/// changes this hash, and must bump `SNAPSHOT_FORMAT` (then update the pin).
#[test]
fn the_demo_snapshot_body_is_pinned() {
    let dir = tempdir();
    let p = dir.path();
    let (_, file) = demo_with_snapshot(p);
    let bytes = std::fs::read(file).unwrap();
    let header_end = bytes.iter().skip(20).position(|b| *b == b'\n').unwrap() + 21;
    let header: serde_json::Value = serde_json::from_slice(&bytes[20..header_end - 1]).unwrap();
    assert_eq!(header["format"], 7);
    assert_eq!(
        header["body_blake3"], "8ffed1c3fec740ef0f17847aca8dde0cc9780441d3ee57e6497fc2a600aa1d25",
        "the snapshot layout changed: bump SNAPSHOT_FORMAT in crates/core/src/snapshot.rs and update this pin"
    );
}

/// Opening the whole ledger reads its `ledger` section and each program's
/// books, each checked against its own hash (the findings folds, half the
/// file, are not read): a damaged program section is named in one line and
/// the chain replayed; a damaged findings fold is named by the report that
/// reads it, and costs the open nothing.
#[test]
fn an_open_checks_each_section_it_reads() {
    let dir = tempdir();
    let p = dir.path();
    let (replayed, file) = demo_with_snapshot(p);
    let good = std::fs::read(&file).unwrap();
    let header_end = good.iter().skip(20).position(|b| *b == b'\n').unwrap() + 21;
    let header: serde_json::Value = serde_json::from_slice(&good[20..header_end - 1]).unwrap();
    let middle_of = |name: &str| {
        let s = header["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap();
        header_end + (s["offset"].as_u64().unwrap() + s["bytes"].as_u64().unwrap() / 2) as usize
    };
    let status = |p: &Path| {
        let out = run(p, &["status", "--ledger", "demo"], None);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let books = text
            .lines()
            .find(|l| l.starts_with("books "))
            .unwrap()
            .to_string();
        let figures: String = text
            .lines()
            .filter(|l| !l.starts_with("books "))
            .collect::<Vec<_>>()
            .join("\n");
        (figures, books, String::from_utf8(out.stderr).unwrap())
    };
    let (figures, books, err) = status(p);
    assert!(books.contains("opened from the snapshot"), "{books}");
    assert_eq!(err, "");

    let mut books_damaged = good.clone();
    books_damaged[middle_of("program:kunming-2022")] ^= 0x01;
    std::fs::write(&file, &books_damaged).unwrap();
    let (damaged_figures, damaged_books, err) = status(p);
    assert_eq!(damaged_figures, figures);
    assert!(
        !damaged_books.contains("opened from the snapshot"),
        "{damaged_books}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(": corrupted: its section program:kunming-2022 does not hash to its header's; replaying the whole chain instead"),
        "{err}"
    );

    let mut fold_damaged = good.clone();
    fold_damaged[middle_of("findings:kunming-2022")] ^= 0x01;
    std::fs::write(&file, &fold_damaged).unwrap();
    let (fold_figures, fold_books, err) = status(p);
    assert_eq!(
        (fold_figures, fold_books, err.as_str()),
        (figures, books, "")
    );
    let (out, err) = report_with_stderr(p, "demo");
    assert_eq!(out, replayed);
    assert!(
        err.contains(
            ": corrupted: its section findings:kunming-2022 does not hash to its header's"
        ),
        "{err}"
    );
}

/// `serve`'s reports equal the CLI's for more programs than it keeps folds
/// for (two), asked in turn and then again: each fold is the snapshot's
/// section plus the records after it, and a program dropped from the cache
/// is gathered again the same way.
#[test]
fn served_reports_of_more_programs_than_kept_equal_the_cli() {
    let dir = tempdir();
    let p = dir.path();
    generated_ledger(
        p,
        &[
            "--counties",
            "8",
            "--years",
            "3",
            "--trainees-min",
            "2",
            "--trainees-max",
            "3",
            "--seal-every",
            "100",
        ],
    );
    // A snapshot at a seal in the middle: records follow it.
    let seals = seals(p, "g");
    let middle = seals[seals.len() / 2];
    ok(
        p,
        &["snapshot", "--ledger", "g", "--at-seq", &middle.to_string()],
    );
    let programs = programs(p, "g");
    assert_eq!(programs.len(), 3);
    // The server reports as of its clock; the CLI by default as of the
    // ledger's last record: asked as of now, it gives the same figures (the
    // years' deadlines are long past), and only `as_of` differs.
    let now = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    let without_as_of = |text: &str| {
        let mut report: serde_json::Value = serde_json::from_str(text).unwrap();
        report["program"]
            .as_object_mut()
            .unwrap()
            .remove("as_of")
            .unwrap();
        report
    };
    let cli: Vec<serde_json::Value> = programs
        .iter()
        .map(|program| {
            without_as_of(&ok(
                p,
                &[
                    "report",
                    "--ledger",
                    "g",
                    "--program",
                    program,
                    "--format",
                    "json",
                    "--as-of",
                    &now,
                ],
            ))
        })
        .collect();
    let server = crate::server::Server::start_reading(&p.join("g"));
    let url = server.url.clone();
    let agent = ureq::Agent::new_with_defaults();
    for round in 0..2 {
        for (program, expected) in programs.iter().zip(&cli) {
            let (status, body) =
                crate::server::get(&agent, &format!("{url}/v1/programs/{program}/report"));
            assert_eq!(status, 200);
            let mut served = without_as_of(&body);
            // The CLI's JSON names its format; the server's answer is the report.
            if let Some(format) = expected.get("format") {
                served["format"] = format.clone();
            }
            assert!(
                &served == expected,
                "round {round}, {program}: the served report differs from the CLI's"
            );
        }
    }
    server.kill();
}
