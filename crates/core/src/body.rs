//! Typed event bodies. A body is parsed into these types only after it has
//! passed its kind's JSON schema, so a parse failure here is a bug in the
//! schema/type pairing, reported as a schema error all the same.

use crate::crypto::PublicKey;
use crate::ids::{DistrictCode, Hash32, UtcOffset};
use crate::kind::{EventKind, Role};
use crate::money::Money;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A document reference such as 昆财社〔2022〕34号.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRef {
    /// Document number.
    pub number: String,
    /// Title.
    pub title: String,
}

/// `ledger_opened`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LedgerOpened {
    /// The ledger's name.
    pub name: String,
    /// The operator's public key (hex on the wire).
    pub operator_key: PublicKey,
    /// Always `CNY`.
    pub currency: String,
    /// Offset of local deadlines, `+08:00`.
    pub utc_offset: UtcOffset,
    /// 32 random bytes drawn when the ledger is opened (hex on the wire).
    pub nonce: Hash32,
}

/// `actor_enrolled`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ActorEnrolled {
    /// The new actor's id.
    pub actor: String,
    /// Its role.
    pub role: Role,
    /// Its public key (hex on the wire).
    pub key: PublicKey,
    /// Its district, for district actors.
    pub district: Option<DistrictCode>,
    /// Display name.
    pub name: Option<String>,
}

/// `actor_revoked`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ActorRevoked {
    /// The actor revoked.
    pub actor: String,
    /// Why.
    pub reason: String,
}

/// A participating district.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramDistrict {
    /// GB/T 2260 code.
    pub code: DistrictCode,
    /// Name, e.g. 禄劝县.
    pub name: String,
}

/// Quantified targets.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Targets {
    /// Trainees to train, at least.
    pub trainees_min: u64,
    /// Satisfaction score to reach, at least (e.g. "80.00").
    pub satisfaction_min: String,
    /// Cost per trainee not to exceed.
    pub cost_per_trainee_max_cny: Option<Money>,
}

/// Local due dates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Deadlines {
    /// Training ledgers (台账), e.g. 2022-10-30.
    pub training_ledger_due_local: String,
    /// Fund-use reports, e.g. 2022-11-30.
    pub fund_use_report_due_local: String,
}

/// A node of the indicator tree.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Indicator {
    /// Code, e.g. `A`, `B1`, `C1.2.3`.
    pub code: String,
    /// Name, e.g. 项目决策.
    pub name: String,
    /// Weight (full marks), e.g. "20.00".
    pub weight: String,
    /// For leaves derived from ledger facts: the figure that scores it.
    pub measure: Option<Measure>,
    /// For leaves scored by hand: the figure the score should agree with
    /// (a finding when it does not, docs/audit.md).
    #[serde(default)]
    pub cross_check: Option<Measure>,
    /// Sub-indicators.
    #[serde(default)]
    pub children: Vec<Indicator>,
}

/// Figures from which an indicator is scored automatically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Spent ÷ budget: full marks at 100 %.
    ExecutionRate,
    /// Distinct trainees ÷ target.
    TraineesAgainstTarget,
    /// Share of district deadlines met on time.
    Timeliness,
    /// Survey score ÷ target.
    SatisfactionAgainstTarget,
    /// Standard ÷ actual cost per trainee.
    CostPerTrainee,
    /// Full marks less `deduction_per_finding` for each high or medium
    /// finding of the auditor's desk (docs/audit.md).
    AuditFindings,
}

/// The evaluation framework.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvaluationFramework {
    /// Level-1 indicators.
    pub indicators: Vec<Indicator>,
}

/// `program_opened`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgramOpened {
    /// Program id.
    pub program: String,
    /// Fiscal year.
    pub fiscal_year: i32,
    /// Name.
    pub name: String,
    /// Funding documents.
    pub funding_documents: Vec<DocumentRef>,
    /// Participating districts.
    pub districts: Vec<ProgramDistrict>,
    /// Targets.
    pub targets: Targets,
    /// Deadlines.
    pub deadlines: Deadlines,
    /// The indicator tree, if declared.
    pub evaluation_framework: Option<EvaluationFramework>,
    /// The commitment to the digest secret every roster of the program
    /// must be digested with ([`crate::crypto::person_digest_commitment`]).
    #[serde(default)]
    pub person_digest_commitment: Option<Hash32>,
    /// The thresholds of the auditor's findings, where they differ from
    /// the documented defaults (docs/audit.md).
    #[serde(default)]
    pub findings: Option<FindingThresholds>,
    /// 填报单位 of the report (default: the ledger's name).
    #[serde(default)]
    pub reporting_unit: Option<String>,
    /// 联系人 of the report.
    #[serde(default)]
    pub contact: Option<String>,
}

