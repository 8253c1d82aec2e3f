//! `fundledger-bench`: the benchmarks and the province-scale workload
//! generator, apart from the product binary. Each phase runs the product
//! binary, `fundledger`, as a child process, so its wall time and peak
//! memory are its own; the floor (Ed25519 batch verification and BLAKE3 on
//! every core) is measured in the same run, and figures are ratios to it.
//!
//! `cargo run --release --bin fundledger-bench -- run` builds the product
//! binary first (cargo builds only the binary it runs).

#[path = "../../cli/src/error.rs"]
mod error;
mod floor;
mod gen;
mod intake;
// Shared with the product binary; the benchmarks only write keys.
#[allow(dead_code)]
#[path = "../../cli/src/keyfile.rs"]
mod keyfile;
mod load;
mod phases;
#[path = "../../cli/src/progress.rs"]
mod progress;
mod run;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Benchmarks of fundledger, as ratios to a floor measured in the same run.
#[derive(Parser)]
#[command(name = "fundledger-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure verify, import and projection rebuild on a generated workload (≥ 1,000,000 events by default).
    #[command(
        after_help = "Examples:\n  fundledger-bench run                                   # 2978 counties (all of GB/T 2260) × 10 years, ≥ 1,000,000 events\n  \
fundledger-bench run --counties 100 --years 2          # a quick run\n  \
fundledger-bench run --input province.jsonl            # an existing export\n\n\
Each phase runs the real binary as a child process; its wall time and peak RSS are its own."
    )]
    Run {
        /// Working directory for the workload and the ledger.
        #[arg(long, default_value = "target/bench")]
        dir: PathBuf,
        /// Use this export instead of generating one.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Counties of the generated workload.
        #[arg(long, default_value_t = 2978)]
        counties: u32,
        /// Years of the generated workload.
        #[arg(long, default_value_t = 10)]
        years: u32,
    },
    /// Generate a deterministic province-scale workload as a signed export (JSONL).
    #[command(
        after_help = "Examples:\n  fundledger-bench gen --out small.jsonl --counties 20 --years 2\n  \
fundledger-bench gen --out province.jsonl --counties 2978 --years 10     # ≥ 1,000,000 events\n\n\
The output loads with `fundledger import` and verifies with `fundledger verify --file`."
    )]
    Gen {
        /// The export to write.
        #[arg(long)]
        out: PathBuf,
        /// Counties (districts).
        #[arg(long)]
        counties: u32,
        /// Fiscal years.
        #[arg(long)]
        years: u32,
        /// Seed of all variety.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First fiscal year.
        #[arg(long, default_value_t = 2022)]
        first_year: i32,
        /// Smallest roster.
        #[arg(long, default_value_t = 100)]
        trainees_min: u32,
        /// Largest roster.
        #[arg(long, default_value_t = 199)]
        trainees_max: u32,
        /// Records per sealed batch (each batch ends with the operator's seal: a checkpoint).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
        seal_every: u32,
    },
    /// Load-test the HTTP server: durable appends/s and p50/p99 latency at 1, 16 and 64 clients.
    #[command(after_help = "Example:\n  fundledger-bench load --seconds 5\n\n\
Starts `fundledger serve` on a demo ledger on loopback; each client sends one signed event per request \
and waits for its 201, which the server sends only after the group commit's flush.")]
    Load {
        /// Working directory.
        #[arg(long, default_value = "target/bench")]
        dir: PathBuf,
        /// Client counts, comma-separated.
        #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
        clients: Vec<usize>,
        /// Seconds per client count.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Time `fundledger prepare roster` on a generated roster sheet against reading the sheet alone.
    #[command(after_help = "Example:\n  fundledger-bench prepare --rows 2000")]
    Prepare {
        /// Working directory.
        #[arg(long, default_value = "target/bench")]
        dir: PathBuf,
        /// Trainee rows in the sheet.
        #[arg(long, default_value_t = 2000)]
        rows: usize,
    },
    /// The hardware floor on an export: Ed25519 batch verification and BLAKE3 on every core (used by `run`).
    #[command(after_help = "Example:\n  fundledger-bench floor --input province.jsonl")]
    Floor {
        /// The export.
        #[arg(long)]
        input: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run {
            dir,
            input,
            counties,
            years,
        } => run::run(&dir, input.as_deref(), counties, years),
        Command::Gen {
            out,
            counties,
            years,
            seed,
            first_year,
            trainees_min,
            trainees_max,
            seal_every,
        } => gen::run(
            &out,
            seal_every as usize,
            fundledger_core::workload::WorkloadSpec {
                counties,
                years,
                first_year,
                seed,
                trainees_min,
                trainees_max,
            },
        ),
        Command::Load {
            dir,
            clients,
            seconds,
        } => load::load(&dir, &clients, seconds),
        Command::Floor { input } => floor::floor(&input),
        Command::Prepare { dir, rows } => intake::prepare(&dir, rows),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.code)
        }
    }
}
