//! `fundledger`: the command-line edge. Flags are parsed here; every rule
//! lives in `fundledger-core` and every byte on disk in `fundledger-store`.

mod audit;
mod commands;
mod demo;
mod error;
mod findings;
mod follow;
mod input;
mod keyfile;
mod load;
mod prepare;
mod progress;
mod report;
mod sample;
mod scaffold;
mod serve;
mod served;

/// mimalloc: allocation-heavy verification runs 10-20 % faster than with
/// glibc's allocator. Told to return freed pages at once
/// ([`tune_allocator`]), its peak memory stays near the live data.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (mimalloc.h); the
/// test below checks the number against its default in options.c, 1000 ms.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the OS at once instead of after a second (a
/// streaming verifier frees as fast as it allocates), and no transparent
/// huge pages: a whole open of the 1M bench ledger (3 GB, much of it freed
/// and taken again) took 6-7.6 s with them against 4.2-4.6 s without.
///
/// `report` and `findings` are left to mimalloc's defaults and the
/// system's huge-page policy: a cold report touches about 300 MB once, and
/// with huge pages and freed pages kept took a median 0.33 s (0.29-0.51,
/// 409 MiB peak) against 0.53 s (294 MiB) tuned like the rest
/// (BENCHMARKS.md, session 8). `import` too: on 299,301 bench records it
/// took 4.4-4.8 s (520 MiB) against 5.4 s (430 MiB), a sixth of its page
/// faults (session 9). And `import` never hands freed pages back: the
/// storage engine takes and frees its buffers over and over, and each
/// purge came back as fresh pages to clear (5 alternating runs: 3.48-3.80 s
/// and 0.8-1.1 s of system time, against 3.43-4.78 s and 0.75-2.71 s; 800
/// minor faults against 9,000-17,000; session 11).
fn tune_allocator(command: &Command) {
    if matches!(command, Command::Import { .. }) {
        // SAFETY: sets an integer option before anything is allocated in bulk.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
        return;
    }
    if matches!(command, Command::Report { .. } | Command::Findings { .. }) {
        return;
    }
    // SAFETY: sets a flag of this process; no memory is touched.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // SAFETY: sets an integer option; mimalloc reads it on its next purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

#[cfg(test)]
mod allocator_tests {
    #[test]
    fn the_purge_delay_option_is_the_one_we_mean() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // set from outside: its default cannot be seen
        }
        // SAFETY: reads an integer option.
        let delay_ms = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay_ms, 1000, "mimalloc's option numbers changed");
    }
}
mod session;
mod snapshot;
mod summary;

use clap::{Parser, Subcommand};
use session::Clock;
use std::path::PathBuf;
use std::process::ExitCode;

