//! `prepare roster` and `secret`: a district's roster sheet to a
//! `roster_filed` event on the district's own machine, and the digest
//! secret the city hands to its districts. The sheet's clear ID numbers,
//! certificate numbers, names and phone numbers never leave this process:
//! only keyed digests and masked names are written, and every message
//! shows numbers masked.

use crate::error::{CliError, CliResult};
use crate::keyfile;
use crate::scaffold::{now_in_china, write_value};
use clap::{Args, Subcommand};
use fundledger_core::crypto::person_digest_commitment;
use fundledger_core::jcs::canonical_bytes;
use fundledger_intake::columns::parse_mapping;
use fundledger_intake::{roster, session, IntakeError, RosterHeader};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// `fundledger prepare …`.
#[derive(Subcommand, Debug)]
pub enum PrepareCommand {
    /// Read a roster sheet (花名册: .xlsx, .xls, .ods or .csv) and write its `roster_filed` event: keyed digests and masked names only.
    #[command(after_help = ROSTER_HELP)]
    Roster(Box<RosterArgs>),
    /// Read a spending sheet (支出明细) and write one `expenditure_reported` event per row.
    #[command(after_help = SPENDING_HELP)]
    Expenditure(Box<SpendingArgs>),
}

const SPENDING_HELP: &str = "Examples:
  fundledger prepare expenditure --input 禄劝县支出明细.xlsx --program kunming-2022 --district 530128 \\
      --actor luquan-dpf --out spending.jsonl
  fundledger prepare expenditure … --key luquan.key --ledger-id 37c5…dd6f --out spending.signed.jsonl

The header row is found by its names (日期; 凭证号; 摘要/用途; 金额/支出金额; 支出类别; 台账) or named with
--columns (fields: date voucher purpose amount payee roster). Amounts may be numbers or text (1,234.50,
￥1234.5, 1234.50元) but never a fraction of a fen or a float artefact such as 29999.999999. A total line
(合计/总计/小计) is checked against the rows' sum and not filed. Each row's event is dated by its 日期
(12:00 that day, UTC+08:00) unless --at is given; its id is ID_PREFIX.rROW.";

/// The flags of `prepare expenditure`.
#[derive(Args, Debug)]
pub struct SpendingArgs {
    #[command(flatten)]
    pub origin: Origin,
    /// Event ids are ID_PREFIX.rROW (default: PROGRAM.spend.DISTRICT).
    #[arg(long)]
    pub id_prefix: Option<String>,
    /// Every event's time, RFC 3339 (default: each row's date at 12:00 UTC+08:00, or now).
    #[arg(long)]
    pub at: Option<String>,
    #[command(flatten)]
    pub sheet: SheetArgs,
    #[command(flatten)]
    pub signing: SigningArgs,
}

const ROSTER_HELP: &str = "Examples:
  fundledger prepare roster --input 禄劝县花名册.xlsx --program kunming-2022 --district 530128 \\
      --township 翠华镇 --session session.toml --secret city.secret --actor luquan-dpf --out roster.json
  fundledger prepare roster … --key luquan.key --ledger-id 37c5…dd6f --out roster.signed.json   # signed, for `submit` or POST /v1/submissions
  fundledger prepare roster … --columns name=学员,id=C --sheet 第一期 --skip-bad-rows

The header row is found by its Chinese names (姓名; 身份证号/身份证号码/公民身份号码; 残疾证号/残疾人证号;
残疾类别; 残疾等级; 性别; 乡镇/街道; 签名 …) in the first 30 rows, or named with --columns
(fields: name id cert category level gender township signed; a header name or a column letter).
Every row is checked before anything is written; each problem is one line naming file, sheet, row and
column, and any problem means exit 1 and no output (--skip-bad-rows writes the rest and lists the rest).
The session file (TOML or JSON) holds title, start_date, end_date, location and [documents]; see
`fundledger prepare roster --help` and docs/format.md §7.";

