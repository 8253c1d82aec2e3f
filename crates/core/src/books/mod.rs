//! The books: per program and per district, everything the money rules and
//! the projections need, folded from accepted events.
//!
//! [`Books::decide`] holds the money rules (see `docs/rules.md`); it reads the
//! books and changes nothing. [`Books::apply`] folds an accepted event in and
//! checks nothing. A reversal removes the reversed event's contribution, so
//! every projection sees the ledger as if the event had never counted.

mod apply;
mod decide;
mod draw;
mod sorted_map;

pub use draw::{last_deadline, DrawBasis, SpotCheckPlan};
pub use sorted_map::SortedMap;

use crate::body::{Body, Measure, ProgramOpened, SurveyRecorded};
use crate::ids::{DistrictCode, Hash32, Timestamp};
use crate::kind::EventKind;
use crate::money::Money;
use crate::Rejection;
use chrono::FixedOffset;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What [`Books::decide`] knows of the event being decided.
pub struct Context<'a> {
    /// The event's id.
    pub event_id: &'a str,
    /// Its kind.
    pub kind: EventKind,
    /// When the actor says it happened.
    pub at: Timestamp,
    /// The ledger's offset.
    pub utc_offset: FixedOffset,
}

/// What [`Books::apply`] knows of the accepted record.
pub struct Applied<'a> {
    /// Its seq.
    pub seq: u64,
    /// The event's id.
    pub event_id: &'a str,
    /// Its kind.
    pub kind: EventKind,
    /// When the actor says it happened.
    pub at: Timestamp,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// For a reversal in a rules-only ledger: the reversed event's body
    /// (a full ledger remembers what each event contributed).
    pub reversed_original: Option<&'a Body>,
}

/// A filing's two times: claimed and recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filing {
    /// The record's seq.
    pub seq: u64,
    /// `event.at`, as the actor claims.
    pub at: Timestamp,
    /// `recorded_at`, the ledger's own time.
    pub recorded_at: Timestamp,
}

/// A roster as the books keep it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RosterFactsWire", into = "RosterFactsWire")]
pub struct RosterFacts {
    /// When it was filed.
    pub filing: Filing,
    /// Township.
    pub township: String,
    /// All seven documents present.
    pub documents_complete: bool,
    /// Distinct people on it.
    pub person_digests: Arc<Vec<Hash32>>,
    /// Those who signed and thumb-printed it (`signed: true`).
    pub signed_digests: Arc<Vec<Hash32>>,
}

/// How a snapshot writes a roster: the signers' digests only when someone
/// did not sign (usually everyone did, and they are the people's list).
#[derive(Serialize, Deserialize)]
struct RosterFactsWire {
    filing: Filing,
    township: String,
    documents_complete: bool,
    person_digests: Arc<Vec<Hash32>>,
    /// `None`: every person listed signed.
    signed_digests: Option<Arc<Vec<Hash32>>>,
}

impl From<RosterFacts> for RosterFactsWire {
    fn from(r: RosterFacts) -> Self {
        let everyone = r.signed_digests == r.person_digests;
        RosterFactsWire {
            filing: r.filing,
            township: r.township,
            documents_complete: r.documents_complete,
            signed_digests: (!everyone).then_some(r.signed_digests),
            person_digests: r.person_digests,
        }
    }
}

impl From<RosterFactsWire> for RosterFacts {
    fn from(w: RosterFactsWire) -> Self {
        RosterFacts {
            filing: w.filing,
            township: w.township,
            documents_complete: w.documents_complete,
            signed_digests: w
                .signed_digests
                .unwrap_or_else(|| Arc::clone(&w.person_digests)),
            person_digests: w.person_digests,
        }
    }
}

/// A district's few rosters or filings. A persistent map would allocate a
/// node of 64 entries for one roster (a third of a million-record ledger's
/// memory went to such nodes), a B-tree one of eleven; a shared
/// [`SortedMap`] holds just its entries and is copied, when one of them
/// changes, only if a clone still holds it.
pub type SmallMap<K, V> = Arc<SortedMap<K, V>>;

/// An event id as a map key: a persistent map's node, copied when an entry
/// changes, copies pointers instead of strings. Encoded as the string.
pub type EventKey = Arc<str>;

