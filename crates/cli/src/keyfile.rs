//! Secret key files: a comment and one `secret: <64 hex>` line.

use crate::error::{CliError, CliResult};
use fundledger_core::crypto::SecretKey;
use fundledger_core::ids::parse_lower_hex;
use std::path::Path;

/// The text of a key file for `key`.
pub fn render(key: &SecretKey, comment: &str) -> String {
    format!(
        "# fundledger secret key (Ed25519). {comment}\nsecret: {}\npublic: {}\n",
        key.seed_hex(),
        key.public().to_hex()
    )
}

/// Writes a key file readable by its owner only (mode 0600); never overwrites.
pub fn write(path: &Path, key: &SecretKey, comment: &str) -> CliResult<()> {
    write_private(path, &render(key, comment), "key file")
}

/// Writes `text` to a new file readable by its owner only (mode 0600),
/// synced; an existing file is in the way (never overwritten).
pub fn write_private(path: &Path, text: &str, what: &str) -> CliResult<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        let message = format!("{what} {}: cannot create: {e}", path.display());
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::in_the_way(format!("{message}; a {what} is never overwritten"))
        } else {
            CliError::usage(message)
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| CliError::usage(format!("{what} {}: cannot write: {e}", path.display())))
}

/// Reads a key file.
pub fn read(path: &Path) -> CliResult<SecretKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("key file {}: cannot read: {e}", path.display())))?;
    parse(&text).ok_or_else(|| {
        CliError::usage(format!(
            "key file {}: no line \"secret: <64 lowercase hex>\" (make one with `fundledger keygen`)",
            path.display()
        ))
    })
}

/// Parses key file text.
pub fn parse(text: &str) -> Option<SecretKey> {
    secret_line(text).map(SecretKey::from_seed)
}

/// The 32 bytes of a file's `secret: <64 lowercase hex>` line (key files
/// and digest secret files share it).
pub fn secret_line(text: &str) -> Option<[u8; 32]> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("secret:"))
        .and_then(|hex| parse_lower_hex::<32>(hex.trim()))
}