/// The thresholds of the auditor's findings (docs/audit.md).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FindingThresholds {
    /// A filing recorded more than this many hours after its `at` is backdated (default 24).
    #[serde(default)]
    pub backdated_after_hours: Option<u32>,
    /// A district's cost per trainee more than this many times the program's median is an outlier (default "2.00").
    #[serde(default)]
    pub cost_per_trainee_factor: Option<String>,
    /// A hand score whose rate differs from its cross-check's by more than
    /// this many percentage points contradicts it (default 10).
    #[serde(default)]
    pub score_contradiction_points: Option<u32>,
    /// Points an `audit_findings` leaf loses per high or medium finding (default "1.00").
    #[serde(default)]
    pub deduction_per_finding: Option<String>,
}

/// `budget_approved` and `funds_received` share this shape.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgramAmount {
    /// Program id.
    pub program: String,
    /// Amount.
    pub amount_cny: Money,
}

/// `allocation_made` and `expenditure_reported`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DistrictAmount {
    /// Program id.
    pub program: String,
    /// District.
    pub district_code: DistrictCode,
    /// Amount.
    pub amount_cny: Money,
}

/// `expenditure_reported`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExpenditureReported {
    /// Program id.
    pub program: String,
    /// District.
    pub district_code: DistrictCode,
    /// Amount.
    pub amount_cny: Money,
    /// The roster this spending paid for: a roster of the same program and
    /// district in force when the spending is recorded.
    #[serde(default)]
    pub roster_event_id: Option<String>,
}

/// One trainee on a roster.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trainee {
    /// Keyed digest of the ID number.
    pub person_digest: Hash32,
    /// Masked name.
    pub name_masked: String,
    /// 1–7.
    pub disability_category: u8,
    /// 1–4.
    pub disability_level: u8,
    /// Signed and thumb-printed.
    pub signed: bool,
}

/// The training session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// Title.
    pub title: String,
    /// First day.
    pub start_date: String,
    /// Last day.
    pub end_date: String,
}

/// `roster_filed`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RosterFiled {
    /// Program id.
    pub program: String,
    /// District.
    pub district_code: DistrictCode,
    /// Township.
    pub township: String,
    /// Session.
    pub session: Session,
    /// Trainees.
    pub trainees: Vec<Trainee>,
    /// The seven documents' digests (null = missing).
    pub documents: BTreeMap<String, Option<Hash32>>,
    /// The commitment to the digest secret its person digests were made with.
    #[serde(default)]
    pub person_digest_commitment: Option<Hash32>,
}

impl RosterFiled {
    /// True when all seven documents are present.
    pub fn documents_complete(&self) -> bool {
        self.documents.len() == 7 && self.documents.values().all(Option::is_some)
    }
}

/// `fund_use_reported`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FundUseReported {
    /// Program id.
    pub program: String,
    /// District.
    pub district_code: DistrictCode,
    /// Spent as reported.
    pub spent_cny: Money,
    /// Trainees as reported.
    pub trainees_reported: u64,
}

/// `settlement_filed`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SettlementFiled {
    /// Program id.
    pub program: String,
    /// District.
    pub district_code: DistrictCode,
    /// Pre-allocated.
    pub allocated_cny: Money,
    /// Spent.
    pub spent_cny: Money,
    /// allocated − spent.
    pub surplus_cny: Money,
}

/// `offset_applied`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffsetApplied {
    /// The settled program.
    pub program: String,
    /// District.
    pub district_code: DistrictCode,
    /// The surplus offset (negative: a deficit).
    pub surplus_cny: Money,
    /// Next year's program.
    pub into_program: String,
}

/// An answer option.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SurveyOption {
    /// A letter.
    pub code: String,
    /// Label, e.g. 非常满意.
    pub label: String,
    /// Points per answer.
    pub points: u32,
}

/// A survey question.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SurveyQuestion {
    /// Number.
    pub number: u32,
    /// Text.
    pub text: String,
    /// Respondents per option code.
    pub counts: BTreeMap<String, u64>,
}

