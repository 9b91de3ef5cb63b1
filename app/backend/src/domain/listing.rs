//! Task numbers and the paging of task lists.
//!
//! A task has two identifiers. `id` is global and stable: the REST API addresses tasks by it.
//! `number` counts each user's tasks (1, 2, 3…, never reused, even after a delete): the page shows
//! it and the chat and the MCP tools accept it.

use super::{TaskId, ValidationError};

/// The number of tasks a list page holds when the client gives no `limit`.
pub const DEFAULT_PAGE_LIMIT: u32 = 100;
/// The largest `limit` a client may ask for.
pub const MAX_PAGE_LIMIT: u32 = 500;

/// `true` for a canonical decimal: digits only, no sign, no leading zero (except `"0"`).
fn canonical_decimal(value: &str) -> bool {
    !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'))
}

/// A per-user task number: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskNumber(i64);

impl TaskNumber {
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "invalid_task_number",
                "task number must be a positive integer",
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// How a request names a task: by its global id (REST) or by the user's task number (chat, MCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRef {
    Id(TaskId),
    Number(TaskNumber),
}

impl std::fmt::Display for TaskRef {
    /// `task 12` for an id, `task #3` for a number.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "task {id}"),
            Self::Number(n) => write!(f, "task #{}", n.get()),
        }
    }
}

/// How many tasks one page holds: 1 to [`MAX_PAGE_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(u32);

impl Default for PageLimit {
    fn default() -> Self {
        Self(DEFAULT_PAGE_LIMIT)
    }
}

impl PageLimit {
    /// Parses the `limit` query parameter: a canonical decimal from 1 to 500.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "invalid_query",
                format!("limit must be a decimal number from 1 to {MAX_PAGE_LIMIT}"),
            )
        };
        if !canonical_decimal(value) || value.len() > 3 {
            return Err(bad());
        }
        value
            .parse::<u32>()
            .ok()
            .and_then(|n| Self::new(n).ok())
            .ok_or_else(bad)
    }

    pub fn new(value: u32) -> Result<Self, ValidationError> {
        if (1..=MAX_PAGE_LIMIT).contains(&value) {
            Ok(Self(value))
        } else {
            Err(ValidationError::new(
                "invalid_query",
                format!("limit must be from 1 to {MAX_PAGE_LIMIT}"),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where the next page starts: an opaque token for clients, the id of the last task of the
/// previous page inside (lists are ordered by id, newest first, so the next page holds the
/// smaller ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(i64);

impl Cursor {
    const PREFIX: char = 't';

    /// The cursor that continues after the task with this id.
    pub fn after(id: i64) -> Self {
        Self(id)
    }

    /// Parses a token made by [`Cursor::token`]; anything else is `invalid_cursor`.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let bad = || {
            ValidationError::new(
                "invalid_cursor",
                "cursor is not one this server made: use the X-Next-Cursor of the previous page",
            )
        };
        let hex = value.strip_prefix(Self::PREFIX).ok_or_else(bad)?;
        let canonical = !hex.is_empty()
            && hex.len() <= 16
            && !hex.starts_with('0')
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !canonical {
            return Err(bad());
        }
        match i64::from_str_radix(hex, 16) {
            Ok(id) if id > 0 => Ok(Self(id)),
            _ => Err(bad()),
        }
    }

    /// The token sent to clients.
    pub fn token(self) -> String {
        format!("{}{:x}", Self::PREFIX, self.0)
    }

    /// Tasks of the next page have ids below this one.
    pub fn before_id(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_canonical_and_bounded() {
        assert_eq!(PageLimit::default().get(), 100);
        for good in ["1", "42", "500"] {
            assert_eq!(
                PageLimit::parse(good).map(PageLimit::get),
                Ok(good.parse().expect("number"))
            );
        }
        for bad in [
            "", "0", "501", "007", "+5", "-1", "5.0", " 5", "1e2", "9999", "abc",
        ] {
            let err = PageLimit::parse(bad).expect_err(bad);
            assert_eq!(err.code, "invalid_query", "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_anything_else() {
        for id in [1, 255, i64::MAX] {
            let c = Cursor::after(id);
            assert_eq!(Cursor::parse(&c.token()), Ok(c));
        }
        for bad in [
            "",
            "t",
            "t0",
            "t01",
            "tFF",
            "x10",
            "10",
            "t-1",
            "tffffffffffffffff",
            "t1 ",
        ] {
            let err = Cursor::parse(bad).expect_err(bad);
            assert_eq!(err.code, "invalid_cursor", "{bad}");
        }
    }

    #[test]
    fn refs_name_ids_and_numbers_apart() {
        let id = TaskRef::Id(TaskId::new(12).expect("id"));
        let number = TaskRef::Number(TaskNumber::new(3).expect("number"));
        assert_eq!(id.to_string(), "task 12");
        assert_eq!(number.to_string(), "task #3");
        assert!(TaskNumber::new(0).is_err());
    }
}