/// One district's books in one program.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DistrictBooks {
    /// Name, as the program lists it.
    pub name: String,
    /// Pre-allocated (年初预拨).
    pub allocated: Money,
    /// Reported expenditure.
    pub spent: Money,
    /// Rosters by event id.
    pub rosters: SmallMap<EventKey, RosterFacts>,
    /// Distinct people across its rosters in force.
    pub people_count: u32,
    /// Those among them who signed a roster in force: the people trained
    /// (the others are listed only).
    pub signed_count: u32,
    /// Fund-use reports by event id.
    pub fund_use_reports: SmallMap<EventKey, Filing>,
    /// The settlement in force.
    pub settlement: Option<Box<Settlement>>,
    /// The offset out of this program in force.
    pub offset_out: Option<Box<OffsetOut>>,
    /// Offsets into this program from the previous year's (the surplus; negative: a deficit).
    pub offset_in: Money,
}

/// A district's settlement in force (年终决算).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The `settlement_filed` event.
    pub event_id: String,
    /// When it was filed.
    pub filing: Filing,
    /// Its pre-allocated total.
    pub allocated_cny: Money,
    /// Its spent total.
    pub spent_cny: Money,
    /// Imposed by the city on a district that filed none: the reason.
    pub imposed: Option<String>,
}

/// A district's surplus offset into the next year's program, in force (次年抵补).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetOut {
    /// The `offset_applied` event.
    pub event_id: String,
    /// The surplus offset (negative: a deficit).
    pub surplus_cny: Money,
    /// The program it goes into.
    pub into_program: String,
}

/// An indicator score in force.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Score {
    /// The `indicator_scored` event.
    pub event_id: String,
    /// Score.
    #[serde(with = "crate::snapshot::decimal_text")]
    pub score: Decimal,
    /// Why.
    pub rationale: String,
}

/// A spot check.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpotCheck {
    /// The event.
    pub event_id: String,
    /// Districts sampled.
    pub districts_sampled: Vec<DistrictCode>,
    /// Findings.
    pub findings: String,
    /// The plan it visited, if it names one.
    pub plan: Option<String>,
}

/// One program's books.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgramBooks {
    /// The `program_opened` body.
    pub opened: Arc<ProgramOpened>,
    /// Its seq.
    pub opened_seq: u64,
    /// Sum of budget approvals in force (年初预算数).
    pub budget_approved: Money,
    /// Budget adjustments in force (调增 / 调减), by event id.
    pub budget_adjustments: imbl::OrdMap<String, BudgetAdjustment>,
    /// The closing in force: nothing for the program is accepted.
    pub closed: Option<Closing>,
    /// Closings reversed (the program reopened), by their event id.
    pub reopened: imbl::Vector<String>,
    /// Sum of funds received in force.
    pub funds_received: Money,
    /// Participating districts.
    pub districts: imbl::OrdMap<DistrictCode, DistrictBooks>,
    /// The sum of the districts' pre-allocations, kept up to date (a rule
    /// reads it at every allocation).
    pub(crate) allocated_total: Money,
    /// Surveys in force, by event id.
    pub surveys: imbl::OrdMap<String, Arc<SurveyRecorded>>,
    /// Judged indicator scores in force, by indicator code.
    pub scores: imbl::OrdMap<String, Score>,
    /// Spot checks in force.
    pub spot_checks: imbl::OrdMap<String, SpotCheck>,
    /// Spot-check plans in force, by event id.
    pub spot_check_plans: imbl::OrdMap<String, SpotCheckPlan>,
    /// The draw seal, once one is recorded after the filing deadlines.
    pub draw_basis: Option<Arc<DrawBasis>>,
    /// When the ledger recorded the program's latest event.
    pub last_recorded_at: Timestamp,
    /// Distinct people across the districts and who is claimed twice:
    /// computed from the rosters when first asked for, and forgotten
    /// whenever a roster comes or goes ([`ProgramBooks::people`]).
    #[serde(skip)]
    pub(crate) people: Arc<std::sync::OnceLock<PeopleIndex>>,
    /// The seqs of the program's records (not in a rules-only ledger):
    /// what its findings read back from the store.
    pub record_seqs: imbl::Vector<u64>,
}

/// A program's closing in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closing {
    /// The `program_closed` event.
    pub event_id: String,
    /// When it was recorded.
    pub filing: Filing,
    /// Why.
    pub reason: String,
}

/// A budget adjustment in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAdjustment {
    /// The change.
    pub amount_cny: Money,
    /// The finance bureau's document number.
    pub document: String,
    /// Why.
    pub reason: String,
}

