//! Issue #14, the draw: `sample` draws the same districts and people on
//! every run for the same draw seal and others for another; a plan the
//! draw does not give is refused at append and, edited into an export, by
//! `verify`; the fraction is always met and the draw is uniform (a
//! chi-square test over thousands of seeds).

use crate::attacks::rehash;
use crate::chain::{join, key};
use crate::support::{demo_ledger, fails, ok, run, tempdir};
use fundledger_core::crypto::SecretKey;
use fundledger_core::draw::{districts_to_draw, draw_districts, draw_people};
use fundledger_core::ids::{DistrictCode, Hash32};
use fundledger_core::jcs::canonical_bytes;
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const PROGRAM: &str = "kunming-2022";

fn sample_json(dir: &std::path::Path, ledger: &str, extra: &[&str]) -> Value {
    let mut args = vec!["sample", "--ledger", ledger, "--program", PROGRAM];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--format", "json"]);
    serde_json::from_str(&ok(dir, &args)).unwrap()
}

fn codes(draw: &Value) -> Vec<String> {
    draw["districts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// Appends `line` (an unsigned event) as the auditor, at the machine's clock.
fn append_as_auditor(dir: &std::path::Path, ledger: &str, line: &str) -> std::process::Output {
    let (auditor, operator) = (key("kunming-audit"), key("kunming-dpf"));
    run(
        dir,
        &[
            "append",
            "--ledger",
            ledger,
            "--key",
            &auditor,
            "--operator-key",
            &operator,
            "-",
        ],
        Some(line),
    )
}

#[test]
fn the_demo_draw_is_pinned_repeatable_recorded_and_covered() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let first = sample_json(p, l, &[]);
    assert_eq!(first, sample_json(p, l, &[]), "the same draw on every run");
    // Pinned: the demo chain is the same on every machine, so is its draw
    // (the seal is the demo's last, the first after 2022-11-30).
    assert_eq!(first["seal_seq"], json!(153));
    assert_eq!(codes(&first), ["530128", "530127", "530103", "530125"]);
    assert_eq!(first["participating"], json!(13));
    for d in first["districts"].as_array().unwrap() {
        let people = d["people"].as_array().unwrap();
        assert_eq!(people.len(), 5, "{d}");
        for person in people {
            assert!(person["name_masked"].as_str().unwrap().contains('*'));
            assert_eq!(person["person_digest"].as_str().unwrap().len(), 64);
        }
    }
    // A larger fraction draws a superset, beginning with the same districts.
    let half = sample_json(p, l, &["--fraction", "0.50"]);
    assert_eq!(codes(&half).len(), 7);
    assert_eq!(codes(&half)[..4], codes(&first)[..]);
    // The text form names the seed and the command that records the plan.
    let text = ok(p, &["sample", "--ledger", l, "--program", PROGRAM]);
    assert!(
        text.contains("seal 153") && text.contains("禄劝县"),
        "{text}"
    );
    assert!(text.contains("--format event"), "{text}");

    // Recorded as the plan; a check names it and visits three of the four.
    let event = ok(
        p,
        &[
            "sample",
            "--ledger",
            l,
            "--program",
            PROGRAM,
            "--format",
            "event",
        ],
    );
    let plan: Value = serde_json::from_str(&event).unwrap();
    assert_eq!(
        plan["actor"],
        json!("kunming-audit"),
        "the ledger's only auditor"
    );
    let out = append_as_auditor(p, l, &event);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let visit = json!({"id": "kunming-2022.visit", "actor": "kunming-audit", "kind": "spot_check_recorded",
        "at": plan["at"], "body": {"program": PROGRAM, "plan": plan["id"],
        "districts_sampled": ["530128", "530127", "530103"], "findings": "三个县区的回访与台账一致。"}});
    let out = append_as_auditor(p, l, &visit.to_string());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = crate::support::report_json(p, l, PROGRAM, &[]);
    let plans = &report["program"]["spot_check_plans"];
    assert_eq!(plans[0]["visited"], json!(3));
    assert_eq!(plans[0]["coverage_percent"], json!("23.08"));
    assert_eq!(plans[0]["fraction_met"], json!(false));
    assert_eq!(plans[0]["districts"][3]["visited"], json!(false));
    assert_eq!(report["program"]["draw_seal"]["seal_seq"], json!(153));
    let md = ok(p, &["report", "--ledger", l, "--program", PROGRAM]);
    assert!(md.contains("未达到不低于 30% 的要求"), "{md}");
    assert!(md.contains("宜良县✗"), "{md}");
    // A check naming a plan that is not there is refused.
    let stray = visit
        .to_string()
        .replace("kunming-2022.visit", "v2")
        .replace("kunming-2022.spot-check-plan", "no-such-plan");
    let out = append_as_auditor(p, l, &stray);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("field body.plan"));
    ok(p, &["verify", "--ledger", l]);
}

