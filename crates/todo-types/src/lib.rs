//! Identifiers the backend and the frontend agree on, with no dependencies so both apps (and
//! their container build) pay nothing for sharing them.
//!
//! [`UserId`] is the one rule for the owner of tasks and conversations: 1 to 64 characters of
//! ASCII letters, digits, `.`, `_`, `@` and `-`, not made only of dots. The check is exact: a
//! caller that reads a form field trims it first; a path segment is taken as it is.

use std::fmt;
use std::str::FromStr;

/// The longest user id, in bytes (all allowed characters are ASCII).
pub const USER_ID_MAX: usize = 64;

/// The rule in words, for error messages and documentation.
pub const USER_ID_RULE: &str =
    "1-64 characters of letters, digits, '.', '_', '@' or '-', not only dots";

/// A valid user id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

/// Why a string is not a user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidUserId {
    /// No characters at all.
    Empty,
    /// More than [`USER_ID_MAX`] bytes.
    TooLong,
    /// A character outside `[A-Za-z0-9._@-]`.
    Character,
    /// Only dots: `.` and `..` would name the current or parent directory in a path.
    OnlyDots,
}

impl fmt::Display for InvalidUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "a user id must not be empty",
            Self::TooLong => "a user id has at most 64 characters",
            Self::Character => "a user id may use letters, digits and . _ @ - only",
            Self::OnlyDots => "a user id must not be made only of dots",
        })
    }
}

impl std::error::Error for InvalidUserId {}

/// Whether `b` may appear in a user id.
pub fn is_user_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-')
}

impl UserId {
    /// Checks `value` against the rule; nothing is trimmed or changed.
    pub fn parse(value: &str) -> Result<Self, InvalidUserId> {
        if value.is_empty() {
            return Err(InvalidUserId::Empty);
        }
        if value.len() > USER_ID_MAX {
            return Err(InvalidUserId::TooLong);
        }
        if !value.bytes().all(is_user_id_byte) {
            return Err(InvalidUserId::Character);
        }
        if value.bytes().all(|b| b == b'.') {
            return Err(InvalidUserId::OnlyDots);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for UserId {
    type Err = InvalidUserId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_alphabet() {
        for ok in [
            "demo",
            "a",
            "Jane.Doe_1@example.com",
            "x-y",
            ".hidden",
            "a..b",
            "...a",
            &"a".repeat(64),
        ] {
            assert_eq!(UserId::parse(ok).map(|u| u.to_string()), Ok(ok.to_owned()));
        }
    }

    #[test]
    fn names_why_a_value_is_refused() {
        let cases = [
            ("", InvalidUserId::Empty),
            (&"a".repeat(65), InvalidUserId::TooLong),
            ("a b", InvalidUserId::Character),
            (" demo", InvalidUserId::Character),
            ("a/b", InvalidUserId::Character),
            ("%2e%2e", InvalidUserId::Character),
            ("é", InvalidUserId::Character),
            ("a\u{0}", InvalidUserId::Character),
            ("a\u{7f}", InvalidUserId::Character),
            (".", InvalidUserId::OnlyDots),
            ("..", InvalidUserId::OnlyDots),
            (&".".repeat(64), InvalidUserId::OnlyDots),
        ];
        for (bad, why) in cases {
            assert_eq!(UserId::parse(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn parses_through_from_str() {
        assert_eq!(
            "demo".parse::<UserId>().map(|u| u.into_string()),
            Ok("demo".into())
        );
        assert!("..".parse::<UserId>().is_err());
    }
}