/// An event-sourced, signed, hash-chained ledger for public subsidy funds.
#[derive(Parser)]
#[command(name = "fundledger", version, about, long_about = None)]
#[command(
    after_help = "Start with `fundledger demo`: it builds the 2022 Kunming ledger from the \
bundled fixture, verifies it and prints its figures.\nExit codes: 0 ok, 1 rejected input or failed \
verification, 2 usage, 3 an alarm of `follow`, 4 a damaged store (restore it from an export or a \
mirror), 5 something in the way (a ledger locked by another process, or an existing ledger or key file)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new secret key file (mode 0600) and print its public key.
    #[command(after_help = "Example:\n  fundledger keygen --out luquan.key")]
    Keygen {
        /// Where to write the secret key; never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a ledger: record 0, `ledger_opened`, signed by the operator.
    #[command(
        after_help = "Example:\n  fundledger init --ledger kunming --name '昆明市残联 培训补助经费台账' \\\n      --operator kunming-dpf --key operator.key --at 2022-01-04T09:00:00+08:00"
    )]
    Init {
        /// The ledger directory to create.
        #[arg(long)]
        ledger: PathBuf,
        /// The ledger's name.
        #[arg(long)]
        name: String,
        /// The operator's actor id.
        #[arg(long)]
        operator: String,
        /// The operator's secret key file.
        #[arg(long)]
        key: PathBuf,
        /// When the ledger was opened (RFC 3339, whole seconds, explicit offset); default now.
        #[arg(long)]
        at: Option<String>,
        /// Offset of local deadlines.
        #[arg(long, default_value = "+08:00")]
        utc_offset: String,
    },
    /// Sign unsigned events (JSON, JSON array or JSONL) with KEY and append them as one batch.
    #[command(
        after_help = "Example:\n  fundledger append --ledger kunming --key city.key allocations.jsonl\n  \
echo '{\"id\":\"b1\",\"actor\":\"kunming-dpf\",\"kind\":\"budget_approved\",\"at\":\"2022-01-20T10:00:00+08:00\",\"body\":{…}}' \\\n      | fundledger append --ledger kunming --key operator.key -\n\n\
All events are appended or none is. An event whose id is already in the ledger with the same content is \
reported as existing and appends nothing."
    )]
    Append {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The secret key of the events' actor.
        #[arg(long)]
        key: PathBuf,
        /// The operator's secret key, which seals the batch (default: --key, when it is the operator's).
        #[arg(long)]
        operator_key: Option<PathBuf>,
        /// `now`: recorded_at is the machine's clock; `event`: each event's `at` (loading history).
        #[arg(long, value_enum, default_value = "now")]
        clock: Clock,
        /// Refuse an event whose `at` is more than this many hours ahead of this machine's clock.
        #[arg(long, default_value_t = fundledger_core::ledger::FUTURE_SKEW_DEFAULT_HOURS)]
        future_skew_hours: u32,
        /// Events file, or `-` for standard input.
        file: String,
    },
    /// Print signed submissions {"event", "sig"} (JSONL) for unsigned events: what a district hands to the city.
    #[command(
        after_help = "Examples:\n  fundledger sign --key luquan.key --ledger-id 1139…aca4 rosters.jsonl > rosters.signed.jsonl\n  \
fundledger sign --key luquan.key --ledger kunming rosters.jsonl\n\n\
Every event is signed for one ledger: an event without a `ledger` member gets the ledger's id \
(the hash of its record 0, which `fundledger status` prints) before it is signed."
    )]
    Sign {
        /// The secret key of the events' actor.
        #[arg(long)]
        key: PathBuf,
        /// The id of the ledger the events are for.
        #[arg(long, required_unless_present = "ledger")]
        ledger_id: Option<String>,
        /// …or a copy of the ledger to read its id from.
        #[arg(long)]
        ledger: Option<PathBuf>,
        /// Events file, or `-` for standard input.
        file: String,
    },
    /// Append signed submissions, as `sign` prints them, as one batch: to a ledger, or to a running server (--url).
    #[command(
        after_help = "Examples:\n  fundledger submit --ledger kunming --operator-key operator.key rosters.signed.jsonl\n  \
fundledger submit --url http://127.0.0.1:8080 rosters.signed.jsonl     # to a running `fundledger serve`"
    )]
    Submit {
        /// The ledger directory (the city, appending here).
        #[arg(long, required_unless_present = "url", conflicts_with = "url")]
        ledger: Option<PathBuf>,
        /// …or a running server to send the batch to (`fundledger serve`).
        #[arg(long)]
        url: Option<String>,
        /// With --ledger: the operator's secret key, which seals the batch.
        #[arg(long, required_unless_present = "url")]
        operator_key: Option<PathBuf>,
        /// Where recorded_at comes from.
        #[arg(long, value_enum, default_value = "now")]
        clock: Clock,
        /// Refuse an event whose `at` is more than this many hours ahead of this machine's clock.
        #[arg(long, default_value_t = fundledger_core::ledger::FUTURE_SKEW_DEFAULT_HOURS)]
        future_skew_hours: u32,
        /// Submissions file, or `-` for standard input.
        file: String,
    },
    /// Check every record: links, hashes, signatures, enrolment, authorization, schemas and rules.
    #[command(
        after_help = "Examples:\n  fundledger verify --ledger kunming\n  fundledger verify --file kunming.jsonl --checkpoint kept.checkpoint\n\n\
Prints `ok: N records, head HASH` and how far the operator's seals reach (`sealed through seq N`), \
or the first failing seq and why (exit 1). Records after the last seal are an error: nobody signed \
their order or time. Truncation back to an earlier seal is the one change only a checkpoint kept \
from before can show."
    )]
    Verify {
        /// A ledger directory.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        ledger: Option<PathBuf>,
        /// An export (JSONL), or `-` for standard input.
        #[arg(long)]
        file: Option<String>,
        /// A checkpoint kept from before (a C2SP note, as `checkpoint` prints it) the chain must contain.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Only warn about records after the last seal.
        #[arg(long)]
        allow_unsealed: bool,
        /// Also replay the chain to each snapshot of the books (`snapshots/`) and check that its bytes are what the replay gives.
        #[arg(long, requires = "ledger")]
        check_snapshot: bool,
    },
    /// Write every record as JSONL, one record per line — or the money as a ledger-cli/hledger journal.
    #[command(
        after_help = "Examples:\n  fundledger export --ledger kunming --out kunming.jsonl\n  \
fundledger export --ledger kunming --format ledger --out kunming.journal\n  \
ledger -f kunming.journal balance Expenses      # or: hledger -f kunming.journal balance\n\n\
Journal accounts: Assets:P:Treasury, Assets:P:Districts:D (what district D holds), \
Expenses:P:Training:D (what it spent), Income:P:Funding, Budget:P:Approved; reversals are negated transactions."
    )]
    Export {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// Output file; default standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// jsonl (the chain) or ledger (a plain-text accounting journal).
        #[arg(long, value_enum, default_value = "jsonl")]
        format: commands::ExportFormat,
    },
    /// Rebuild a ledger from an export, verifying every record.
    #[command(
        after_help = "Example:\n  fundledger import --ledger kunming-copy kunming.jsonl\n\n\
The directory must not hold a ledger. On any failure nothing is left behind."
    )]
    Import {
        /// The ledger directory to create.
        #[arg(long)]
        ledger: PathBuf,
        /// The export file, or `-` for standard input.
        file: String,
    },
    /// Rebuild a damaged ledger from a verified export (or a mirror's) holding every record it acknowledged.
    #[command(
        after_help = "Example:\n  fundledger export --ledger audit-mirror --out mirror.jsonl\n  \
fundledger recover --ledger kunming --from mirror.jsonl\n\n\
For a ledger that exits 4 (acknowledged records lost). The export is verified, and must hold the \
acknowledged records ending in the acknowledged head; the damaged store's files are moved to DIR.damaged, \
never deleted."
    )]
    Recover {
        /// The damaged ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The export (JSONL) to rebuild it from.
        #[arg(long)]
        from: String,
    },
    /// List records readably.
    #[command(
        after_help = "Examples:\n  fundledger log --ledger kunming --kind allocation_made\n  fundledger log --ledger kunming --district 530128 --json"
    )]
    Log {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only events for this district code.
        #[arg(long)]
        district: Option<String>,
        /// Print the records themselves (JSONL).
        #[arg(long)]
        json: bool,
    },
    /// Print the operator's newest checkpoint (or the one of --size records): a C2SP signed note.
    #[command(
        after_help = "Examples:\n  fundledger checkpoint --ledger kunming > kept.checkpoint\n  \
fundledger checkpoint --ledger kunming --size 153 --verifier-key\n\n\
Every batch ends with the operator's seal: a C2SP tlog-checkpoint (origin fundledger/<ledger id>, \
size, RFC 6962 root) signed by the operator key. Keep one to prove later that the log only grew."
    )]
    Checkpoint {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The checkpoint of this many records (the seal at that seq); default the newest.
        #[arg(long)]
        size: Option<u64>,
        /// Also print the C2SP verifier key witnesses check it with (on stderr).
        #[arg(long)]
        verifier_key: bool,
    },
    /// A receipt that record SEQ is in the ledger: its inclusion proof and the operator's checkpoint.
    #[command(
        after_help = "Example:\n  fundledger prove --ledger kunming --seq 140 --out settlement.tlog-proof\n\n\
The receipt (c2sp.org/tlog-proof@v1) holds the record, its Merkle inclusion proof and the signed \
checkpoint; `fundledger verify-proof` checks it offline with the operator's public key."
    )]
    Prove {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The record.
        #[arg(long)]
        seq: u64,
        /// The checkpoint's size (a seal's seq); default the newest.
        #[arg(long)]
        size: Option<u64>,
        /// Write the receipt here; default standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a receipt offline: the record, its inclusion proof and the operator's signature.
    #[command(
        name = "verify-proof",
        after_help = "Example:\n  fundledger verify-proof --proof settlement.tlog-proof --operator-key 5a1c…e9\n\n\
Exit 0 when the record is in the checkpoint's tree and the checkpoint is signed by that key; 1 otherwise."
    )]
    VerifyProof {
        /// The receipt file.
        #[arg(long)]
        proof: PathBuf,
        /// The operator's public key (64 hex characters).
        #[arg(long)]
        operator_key: String,
    },
    /// The benchmarks: runs `fundledger-bench` (kept out of this binary) with these arguments; with none, its whole run.
    #[command(
        after_help = "Examples:\n  cargo run --release -- bench                   # fundledger-bench run: verify, import, open, reports and serve, against the Ed25519 floor and ledger-cli\n  \
cargo run --release -- bench load --clients 16,64\n\n\
Under cargo, fundledger-bench is built first; otherwise the one beside this binary runs. `fundledger-bench --help` lists its commands."
    )]
    Bench {
        /// fundledger-bench's arguments (default: `run`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Serve the ledger over HTTP: submissions with group commit, records, checkpoints, reports.
    #[command(
        after_help = "Example:\n  fundledger serve --ledger kunming --addr 127.0.0.1:8080 --key operator.key\n\n\
API: docs/openapi.json (also at /v1/openapi.json). Stops cleanly on SIGINT or SIGTERM: \
in-flight batches finish or fail, and nothing acknowledged is lost."
    )]
    Serve {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// Where to listen (port 0: any free port, printed at start).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// The operator's secret key, which seals every group commit; without it the server is read-only.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Refuse an event whose `at` is more than this many hours ahead of this machine's clock.
        #[arg(long, default_value_t = fundledger_core::ledger::FUTURE_SKEW_DEFAULT_HOURS)]
        future_skew_hours: u32,
        /// Close a connection whose request headers take longer than this many seconds to arrive.
        #[arg(long, default_value_t = fundledger_server::HEADER_READ_TIMEOUT_DEFAULT.as_secs())]
        header_timeout_secs: u64,
    },
    /// An auditor's mirror: follow a server, verify every record, alarm (exit 3) on rewritten or truncated history.
    #[command(
        after_help = "Examples:\n  fundledger follow --url http://127.0.0.1:8080 --mirror audit-copy\n  \
fundledger follow --url http://127.0.0.1:8080 --mirror audit-copy --once\n\n\
Exit codes: 0 caught up (--once), 3 ALARM: the server contradicted what the mirror holds."
    )]
    Follow {
        /// The server.
        #[arg(long)]
        url: String,
        /// The mirror's ledger directory (created on first use).
        #[arg(long)]
        mirror: PathBuf,
        /// Catch up once and exit.
        #[arg(long)]
        once: bool,
        /// Seconds between polls.
        #[arg(long, default_value_t = 5)]
        interval: u64,
        /// Print only alarms and the summary, not a line per batch and checkpoint.
        #[arg(long)]
        quiet: bool,
    },
    /// Render a program's self-evaluation report: funding, districts, deadlines, outputs, survey, evaluation.
    #[command(
        after_help = "Examples:\n  fundledger report --ledger demo-ledger --program kunming-2022\n  \
fundledger report --ledger demo-ledger --program kunming-2022 --format json\n  \
fundledger report --ledger demo-ledger --program kunming-2022 --as-of 2022-10-31T00:00:00+08:00 --lang en\n  \
fundledger report --ledger demo-ledger --program kunming-2022 --format xlsx --out 自评表.xlsx\n  \
fundledger report --ledger demo-ledger --program kunming-2022 --format html --out report.html\n\n\
--as-of replays only the records recorded by then and judges deadlines at that instant. \
xlsx: the 项目支出绩效自评表 and sheets for districts, deadlines, survey, findings and the chain. \
html: one self-contained page with charts (no script, no outside file), printable to A4."
    )]
    Report {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The program id, e.g. kunming-2022.
        #[arg(long)]
        program: String,
        /// Report as of this instant (RFC 3339 with offset); default now.
        #[arg(long)]
        as_of: Option<String>,
        /// Report as of the first N records (deadlines judged at the N-th record's time).
        #[arg(long)]
        as_of_seq: Option<u64>,
        /// md (default), json, xlsx or html.
        #[arg(long, value_enum, default_value = "md")]
        format: report::ReportFormat,
        /// Write to this file instead of standard output (required for xlsx).
        #[arg(long)]
        out: Option<PathBuf>,
        /// zh (default) or en.
        #[arg(long, value_enum, default_value = "zh")]
        lang: report::Lang,
    },
    /// The auditor's findings of a program, each with the seqs and event ids that prove it.
    #[command(
        after_help = "Examples:\n  fundledger findings --ledger kunming --program kunming-2023\n  fundledger findings --ledger kunming --program kunming-2023 --as-of 2024-01-31T00:00:00+08:00 --format json\n\n\
Codes, severities and the rule behind each: docs/audit.md. Records recorded after --as-of do not count; \
deadlines are judged at that instant."
    )]
    Findings {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The program id.
        #[arg(long)]
        program: String,
        /// As of this instant (RFC 3339 with offset); default now.
        #[arg(long)]
        as_of: Option<String>,
        /// md (default) or json.
        #[arg(long, value_enum, default_value = "md")]
        format: report::Format,
        /// zh (default) or en.
        #[arg(long, value_enum, default_value = "zh")]
        lang: report::Lang,
    },
    /// Draw the districts to visit (≥ the fraction) and the trainees to call back, from the program's draw seal: nobody can choose it, anyone can re-derive it.
    #[command(
        after_help = "Examples:\n  fundledger sample --ledger kunming --program kunming-2023\n  \
fundledger sample --ledger kunming --program kunming-2023 --fraction 0.30 --people 5 --format event \\\n      | fundledger append --ledger kunming --key audit.key -\n\n\
The seed is the root signed by the program's draw seal: the first seal the ledger recorded after the program's \
last filing deadline. The procedure (BLAKE3 XOF keyed by that root, Fisher–Yates) is in docs/audit.md; \
`verify` re-derives every recorded plan and refuses one that differs. Exit 1: no draw seal yet."
    )]
    Sample(Box<sample::SampleArgs>),
    /// Write a snapshot of the books at the last seal, so later opens fold only the records after it.
    #[command(
        after_help = "Examples:\n  fundledger snapshot --ledger kunming\n  fundledger snapshot --ledger kunming --at-seq 153\n  fundledger verify --ledger kunming --check-snapshot\n\n\
Snapshots live in LEDGER/snapshots/ (the two newest are kept). An open that folds 10,000 records or more \
after the newest snapshot writes one by itself, and `serve` writes one when it stops. A snapshot is only a \
cache: one that does not match the chain is named on stderr and the whole chain is replayed instead."
    )]
    Snapshot {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The seal to take it at (default: the last record, which is always a seal).
        #[arg(long)]
        at_seq: Option<u64>,
    },
    /// A short dashboard of every program in the ledger.
    #[command(after_help = "Example:\n  fundledger status --ledger demo-ledger")]
    Status {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
    },
    /// Load a past year: sign each event with its actor's key from a directory and append them in order at their own times.
    #[command(
        after_help = "Example:\n  fundledger load --ledger kunming --keys keys/ --operator-key operator.key 2021.jsonl\n  fundledger load --ledger kunming --keys keys/ --operator-key operator.key --batch-size 500 2021.jsonl\n\n\
Each event is signed with KEYS/<actor>.key and recorded at its own `at` (events must be in time order). \
Without --batch-size the file is one batch, appended whole or not at all; with it, each batch is, and an error \
names the batch and says which were appended before it."
    )]
    Load {
        /// The ledger directory.
        #[arg(long)]
        ledger: PathBuf,
        /// The directory of the actors' key files, named <actor>.key.
        #[arg(long)]
        keys: PathBuf,
        /// The operator's secret key, which seals every batch.
        #[arg(long)]
        operator_key: PathBuf,
        /// Events per batch (default: the whole file, one batch).
        #[arg(long)]
        batch_size: Option<usize>,
        /// Refuse an event whose `at` is more than this many hours ahead of this machine's clock.
        #[arg(long, default_value_t = fundledger_core::ledger::FUTURE_SKEW_DEFAULT_HOURS)]
        future_skew_hours: u32,
        /// Events file (JSON, JSON array or JSON Lines), or `-` for standard input.
        file: String,
    },
    /// Write the `actor_enrolled` event of a new actor, for `append` by the operator.
    #[command(
        after_help = "Example:\n  fundledger keygen --out luquan.key\n  fundledger enrol --actor luquan-dpf --role district --district 530128 --name 禄劝县残联 \\\n      --key-file luquan.key --by kunming-dpf --out enrol.json\n  fundledger append --ledger kunming --key operator.key enrol.json"
    )]
    Enrol(Box<scaffold::EnrolArgs>),
    /// Programs: `program template` prints a commented program file; `program open` writes its `program_opened` event.
    #[command(
        after_help = "Examples:\n  fundledger program template > kunming-2023.toml\n  fundledger program open --file kunming-2023.toml --by kunming-dpf-jiuye --secret city.secret --out program.json"
    )]
    Program {
        #[command(subcommand)]
        what: scaffold::ProgramCommand,
    },
    /// Print the BLAKE3 digest of each file, as rosters record the seven 台账 documents.
    #[command(
        after_help = "Example:\n  fundledger digest 培训方案.pdf 培训人员花名册.pdf 参训人员公示.jpg"
    )]
    Digest {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Prepare events from a district's spreadsheets, on the district's own machine: `prepare roster`, `prepare expenditure`.
    #[command(
        after_help = "Examples:\n  fundledger prepare roster --input 花名册.xlsx --program kunming-2022 --district 530128 --township 翠华镇 \\\n      --session session.toml --secret city.secret --actor luquan-dpf --out roster.json\n  fundledger prepare expenditure --input 支出明细.xlsx --program kunming-2022 --district 530128 --actor luquan-dpf --out spending.jsonl"
    )]
    Prepare {
        #[command(subcommand)]
        what: prepare::PrepareCommand,
    },
    /// The program's digest secret, which keys every person digest: `secret new`, `secret commitment`.
    #[command(
        after_help = "Examples:\n  fundledger secret new --out city.secret\n  fundledger secret commitment --secret city.secret"
    )]
    Secret {
        #[command(subcommand)]
        what: prepare::SecretCommand,
    },
    /// Build the 2022 Kunming ledger from the bundled fixture, verify it, and print a summary.
    #[command(after_help = "Example:\n  fundledger demo --dir /tmp/kunming\n\n\