#[test]
fn another_draw_seal_draws_other_districts() {
    // The same year, sealed differently: the demo's first two records
    // imported, records 2–150 submitted as one batch (its seal, at seq 151,
    // becomes the draw seal) and 151–152 as another, at their own times.
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let export = p.join("demo.jsonl");
    ok(
        p,
        &["export", "--ledger", l, "--out", export.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(p.join("head.jsonl"), lines[..2].join("\n") + "\n").unwrap();
    let submission = |line: &str| {
        let r: Value = serde_json::from_str(line).unwrap();
        json!({"event": r["event"], "sig": r["sig"]}).to_string() + "\n"
    };
    let batch: String = lines[2..151].iter().map(|l| submission(l)).collect();
    std::fs::write(p.join("150.jsonl"), batch).unwrap();
    std::fs::write(
        p.join("rest.jsonl"),
        submission(lines[151]) + &submission(lines[152]),
    )
    .unwrap();
    ok(p, &["import", "--ledger", "other", "head.jsonl"]);
    let operator = key("kunming-dpf");
    for file in ["150.jsonl", "rest.jsonl"] {
        ok(
            p,
            &[
                "submit",
                "--ledger",
                "other",
                "--operator-key",
                &operator,
                "--clock",
                "event",
                file,
            ],
        );
    }
    let demo = sample_json(p, l, &[]);
    let other = sample_json(p, "other", &[]);
    assert_eq!(other["seal_seq"], json!(151));
    assert_ne!(other["checkpoint_root"], demo["checkpoint_root"]);
    assert_eq!(codes(&other), ["530102", "530128", "530126", "530181"]);
    assert_ne!(codes(&other), codes(&demo));
    assert_eq!(other, sample_json(p, "other", &[]), "and again the same");
}

/// Re-signs the plan at `seq` in an export with the auditor's key after
/// `edit`, and rewrites every later seq, prev and hash.
fn edited_plan(lines: &mut [Vec<u8>], seq: usize, edit: impl FnOnce(&mut Value)) {
    let mut record: Value = serde_json::from_slice(&lines[seq]).unwrap();
    edit(&mut record["event"]["body"]);
    let sig = SecretKey::demo("kunming-audit")
        .sign_event(&record["event"])
        .unwrap();
    record["sig"] = json!(sig);
    lines[seq] = canonical_bytes(&record).unwrap();
    rehash(lines, seq);
}

#[test]
fn a_plan_other_than_the_draw_is_refused_at_append_and_by_verify() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let event = ok(
        p,
        &[
            "sample",
            "--ledger",
            l,
            "--program",
            PROGRAM,
            "--format",
            "event",
        ],
    );
    // The district the auditor would rather not visit, swapped for another.
    let swapped = event.replace("530125", "530102");
    let out = append_as_auditor(p, l, &swapped);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("field body.districts")
            && err.contains("not the draw of 0.30 from seal 153")
            && err.contains("nothing was appended"),
        "{err}"
    );
    // Another seal than the draw seal, or another root: refused too.
    let earlier = event.replace("\"seal_seq\":153", "\"seal_seq\":151");
    let err = String::from_utf8_lossy(&append_as_auditor(p, l, &earlier).stderr).to_string();
    assert!(err.contains("the draw is made from seal 153"), "{err}");

    // The real plan appended, then edited in an export, re-signed by the
    // auditor and rehashed: verify refuses it at its own seq.
    let out = append_as_auditor(p, l, &event);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = p.join("with-plan.jsonl");
    ok(
        p,
        &["export", "--ledger", l, "--out", export.to_str().unwrap()],
    );
    let mut lines: Vec<Vec<u8>> = std::fs::read(&export)
        .unwrap()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    ok(p, &["verify", "--file", export.to_str().unwrap()]);
    let seq = 154;
    edited_plan(&mut lines, seq, |body| {
        body["districts"] = json!(["530128", "530127", "530103", "530102"]);
    });
    std::fs::write(p.join("edited.jsonl"), join(&lines)).unwrap();
    let err = fails(p, &["verify", "--file", "edited.jsonl"], None, 1);
    assert!(
        err.contains(&format!("FAILED at seq {seq}"))
            && err.contains("field body.districts")
            && err.contains("not the draw"),
        "{err}"
    );
}