/// The flags of `prepare roster`.
#[derive(Args, Debug)]
pub struct RosterArgs {
    #[command(flatten)]
    pub origin: Origin,
    /// The township (乡镇) that ran the training.
    #[arg(long)]
    pub township: String,
    /// A TOML or JSON file with the session's title, dates, location and documents.
    #[arg(long)]
    pub session: Option<PathBuf>,
    /// The session's title (overrides the session file).
    #[arg(long)]
    pub title: Option<String>,
    /// The session's first day, YYYY-MM-DD.
    #[arg(long)]
    pub start_date: Option<String>,
    /// The session's last day, YYYY-MM-DD.
    #[arg(long)]
    pub end_date: Option<String>,
    /// Where the session was held.
    #[arg(long)]
    pub location: Option<String>,
    /// The program's digest secret (from `fundledger secret new`).
    #[arg(long)]
    pub secret: PathBuf,
    /// The event's id (default: PROGRAM.roster.DISTRICT.START_DATE).
    #[arg(long)]
    pub id: Option<String>,
    /// The event's time, RFC 3339 (default: now, in UTC+08:00).
    #[arg(long)]
    pub at: Option<String>,
    /// Every trainee signed the paper roster (when the sheet has no 签名 column).
    #[arg(long)]
    pub all_signed: bool,
    #[command(flatten)]
    pub sheet: SheetArgs,
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// Whose sheet it is, for every `prepare` command.
#[derive(Args, Debug)]
pub struct Origin {
    /// The sheet: .xlsx, .xls, .ods or .csv (UTF-8 or GB18030).
    #[arg(long)]
    pub input: PathBuf,
    /// The program it is for.
    #[arg(long)]
    pub program: String,
    /// The district's GB/T 2260 code.
    #[arg(long)]
    pub district: String,
    /// The district's actor id (the events' `actor`).
    #[arg(long)]
    pub actor: String,
}

/// How a sheet is read, for every `prepare` command.
#[derive(Args, Debug)]
pub struct SheetArgs {
    /// Which columns hold what: FIELD=HEADER or FIELD=LETTER, comma-separated (e.g. name=姓名,id=C).
    #[arg(long)]
    pub columns: Option<String>,
    /// The sheet to read (default: the first whose header names the required columns).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Write the rows without problems and list the others, instead of writing nothing.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Where to write (`-`: standard output).
    #[arg(long)]
    pub out: String,
}

impl Origin {
    /// The input's file name, as messages show it.
    fn file_name(&self) -> String {
        self.input
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
    }
}

impl SheetArgs {
    /// Lists every problem, one a line; any problem refuses the sheet
    /// (nothing written) unless --skip-bad-rows.
    fn gate(
        &self,
        file: &str,
        problems: &[fundledger_intake::Problem],
        what: &str,
    ) -> CliResult<()> {
        for problem in problems {
            eprintln!("{problem}");
        }
        if problems.is_empty() || self.skip_bad_rows {
            return Ok(());
        }
        Err(CliError::rejected(format!(
            "{file}: {what}; nothing was written (fix them, or --skip-bad-rows to file the other rows)"
        )))
    }

