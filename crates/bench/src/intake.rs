//! `fundledger-bench prepare`: `fundledger prepare roster` on a generated
//! roster sheet of synthetic people (valid check characters), against the
//! floor of reading the same sheet in this process (calamine alone).

use crate::error::{CliError, CliResult};
use crate::phases::{run_phase, Binary};
use fundledger_core::privacy::check_character;
use fundledger_core::workload::SplitMix64;
use std::path::Path;
use std::time::Instant;

const SURNAMES: [&str; 12] = [
    "张", "李", "王", "赵", "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: [&str; 12] = [
    "华", "明", "芳", "丽", "强", "军", "平", "红", "伟", "英", "兰", "勇",
];
const CATEGORIES: [&str; 7] = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"];
const LEVELS: [&str; 4] = ["一级", "二级", "三级", "四级"];

/// Writes a roster workbook of `rows` synthetic trainees.
pub fn write_sheet(path: &Path, rows: usize) -> CliResult<()> {
    let fail = |e: rust_xlsxwriter::XlsxError| {
        CliError::usage(format!("bench: cannot write the sheet: {e}"))
    };
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("花名册").map_err(fail)?;
    sheet
        .write_string(
            0,
            0,
            "禄劝县农村残疾人实用技术培训花名册（合成数据，仅供测试）",
        )
        .map_err(fail)?;
    for (c, header) in [
        "序号",
        "姓名",
        "性别",
        "身份证号码",
        "残疾类别",
        "残疾等级",
        "联系电话",
        "签名",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(1, c as u16, *header).map_err(fail)?;
    }
    let mut rng = SplitMix64(2022);
    for n in 0..rows {
        // Distinct people: a birth day per row, then a sequence number.
        let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("a date")
            + chrono::Duration::days(n as i64 % 14_000);
        let first17 = format!(
            "530128{}{:03}",
            born.format("%Y%m%d"),
            n / 14_000 * 2 + 100 + (rng.below(2) as usize)
        );
        let id = format!("{first17}{}", check_character(&first17));
        let male = (first17.as_bytes()[16] - b'0') % 2 == 1;
        let name = format!(
            "{}{}{}",
            SURNAMES[rng.below(12) as usize],
            GIVEN[rng.below(12) as usize],
            GIVEN[rng.below(12) as usize]
        );
        let r = n as u32 + 2;
        let cells = [
            (n + 1).to_string(),
            name,
            if male { "男" } else { "女" }.to_string(),
            id,
            CATEGORIES[rng.below(7) as usize].to_string(),
            LEVELS[rng.below(4) as usize].to_string(),
            format!("138{:08}", rng.below(100_000_000)),
            "是".to_string(),
        ];
        for (c, text) in cells.iter().enumerate() {
            sheet.write_string(r, c as u16, text).map_err(fail)?;
        }
    }
    workbook.save(path).map_err(fail)
}

/// Times `prepare roster` on a sheet of `rows` trainees, three times.
pub fn prepare(dir: &Path, rows: usize) -> CliResult<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::usage(format!("bench: {}: {e}", dir.display())))?;
    let sheet = dir.join(format!("roster-{rows}.xlsx"));
    write_sheet(&sheet, rows)?;
    let secret = dir.join("bench.secret");
    std::fs::write(&secret, format!("secret: {}\n", "ab".repeat(32)))
        .map_err(|e| CliError::usage(format!("bench: {e}")))?;
    let mut floor = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        let grids = fundledger_intake::grid::read_grids(&sheet)
            .map_err(|e| CliError::usage(e.to_string()))?;
        floor = floor.min(start.elapsed().as_secs_f64());
        assert!(grids[0].rows.len() > rows);
    }
    let out = dir.join("roster.json");
    let (sheet, secret, out) = (
        sheet.to_string_lossy(),
        secret.to_string_lossy(),
        out.to_string_lossy(),
    );
    let args = [
        "prepare",
        "roster",
        "--input",
        &sheet,
        "--program",
        "kunming-2022",
        "--district",
        "530128",
        "--township",
        "翠华镇",
        "--title",
        "bench",
        "--start-date",
        "2022-06-01",
        "--end-date",
        "2022-06-05",
        "--secret",
        &secret,
        "--actor",
        "luquan-dpf",
        "--out",
        &out,
    ];
    let mut best: Option<crate::phases::Phase> = None;
    for _ in 0..3 {
        let phase = run_phase("prepare roster", Binary::Product, &args)?;
        if best.as_ref().map_or(true, |b| phase.seconds < b.seconds) {
            best = Some(phase);
        }
    }
    let best = best.expect("three runs");
    println!("| phase | rows | seconds (best of 3) | rows/s | peak MiB | × floor |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| prepare roster (process: read, check, digest, write) | {rows} | {:.3} | {:.0} | {:.1} | {:.2} |",
        best.seconds,
        rows as f64 / best.seconds,
        best.peak_rss_mib,
        best.seconds / floor
    );
    println!("| floor: reading the sheet alone (calamine, in process) | {rows} | {floor:.3} | {:.0} | | 1.00 |", rows as f64 / floor);
    println!(
        "prepare roster: {rows} rows in {:.3} s ({}); {:.2}× the floor of reading the sheet",
        best.seconds,
        if best.seconds < 1.0 {
            "under a second"
        } else {
            "OVER a second"
        },
        best.seconds / floor
    );
    Ok(())
}