fn population(n: usize) -> Vec<DistrictCode> {
    fundledger_core::gbt2260::COUNTY_CODES[..n]
        .iter()
        .map(|c| DistrictCode::parse(&format!("{c:06}")).unwrap())
        .collect()
}

fn seed(i: u64) -> [u8; 32] {
    *blake3::hash(&i.to_le_bytes()).as_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn the_fraction_is_always_met(n in 1usize..400, hundredths in 1u32..=100, s in any::<u64>()) {
        let fraction = Decimal::new(i64::from(hundredths), 2);
        let codes = population(n);
        let drawn = draw_districts(&seed(s), PROGRAM, &codes, fraction);
        prop_assert_eq!(drawn.len(), districts_to_draw(fraction, n));
        prop_assert!(Decimal::from(drawn.len() as u64) >= fraction * Decimal::from(n as u64));
        prop_assert!(drawn.len() as u64 <= (fraction * Decimal::from(n as u64)).ceil().max(Decimal::ONE).try_into().unwrap());
        let mut distinct = drawn.clone();
        distinct.sort();
        distinct.dedup();
        prop_assert_eq!(distinct.len(), drawn.len());
        prop_assert!(drawn.iter().all(|d| codes.contains(d)));
    }
}

/// Pearson's statistic of `counts` against a uniform expectation.
fn chi_square(counts: &[u64], expected: f64) -> f64 {
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

#[test]
fn the_draw_is_uniform_over_many_seeds() {
    // 13 districts, 4 drawn, 13,000 seeds: each district is drawn 4,000
    // times in expectation, and each is first 1,000 times. With 12 degrees
    // of freedom, chi-square above 32.91 has probability 0.001 — the seeds
    // are fixed, so the test is deterministic, not flaky.
    let codes = population(13);
    let (mut drawn, mut first) = ([0u64; 13], [0u64; 13]);
    let seeds = 13_000u64;
    for i in 0..seeds {
        let draw = draw_districts(&seed(i), PROGRAM, &codes, Decimal::new(30, 2));
        for (position, code) in draw.iter().enumerate() {
            let index = codes.iter().position(|c| c == code).unwrap();
            drawn[index] += 1;
            if position == 0 {
                first[index] += 1;
            }
        }
    }
    let inclusion = chi_square(&drawn, seeds as f64 * 4.0 / 13.0);
    let leading = chi_square(&first, seeds as f64 / 13.0);
    assert!(
        inclusion < 32.91,
        "inclusion chi-square {inclusion}: {drawn:?}"
    );
    assert!(
        leading < 32.91,
        "first-place chi-square {leading}: {first:?}"
    );
    // People: 7 of 20, 20,000 seeds, 19 degrees of freedom (43.82 at 0.001).
    let people: Vec<Hash32> = (0u8..20).map(|i| Hash32([i; 32])).collect();
    let mut called = [0u64; 20];
    let district = codes[0];
    for i in 0..20_000u64 {
        for person in draw_people(&seed(i), PROGRAM, district, &people, 7) {
            called[usize::from(person.0[0])] += 1;
        }
    }
    let calls = chi_square(&called, 20_000.0 * 7.0 / 20.0);
    assert!(calls < 43.82, "people chi-square {calls}: {called:?}");
}