/// `survey_recorded`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SurveyRecorded {
    /// Program id.
    pub program: String,
    /// Survey id.
    pub survey: String,
    /// Title.
    pub title: String,
    /// Respondents.
    pub respondents: u64,
    /// Options and points.
    pub options: Vec<SurveyOption>,
    /// Questions and counts.
    pub questions: Vec<SurveyQuestion>,
}

/// `indicator_scored`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IndicatorScored {
    /// Program id.
    pub program: String,
    /// Indicator code.
    pub indicator: String,
    /// Score.
    pub score: String,
    /// Why.
    pub rationale: String,
}

/// `spot_check_recorded`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpotCheckRecorded {
    /// Program id.
    pub program: String,
    /// Districts sampled.
    pub districts_sampled: Vec<DistrictCode>,
    /// Findings.
    pub findings: String,
    /// The `spot_check_planned` event whose draw this check visited.
    #[serde(default)]
    pub plan: Option<String>,
}

/// `spot_check_planned`: the districts to visit and the number of trainees
/// to call back in each, drawn from the program's draw seal
/// ([`crate::draw`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpotCheckPlanned {
    /// Program id.
    pub program: String,
    /// The seq of the draw seal: the first seal recorded after the
    /// program's last filing deadline.
    pub seal_seq: u64,
    /// The root its checkpoint signs, 64 hex.
    pub checkpoint_root: String,
    /// The share of participating districts to visit, e.g. "0.30".
    pub fraction: String,
    /// Trainees to call back in each district drawn.
    pub people_per_district: u32,
    /// The districts drawn, in draw order.
    pub districts: Vec<DistrictCode>,
}

/// `event_reversed`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventReversed {
    /// The event reversed.
    pub event_id: String,
    /// Why.
    pub reason: String,
}

/// A finance document: number and title.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// e.g. 昆财社〔2024〕58号.
    pub number: String,
    /// Its title.
    pub title: String,
}

/// `budget_adjusted`: 调增 (positive) or 调减 (negative).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BudgetAdjusted {
    /// Program id.
    pub program: String,
    /// The change (never zero).
    pub amount_cny: Money,
    /// The finance bureau's document.
    pub document: Document,
    /// Why.
    pub reason: String,
}

/// `settlement_imposed`: the city's settlement of a silent district.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SettlementImposed {
    /// Program id.
    pub program: String,
    /// District.
    pub district_code: DistrictCode,
    /// Why the city settles.
    pub reason: String,
    /// The city's decision.
    #[serde(default)]
    pub document: Option<String>,
}

/// `program_closed`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProgramClosed {
    /// Program id.
    pub program: String,
    /// Why (the evaluation is complete).
    pub reason: String,
}

/// `ledger_sealed`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LedgerSealed {
    /// The signed checkpoint note ([`crate::checkpoint`]).
    pub checkpoint: String,
}

/// A typed body.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Body {
    LedgerOpened(LedgerOpened),
    ActorEnrolled(ActorEnrolled),
    ActorRevoked(ActorRevoked),
    ProgramOpened(Box<ProgramOpened>),
    BudgetApproved(ProgramAmount),
    FundsReceived(ProgramAmount),
    AllocationMade(DistrictAmount),
    RosterFiled(Box<RosterFiled>),
    ExpenditureReported(ExpenditureReported),
    FundUseReported(FundUseReported),
    SettlementFiled(SettlementFiled),
    OffsetApplied(OffsetApplied),
    SurveyRecorded(Box<SurveyRecorded>),
    IndicatorScored(IndicatorScored),
    SpotCheckRecorded(SpotCheckRecorded),
    EventReversed(EventReversed),
    LedgerSealed(LedgerSealed),
    BudgetAdjusted(BudgetAdjusted),
    SettlementImposed(SettlementImposed),
    ProgramClosed(ProgramClosed),
    SpotCheckPlanned(SpotCheckPlanned),
}

/// Where a body is deserialized from: a JSON tree or JSON text.
trait BodySource<'a> {
    fn read<T: serde::Deserialize<'a>>(self) -> Result<T, serde_json::Error>;
}

impl<'a> BodySource<'a> for &'a Value {
    fn read<T: serde::Deserialize<'a>>(self) -> Result<T, serde_json::Error> {
        T::deserialize(self)
    }
}

/// A body's JSON text.
struct JsonText<'a>(&'a str);

impl<'a> BodySource<'a> for JsonText<'a> {
    fn read<T: serde::Deserialize<'a>>(self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0)
    }
}

