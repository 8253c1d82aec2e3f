//! The pure core of fundledger.
//!
//! Chain format v1 (canonical JSON, domain-separated BLAKE3, Ed25519), event
//! kinds and their schemas, who may append what, the money rules, and the
//! projections (balances, deadlines, trainees, survey, evaluation) folded
//! from the log. This crate does no I/O, reads no clock and draws no random
//! numbers: times, keys and prior state are passed in.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod body;
pub mod books;
pub mod bulk_bodies;
pub mod canonical;
pub mod checkpoint;
pub mod crypto;
pub mod draw;
pub mod event_index;
pub mod findings;
pub mod gbt2260;
pub mod ids;
pub mod jcs;
pub mod journal;
pub mod kind;
pub mod ledger;
pub mod merkle;
pub mod money;
pub mod privacy;
pub mod projection;
pub mod receipt;
pub mod schema;
pub mod snapshot;
pub mod workload;

/// Limits checked at the boundary. Everything has one.
pub mod limits {
    /// Largest canonical body of one event.
    pub const BODY_BYTES_MAX: usize = 512 * 1024;
    /// Largest canonical record (one export line).
    pub const RECORD_BYTES_MAX: usize = 600 * 1024;
    /// Most trainees on one roster (also in the roster schema).
    pub const ROSTER_TRAINEES_MAX: usize = 2000;
    /// Most events in one appended batch.
    pub const BATCH_EVENTS_MAX: usize = 10_000;
    /// Largest input file or request body accepted for one batch.
    pub const BATCH_BYTES_MAX: usize = 64 * 1024 * 1024;
}

/// What kind of rule a rejected input broke; decides exit codes and HTTP statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionClass {
    /// Not the shape of a record or event at all.
    Malformed,
    /// Breaks the chain: seq, prev, hash, time order.
    Chain,
    /// A signature does not verify.
    Signature,
    /// An actor unknown, revoked, or acting outside its role or district.
    Unauthorized,
    /// A body breaks its schema.
    Schema,
    /// A clear ID or certificate number.
    Privacy,
    /// A money or ledger rule.
    Rule,
    /// An id reused with other content.
    Conflict,
    /// Over a size limit.
    TooLarge,
}

/// Why an event or record was refused: one sentence, naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The kind of rule broken.
    pub class: RejectionClass,
    /// Dotted path of the offending field, when there is one (`body.amount_cny`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "field {field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Rejection {}

macro_rules! constructors {
    ($($name:ident => $class:ident),* $(,)?) => {
        impl Rejection {
            $(
                #[doc = concat!("A [`RejectionClass::", stringify!($class), "`] rejection.")]
                pub fn $name(message: String) -> Rejection {
                    Rejection { class: RejectionClass::$class, field: None, message }
                }
            )*
        }
    };
}
constructors!(
    malformed => Malformed,
    chain => Chain,
    signature => Signature,
    unauthorized => Unauthorized,
    schema => Schema,
    privacy => Privacy,
    rule => Rule,
    conflict => Conflict,
    too_large => TooLarge,
);

impl Rejection {
    /// Names the offending field.
    pub fn with_field(mut self, field: &str) -> Rejection {
        self.field = Some(field.to_string());
        self
    }
}

impl From<jcs::JcsError> for Rejection {
    fn from(e: jcs::JcsError) -> Rejection {
        Rejection::malformed(e.problem).with_field(&e.path)
    }
}

impl From<schema::SchemaError> for Rejection {
    fn from(e: schema::SchemaError) -> Rejection {
        Rejection::schema(e.problem).with_field(&e.path)
    }
}
