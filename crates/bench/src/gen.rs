//! `gen`: a deterministic province-scale workload, signed with generated
//! keys and sealed into an export that `import` and `verify` accept.

use crate::error::{CliError, CliResult};
use crate::progress::progress;
use fundledger_core::crypto::SecretKey;
use fundledger_core::ids::Timestamp;
use fundledger_core::ledger::{Appended, Ledger};
use fundledger_core::workload::{actor_key, Workload, WorkloadSpec};
use std::io::Write;
use std::path::Path;

/// The operator's seal of every record so far.
fn seal(ledger: &mut Ledger, operator: &SecretKey, at: Timestamp) -> CliResult<Vec<u8>> {
    ledger
        .seal(operator, at)
        .map(|record| record.bytes)
        .map_err(|r| {
            CliError::rejected(format!(
                "gen: the seal was refused: {r} (a bug in the generator)"
            ))
        })
}

pub fn run(out: &Path, seal_every: usize, spec: WorkloadSpec) -> CliResult<()> {
    if spec.counties == 0 || spec.years == 0 {
        return Err(CliError::usage("--counties and --years must be at least 1"));
    }
    if spec.counties > fundledger_core::workload::COUNTIES_MAX {
        return Err(CliError::usage(format!(
            "--counties: at most {} (one per county-level code of GB/T 2260)",
            fundledger_core::workload::COUNTIES_MAX
        )));
    }
    if spec.trainees_min == 0 || spec.trainees_min > spec.trainees_max || spec.trainees_max > 2000 {
        return Err(CliError::usage(
            "--trainees-min/--trainees-max: 1 ≤ min ≤ max ≤ 2000",
        ));
    }
    let total = Workload::event_count(&spec);
    let file = std::fs::File::create(out)
        .map_err(|e| CliError::usage(format!("output {}: cannot create: {e}", out.display())))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let bar = progress(total, "gen");
    let mut ledger = Ledger::new();
    let mut bytes = 0u64;
    let operator = actor_key(spec.seed, fundledger_core::workload::OPERATOR);
    let mut write = |bytes_out: &[u8]| -> CliResult<()> {
        bytes += bytes_out.len() as u64 + 1;
        writer
            .write_all(bytes_out)
            .and_then(|_| writer.write_all(b"\n"))
            .map_err(|e| CliError::usage(format!("output {}: cannot write: {e}", out.display())))
    };
    let mut unsealed = 0;
    for (n, mut generated) in Workload::new(spec).enumerate() {
        // Every event after record 0 is signed for this ledger.
        if let Some(id) = ledger.ledger_id() {
            generated.event["ledger"] = serde_json::Value::from(id.to_hex());
        }
        let sig = actor_key(spec.seed, &generated.actor)
            .sign_event(&generated.event)
            .expect("generated events are canonical");
        let at = Timestamp::parse(
            generated.event["at"]
                .as_str()
                .expect("generated events have at"),
        )
        .expect("valid");
        match ledger.append_event(&generated.event, &sig, at) {
            Ok(Appended::New(record)) => {
                write(&record.bytes)?;
                unsealed += 1;
            }
            Ok(Appended::Exists(_)) => unreachable!("generated ids are unique"),
            Err(r) => {
                return Err(CliError::rejected(format!(
                    "gen: generated event {n} ({}) was rejected: {r} (a bug in the generator)",
                    generated.event["id"]
                )))
            }
        }
        // Batches of this many records, each sealed by the operator, as
        // an import or a day of group commits would leave them.
        if unsealed == seal_every || n == 0 {
            write(&seal(&mut ledger, &operator, at)?)?;
            unsealed = 0;
        }
        if n % 4096 == 0 {
            bar.set_position(n as u64);
        }
    }
    if unsealed > 0 {
        let at = ledger.last_recorded_at().expect("records were generated");
        write(&seal(&mut ledger, &operator, at)?)?;
    }
    writer
        .flush()
        .map_err(|e| CliError::usage(format!("output {}: cannot write: {e}", out.display())))?;
    bar.finish_and_clear();
    println!(
        "generated {} records ({} bytes) into {}, head {}; operator key: seed of \"gen:{}:{}\"",
        ledger.size(),
        bytes,
        out.display(),
        ledger.head(),
        spec.seed,
        fundledger_core::workload::OPERATOR
    );
    Ok(())
}
