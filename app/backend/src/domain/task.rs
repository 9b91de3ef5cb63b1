use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ValidationError;
use super::text::{check_multiline_text, check_single_line_text};

const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 2000;

/// A task as stored and as sent to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Task {
    /// The global, stable id the REST API addresses the task by.
    pub id: i64,
    /// The user's task number (1, 2, 3…, never reused): what the page shows and the chat and the
    /// MCP tools accept.
    pub number: i64,
    pub user_id: String,
    pub title: String,
    pub description: String,
    pub completed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A task title: 1–200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let trimmed = value.trim();
        let len = trimmed.chars().count();
        if len == 0 {
            return Err(ValidationError::new(
                "invalid_title",
                "title must not be empty",
            ));
        }
        if len > TITLE_MAX {
            return Err(ValidationError::new(
                "invalid_title",
                format!("title must be at most {TITLE_MAX} characters (got {len})"),
            ));
        }
        check_single_line_text("invalid_title", "title", trimmed)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task description: up to 2,000 characters after trimming; empty when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskDescription(String);

impl TaskDescription {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let trimmed = value.trim();
        let len = trimmed.chars().count();
        if len > DESCRIPTION_MAX {
            return Err(ValidationError::new(
                "invalid_description",
                format!("description must be at most {DESCRIPTION_MAX} characters (got {len})"),
            ));
        }
        check_multiline_text("invalid_description", "description", trimmed)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task id: a positive 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskId(i64);

impl TaskId {
    /// Parses a path segment such as `"42"`: canonical decimal only (ASCII digits, no sign, no
    /// leading zero), so each id has exactly one spelling.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let canonical = !value.is_empty()
            && value.bytes().all(|b| b.is_ascii_digit())
            && !value.starts_with('0');
        canonical
            .then(|| value.parse::<i64>().ok())
            .flatten()
            .and_then(|n| Self::new(n).ok())
            .ok_or_else(|| {
                ValidationError::new(
                    "invalid_task_id",
                    "task id must be a positive integer below 2^63 in plain decimal (no sign, no leading zeros)",
                )
            })
    }

    pub fn new(value: i64) -> Result<Self, ValidationError> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "invalid_task_id",
                "task id must be a positive integer",
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which tasks a listing shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    All,
    Pending,
    Completed,
}

impl StatusFilter {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match value {
            "all" => Ok(Self::All),
            "pending" => Ok(Self::Pending),
            "completed" => Ok(Self::Completed),
            _ => Err(ValidationError::new(
                "invalid_status",
                "status must be one of all, pending, completed",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Pending => "pending",
            Self::Completed => "completed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(
            TaskTitle::parse("  buy milk ").map(|t| t.0),
            Ok("buy milk".into())
        );
        assert!(TaskTitle::parse("").is_err());
        assert!(TaskTitle::parse("   \n ").is_err());
        assert!(TaskTitle::parse(&"é".repeat(200)).is_ok());
        assert!(TaskTitle::parse(&"x".repeat(201)).is_err());
        assert!(TaskTitle::parse("a\u{7}b").is_err());
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(TaskDescription::parse("").is_ok());
        assert!(TaskDescription::parse(&"d".repeat(2000)).is_ok());
        assert!(TaskDescription::parse(&"d".repeat(2001)).is_err());
        assert!(TaskDescription::parse("line 1\nline 2").is_ok());
        assert!(TaskDescription::parse("nul \u{0} inside").is_err());
        assert!(TaskDescription::parse("escape \u{1b}[2J").is_err());
    }

    #[test]
    fn ids_are_positive_and_fit() {
        assert_eq!(TaskId::parse("42").map(TaskId::get), Ok(42));
        for bad in [
            "0",
            "-1",
            "abc",
            "1.5",
            "99999999999999999999",
            "",
            "+1",
            "01",
            "007",
            " 1",
            "1 ",
            "１",
        ] {
            assert!(TaskId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_filter_names() {
        for s in ["all", "pending", "completed"] {
            assert_eq!(StatusFilter::parse(s).map(StatusFilter::as_str), Ok(s));
        }
        assert!(StatusFilter::parse("done").is_err());
    }
}