    fn mapping(&self) -> CliResult<Vec<(fundledger_intake::columns::Field, String)>> {
        match &self.columns {
            Some(text) => parse_mapping(text).map_err(intake),
            None => Ok(Vec::new()),
        }
    }
}

/// Signing what `prepare` writes, for `submit` or the server.
#[derive(Args, Debug)]
pub struct SigningArgs {
    /// Sign with this key (the actor's): the output is signed submissions.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// With --key: the id of the ledger the events are for.
    #[arg(long)]
    pub ledger_id: Option<String>,
    /// With --key: …or a copy of the ledger to read its id from.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
}

impl SigningArgs {
    /// The key and the ledger id, when signing.
    fn read(
        &self,
    ) -> CliResult<
        Option<(
            fundledger_core::crypto::SecretKey,
            fundledger_core::ids::Hash32,
        )>,
    > {
        match &self.key {
            Some(key) => Ok(Some((
                keyfile::read(key)?,
                crate::commands::ledger_id_of(self.ledger.as_deref(), self.ledger_id.as_deref())?,
            ))),
            None => Ok(None),
        }
    }
}

/// `event`, or its signed submission when signing.
fn signed_or_not(
    mut event: Value,
    signing: &Option<(
        fundledger_core::crypto::SecretKey,
        fundledger_core::ids::Hash32,
    )>,
    location: &str,
) -> CliResult<Value> {
    Ok(match signing {
        Some((key, ledger_id)) => {
            event["ledger"] = json!(ledger_id.to_hex());
            let sig = crate::commands::sign_event(&event, location, key)?;
            json!({"event": event, "sig": sig})
        }
        None => event,
    })
}

/// `fundledger secret …`.
#[derive(Subcommand, Debug)]
pub enum SecretCommand {
    /// Write a new digest secret (mode 0600) and print its commitment, which the program records.
    #[command(after_help = "Example:\n  fundledger secret new --out city.secret\n\n\
The city keeps the secret and hands it to each district's clerk on a USB stick or in person, never by \
e-mail or chat; the commitment goes into the program's `program_opened` event as \
`person_digest_commitment`. See docs/format.md §7 for what a leaked secret allows.")]
    New {
        /// The file to write (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the commitment of a digest secret (what `program_opened` records).
    #[command(after_help = "Example:\n  fundledger secret commitment --secret city.secret")]
    Commitment {
        /// The secret file.
        #[arg(long)]
        secret: PathBuf,
    },
}

/// Runs `fundledger secret …`.
pub fn secret(command: SecretCommand) -> CliResult<()> {
    match command {
        SecretCommand::New { out } => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed)
                .map_err(|e| CliError::usage(format!("no random source: {e}")))?;
            let commitment = person_digest_commitment(&seed).to_hex();
            let text = format!(
                "# fundledger digest secret: keys every person digest of a program's rosters.\n\
                 # Keep it like a key; hand it to districts in person. Never put it in the ledger.\n\
                 secret: {}\ncommitment: {commitment}\n",
                hex::encode(seed)
            );
            keyfile::write_private(&out, &text, "digest secret file")?;
            println!("wrote {} (mode 0600)", out.display());
            println!("commitment: {commitment}");
            println!("record it in program_opened as \"person_digest_commitment\"");
            Ok(())
        }
        SecretCommand::Commitment { secret } => {
            println!(
                "{}",
                person_digest_commitment(&read_secret(&secret)?).to_hex()
            );
            Ok(())
        }
    }
}

/// Reads a digest secret file.
pub fn read_secret(path: &Path) -> CliResult<[u8; 32]> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(format!("secret file {}: cannot read: {e}", path.display()))
    })?;
    parse_secret(&text, path)
}

/// A digest secret file's text.
pub fn parse_secret(text: &str, path: &Path) -> CliResult<[u8; 32]> {
    keyfile::secret_line(text).ok_or_else(|| {
            CliError::usage(format!(
                "secret file {}: no line \"secret: <64 lowercase hex>\" (make one with `fundledger secret new`)",
                path.display()
            ))
        })
}

fn intake(e: IntakeError) -> CliError {
    match e {
        IntakeError::Input(message) => CliError::rejected(message),
        IntakeError::Usage(message) => CliError::usage(message),
    }
}

/// Runs `fundledger prepare roster`.
pub fn roster(args: Box<RosterArgs>) -> CliResult<()> {
    let secret = read_secret(&args.secret)?;
    let session_file = match &args.session {
        Some(path) => Some((path.as_path(), session::read_file(path).map_err(intake)?)),
        None => None,
    };
    let session = session::resolve(
        session_file,
        args.title.clone(),
        args.start_date.clone(),
        args.end_date.clone(),
        args.location.clone(),
    )
    .map_err(intake)?;
    let signing = args.signing.read()?;
    let options = roster::RosterOptions {
        township: args.township.clone(),
        mapping: args.sheet.mapping()?,
        sheet: args.sheet.sheet.clone(),
        all_signed: args.all_signed,
    };
    let grids = fundledger_intake::grid::read_grids(&args.origin.input).map_err(intake)?;
    let prepared = roster::prepare(&grids, &secret, &options).map_err(intake)?;
    let file = args.origin.file_name();
    let what = format!(
        "{} problem(s) in {} row(s)",
        prepared.problems.len(),
        prepared.bad_rows
    );
    args.sheet.gate(&file, &prepared.problems, &what)?;
    if prepared.trainees.is_empty() {
        return Err(CliError::rejected(format!(
            "{file}: no trainee rows under the header; nothing was written"
        )));
    }
    let id = args.id.clone().unwrap_or_else(|| {
        format!(
            "{}.roster.{}.{}",
            args.origin.program, args.origin.district, session.start_date
        )
    });
    let at = args.at.clone().unwrap_or_else(now_in_china);
    let commitment = person_digest_commitment(&secret).to_hex();
    let trainees = prepared.trainees.len();
    let event = fundledger_intake::roster_event(
        &RosterHeader {
            id: &id,
            actor: &args.origin.actor,
            at: &at,
            program: &args.origin.program,
            district_code: &args.origin.district,
            township: &args.township,
            session: &session,
            commitment: &commitment,
        },
        prepared.trainees,
    );
    let output = signed_or_not(event, &signing, &file)?;
    write_value(&args.sheet.out, &output)?;
    eprintln!(
        "prepared {id}: {trainees} trainee(s) from {file}{}{}{}",
        prepared
            .sheet
            .as_ref()
            .map_or(String::new(), |s| format!(", sheet {s}")),
        if signing.is_some() { ", signed" } else { "" },
        skipped_note(prepared.bad_rows)
    );
    Ok(())
}

