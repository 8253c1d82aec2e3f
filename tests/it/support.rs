//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real binary with `args` in `cwd`, feeding `stdin`.
pub fn run(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fundledger"))
        .args(args)
        .current_dir(cwd)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("the binary finishes")
}

/// Runs and asserts success; returns stdout.
pub fn ok(cwd: &Path, args: &[&str]) -> String {
    let out = run(cwd, args, None);
    assert!(
        out.status.success(),
        "fundledger {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs and asserts exit code `code`; returns stderr.
pub fn fails(cwd: &Path, args: &[&str], stdin: Option<&str>, code: i32) -> String {
    let out = run(cwd, args, stdin);
    assert_eq!(
        out.status.code(),
        Some(code),
        "fundledger {args:?}: expected exit {code}; stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// A temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Builds the demo ledger in `dir/demo` and returns its path.
pub fn demo_ledger(dir: &Path) -> PathBuf {
    let ledger = dir.join("demo");
    ok(dir, &["demo", "--dir", ledger.to_str().unwrap()]);
    ledger
}

/// Opens an empty ledger at `ledger` (relative to `dir`) named `name`,
/// operated by the demo's city federation `kunming-dpf` from 2022-01-04.
pub fn empty_kunming_ledger(dir: &Path, ledger: &str, name: &str) {
    let operator_key = crate::chain::key("kunming-dpf");
    ok(
        dir,
        &[
            "init",
            "--ledger",
            ledger,
            "--name",
            name,
            "--operator",
            "kunming-dpf",
            "--key",
            &operator_key,
            "--at",
            "2022-01-04T09:00:00+08:00",
        ],
    );
}

/// Appends the events in `file` (relative to `dir`) to `ledger` as `actor`,
/// co-signed by the demo's operator, at the events' own times; returns stdout.
pub fn append_at_event_time(dir: &Path, ledger: &str, actor: &str, file: &str) -> String {
    let (actor_key, operator_key) = (crate::chain::key(actor), crate::chain::key("kunming-dpf"));
    ok(
        dir,
        &[
            "append",
            "--ledger",
            ledger,
            "--key",
            &actor_key,
            "--operator-key",
            &operator_key,
            "--clock",
            "event",
            file,
        ],
    )
}

/// Runs the benchmark binary (`gen`, …) with `args` in `cwd` and asserts
/// success; returns stdout.
pub fn bench_ok(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fundledger-bench"))
        .args(args)
        // Under cargo the benchmarks build the product first; the test's
        // build already did, beside this binary.
        .env_remove("CARGO")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("the benchmark binary runs");
    assert!(
        out.status.success(),
        "fundledger-bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The demo ledger's id: the hash of its record 0, which the demo records at
/// its event's own time (as `fundledger demo` does).
pub fn demo_ledger_id() -> String {
    use fundledger_core::crypto::SecretKey;
    use fundledger_core::ids::Timestamp;
    use fundledger_core::ledger::{Appended, Ledger};
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let fixture =
            std::fs::read_to_string(repo().join("fixtures/kunming-2022/events.jsonl")).unwrap();
        let first: serde_json::Value =
            serde_json::from_str(fixture.lines().next().unwrap()).unwrap();
        let sig = SecretKey::demo(first["actor"].as_str().unwrap())
            .sign_event(&first)
            .unwrap();
        let at = Timestamp::parse(first["at"].as_str().unwrap()).unwrap();
        let Ok(Appended::New(record)) = Ledger::new().append_event(&first, &sig, at) else {
            panic!("the fixture's record 0 is accepted")
        };
        record.hash.to_hex()
    })
    .clone()
}

/// `report --format json` of `program` in `ledger` (with `extra` flags),
/// parsed.
pub fn report_json(dir: &Path, ledger: &str, program: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "report",
        "--ledger",
        ledger,
        "--program",
        program,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(dir, &args)).expect("the report is JSON")
}
