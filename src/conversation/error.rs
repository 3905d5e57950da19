//! The one error type users read. Adapters show [`UserError`] word for word; anything else is
//! an [`ConvError::Internal`] that is logged and shown only as a fixed apology.

use crate::cases::CaseError;

/// What a person did wrong or asked for that does not exist. The `Display` text is the
/// message shown to them, on every platform, unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("This is for the support staff only.")]
    StaffOnly,
    #[error("Only the person who asked, or staff, can do that.")]
    NotYours,
    #[error("Case #{0} is already closed; only staff can change it now.")]
    Closed(i64),
    #[error("There is no case #{0}.")]
    UnknownCase(i64),
    #[error("There is no knowledge-base entry \"{0}\".")]
    UnknownEntry(String),
    #[error("I do not know the code \"{0}\".")]
    UnknownCode(String),
    #[error("This button is not one of mine.")]
    BadAction,
    #[error("This button does not belong to that answer.")]
    WrongMessage,
    #[error("{0}")]
    BadInput(String),
    #[error("Reload failed; the previous knowledge base stays active.\n{0}")]
    KbInvalid(String),
}

/// Result of every [`Conversation`](super::Conversation) method that can fail.
#[derive(Debug, thiserror::Error)]
pub enum ConvError {
    #[error(transparent)]
    User(#[from] UserError),
    /// Database trouble, a crashed diagnosis, ...: logged, never shown in detail.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// What a user sees for an internal error.
pub const APOLOGY: &str = "Sorry, that went wrong on my side.";

impl ConvError {
    /// The text to show the user: the [`UserError`] word for word, or [`APOLOGY`].
    pub fn shown(&self) -> String {
        match self {
            ConvError::User(u) => u.to_string(),
            ConvError::Internal(_) => APOLOGY.to_string(),
        }
    }

    pub fn user(&self) -> Option<&UserError> {
        match self {
            ConvError::User(u) => Some(u),
            ConvError::Internal(_) => None,
        }
    }
}

impl From<CaseError> for ConvError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::NotFound(id) => ConvError::User(UserError::UnknownCase(id)),
            other => ConvError::Internal(other.into()),
        }
    }
}

impl From<anyhow::Error> for ConvError {
    fn from(e: anyhow::Error) -> Self {
        ConvError::Internal(e)
    }
}
