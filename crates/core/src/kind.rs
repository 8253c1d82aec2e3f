//! Event kinds, actor roles, and who may append what.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every kind of event the ledger knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Record 0: the ledger is opened by its operator.
    LedgerOpened,
    /// The operator enrols an actor and its key.
    ActorEnrolled,
    /// The operator revokes an actor.
    ActorRevoked,
    /// A fiscal year's program is opened.
    ProgramOpened,
    /// The program's budget is approved.
    BudgetApproved,
    /// Funds arrive (资金到位).
    FundsReceived,
    /// The year-start pre-allocation to one district (年初预拨).
    AllocationMade,
    /// A township's training ledger (台账).
    RosterFiled,
    /// A district reports money spent.
    ExpenditureReported,
    /// The district's Nov 30 fund-use report.
    FundUseReported,
    /// The year-end settlement of one district (年终决算).
    SettlementFiled,
    /// The next-year offset of a district's surplus (次年抵补).
    OffsetApplied,
    /// A satisfaction survey.
    SurveyRecorded,
    /// A judged indicator's score.
    IndicatorScored,
    /// An auditor's spot check.
    SpotCheckRecorded,
    /// A correction: an earlier event no longer counts.
    EventReversed,
    /// The operator seals every record before this one: a signed checkpoint.
    LedgerSealed,
    /// The budget adjusted during the year (调增 / 调减).
    BudgetAdjusted,
    /// The city settles a district that filed no settlement by the deadline.
    SettlementImposed,
    /// The program's year is closed after its evaluation.
    ProgramClosed,
    /// An auditor's spot-check plan, drawn from the program's draw seal.
    SpotCheckPlanned,
}

impl EventKind {
    /// All kinds, in the order the format document lists them.
    pub const ALL: [EventKind; 21] = [
        EventKind::LedgerOpened,
        EventKind::ActorEnrolled,
        EventKind::ActorRevoked,
        EventKind::ProgramOpened,
        EventKind::BudgetApproved,
        EventKind::FundsReceived,
        EventKind::AllocationMade,
        EventKind::RosterFiled,
        EventKind::ExpenditureReported,
        EventKind::FundUseReported,
        EventKind::SettlementFiled,
        EventKind::OffsetApplied,
        EventKind::SurveyRecorded,
        EventKind::IndicatorScored,
        EventKind::SpotCheckRecorded,
        EventKind::EventReversed,
        EventKind::LedgerSealed,
        EventKind::BudgetAdjusted,
        EventKind::SettlementImposed,
        EventKind::ProgramClosed,
        EventKind::SpotCheckPlanned,
    ];

    /// The snake_case name used on the wire and in schema file names.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LedgerOpened => "ledger_opened",
            EventKind::ActorEnrolled => "actor_enrolled",
            EventKind::ActorRevoked => "actor_revoked",
            EventKind::ProgramOpened => "program_opened",
            EventKind::BudgetApproved => "budget_approved",
            EventKind::FundsReceived => "funds_received",
            EventKind::AllocationMade => "allocation_made",
            EventKind::RosterFiled => "roster_filed",
            EventKind::ExpenditureReported => "expenditure_reported",
            EventKind::FundUseReported => "fund_use_reported",
            EventKind::SettlementFiled => "settlement_filed",
            EventKind::OffsetApplied => "offset_applied",
            EventKind::SurveyRecorded => "survey_recorded",
            EventKind::IndicatorScored => "indicator_scored",
            EventKind::SpotCheckRecorded => "spot_check_recorded",
            EventKind::EventReversed => "event_reversed",
            EventKind::LedgerSealed => "ledger_sealed",
            EventKind::BudgetAdjusted => "budget_adjusted",
            EventKind::SettlementImposed => "settlement_imposed",
            EventKind::ProgramClosed => "program_closed",
            EventKind::SpotCheckPlanned => "spot_check_planned",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Which roles may assert this kind (reversals: see [`crate::ledger`]).
    pub fn allowed_roles(self) -> &'static [Role] {
        use EventKind::*;
        match self {
            LedgerOpened | ActorEnrolled | ActorRevoked | LedgerSealed => &[Role::Operator],
            ProgramOpened | BudgetApproved | FundsReceived | AllocationMade | OffsetApplied
            | SurveyRecorded | IndicatorScored | BudgetAdjusted | SettlementImposed
            | ProgramClosed => &[Role::Operator, Role::City],
            RosterFiled | ExpenditureReported | FundUseReported | SettlementFiled => {
                &[Role::District]
            }
            SpotCheckRecorded | SpotCheckPlanned => &[Role::Auditor],
            EventReversed => &[Role::Operator, Role::City, Role::District, Role::Auditor],
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an enrolled actor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The city federation as operator of the ledger: opens it, enrols actors.
    Operator,
    /// City federation staff: programs, money, surveys, scores.
    City,
    /// A district or county federation: its own rosters, spending, reports, settlement.
    District,
    /// An auditor: spot checks.
    Auditor,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::City => "city",
            Role::District => "district",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
