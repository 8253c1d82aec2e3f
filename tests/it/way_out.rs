//! Issue #13, the way out: the 自评表 workbook read back with calamine and
//! checked figure by figure against the JSON report; the HTML report and
//! the served pages loaded in headless Chromium (the rendered DOM checked,
//! every request the browser made logged and required to stay on the
//! page's origin), and the report printed to PDF and read with pdftotext.

use crate::support::{demo_ledger, ok, tempdir};
use calamine::{open_workbook, Data, Reader, Xlsx};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Writes `report --format FORMAT --out OUT` (and `extra` flags) of `program`.
fn report_to(p: &Path, ledger: &str, program: &str, format: &str, out: &str, extra: &[&str]) {
    let mut args = vec![
        "report",
        "--ledger",
        ledger,
        "--program",
        program,
        "--format",
        format,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    ok(p, &args);
}

fn money(text: &Value) -> f64 {
    text.as_str().unwrap().parse().unwrap()
}

fn cells(range: &calamine::Range<Data>) -> Vec<Vec<Data>> {
    range.rows().map(|r| r.to_vec()).collect()
}

fn find(rows: &[Vec<Data>], text: &str) -> Option<(usize, usize)> {
    rows.iter().enumerate().find_map(|(r, row)| {
        row.iter()
            .position(|c| matches!(c, Data::String(s) if s == text))
            .map(|c| (r, c))
    })
}

#[test]
fn the_workbook_is_the_self_evaluation_table_with_every_demo_figure_as_a_number() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let report = crate::support::report_json(p, l, "kunming-2022", &[]);
    let program = &report["program"];
    let out = p.join("自评表.xlsx");
    report_to(p, l, "kunming-2022", "xlsx", out.to_str().unwrap(), &[]);
    let mut book: Xlsx<_> = open_workbook(&out).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "自评表",
            "县区",
            "报送时限",
            "满意度调查",
            "审计发现",
            "账本"
        ]
    );
    let first = cells(&book.worksheet_range("自评表").unwrap());
    for column in [
        "项目支出绩效自评表",
        "年初预算数",
        "全年预算数",
        "全年执行数",
        "分值",
        "执行率",
        "得分",
        "年度资金总额",
        "其中：财政资金",
        "其他资金",
        "年度总体目标",
        "预期目标",
        "实际完成情况",
        "一级指标",
        "二级指标",
        "三级指标",
        "指标性质",
        "年度指标值",
        "实际完成值",
        "偏差原因分析及改进措施",
        "评价结论（等级）",
    ] {
        assert!(
            find(&first, column).is_some(),
            "the first sheet lacks {column}"
        );
    }
    // 年度资金总额: numbers, equal to the JSON report's.
    let (r, _) = find(&first, "年度资金总额").unwrap();
    assert_eq!(
        first[r][1],
        Data::Float(money(&program["budget_initial_cny"]))
    );
    assert_eq!(first[r][1], Data::Float(1_000_000.0));
    assert_eq!(
        first[r][2],
        Data::Float(money(&program["budget_approved_cny"]))
    );
    assert_eq!(first[r][3], Data::Float(money(&program["spent_cny"])));
    assert_eq!(first[r][5], Data::Float(1.0), "100.00 % as a rate cell");
    let (r, _) = find(&first, "总分").unwrap();
    assert_eq!(first[r][7], Data::Float(94.5));
    let (r, _) = find(&first, "评价结论（等级）").unwrap();
    assert!(
        first[r].iter().any(|c| c == &Data::String("优".into())),
        "{:?}",
        first[r]
    );
    // Every judged deduction's reason is in 偏差原因分析及改进措施.
    assert!(first
        .iter()
        .flatten()
        .any(|c| matches!(c, Data::String(s) if s.contains("扣1.5分"))));

    let districts = cells(&book.worksheet_range("县区").unwrap());
    let listed = program["districts"].as_array().unwrap();
    assert_eq!(listed.len(), 13);
    for (row, d) in districts[1..14].iter().zip(listed) {
        assert_eq!(row[0], Data::String(d["code"].as_str().unwrap().into()));
        assert_eq!(row[2], Data::Float(money(&d["allocated_cny"])), "{d}");
        assert_eq!(row[3], Data::Float(money(&d["spent_cny"])));
        assert_eq!(row[6], Data::Float(d["trainees"].as_f64().unwrap()));
    }
    assert_eq!(districts[14][2], Data::Float(1_000_000.0));
    assert_eq!(districts[14][4], Data::Float(1.0));
    assert_eq!(districts[14][6], Data::Float(2028.0));

    let survey = cells(&book.worksheet_range("满意度调查").unwrap());
    let (r, c) = find(&survey, "得分").unwrap();
    let total = survey
        .iter()
        .skip(r)
        .find(|row| row.get(1) == Some(&Data::String("合计".into())))
        .unwrap();
    assert_eq!(total[c], Data::Float(96.28));
    let chain = cells(&book.worksheet_range("账本").unwrap());
    let (r, _) = find(&chain, "头哈希").unwrap();
    assert_eq!(
        chain[r][1],
        Data::String(report["ledger"]["head"].as_str().unwrap().into())
    );
    let findings = cells(&book.worksheet_range("审计发现").unwrap());
    assert_eq!(findings[1][0], Data::String("无审计发现。".into()));

    // The English workbook.
    let en = p.join("self-evaluation.xlsx");
    report_to(
        p,
        l,
        "kunming-2022",
        "xlsx",
        en.to_str().unwrap(),
        &["--lang", "en"],
    );
    let mut book: Xlsx<_> = open_workbook(&en).unwrap();
    assert_eq!(book.sheet_names()[0], "Self-evaluation");
    let first = cells(&book.worksheet_range("Self-evaluation").unwrap());
    assert!(find(&first, "Deviation: causes and corrective measures").is_some());
    // Without --out a workbook is refused: it is not for a terminal.
    crate::support::fails(
        p,
        &[
            "report",
            "--ledger",
            l,
            "--program",
            "kunming-2022",
            "--format",
            "xlsx",
        ],
        None,
        2,
    );
}

