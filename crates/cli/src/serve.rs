//! `serve`: the HTTP API on a tokio runtime.

use crate::error::{CliError, CliResult};
use crate::keyfile;
use std::io::Write;
use std::path::Path;

pub fn run(
    ledger: &Path,
    addr: &str,
    key: Option<&Path>,
    future_skew_hours: u32,
    header_timeout_secs: u64,
) -> CliResult<()> {
    let addr = addr
        .parse()
        .map_err(|e| CliError::usage(format!("--addr {addr:?}: {e} (e.g. 127.0.0.1:8080)")))?;
    let operator_key = key.map(keyfile::read).transpose()?;
    let config = fundledger_server::ServeConfig {
        ledger: ledger.to_path_buf(),
        addr,
        operator_key,
        future_skew: chrono::Duration::hours(i64::from(future_skew_hours)),
        header_read_timeout: std::time::Duration::from_secs(header_timeout_secs.max(1)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::usage(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(fundledger_server::serve(config, |bound| {
        // Readers of the ledger find the server here (`crate::served`).
        crate::served::announce(ledger, &format!("http://{bound}"));
        println!("listening on http://{bound}");
        let _ = std::io::stdout().flush();
    }));
    crate::served::withdraw(ledger);
    match result {
        Ok(()) => {
            eprintln!("stopped: every acknowledged record is on disk");
            Ok(())
        }
        Err(fundledger_server::ServeError::Store(e)) => Err(e.into()),
        Err(e) => Err(CliError::usage(e.to_string())),
    }
}