/// `; N row(s) with problems skipped …` when --skip-bad-rows skipped any.
fn skipped_note(bad_rows: usize) -> String {
    if bad_rows == 0 {
        return String::new();
    }
    format!("; {bad_rows} row(s) with problems skipped (listed above)")
}

/// Runs `fundledger prepare expenditure`.
pub fn expenditure(args: Box<SpendingArgs>) -> CliResult<()> {
    let signing = args.signing.read()?;
    let options = fundledger_intake::expenditure::SpendingOptions {
        mapping: args.sheet.mapping()?,
        sheet: args.sheet.sheet.clone(),
    };
    let grids = fundledger_intake::grid::read_grids(&args.origin.input).map_err(intake)?;
    let prepared = fundledger_intake::expenditure::prepare(&grids, &options).map_err(intake)?;
    let file = args.origin.file_name();
    let what = format!("{} problem(s)", prepared.problems.len());
    args.sheet.gate(&file, &prepared.problems, &what)?;
    if prepared.rows.is_empty() {
        return Err(CliError::rejected(format!(
            "{file}: no spending rows under the header; nothing was written"
        )));
    }
    let prefix = args
        .id_prefix
        .clone()
        .unwrap_or_else(|| format!("{}.spend.{}", args.origin.program, args.origin.district));
    let now = now_in_china();
    let mut lines = Vec::new();
    for row in &prepared.rows {
        let at = match (&args.at, row.date) {
            (Some(at), _) => at.clone(),
            (None, Some(date)) => format!("{date}T12:00:00+08:00"),
            (None, None) => now.clone(),
        };
        let mut body = json!({"program": args.origin.program, "district_code": args.origin.district,
                              "amount_cny": row.amount_cny, "purpose": row.purpose});
        if let Some(roster) = &row.roster_event_id {
            body["roster_event_id"] = json!(roster);
        }
        let mut event = json!({"id": format!("{prefix}.r{}", row.row), "actor": args.origin.actor,
                               "kind": "expenditure_reported", "at": at, "body": body});
        fundledger_core::ledger::precheck_event(&event).map_err(|r| {
            CliError::rejected(format!(
                "{file}, row {}: the event would be refused: {r}",
                row.row
            ))
        })?;
        lines.push(match &signing {
            Some((key, ledger_id)) => {
                event["ledger"] = json!(ledger_id.to_hex());
                let sig = crate::commands::sign_event(&event, &file, key)?;
                json!({"event": event, "sig": sig})
            }
            None => event,
        });
    }
    let mut text = Vec::new();
    for line in &lines {
        text.extend(canonical_bytes(line).map_err(|e| CliError::rejected(e.problem))?);
        text.push(b'\n');
    }
    crate::scaffold::write_bytes(&args.sheet.out, &text)?;
    eprintln!(
        "prepared {} spending event(s) from {file}, {} CNY in all{}{}",
        lines.len(),
        prepared
            .rows
            .iter()
            .map(|r| r
                .amount_cny
                .parse::<rust_decimal::Decimal>()
                .unwrap_or_default())
            .sum::<rust_decimal::Decimal>(),
        if signing.is_some() { ", signed" } else { "" },
        skipped_note(prepared.bad_rows)
    );
    Ok(())
}