/// Chromium, if installed (`.ci/run` installs it and sets FUNDLEDGER_REQUIRE_CHROMIUM).
fn chromium() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(name);
        }
    }
    assert!(
        std::env::var_os("FUNDLEDGER_REQUIRE_CHROMIUM").is_none(),
        "FUNDLEDGER_REQUIRE_CHROMIUM is set but no chromium is installed"
    );
    eprintln!("skipped: chromium is not installed (.ci/run installs it)");
    None
}

/// Loads `url` headless: the rendered DOM, and every URL the browser requested (its net log).
fn load(browser: &str, url: &str, scratch: &Path) -> (String, Vec<String>) {
    let log = scratch.join(format!("net-{}.json", url.len()));
    let profile = scratch.join("profile");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", log.display()))
        .args(["--virtual-time-budget=3000", "--dump-dom", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The net log holds the browser's own traffic too (updates, time,
    // accounts); what the page asked for carries the traffic annotations of
    // navigation (63171670), favicons (112189210) and blink's resource
    // loader (101845102: images, styles, scripts, fonts, SVG images).
    const PAGE_ANNOTATIONS: [u64; 3] = [63171670, 112189210, 101845102];
    let net: Value = serde_json::from_str(&std::fs::read_to_string(&log).unwrap()).unwrap();
    let urls: Vec<String> = net["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let params = &e["params"];
            let annotation = params["traffic_annotation"].as_u64()?;
            let url = params["url"].as_str()?;
            PAGE_ANNOTATIONS
                .contains(&annotation)
                .then(|| url.to_string())
        })
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), urls)
}

