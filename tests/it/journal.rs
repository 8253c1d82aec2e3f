//! `export --format ledger`: ledger-cli and hledger, reading the journal,
//! agree with fundledger's projections to the fen. Needs `ledger` and
//! `hledger` on PATH (`.ci/run` installs them and sets
//! FUNDLEDGER_REQUIRE_LEDGER_TOOLS=1, which turns their absence into a failure).

use crate::support::{bench_ok, ok, tempdir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn tool_available(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("FUNDLEDGER_REQUIRE_LEDGER_TOOLS").is_none(),
            "{tool} is required here (apt-get install ledger hledger)"
        );
        eprintln!(
            "skipped: {tool} is not installed (apt-get install ledger hledger; .ci/run does)"
        );
    }
    found
}

/// `account → amount in fen` from `balance --flat --no-total` of either tool.
fn balances(tool: &str, journal: &Path) -> BTreeMap<String, i64> {
    let out = Command::new(tool)
        .args([
            "-f",
            journal.to_str().unwrap(),
            "balance",
            "--flat",
            "--no-total",
            "--empty",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let amount = parts.next()?;
            let unit = parts.next()?;
            let account = parts.next()?;
            if unit != "CNY" {
                return None;
            }
            let fen = amount.replace([',', '.'], "").parse::<i64>().ok()?;
            Some((account.to_string(), fen))
        })
        .collect()
}

fn fen(money: &Value) -> i64 {
    money.as_str().unwrap().replace('.', "").parse().unwrap()
}

#[test]
fn ledger_cli_and_hledger_agree_with_the_projections_to_the_fen() {
    if !tool_available("ledger") || !tool_available("hledger") {
        return;
    }
    let dir = tempdir();
    let p = dir.path();
    bench_ok(
        p,
        &[
            "gen",
            "--out",
            "w.jsonl",
            "--counties",
            "12",
            "--years",
            "3",
            "--seed",
            "3",
            "--trainees-min",
            "5",
            "--trainees-max",
            "9",
        ],
    );
    ok(p, &["import", "--ledger", "L", "w.jsonl"]);
    ok(
        p,
        &[
            "export",
            "--ledger",
            "L",
            "--format",
            "ledger",
            "--out",
            "w.journal",
        ],
    );
    let mut expected = BTreeMap::new();
    for program in ["province-2022", "province-2023", "province-2024"] {
        let report: Value = serde_json::from_str(&ok(
            p,
            &[
                "report",
                "--ledger",
                "L",
                "--program",
                program,
                "--format",
                "json",
            ],
        ))
        .unwrap();
        let f = &report["program"];
        expected.insert(
            format!("Assets:{program}:Treasury"),
            fen(&f["funds_received_cny"]) - fen(&f["allocated_cny"]),
        );
        for d in f["districts"].as_array().unwrap() {
            let code = d["code"].as_str().unwrap();
            expected.insert(
                format!("Expenses:{program}:Training:{code}"),
                fen(&d["spent_cny"]),
            );
            let offset_out = if d["offset_out"].is_null() {
                0
            } else {
                fen(&d["offset_out"]["surplus_cny"])
            };
            expected.insert(
                format!("Assets:{program}:Districts:{code}"),
                fen(&d["allocated_cny"]) + fen(&d["offset_in_cny"])
                    - fen(&d["spent_cny"])
                    - offset_out,
            );
        }
    }
    assert!(expected.len() > 70);
    let reversed = std::fs::read_to_string(p.join("w.journal"))
        .unwrap()
        .matches("* event_reversed")
        .count();
    assert!(
        reversed > 0,
        "the workload has reversals, and the journal carries them"
    );
    for tool in ["ledger", "hledger"] {
        let got = balances(tool, &p.join("w.journal"));
        for (account, amount) in &expected {
            assert_eq!(
                got.get(account).copied().unwrap_or(0),
                *amount,
                "{tool}: {account}"
            );
        }
    }
}
