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
    phases.push(run_phase(
        "projection rebuild (open + status)",
        &["status", "--ledger", &ledger.to_string_lossy()],
    )?);
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
    println!(
        "\nmachine: {} logical CPUs; fundledger {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}
