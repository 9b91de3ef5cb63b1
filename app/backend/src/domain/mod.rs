//! Types that can only hold valid values: parse at the edge, then pass these inward.

mod chat;
mod task;
mod user_id;

pub use chat::{Conversation, Message, Role};
pub use task::{StatusFilter, Task, TaskDescription, TaskId, TaskTitle};
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