/// A program's people, across its districts' rosters in force.
#[derive(Clone, Debug, Default)]
pub struct PeopleIndex {
    /// Distinct people listed on a roster.
    pub listed: usize,
    /// Distinct people who signed one: the people trained.
    pub signed: usize,
    /// People on the rosters of more than one district, with those
    /// districts in code order.
    pub double_claimed: std::collections::BTreeMap<Hash32, Vec<DistrictCode>>,
}

impl DistrictBooks {
    /// The distinct people on its rosters in force (`signed`: those who signed one).
    pub fn people(&self, signed: bool) -> crate::ids::DigestSet {
        let mut people = crate::ids::DigestSet::default();
        for roster in self.rosters.values() {
            let digests = if signed {
                &roster.signed_digests
            } else {
                &roster.person_digests
            };
            people.extend(digests.iter().copied());
        }
        people
    }

    /// Counts its people again after a roster came or went.
    pub(crate) fn recount(&mut self) {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match self.rosters.values().next() {
            // One roster: its people are distinct already.
            Some(only) if self.rosters.len() == 1 => {
                self.people_count = count(only.person_digests.len());
                self.signed_count = count(only.signed_digests.len());
            }
            _ => {
                self.people_count = count(self.people(false).len());
                self.signed_count = count(self.people(true).len());
            }
        }
    }
}

impl ProgramBooks {
    /// Its people across districts, computed once per change of its rosters.
    pub fn people(&self) -> &PeopleIndex {
        self.people.get_or_init(|| {
            let mut districts_of: crate::ids::DigestMap<u32> = Default::default();
            let mut signed = crate::ids::DigestSet::default();
            for d in self.districts.values() {
                for person in d.people(false) {
                    *districts_of.entry(person).or_default() += 1;
                }
                for r in d.rosters.values() {
                    signed.extend(r.signed_digests.iter().copied());
                }
            }
            let mut double_claimed: std::collections::BTreeMap<Hash32, Vec<DistrictCode>> =
                districts_of
                    .iter()
                    .filter(|(_, n)| **n > 1)
                    .map(|(person, _)| (*person, Vec::new()))
                    .collect();
            if !double_claimed.is_empty() {
                for (code, d) in self.districts.iter() {
                    for r in d.rosters.values() {
                        for person in r.person_digests.iter() {
                            if let Some(codes) = double_claimed.get_mut(person) {
                                if codes.last() != Some(code) {
                                    codes.push(*code);
                                }
                            }
                        }
                    }
                }
            }
            PeopleIndex {
                listed: districts_of.len(),
                signed: signed.len(),
                double_claimed,
            }
        })
    }

    /// The budget in force (全年预算数): approvals and adjustments.
    pub fn budget(&self) -> Money {
        self.budget_approved
            + self
                .budget_adjustments
                .values()
                .map(|a| a.amount_cny)
                .sum::<Money>()
    }

    /// Total pre-allocated.
    pub fn allocated(&self) -> Money {
        self.allocated_total
    }
    /// Total spent.
    pub fn spent(&self) -> Money {
        self.districts.values().map(|d| d.spent).sum()
    }
}

/// How an event contributed, so a reversal can take it back.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Contribution {
    Budget(String, Money),
    BudgetAdjustment(String, Money),
    Funds(String, Money),
    Allocation(String, DistrictCode, Money),
    Roster(String, DistrictCode),
    Expenditure(String, DistrictCode, Money),
    FundUse(String, DistrictCode),
    Settlement(String, DistrictCode),
    Offset(String, DistrictCode, Money, String),
    Survey(String),
    Score(String, String),
    SpotCheck(String),
    SpotCheckPlan(String),
    Closing(String),
    Unreversible,
}

impl Contribution {
    /// The program whose figures it changes.
    fn program(&self) -> Option<&str> {
        match self {
            Contribution::Budget(p, _)
            | Contribution::BudgetAdjustment(p, _)
            | Contribution::Funds(p, _)
            | Contribution::Allocation(p, ..)
            | Contribution::Roster(p, _)
            | Contribution::Expenditure(p, ..)
            | Contribution::FundUse(p, _)
            | Contribution::Settlement(p, _)
            | Contribution::Offset(p, ..)
            | Contribution::Survey(p)
            | Contribution::Score(p, _)
            | Contribution::SpotCheck(p)
            | Contribution::SpotCheckPlan(p)
            | Contribution::Closing(p) => Some(p),
            Contribution::Unreversible => None,
        }
    }
}

