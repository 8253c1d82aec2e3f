//! Every rejection of issue #2, through the real binary against the demo
//! ledger: the error names the input, line and field, the exit code is 1,
//! and the ledger is byte-for-byte unchanged afterwards.

use crate::chain::key;
use crate::support::{bench_ok, demo_ledger, fails, ok, run, tempdir};
use fundledger_core::crypto::SecretKey;
use serde_json::{json, Value};
use std::path::Path;

pub(crate) struct Demo {
    dir: tempfile::TempDir,
    pub(crate) ledger: String,
}

impl Demo {
    pub(crate) fn new() -> Demo {
        let dir = tempdir();
        let ledger = demo_ledger(dir.path()).to_str().unwrap().to_string();
        Demo { dir, ledger }
    }
    /// Reverses 禄劝县's settlement, so its 2022 figures can change again
    /// (a settled district takes no more rosters, reports or spending).
    pub(crate) fn unsettle_luquan(&self) {
        let reversal = event(
            "unsettle.530128",
            "luquan-dpf",
            "event_reversed",
            json!({"event_id": "kunming-2022.settlement.530128", "reason": "settled too early"}),
        );
        let out = run(
            self.path(),
            &[
                "append",
                "--ledger",
                &self.ledger,
                "--key",
                &key("luquan-dpf"),
                "--operator-key",
                &key("kunming-dpf"),
                "-",
            ],
            Some(&reversal.to_string()),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    /// The demo ledger's id: the hash of record 0.
    fn ledger_id(&self) -> String {
        let export = self.export();
        let first: Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
        first["hash"].as_str().unwrap().to_string()
    }
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
    pub(crate) fn export(&self) -> String {
        ok(self.path(), &["export", "--ledger", &self.ledger])
    }
    /// `append` of `events` (JSONL) signed by `actor`'s key must fail with
    /// every one of `expect` in its message and leave the ledger unchanged.
    fn rejects_append(&self, actor: &str, events: &[Value], expect: &[&str]) {
        let input: String = events.iter().map(|e| e.to_string() + "\n").collect();
        self.rejects(
            &[
                "append",
                "--ledger",
                &self.ledger,
                "--key",
                &key(actor),
                "--operator-key",
                &key("kunming-dpf"),
                "-",
            ],
            &input,
            expect,
        );
    }
    fn rejects(&self, args: &[&str], stdin: &str, expect: &[&str]) {
        let before = self.export();
        let err = fails(self.path(), args, Some(stdin), 1);
        for needle in expect {
            assert!(err.contains(needle), "expected {needle:?} in: {err}");
        }
        assert_eq!(err.trim_end().lines().count(), 1, "one sentence: {err}");
        assert_eq!(
            before,
            self.export(),
            "the ledger changed after a rejection"
        );
    }
}

pub(crate) fn event(id: &str, actor: &str, kind: &str, body: Value) -> Value {
    json!({"id": id, "actor": actor, "kind": kind, "at": "2022-11-25T10:00:00+08:00", "body": body})
}

fn fund_use(id: &str, actor: &str, code: &str, spent: Value) -> Value {
    event(
        id,
        actor,
        "fund_use_reported",
        json!({"program": "kunming-2022", "district_code": code, "spent_cny": spent, "trainees_reported": 1}),
    )
}

fn sign(event: &Value, key: &SecretKey) -> String {
    key.sign_event(event).unwrap()
}

#[test]
fn a_bad_signature_is_rejected() {
    let demo = Demo::new();
    let mut e = fund_use("x1", "luquan-dpf", "530128", json!("1.00"));
    e["ledger"] = json!(demo.ledger_id());
    let forged = sign(&e, &SecretKey::demo("someone-else"));
    let submission = json!({"event": e, "sig": forged}).to_string();
    demo.rejects(
        &[
            "submit",
            "--ledger",
            &demo.ledger,
            "--operator-key",
            &key("kunming-dpf"),
            "-",
        ],
        &submission,
        &[
            "input <stdin>, line 1",
            "field sig",
            "does not verify",
            "luquan-dpf",
        ],
    );
    // An altered event under a once-valid signature fails the same way.
    let good = sign(&e, &SecretKey::demo("luquan-dpf"));
    let mut altered = fund_use("x1", "luquan-dpf", "530128", json!("2.00"));
    altered["ledger"] = json!(demo.ledger_id());
    let submission = json!({"event": altered, "sig": good}).to_string();
    demo.rejects(
        &[
            "submit",
            "--ledger",
            &demo.ledger,
            "--operator-key",
            &key("kunming-dpf"),
            "-",
        ],
        &submission,
        &["field sig", "does not verify"],
    );
}

#[test]
fn an_unknown_actor_is_rejected() {
    let demo = Demo::new();
    demo.rejects_append(
        "luquan-dpf",
        &[fund_use("x2", "nobody", "530128", json!("1.00"))],
        &["field event.actor", "\"nobody\" is not enrolled"],
    );
}

#[test]
fn a_revoked_actor_is_rejected() {
    let demo = Demo::new();
    let revoke = event(
        "revoke.luquan",
        "kunming-dpf",
        "actor_revoked",
        json!({"actor": "luquan-dpf", "reason": "key lost"}),
    );
    let input = revoke.to_string();
    let out = run(
        demo.path(),
        &[
            "append",
            "--ledger",
            &demo.ledger,
            "--key",
            &key("kunming-dpf"),
            "--operator-key",
            &key("kunming-dpf"),
            "-",
        ],
        Some(&input),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    demo.rejects_append(
        "luquan-dpf",
        &[fund_use("x3", "luquan-dpf", "530128", json!("1.00"))],
        &["field event.actor", "was revoked at seq 154"],
    );
}

#[test]
fn a_district_writing_for_another_district_is_rejected() {
    let demo = Demo::new();
    demo.rejects_append(
        "luquan-dpf",
        &[fund_use("x4", "luquan-dpf", "530113", json!("1.00"))],
        &["field body.district_code", "\"luquan-dpf\" (role district, district 530128) may not append fund_use_reported for district 530113"],
    );
}

#[test]
fn a_wrong_role_is_rejected() {
    let demo = Demo::new();
    let alloc = event(
        "x5",
        "luquan-dpf",
        "allocation_made",
        json!({"program": "kunming-2022", "district_code": "530128", "amount_cny": "1.00"}),
    );
    demo.rejects_append(
        "luquan-dpf",
        &[alloc],
        &[
            "field event.kind",
            "has role district, which may not append allocation_made",
        ],
    );
    let spot = event(
        "x6",
        "kunming-dpf-jiuye",
        "spot_check_recorded",
        json!({"program": "kunming-2022", "districts_sampled": ["530128"], "findings": "f"}),
    );
    demo.rejects_append(
        "kunming-dpf-jiuye",
        &[spot],
        &["has role city, which may not append spot_check_recorded"],
    );
}

#[test]
fn bad_money_strings_are_rejected() {
    let demo = Demo::new();
    let cases: [(Value, &str); 6] = [
        (json!(1e3), "numbers must be integers"),
        (json!(5.5), "numbers must be integers"),
        (json!(1000), "never JSON numbers"),
        (json!("10.001"), "two decimals"),
        (json!("-5.00"), "non-negative"),
        (json!("1e3"), "two decimals"),
    ];
    for (i, (amount, why)) in cases.into_iter().enumerate() {
        demo.rejects_append(
            "luquan-dpf",
            &[fund_use(&format!("m{i}"), "luquan-dpf", "530128", amount)],
            &["input <stdin>, line 1", "field body.spent_cny", why],
        );
    }
    // A raw float in the file, exactly as a clerk would type it.
    let raw = r#"{"id":"m9","actor":"luquan-dpf","kind":"fund_use_reported","at":"2022-11-25T10:00:00+08:00","body":{"program":"kunming-2022","district_code":"530128","spent_cny":12.50,"trainees_reported":1}}"#;
    demo.rejects(
        &[
            "append",
            "--ledger",
            &demo.ledger,
            "--key",
            &key("luquan-dpf"),
            "--operator-key",
            &key("kunming-dpf"),
            "-",
        ],
        raw,
        &["field body.spent_cny", "numbers must be integers"],
    );
}

pub(crate) fn roster(id: &str, township: &str, person_digest: &str) -> Value {
    let digest = "ab".repeat(32);
    event(
        id,
        "luquan-dpf",
        "roster_filed",
        json!({
            "program": "kunming-2022", "district_code": "530128", "township": township,
            "session": {"title": "t", "start_date": "2022-11-01", "end_date": "2022-11-02"},
            "trainees": [{"person_digest": person_digest, "name_masked": "张*华", "disability_category": 4, "disability_level": 2, "signed": true}],
            "documents": {"training_plan": digest, "trainee_roster": digest, "participant_publicity": digest,
                          "training_briefing": digest, "training_summary": digest, "fund_use_statement": digest, "courseware": null},
        }),
    )
}

#[test]
fn a_clear_id_number_in_a_roster_is_rejected() {
    let demo = Demo::new();
    demo.unsettle_luquan();
    let digest = "cd".repeat(32);
    demo.rejects_append(
        "luquan-dpf",
        &[roster("r1", "屏山街道 530128199001011235", &digest)],
        &["field body.township", "a resident ID number in clear"],
    );
    demo.rejects_append(
        "luquan-dpf",
        &[roster("r2", "屏山街道", "53012819900101123541")],
        &[
            "field body.trainees[0].person_digest",
            "a disability certificate number in clear",
        ],
    );
    // The same digits glued to a longer run of letters and digits: still an ID.
    demo.rejects_append(
        "luquan-dpf",
        &[roster(
            "r3",
            "屏山街道",
            &format!("{}530128199001011235", "e".repeat(46)),
        )],
        &[
            "field body.trainees[0].person_digest",
            "a resident ID number in clear",
        ],
    );
}

#[test]
fn a_duplicate_id_with_other_content_is_rejected_and_an_identical_retry_is_not() {
    let demo = Demo::new();
    let export: Vec<Value> = demo
        .export()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let original = export
        .iter()
        .find(|r| r["event"]["id"] == "kunming-2022.budget")
        .unwrap()["event"]
        .clone();
    let mut changed = original.clone();
    changed["body"]["amount_cny"] = json!("999999.00");
    demo.rejects_append(
        "kunming-dpf-jiuye",
        &[changed],
        &[
            "field event.id",
            "already in the ledger at seq",
            "with other content",
        ],
    );
    let before = demo.export();
    let out = crate::support::append_at_event_time(
        demo.path(),
        &demo.ledger,
        "kunming-dpf-jiuye",
        &write(&demo, "same.jsonl", &original),
    );
    assert!(out.contains("0 appended, 1 already present"), "{out}");
    assert_eq!(before, demo.export());
}

fn write(demo: &Demo, name: &str, value: &Value) -> String {
    let path = demo.path().join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn schema_violations_are_rejected() {
    let demo = Demo::new();
    let missing = event(
        "s1",
        "luquan-dpf",
        "fund_use_reported",
        json!({"program": "kunming-2022", "district_code": "530128", "trainees_reported": 1}),
    );
    demo.rejects_append("luquan-dpf", &[missing], &["field body", "spent_cny"]);
    let extra = fund_use("s2", "luquan-dpf", "530128", json!("1.00"));
    let mut extra = extra;
    extra["body"]["note"] = json!("x");
    demo.rejects_append("luquan-dpf", &[extra], &["unknown member(s) note"]);
    let bad_code = fund_use("s3", "luquan-dpf", "53012", json!("1.00"));
    demo.rejects_append(
        "luquan-dpf",
        &[bad_code],
        &["field body.district_code", "six-digit district code"],
    );
    let bad_kind = event("s4", "luquan-dpf", "roster_burned", json!({}));
    demo.rejects_append(
        "luquan-dpf",
        &[bad_kind],
        &["field event.kind", "unknown event kind"],
    );
    let mut bad_at = fund_use("s5", "luquan-dpf", "530128", json!("1.00"));
    bad_at["at"] = json!("2022-11-25 10:00");
    demo.rejects_append("luquan-dpf", &[bad_at], &["field event.at", "RFC 3339"]);
}

#[test]
fn a_batch_with_one_bad_event_appends_nothing() {
    let demo = Demo::new();
    demo.unsettle_luquan();
    let good = fund_use("b1", "luquan-dpf", "530128", json!("1.00"));
    let good2 = fund_use("b2", "luquan-dpf", "530128", json!("2.00"));
    let bad = fund_use("b3", "luquan-dpf", "530128", json!("3.001"));
    demo.rejects_append(
        "luquan-dpf",
        &[good, good2, bad],
        &[
            "input <stdin>, line 3",
            "field body.spent_cny",
            "nothing was appended",
        ],
    );
}

#[test]
fn a_money_rule_is_checked_at_append() {
    let demo = Demo::new();
    let spend = event(
        "k1",
        "luquan-dpf",
        "expenditure_reported",
        json!({"program": "kunming-2022", "district_code": "530128", "amount_cny": "10.00", "purpose": "p"}),
    );
    demo.rejects_append(
        "luquan-dpf",
        &[spend],
        &["field body.district_code", "already settled"],
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempdir();
    let err = fails(dir.path(), &["verify"], None, 2);
    assert!(err.contains("--ledger") || err.contains("--file"), "{err}");
    let err = fails(
        dir.path(),
        &["append", "--ledger", "nowhere", "--key", "missing.key", "-"],
        Some(""),
        2,
    );
    assert!(err.contains("key file missing.key"), "{err}");
    let err = fails(dir.path(), &["log", "--ledger", "nowhere"], None, 2);
    assert!(err.contains("no ledger here"), "{err}");
}

#[test]
fn keygen_init_sign_submit_import_round_trip() {
    let dir = tempdir();
    let p = dir.path();
    let public = ok(p, &["keygen", "--out", "op.key"]);
    assert_eq!(public.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(p.join("op.key"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    // An existing key file is in the way (exit 5), never overwritten.
    let err = fails(p, &["keygen", "--out", "op.key"], None, 5);
    assert!(err.contains("never overwritten"), "{err}");
    ok(
        p,
        &[
            "init",
            "--ledger",
            "L",
            "--name",
            "t",
            "--operator",
            "op",
            "--key",
            "op.key",
            "--at",
            "2022-01-04T09:00:00+08:00",
        ],
    );
    let city_public = ok(p, &["keygen", "--out", "city.key"]);
    let enrol = event(
        "enrol.city",
        "op",
        "actor_enrolled",
        json!({"actor": "city", "role": "city", "key": city_public.trim()}),
    );
    std::fs::write(p.join("enrol.json"), enrol.to_string()).unwrap();
    // Signing needs the ledger the events are for.
    fails(p, &["sign", "--key", "op.key", "enrol.json"], None, 2);
    let signed = ok(
        p,
        &["sign", "--key", "op.key", "--ledger", "L", "enrol.json"],
    );
    std::fs::write(p.join("enrol.signed.jsonl"), &signed).unwrap();
    // Every batch is sealed by the operator.
    fails(
        p,
        &["submit", "--ledger", "L", "enrol.signed.jsonl"],
        None,
        2,
    );
    let out = ok(
        p,
        &[
            "submit",
            "--ledger",
            "L",
            "--operator-key",
            "op.key",
            "enrol.signed.jsonl",
        ],
    );
    assert!(out.contains("appended seq 2: enrol.city"), "{out}");
    ok(p, &["export", "--ledger", "L", "--out", "L.jsonl"]);
    let out = ok(p, &["import", "--ledger", "M", "L.jsonl"]);
    assert!(out.contains("imported 4 records"), "{out}");
    assert_eq!(
        ok(p, &["export", "--ledger", "M"]),
        std::fs::read_to_string(p.join("L.jsonl")).unwrap()
    );
    // A bad export imports nothing and leaves no directory behind.
    let broken = std::fs::read_to_string(p.join("L.jsonl"))
        .unwrap()
        .replacen("\"seq\":1", "\"seq\":7", 1);
    std::fs::write(p.join("broken.jsonl"), broken).unwrap();
    let err = fails(p, &["import", "--ledger", "N", "broken.jsonl"], None, 1);
    assert!(
        err.contains("FAILED at seq 1")
            && err.contains("line 2")
            && err.contains("nothing was imported"),
        "{err}"
    );
    assert!(!p.join("N").exists());
    let log = ok(p, &["log", "--ledger", "L", "--kind", "actor_enrolled"]);
    assert!(
        log.contains("city as city") && !log.contains("ledger_opened"),
        "{log}"
    );
}

#[test]
fn gen_makes_a_workload_that_imports_and_verifies() {
    use fundledger_core::workload::{Workload, WorkloadSpec};
    let dir = tempdir();
    let p = dir.path();
    let spec = WorkloadSpec {
        counties: 7,
        years: 3,
        first_year: 2022,
        seed: 9,
        trainees_min: 100,
        trainees_max: 120,
    };
    let gen = |out: &str| {
        bench_ok(
            p,
            &[
                "gen",
                "--out",
                out,
                "--counties",
                "7",
                "--years",
                "3",
                "--seed",
                "9",
                "--trainees-max",
                "120",
            ],
        )
    };
    let out = gen("w.jsonl");
    let text = std::fs::read_to_string(p.join("w.jsonl")).unwrap();
    let lines = text.lines().count() as u64;
    // The workload's events, in batches each sealed by the operator.
    let seals = text.matches("\"kind\":\"ledger_sealed\"").count() as u64;
    assert_eq!(lines - seals, Workload::event_count(&spec), "{out}");
    assert_eq!(Workload::new(spec).count() as u64, lines - seals);
    assert!(text
        .lines()
        .last()
        .unwrap()
        .contains("\"kind\":\"ledger_sealed\""));
    // Deterministic: the same seed gives the same bytes.
    gen("w2.jsonl");
    assert_eq!(
        std::fs::read(p.join("w.jsonl")).unwrap(),
        std::fs::read(p.join("w2.jsonl")).unwrap()
    );
    let from_file = ok(p, &["verify", "--file", "w.jsonl"]);
    assert!(from_file.starts_with(&format!("ok: {lines} records")));
    // A file is verified with the compact ledger, standard input with the
    // full one (nothing can be read back): the same verdict. The workload
    // has reversals, so records are read back.
    let export = std::fs::read_to_string(p.join("w.jsonl")).unwrap();
    assert!(export.contains("\"kind\":\"event_reversed\""));
    let from_stdin = run(p, &["verify", "--file", "-"], Some(&export));
    assert_eq!(String::from_utf8_lossy(&from_stdin.stdout), from_file);
    ok(p, &["import", "--ledger", "L", "w.jsonl"]);
    assert_eq!(ok(p, &["verify", "--ledger", "L"]), from_file);
    let status = ok(p, &["status", "--ledger", "L"]);
    assert_eq!(
        status
            .lines()
            .filter(|l| l.starts_with("province-20"))
            .count(),
        3,
        "{status}"
    );
    // Offsets carried each year's surpluses into the next.
    let report: Value = serde_json::from_str(&ok(
        p,
        &[
            "report",
            "--ledger",
            "L",
            "--program",
            "province-2023",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_ne!(report["program"]["offset_in_cny"], "0.00");
    assert!(report["program"]["districts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["settled"] == true));
}

/// `fundledger export … | head -1` ends quietly: no panic on the closed pipe.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let dir = tempdir();
    let ledger = demo_ledger(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_fundledger"))
        .args(["export", "--ledger", &ledger.to_string_lossy()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before the first line
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    const SIGPIPE: i32 = 13; // Linux
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{:?}", out.status);
}

/// Issue #11, 8: `demo` replaces only a ledger an earlier demo made.
#[test]
fn demo_never_replaces_a_ledger_it_did_not_make() {
    let dir = tempdir();
    let p = dir.path();
    crate::support::empty_kunming_ledger(p, "real", "real");
    let before = ok(p, &["export", "--ledger", "real"]);
    let err = fails(p, &["demo", "--dir", "real"], None, 2);
    assert!(
        err.contains("holds a ledger that demo did not make"),
        "{err}"
    );
    assert_eq!(before, ok(p, &["export", "--ledger", "real"]));
    // A demo's own ledger is replaced, and says so.
    ok(p, &["demo", "--dir", "again"]);
    let out = run(p, &["demo", "--dir", "again"], None);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("replacing the demo ledger"));
}

/// Issue #11, 9: an input past the batch limit is refused as soon as the
/// limit is passed, naming the line (it is not parsed to its end).
#[test]
fn an_input_past_the_batch_limit_stops_at_the_limit() {
    let demo = Demo::new();
    let line = fund_use("x", "luquan-dpf", "530128", json!("1.00")).to_string() + "\n";
    let input = line.repeat(50_000);
    let err = fails(
        demo.path(),
        &[
            "append",
            "--ledger",
            &demo.ledger,
            "--key",
            &key("luquan-dpf"),
            "-",
        ],
        Some(&input),
        1,
    );
    assert!(
        err.contains("more than the batch limit of 10000 events (stopped reading at event 10001, line 10001)"),
        "{err}"
    );
}

/// Issue #11, 5: a far-future `at` would hold the ledger's clock there for
/// good; a second 60 is no time. Both are refused, and nothing is written.
#[test]
fn a_far_future_or_leap_second_time_is_refused() {
    let demo = Demo::new();
    let mut far = fund_use("f1", "luquan-dpf", "530128", json!("1.00"));
    far["at"] = json!("9999-12-31T23:59:59+08:00");
    demo.rejects(
        &[
            "append",
            "--ledger",
            &demo.ledger,
            "--key",
            &key("luquan-dpf"),
            "--operator-key",
            &key("kunming-dpf"),
            "--clock",
            "event",
            "-",
        ],
        &far.to_string(),
        &[
            "field event.at",
            "more than 24 hours ahead of this machine's clock",
        ],
    );
    let mut leap = fund_use("f2", "luquan-dpf", "530128", json!("1.00"));
    leap["at"] = json!("2022-11-25T10:17:60+08:00");
    demo.rejects_append("luquan-dpf", &[leap], &["field event.at", "never :60"]);
}

/// `--future-skew-hours` sets how far ahead an event's `at` may be.
#[test]
fn the_future_skew_is_a_flag() {
    let demo = Demo::new();
    let soon = (chrono::Utc::now() + chrono::Duration::hours(48))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S+08:00")
        .to_string();
    let revoke = event(
        "revoke.soon",
        "kunming-dpf",
        "actor_revoked",
        json!({"actor": "luquan-dpf", "reason": "key lost"}),
    );
    let mut revoke = revoke;
    revoke["at"] = json!(soon);
    let args = |skew: &'static str| {
        vec![
            "append".to_string(),
            "--ledger".into(),
            demo.ledger.clone(),
            "--key".into(),
            key("kunming-dpf"),
            "--clock".into(),
            "event".into(),
            "--future-skew-hours".into(),
            skew.into(),
            "-".into(),
        ]
    };
    let refused = args("24");
    let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
    demo.rejects(&refused, &revoke.to_string(), &["more than 24 hours ahead"]);
    let allowed = args("72");
    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    let out = run(demo.path(), &allowed, Some(&revoke.to_string()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `fundledger bench` (#16's `cargo run --release -- bench`) runs the
/// benchmarks binary beside it with its arguments, and exits as it did.
#[test]
fn bench_runs_the_benchmarks_binary() {
    let dir = crate::support::tempdir();
    let p = dir.path();
    let bench = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fundledger"))
            .arg("bench")
            .args(args)
            // Under cargo it would build fundledger-bench first; the test's
            // build did.
            .env_remove("CARGO")
            .current_dir(p)
            .output()
            .unwrap()
    };
    let out = bench(&[
        "gen",
        "--out",
        "w.jsonl",
        "--counties",
        "1",
        "--years",
        "1",
        "--trainees-min",
        "2",
        "--trainees-max",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("generated "));
    let text = std::fs::read_to_string(p.join("w.jsonl")).unwrap();
    assert!(text.lines().count() > 10);
    let out = bench(&["gen", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}
