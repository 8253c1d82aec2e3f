//! Running the product binary as a child process, one phase at a time, so
//! its wall time and peak memory are its own; and a server started on a
//! ledger for the measurements that need one.

use crate::error::{CliError, CliResult};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

/// Environment variable that makes the `fundledger` binary print its peak
/// RSS at exit (see its `main.rs`).
pub const PEAK_RSS_ENV: &str = "FUNDLEDGER_PRINT_PEAK_RSS";

/// One measured phase.
pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
    pub peak_rss_mib: f64,
    pub stdout: String,
}

/// Which binary runs a phase.
#[derive(Clone, Copy)]
pub enum Binary {
    /// The product, `fundledger`.
    Product,
    /// This benchmark binary (`gen`, `floor`).
    Bench,
}

/// The `fundledger` binary beside this one, built first when this one was
/// started by `cargo run` (cargo builds only the binary it runs).
pub fn product() -> CliResult<PathBuf> {
    static PRODUCT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PRODUCT
        .get_or_init(|| {
            let own =
                std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
            let product = own.with_file_name("fundledger");
            if let Some(cargo) = std::env::var_os("CARGO") {
                let release = own.components().any(|c| c.as_os_str() == "release");
                let mut build = Command::new(cargo);
                build.args(["build", "--quiet", "--bin", "fundledger"]);
                if release {
                    build.arg("--release");
                }
                let status = build
                    .status()
                    .map_err(|e| format!("cannot run cargo: {e}"))?;
                if !status.success() {
                    return Err("cargo could not build the fundledger binary".to_string());
                }
            }
            if product.exists() {
                Ok(product)
            } else {
                Err(format!(
                    "{} is missing: build it with `cargo build --release`",
                    product.display()
                ))
            }
        })
        .clone()
        .map_err(|why| CliError::usage(format!("bench: {why}")))
}

/// Runs one phase to its end.
pub fn run_phase(name: &'static str, binary: Binary, args: &[&str]) -> CliResult<Phase> {
    let exe = match binary {
        Binary::Product => product()?,
        Binary::Bench => std::env::current_exe()
            .map_err(|e| CliError::usage(format!("bench: cannot find own binary: {e}")))?,
    };
    let shown = match binary {
        Binary::Product => "fundledger",
        Binary::Bench => "fundledger-bench",
    };
    eprintln!("bench: {name}: {shown} {}", args.join(" "));
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

/// `fundledger serve` on a ledger, on a free loopback port; stopped (SIGTERM)
/// when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts the server and waits until it listens; with the operator's
    /// key file it appends (and seals), without it it only reads.
    pub fn start(ledger: &Path, operator_key: Option<&Path>) -> CliResult<Server> {
        let mut command = Command::new(product()?);
        command.args([
            "serve",
            "--ledger",
            &ledger.to_string_lossy(),
            "--addr",
            "127.0.0.1:0",
        ]);
        if let Some(key) = operator_key {
            command.arg("--key").arg(key);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| CliError::usage(format!("bench: cannot start the server: {e}")))?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("bench: {e}")))?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_default()
            .to_string();
        Ok(Server { child, url })
    }
}

impl Server {
    /// The server process's resident memory now, in MiB (Linux).
    pub fn rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// An HTTP client that reads error statuses as answers.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into()
}

/// Runs another program, polling its peak RSS; `None` when it is not installed.
pub fn run_external(tool: &'static str, name: &'static str, args: &[&str]) -> Option<Phase> {
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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
        name,
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_mib: peak_kib / 1024.0,
        stdout: String::new(),
    })
}

/// Removes a directory an earlier run left.
pub fn remove_earlier(dir: &Path) -> CliResult<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| CliError::usage(format!("bench: cannot remove {}: {e}", dir.display())))?;
    }
    Ok(())
}