impl Body {
    /// Parses a schema-valid body of `kind`.
    pub fn parse(kind: EventKind, body: &Value) -> Result<Body, serde_json::Error> {
        // Deserialized from the borrowed tree: nothing is cloned but the
        // strings the typed body keeps.
        Body::parse_from(kind, body)
    }

    /// [`Body::parse`] straight from the body's JSON text, without a tree:
    /// for replaying records that were checked when they were appended.
    pub fn parse_json(kind: EventKind, body: &str) -> Result<Body, serde_json::Error> {
        Body::parse_from(kind, JsonText(body))
    }

    fn parse_from<'a>(kind: EventKind, b: impl BodySource<'a>) -> Result<Body, serde_json::Error> {
        fn v<'a, T: serde::Deserialize<'a>>(
            b: impl BodySource<'a>,
        ) -> Result<T, serde_json::Error> {
            b.read()
        }
        Ok(match kind {
            EventKind::LedgerOpened => Body::LedgerOpened(v(b)?),
            EventKind::ActorEnrolled => Body::ActorEnrolled(v(b)?),
            EventKind::ActorRevoked => Body::ActorRevoked(v(b)?),
            EventKind::ProgramOpened => Body::ProgramOpened(Box::new(v(b)?)),
            EventKind::BudgetApproved => Body::BudgetApproved(v(b)?),
            EventKind::FundsReceived => Body::FundsReceived(v(b)?),
            EventKind::AllocationMade => Body::AllocationMade(v(b)?),
            EventKind::RosterFiled => Body::RosterFiled(Box::new(v(b)?)),
            EventKind::ExpenditureReported => Body::ExpenditureReported(v(b)?),
            EventKind::FundUseReported => Body::FundUseReported(v(b)?),
            EventKind::SettlementFiled => Body::SettlementFiled(v(b)?),
            EventKind::OffsetApplied => Body::OffsetApplied(v(b)?),
            EventKind::SurveyRecorded => Body::SurveyRecorded(Box::new(v(b)?)),
            EventKind::IndicatorScored => Body::IndicatorScored(v(b)?),
            EventKind::SpotCheckRecorded => Body::SpotCheckRecorded(v(b)?),
            EventKind::LedgerSealed => Body::LedgerSealed(v(b)?),
            EventKind::BudgetAdjusted => Body::BudgetAdjusted(v(b)?),
            EventKind::SettlementImposed => Body::SettlementImposed(v(b)?),
            EventKind::ProgramClosed => Body::ProgramClosed(v(b)?),
            EventKind::EventReversed => Body::EventReversed(v(b)?),
            EventKind::SpotCheckPlanned => Body::SpotCheckPlanned(v(b)?),
        })
    }

    /// The district a district-filed body is for.
    pub fn district(&self) -> Option<DistrictCode> {
        match self {
            Body::RosterFiled(b) => Some(b.district_code),
            Body::AllocationMade(b) => Some(b.district_code),
            Body::ExpenditureReported(b) => Some(b.district_code),
            Body::FundUseReported(b) => Some(b.district_code),
            Body::SettlementFiled(b) => Some(b.district_code),
            Body::SettlementImposed(b) => Some(b.district_code),
            Body::OffsetApplied(b) => Some(b.district_code),
            _ => None,
        }
    }

    /// The program a body belongs to.
    pub fn program(&self) -> Option<&str> {
        match self {
            Body::ProgramOpened(b) => Some(&b.program),
            Body::BudgetApproved(b) | Body::FundsReceived(b) => Some(&b.program),
            Body::AllocationMade(b) => Some(&b.program),
            Body::ExpenditureReported(b) => Some(&b.program),
            Body::RosterFiled(b) => Some(&b.program),
            Body::FundUseReported(b) => Some(&b.program),
            Body::SettlementFiled(b) => Some(&b.program),
            Body::SettlementImposed(b) => Some(&b.program),
            Body::BudgetAdjusted(b) => Some(&b.program),
            Body::ProgramClosed(b) => Some(&b.program),
            Body::OffsetApplied(b) => Some(&b.program),
            Body::SurveyRecorded(b) => Some(&b.program),
            Body::IndicatorScored(b) => Some(&b.program),
            Body::SpotCheckRecorded(b) => Some(&b.program),
            Body::SpotCheckPlanned(b) => Some(&b.program),
            _ => None,
        }
    }
}
