//! Scaffolding for the city: the events a ledger starts with, written from
//! flags and a TOML file, so nobody copies JSON from fixtures — `enrol`,
//! `program template` / `program open`, and `digest` for the seven 台账
//! documents. Each writes an unsigned event (checked against its kind's
//! schema and the privacy rules before it is written) for `append`.

use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};
use fundledger_core::jcs::canonical_bytes;
use fundledger_core::ledger::precheck_event;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The flags of `enrol`.
#[derive(Args, Debug)]
pub struct EnrolArgs {
    /// The new actor's id, e.g. luquan-dpf.
    #[arg(long)]
    pub actor: String,
    /// Its role: city, district or auditor.
    #[arg(long)]
    pub role: String,
    /// For a district: its GB/T 2260 code.
    #[arg(long)]
    pub district: Option<String>,
    /// Its display name, e.g. 禄劝县残联.
    #[arg(long)]
    pub name: Option<String>,
    /// Its public key: a key file (the `public:` line; `keygen` writes one) …
    #[arg(long, required_unless_present = "key_hex")]
    pub key_file: Option<PathBuf>,
    /// … or the key as 64 hex characters.
    #[arg(long)]
    pub key_hex: Option<String>,
    /// The operator's actor id, which enrols it.
    #[arg(long)]
    pub by: String,
    /// The event's id (default: enrol.ACTOR).
    #[arg(long)]
    pub id: Option<String>,
    /// The event's time, RFC 3339 (default: now, in UTC+08:00).
    #[arg(long)]
    pub at: Option<String>,
    /// Where to write the event (`-`: standard output).
    #[arg(long, default_value = "-")]
    pub out: String,
}

/// `fundledger program …`.
#[derive(Subcommand, Debug)]
pub enum ProgramCommand {
    /// Print a commented program file (TOML): targets, deadlines, districts, the evaluation framework.
    #[command(after_help = "Example:\n  fundledger program template > kunming-2023.toml")]
    Template,
    /// Write the `program_opened` event of a program file (checked against the schema).
    #[command(
        after_help = "Example:\n  fundledger program open --file kunming-2023.toml --by kunming-dpf-jiuye --secret city.secret --out program.json\n  fundledger append --ledger kunming --key jiuye.key --operator-key operator.key program.json"
    )]
    Open {
        /// The program file (see `program template`).
        #[arg(long)]
        file: PathBuf,
        /// The city actor that opens it.
        #[arg(long)]
        by: String,
        /// The program's digest secret: its commitment is recorded, and rosters must match it.
        #[arg(long)]
        secret: Option<PathBuf>,
        /// The event's id (default: PROGRAM.opened).
        #[arg(long)]
        id: Option<String>,
        /// The event's time, RFC 3339 (default: now, in UTC+08:00).
        #[arg(long)]
        at: Option<String>,
        /// Where to write the event (`-`: standard output).
        #[arg(long, default_value = "-")]
        out: String,
    },
}

