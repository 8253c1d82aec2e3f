//! `gen`: a deterministic province-scale workload, signed with generated
//! keys and sealed into an export that `import` and `verify` accept.

use crate::error::{CliError, CliResult};
use crate::progress::progress;
use fundledger_core::ids::Timestamp;
use fundledger_core::ledger::{Appended, Ledger};
use fundledger_core::workload::{actor_key, Workload, WorkloadSpec};
use std::io::Write;
use std::path::Path;

pub fn run(out: &Path, spec: WorkloadSpec) -> CliResult<()> {
    if spec.counties == 0 || spec.years == 0 {
        return Err(CliError::usage("--counties and --years must be at least 1"));
    }
    if spec.counties > 899_999 {
        return Err(CliError::usage(
            "--counties: at most 899999 (codes are 100000 + i)",
        ));
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
    for (n, generated) in Workload::new(spec).enumerate() {
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
                bytes += record.bytes.len() as u64 + 1;
                writer
                    .write_all(&record.bytes)
                    .and_then(|_| writer.write_all(b"\n"))
                    .map_err(|e| {
                        CliError::usage(format!("output {}: cannot write: {e}", out.display()))
                    })?;
            }
            Ok(Appended::Exists(_)) => unreachable!("generated ids are unique"),
            Err(r) => {
                return Err(CliError::rejected(format!(
                    "gen: generated event {n} ({}) was rejected: {r} (a bug in the generator)",
                    generated.event["id"]
                )))
            }
        }
        if n % 4096 == 0 {
            bar.set_position(n as u64);
        }
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
