//! Identifier checks shared by schema objects and statements.

use crate::{Error, Result};

/// Reject identifiers no database accepts: empty ones, and ones containing NUL.
///
/// Everything else (quotes, semicolons, unicode) is allowed: identifiers are always
/// quoted when rendered, with embedded quote characters doubled.
pub fn check_identifier(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('\0') {
        return Err(Error::InvalidIdentifier(name.to_string()));
    }
    Ok(())
}