/// All programs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Books {
    programs: imbl::OrdMap<String, ProgramBooks>,
    #[serde(with = "crate::snapshot::sorted_map")]
    contributions: imbl::HashMap<String, Contribution>,
    /// Every roster in force, in every mode, as [`roster_key`]: an
    /// expenditure's `roster_event_id` must name one of its district's.
    /// One set for all districts: a set per district would cost a tree
    /// node each, most of them nearly empty.
    #[serde(with = "crate::snapshot::sorted_set")]
    rosters_in_force: imbl::HashSet<String>,
    /// The seqs of every `event_reversed` (not in a rules-only ledger).
    reversal_seqs: imbl::Vector<u64>,
    /// Each program's fiscal year and the seqs of its opening and
    /// allocations (not in a rules-only ledger): what the findings of the
    /// year before read of it.
    openings: imbl::OrdMap<String, (i32, imbl::Vector<u64>)>,
    rules_only: bool,
    /// No per-event contributions: a reversal is given the reversed event's
    /// body, read back ([`Books::recalling`]; always so when rules-only).
    recalled: bool,
}

/// What `event` contributed to the books, derived from its body.
fn contribution_of(body: &Body) -> Contribution {
    match body {
        Body::BudgetApproved(b) => Contribution::Budget(b.program.clone(), b.amount_cny),
        Body::FundsReceived(b) => Contribution::Funds(b.program.clone(), b.amount_cny),
        Body::AllocationMade(b) => {
            Contribution::Allocation(b.program.clone(), b.district_code, b.amount_cny)
        }
        Body::RosterFiled(b) => Contribution::Roster(b.program.clone(), b.district_code),
        Body::ExpenditureReported(b) => {
            Contribution::Expenditure(b.program.clone(), b.district_code, b.amount_cny)
        }
        Body::FundUseReported(b) => Contribution::FundUse(b.program.clone(), b.district_code),
        Body::SettlementFiled(b) => Contribution::Settlement(b.program.clone(), b.district_code),
        Body::SettlementImposed(b) => Contribution::Settlement(b.program.clone(), b.district_code),
        Body::BudgetAdjusted(b) => Contribution::BudgetAdjustment(b.program.clone(), b.amount_cny),
        Body::OffsetApplied(b) => Contribution::Offset(
            b.program.clone(),
            b.district_code,
            b.surplus_cny,
            b.into_program.clone(),
        ),
        Body::SurveyRecorded(b) => Contribution::Survey(b.program.clone()),
        Body::IndicatorScored(b) => Contribution::Score(b.program.clone(), b.indicator.clone()),
        Body::SpotCheckRecorded(b) => Contribution::SpotCheck(b.program.clone()),
        Body::SpotCheckPlanned(b) => Contribution::SpotCheckPlan(b.program.clone()),
        Body::ProgramClosed(b) => Contribution::Closing(b.program.clone()),
        Body::ProgramOpened(_)
        | Body::EventReversed(_)
        | Body::LedgerOpened(_)
        | Body::ActorEnrolled(_)
        | Body::ActorRevoked(_)
        | Body::LedgerSealed(_) => Contribution::Unreversible,
    }
}

/// The key of a roster in [`Books`]' set of rosters in force.
fn roster_key(program: &str, district: DistrictCode, roster: &str) -> String {
    format!("{program}\u{0}{district}\u{0}{roster}")
}

fn rule(message: String, field: &str) -> Rejection {
    Rejection::rule(message).with_field(field)
}

impl Books {
    /// Books that keep only what the rules read — no rosters, trainees or
    /// fund-use filings, and no per-event contributions (a reversal is given
    /// the reversed event's body instead). What `verify` folds a chain into.
    pub fn rules_only() -> Books {
        Books {
            rules_only: true,
            ..Books::default()
        }
    }

    /// Books with every projection but no per-event contributions: a
    /// reversal is given the reversed event's body, which the ledger reads
    /// back from its store (see [`crate::ledger::Ledger::recalling`]).
    pub fn recalling() -> Books {
        Books {
            recalled: true,
            ..Books::default()
        }
    }

    /// Books that keep only what the rules read ([`Books::rules_only`])?
    pub fn is_rules_only(&self) -> bool {
        self.rules_only
    }