fn demo_figures_in(dom: &str) {
    for figure in [
        "1,000,000.00",
        "100.00%",
        "2028",
        "96.28",
        "94.50",
        "优",
        "禄劝县",
        "寻甸县",
        "报送时限",
    ] {
        assert!(dom.contains(figure), "the page lacks {figure}");
    }
}

#[test]
fn the_html_report_renders_offline_and_prints_with_its_figures() {
    let Some(browser) = chromium() else { return };
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let page = p.join("report.html");
    report_to(p, l, "kunming-2022", "html", page.to_str().unwrap(), &[]);
    let html = std::fs::read_to_string(&page).unwrap();
    for outside in [
        "<script",
        "<link",
        "@import",
        "url(",
        "src=\"http",
        "href=\"http",
    ] {
        assert!(
            !html.contains(outside),
            "the page refers outside itself: {outside}"
        );
    }
    let url = format!("file://{}", page.display());
    let (dom, requests) = load(browser, &url, p);
    demo_figures_in(&dom);
    assert!(
        dom.contains("2023年5月20日"),
        "dated like the evaluation it reports"
    );
    assert!(dom.matches("<svg").count() >= 5, "five charts");
    let outside: Vec<&String> = requests
        .iter()
        .filter(|u| !u.starts_with("file://"))
        .collect();
    assert!(outside.is_empty(), "requests left the page: {outside:?}");
    // The check sees what it must: a page that loads an image from elsewhere is caught.
    let control = p.join("control.html");
    std::fs::write(
        &control,
        "<html><body><img src=\"http://example.invalid/x.png\"></body></html>",
    )
    .unwrap();
    let (_, requests) = load(browser, &format!("file://{}", control.display()), p);
    assert!(
        requests
            .iter()
            .any(|u| u.starts_with("http://example.invalid/")),
        "{requests:?}"
    );
    // Printed to PDF, its text holds the score and the grade.
    let pdf = p.join("report.pdf");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            p.join("profile-pdf").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new("pdftotext").arg(&pdf).arg("-").output();
    match text {
        Ok(text) if text.status.success() => {
            let text = String::from_utf8_lossy(&text.stdout);
            assert!(text.contains("94.50") && text.contains("优"), "{text}");
        }
        _ => assert!(
            std::env::var_os("FUNDLEDGER_REQUIRE_CHROMIUM").is_none(),
            "pdftotext (poppler-utils) is required with FUNDLEDGER_REQUIRE_CHROMIUM"
        ),
    }
}

#[test]
fn the_served_pages_show_the_ledger_and_stay_on_their_origin() {
    let Some(browser) = chromium() else { return };
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let server = crate::server::Server::start(&ledger);
    let base = server.url.clone();
    let (dom, requests) = load(browser, &format!("{base}/"), p);
    for text in [
        "账本总览",
        "154",
        "534879e6c757ed4a",
        "2022年残疾人培训专项市级补助经费",
        "94.50 优",
        "启动时",
    ] {
        assert!(dom.contains(text), "the dashboard lacks {text}");
    }
    let (page, more) = load(browser, &format!("{base}/programs/kunming-2022"), p);
    demo_figures_in(&page);
    let (early, _) = load(
        browser,
        &format!("{base}/programs/kunming-2022?as_of=2022-06-30"),
        p,
    );
    assert!(
        early.contains("2022年6月30日") && !early.contains("94.50 优"),
        "as of a chosen date"
    );
    let (district, _) = load(
        browser,
        &format!("{base}/programs/kunming-2022/districts/530128"),
        p,
    );
    assert!(district.contains("禄劝县") && district.contains("370,000.00"));
    let (records, _) = load(browser, &format!("{base}/records"), p);
    assert!(
        records.contains("/v1/records/153") && records.contains("/v1/proofs/inclusion?seq=153")
    );
    let origin = base.trim_end_matches('/');
    let outside: Vec<&String> = requests
        .iter()
        .chain(&more)
        .filter(|u| !u.starts_with(origin))
        .collect();
    assert!(
        outside.is_empty(),
        "requests left the origin {origin}: {outside:?}"
    );
    server.stop();
}

