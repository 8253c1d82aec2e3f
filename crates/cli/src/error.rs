//! The binary's error: one sentence, and the exit code it maps to.

use std::fmt;

/// Exit code for rejected input or failed verification.
pub const EXIT_REJECTED: u8 = 1;
/// Exit code for usage errors: bad flags, unreadable files, wrong keys.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a damaged store: a stored record fails its checks, or the
/// storage engine finds its files corrupted.
pub const EXIT_DAMAGED: u8 = 4;
/// Exit code for something in the way: the ledger is locked by another
/// process, or a ledger or key file already exists where one would be made.
pub const EXIT_IN_THE_WAY: u8 = 5;

/// A failure the user sees.
#[derive(Debug)]
pub struct CliError {
    /// 1 rejected / failed verification, 2 usage.
    pub code: u8,
    /// One sentence naming the input, line and field.
    pub message: String,
}

impl CliError {
    /// Rejected input (exit 1).
    pub fn rejected(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_REJECTED,
            message: message.into(),
        }
    }
    /// Something in the way (exit 5): a lock held, a file that exists.
    pub fn in_the_way(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_IN_THE_WAY,
            message: message.into(),
        }
    }
    /// A usage problem (exit 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<fundledger_store::StoreError> for CliError {
    fn from(e: fundledger_store::StoreError) -> CliError {
        use fundledger_store::StoreError as E;
        match e {
            E::Corrupt { .. } => CliError {
                code: EXIT_DAMAGED,
                message: format!(
                    "{e}; the store is damaged: restore the ledger from an export or a mirror (`fundledger import`)"
                ),
            },
            E::Damaged { .. } | E::Lost { .. } => CliError {
                code: EXIT_DAMAGED,
                message: e.to_string(),
            },
            E::Locked { .. } | E::AlreadyExists(_) => CliError::in_the_way(e.to_string()),
            _ => CliError::usage(e.to_string()),
        }
    }
}

/// Shorthand.
pub type CliResult<T> = Result<T, CliError>;