    /// Does a reversal need the reversed event's body?
    pub(crate) fn reads_back_contributions(&self) -> bool {
        self.rules_only || self.recalled
    }

    /// The instant a program's report is as of when none is asked for:
    /// once the program is evaluated (scored or closed), the latest record
    /// of the program — the report is dated like the evaluation it reports;
    /// before that, `now`, so that deadlines passed without a filing show.
    pub fn default_report_instant(&self, id: &str, now: Timestamp) -> Timestamp {
        match self.programs.get(id) {
            Some(p) if !p.scores.is_empty() || p.closed.is_some() => p.last_recorded_at,
            _ => now,
        }
    }

    /// The records a program's findings read ([`crate::findings::Findings::add`]),
    /// in seq order: its own, every reversal, and the openings and
    /// allocations of the programs of the next fiscal year. Empty in a
    /// rules-only ledger. A ledger opened for a report holds the first two
    /// for its programs only, and the last for every program.
    pub fn findings_seqs(&self, id: &str) -> Vec<u64> {
        let Some(program) = self.programs.get(id) else {
            return Vec::new();
        };
        let next_year = program.opened.fiscal_year + 1;
        let mut seqs: Vec<u64> = program.record_seqs.iter().copied().collect();
        seqs.extend(self.reversal_seqs.iter().copied());
        for (year, opening) in self.openings.values() {
            if *year == next_year {
                seqs.extend(opening.iter().copied());
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    }

    /// Takes every program's books out (for a snapshot).
    pub(crate) fn take_programs(&mut self) -> Vec<(String, ProgramBooks)> {
        std::mem::take(&mut self.programs).into_iter().collect()
    }

    /// Puts a program's books in (decoding a snapshot).
    pub(crate) fn insert_program(&mut self, id: String, books: ProgramBooks) {
        self.programs.insert(id, books);
    }

    /// No programs, contributions or rosters: what a snapshot's identity
    /// section keeps (the reversals', openings' and allocations' seqs,
    /// which findings read).
    pub(crate) fn identity(&self) -> Books {
        Books {
            reversal_seqs: self.reversal_seqs.clone(),
            openings: self.openings.clone(),
            rules_only: self.rules_only,
            recalled: self.recalled,
            ..Books::default()
        }
    }

    /// A program's books.
    pub fn program(&self, id: &str) -> Option<&ProgramBooks> {
        self.programs.get(id)
    }

    /// All programs, by id.
    pub fn programs(&self) -> impl Iterator<Item = (&String, &ProgramBooks)> {
        self.programs.iter()
    }

    fn open_program(&self, id: &str) -> Result<&ProgramBooks, Rejection> {
        self.programs.get(id).ok_or_else(|| {
            rule(
                format!("program {id:?} has not been opened"),
                "body.program",
            )
        })
    }

    fn district<'a>(
        &self,
        program: &'a ProgramBooks,
        code: DistrictCode,
    ) -> Result<&'a DistrictBooks, Rejection> {
        program.districts.get(&code).ok_or_else(|| {
            rule(
                format!(
                    "district {code} does not participate in program {:?}",
                    program.opened.program
                ),
                "body.district_code",
            )
        })
    }
}

/// Finds an indicator by code anywhere in the tree.
pub fn find_indicator<'a>(
    nodes: &'a [crate::body::Indicator],
    code: &str,
) -> Option<&'a crate::body::Indicator> {
    nodes.iter().find_map(|node| {
        if node.code == code {
            Some(node)
        } else {
            find_indicator(&node.children, code)
        }
    })
}

/// Parses a two-decimal score such as "18.50".
pub fn parse_score(text: &str) -> Option<Decimal> {
    let (whole, fraction) = text.split_once('.')?;
    if fraction.len() != 2 || whole.is_empty() || whole.len() > 3 {
        return None;
    }
    text.parse().ok()
}

/// Which measure a leaf uses, for reports.
pub fn measure_name(measure: Measure) -> &'static str {
    match measure {
        Measure::ExecutionRate => "execution_rate",
        Measure::TraineesAgainstTarget => "trainees_against_target",
        Measure::Timeliness => "timeliness",
        Measure::SatisfactionAgainstTarget => "satisfaction_against_target",
        Measure::CostPerTrainee => "cost_per_trainee",
        Measure::AuditFindings => "audit_findings",
    }
}