/// Now in UTC+08:00, as the ledger writes times.
pub fn now_in_china() -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    chrono::Utc::now()
        .with_timezone(&offset)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Checks an event as append would before any ledger state (schema,
/// privacy, formats) and writes it canonically to `out`.
pub fn write_event(out: &str, event: &Value) -> CliResult<()> {
    precheck_event(event).map_err(|r| {
        CliError::rejected(format!(
            "the event would be refused: {}{}",
            r.field
                .as_deref()
                .map_or(String::new(), |f| format!("field {f}: ")),
            r.message
        ))
    })?;
    write_value(out, event)
}

/// Writes a JSON value canonically, one line, to `out` (`-`: stdout).
pub fn write_value(out: &str, value: &Value) -> CliResult<()> {
    let mut line = canonical_bytes(value).map_err(|e| {
        CliError::rejected(format!(
            "cannot be written canonically: field {}: {}",
            e.path, e.problem
        ))
    })?;
    line.push(b'\n');
    write_bytes(out, &line)
}

/// Writes `bytes` to `out` (`-`: standard output).
pub fn write_bytes(out: &str, bytes: &[u8]) -> CliResult<()> {
    if out == "-" {
        std::io::stdout()
            .write_all(bytes)
            .map_err(|e| CliError::usage(format!("cannot write output: {e}")))
    } else {
        std::fs::write(out, bytes)
            .map_err(|e| CliError::usage(format!("--out {out}: cannot write: {e}")))
    }
}

/// The public key of a key file (its `public:` line) or of 64 hex.
fn public_key(file: Option<&Path>, hex: Option<&str>) -> CliResult<String> {
    let text = match (file, hex) {
        (_, Some(hex)) => hex.trim().to_string(),
        (Some(path), None) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::usage(format!("--key-file {}: {e}", path.display())))?;
            match text.lines().find_map(|l| l.trim().strip_prefix("public:")) {
                Some(public) => public.trim().to_string(),
                None => crate::keyfile::parse(&text)
                    .map(|k| k.public().to_hex())
                    .ok_or_else(|| {
                        CliError::usage(format!(
                            "--key-file {}: no `public:` or `secret:` line",
                            path.display()
                        ))
                    })?,
            }
        }
        (None, None) => return Err(CliError::usage("give --key-file or --key-hex")),
    };
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(CliError::usage(format!(
            "the public key is 64 lowercase hex characters, got {} characters",
            text.len()
        )));
    }
    Ok(text)
}

/// Runs `enrol`.
pub fn enrol(args: &EnrolArgs) -> CliResult<()> {
    let key = public_key(args.key_file.as_deref(), args.key_hex.as_deref())?;
    let mut body = json!({"actor": args.actor, "role": args.role, "key": key});
    if let Some(district) = &args.district {
        body["district"] = json!(district);
    }
    if let Some(name) = &args.name {
        body["name"] = json!(name);
    }
    let event = json!({
        "id": args.id.clone().unwrap_or_else(|| format!("enrol.{}", args.actor)),
        "actor": args.by,
        "kind": "actor_enrolled",
        "at": args.at.clone().unwrap_or_else(now_in_china),
        "body": body,
    });
    write_event(&args.out, &event)
}

/// The commented example `program template` prints.
pub const PROGRAM_TEMPLATE: &str = include_str!("program-template.toml");

/// Runs `program …`.
pub fn program(command: &ProgramCommand) -> CliResult<()> {
    match command {
        ProgramCommand::Template => {
            print!("{PROGRAM_TEMPLATE}");
            Ok(())
        }
        ProgramCommand::Open {
            file,
            by,
            secret,
            id,
            at,
            out,
        } => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::usage(format!("--file {}: {e}", file.display())))?;
            let mut body: Value = fundledger_intake::program_body(&text)
                .map_err(|e| CliError::rejected(format!("{}: {e}", file.display())))?;
            if let Some(secret) = secret {
                let secret = crate::prepare::read_secret(secret)?;
                body["person_digest_commitment"] =
                    json!(fundledger_core::crypto::person_digest_commitment(&secret).to_hex());
            }
            let program = body["program"].as_str().unwrap_or("program").to_string();
            let event = json!({
                "id": id.clone().unwrap_or_else(|| format!("{program}.opened")),
                "actor": by,
                "kind": "program_opened",
                "at": at.clone().unwrap_or_else(now_in_china),
                "body": body,
            });
            write_event(out, &event)
        }
    }
}

/// Runs `digest`: each file's BLAKE3 digest, as rosters record documents.
pub fn digest(files: &[PathBuf]) -> CliResult<()> {
    for file in files {
        let digest = fundledger_intake::session::digest_file(file)
            .map_err(|e| CliError::usage(e.to_string()))?;
        println!("{digest}  {}", file.display());
    }
    Ok(())
}
