//! The one error type of `flow-compiler`: why a stored program cannot be used.

/// A problem reading a stored program. (An invalid graph is not an error here: `compile`
/// returns the validator's report for that.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// The stored text is not a program.
    #[error("stored program does not decode: {0}")]
    Decode(String),
    /// The program was written in a format this flowd does not read.
    #[error("stored program has format {0}, this flowd reads format 1")]
    UnsupportedFormat(u32),
}