Replaces DIR if it holds a ledger from an earlier demo; refuses any other non-empty directory.")]
    Demo {
        /// Where to build the ledger.
        #[arg(long, default_value = "demo-ledger")]
        dir: PathBuf,
    },
}

/// Environment variable that makes the binary print its peak RSS at exit
/// (the benchmarks of `fundledger-bench` set it for each phase).
const PEAK_RSS_ENV: &str = "FUNDLEDGER_PRINT_PEAK_RSS";

/// Prints `peak_rss_kib: N` to stderr when [`PEAK_RSS_ENV`] is set (Linux).
fn print_peak_rss_if_asked() {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    tune_allocator(&cli.command);
    // Output piped into `head` ends quietly, as other command-line tools do,
    // instead of panicking on a closed pipe. Commands that talk HTTP keep
    // Rust's default (ignored), so a peer that hangs up is an error, not death.
    if !matches!(cli.command, Command::Serve { .. } | Command::Follow { .. }) {
        // SAFETY: restores the default action of one signal before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let result = match cli.command {
        Command::Keygen { out } => commands::keygen(&out),
        Command::Init {
            ledger,
            name,
            operator,
            key,
            at,
            utc_offset,
        } => commands::init(&ledger, &name, &operator, &key, at.as_deref(), &utc_offset),
        Command::Append {
            ledger,
            key,
            operator_key,
            clock,
            future_skew_hours,
            file,
        } => commands::append(
            &ledger,
            &key,
            operator_key.as_deref(),
            clock,
            future_skew_hours,
            &file,
        ),
        Command::Sign {
            key,
            ledger_id,
            ledger,
            file,
        } => commands::ledger_id_of(ledger.as_deref(), ledger_id.as_deref())
            .and_then(|id| commands::sign(&key, id, &file)),
        Command::Submit {
            ledger,
            url,
            operator_key,
            clock,
            future_skew_hours,
            file,
        } => match (ledger, operator_key, url) {
            (Some(ledger), Some(operator_key), _) => {
                commands::submit(&ledger, &operator_key, clock, future_skew_hours, &file)
            }
            (_, _, Some(url)) => follow::submit_to_server(&url, &file),
            _ => Err(error::CliError::usage(
                "submit: give --ledger and --operator-key, or --url",
            )),
        },
        Command::Verify {
            ledger,
            file,
            checkpoint,
            allow_unsealed,
            check_snapshot,
        } => match ledger.as_deref().map(served::readable).transpose() {
            Err(e) => Err(e),
            Ok(readable) => {
                let source = match (&readable, &file) {
                    (Some(dir), _) => audit::Source::Ledger(dir.path()),
                    (None, Some(file)) => audit::Source::File(file),
                    (None, None) => unreachable!("clap requires one"),
                };
                audit::verify(source, checkpoint.as_deref(), allow_unsealed).and_then(|()| {
                    match (&readable, check_snapshot) {
                        (Some(dir), true) => snapshot::check(dir.path()),
                        _ => Ok(()),
                    }
                })
            }
        },
        Command::Export {
            ledger,
            out,
            format,
        } => served::readable(&ledger)
            .and_then(|r| commands::export(r.path(), out.as_deref(), format)),
        Command::Import { ledger, file } => commands::import(&ledger, &file),
        Command::Recover { ledger, from } => commands::recover(&ledger, &from),
        Command::Log {
            ledger,
            kind,
            district,
            json,
        } => served::readable(&ledger)
            .and_then(|r| commands::log(r.path(), kind.as_deref(), district.as_deref(), json)),
        Command::Checkpoint {
            ledger,
            size,
            verifier_key,
        } => audit::checkpoint(&ledger, size, verifier_key),
        Command::Prove {
            ledger,
            seq,
            size,
            out,
        } => audit::prove(&ledger, seq, size, out.as_deref()),
        Command::VerifyProof {
            proof,
            operator_key,
        } => audit::verify_proof(&proof, &operator_key),
        Command::Report {
            ledger,
            program,
            as_of,
            as_of_seq,
            format,
            out,
            lang,
        } => served::readable(&ledger).and_then(|r| {
            let when = report::ReportAs {
                as_of: as_of.as_deref(),
                as_of_seq,
            };
            report::report(r.path(), &program, when, format, out.as_deref(), lang)
        }),
        Command::Findings {
            ledger,
            program,
            as_of,
            format,
            lang,
        } => served::readable(&ledger)
            .and_then(|r| findings::run(r.path(), &program, as_of.as_deref(), format, lang)),
        Command::Snapshot { ledger, at_seq } => snapshot::write(&ledger, at_seq),
        Command::Status { ledger } => {
            served::readable(&ledger).and_then(|r| summary::status(r.path()))
        }
        Command::Serve {
            ledger,
            addr,
            key,
            future_skew_hours,
            header_timeout_secs,
        } => serve::run(
            &ledger,
            &addr,
            key.as_deref(),
            future_skew_hours,
            header_timeout_secs,
        ),
        Command::Follow {
            url,
            mirror,
            once,
            interval,
            quiet,
        } => follow::run(&url, &mirror, once, interval, quiet),
        Command::Demo { dir } => demo::run(&dir),
        Command::Prepare {
            what: prepare::PrepareCommand::Roster(args),
        } => prepare::roster(args),
        Command::Prepare {
            what: prepare::PrepareCommand::Expenditure(args),
        } => prepare::expenditure(args),
        Command::Secret { what } => prepare::secret(what),
        Command::Enrol(args) => scaffold::enrol(&args),
        Command::Sample(mut args) => served::readable(&args.ledger).and_then(|r| {
            args.read_from = Some(r.path().to_path_buf());
            sample::run(&args)
        }),
        Command::Load {
            ledger,
            keys,
            operator_key,
            batch_size,
            future_skew_hours,
            file,
        } => load::load(
            &ledger,
            &keys,
            &operator_key,
            batch_size,
            future_skew_hours,
            &file,
        ),
        Command::Program { what } => scaffold::program(&what),
        Command::Bench { args } => commands::bench(&args),
        Command::Digest { files } => scaffold::digest(&files),
    };
    print_peak_rss_if_asked();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.code)
        }
    }
}
