//! The harness's one error type: a sentence for a person, with the output
//! the process printed when it matters (a start that failed says why).

use std::fmt;

/// What went wrong, as a message (its `Debug` is its text too, so that a
/// test's `unwrap()` prints the process's output readably).
pub struct Error {
    message: String,
}

/// The harness's results.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// For the tools whose errors are strings (xtask).
impl From<Error> for String {
    fn from(error: Error) -> String {
        error.message
    }
}