#[test]
fn charts_aggregate_for_a_province_of_districts() {
    // 300 districts: above 40 the charts aggregate, as they do for 3,000.
    let dir = tempdir();
    let p = dir.path();
    crate::support::bench_ok(
        p,
        &[
            "gen",
            "--out",
            "province.jsonl",
            "--counties",
            "300",
            "--years",
            "1",
            "--trainees-min",
            "2",
            "--trainees-max",
            "3",
        ],
    );
    ok(p, &["import", "--ledger", "province", "province.jsonl"]);
    report_to(p, "province", "province-2022", "html", "province.html", &[]);
    let html = std::fs::read_to_string(p.join("province.html")).unwrap();
    let svgs: Vec<&str> = html.split("<svg").skip(1).collect();
    let execution = svgs
        .iter()
        .find(|s| s.contains("各县区预算执行率"))
        .unwrap();
    assert!(
        execution.contains("300 个县区，按执行率分段"),
        "{execution}"
    );
    assert_eq!(
        execution.matches("<rect").count(),
        12,
        "a bar per band of 10 points, and one over 100 %"
    );
    let deadlines = svgs
        .iter()
        .find(|s| s.contains("报送时限（县区 × 报送事项）"))
        .unwrap();
    assert_eq!(
        deadlines.matches("<rect").count(),
        8,
        "counts per filing and status"
    );
    // Every district is still in the district table, sorted by code.
    let table = html.split("<table").nth(3).unwrap();
    assert_eq!(
        table.matches("<tr>").count(),
        1 + 300,
        "the header and a row per district"
    );
    // The workbook lists them all too.
    report_to(p, "province", "province-2022", "xlsx", "province.xlsx", &[]);
    let mut book: Xlsx<_> = open_workbook(p.join("province.xlsx")).unwrap();
    assert_eq!(book.worksheet_range("县区").unwrap().height(), 302);
}

#[test]
fn reading_commands_work_while_serve_holds_the_ledger() {
    let dir = tempdir();
    let p = dir.path();
    let ledger = demo_ledger(p);
    let l = ledger.to_str().unwrap();
    let before = ok(
        p,
        &[
            "report",
            "--ledger",
            l,
            "--program",
            "kunming-2022",
            "--format",
            "json",
        ],
    );
    let server = crate::server::Server::start(&ledger);
    assert!(std::fs::read_to_string(ledger.join("SERVING"))
        .unwrap()
        .starts_with(&server.url));
    // Through the server: the same report, and every reading command works.
    let out = crate::support::run(
        p,
        &[
            "report",
            "--ledger",
            l,
            "--program",
            "kunming-2022",
            "--format",
            "json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading its 154 records through it"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), before);
    let verified = ok(p, &["verify", "--ledger", l]);
    assert!(verified.contains("ok: 154 records"), "{verified}");
    ok(
        p,
        &["export", "--ledger", l, "--out", "while-serving.jsonl"],
    );
    assert_eq!(
        std::fs::read_to_string(p.join("while-serving.jsonl"))
            .unwrap()
            .lines()
            .count(),
        154
    );
    assert!(
        ok(p, &["log", "--ledger", l, "--kind", "survey_recorded"]).contains("kunming-2022.survey")
    );
    assert!(ok(p, &["findings", "--ledger", l, "--program", "kunming-2022"]).contains("无。"));
    assert!(ok(p, &["status", "--ledger", l]).contains("94.50"));
    assert!(ok(p, &["sample", "--ledger", l, "--program", "kunming-2022"]).contains("530128"));
    server.stop();
    assert!(
        !ledger.join("SERVING").exists(),
        "the note goes with the server"
    );
    // After the server, the same commands read the store directly again.
    assert_eq!(
        ok(
            p,
            &[
                "report",
                "--ledger",
                l,
                "--program",
                "kunming-2022",
                "--format",
                "json"
            ]
        ),
        before
    );
}
