//! Types that can only hold valid values: parse at the edge, then pass these inward.

mod account;
mod chat;
mod listing;
mod task;
mod text;
mod user_id;

pub use account::{check_login_password, check_password, parse_login_email, parse_signup_email};
pub use chat::{Conversation, Message, Role};
pub use listing::{Cursor, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, PageLimit, TaskNumber, TaskRef};
pub use task::{StatusFilter, Task, TaskDescription, TaskId, TaskTitle};
pub use text::{check_multiline_text, check_single_line_text};
pub use user_id::{UserId, parse_user_id};

/// Input that does not satisfy a domain rule; answered with 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// Stable snake_case code for clients.
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

impl ValidationError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
