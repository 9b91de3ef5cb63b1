//! The owner of tasks and conversations: the rule is shared with the frontend (crate
//! `todo-types`); here it answers in the API's 422 shape.

use super::ValidationError;

pub use todo_types::UserId;

impl From<todo_types::InvalidUserId> for ValidationError {
    fn from(e: todo_types::InvalidUserId) -> Self {
        ValidationError::new(
            "invalid_user_id",
            format!("user_id must be {} ({e})", todo_types::USER_ID_RULE),
        )
    }
}

/// Parses a user id and answers with the API's validation error.
pub fn parse_user_id(value: &str) -> Result<UserId, ValidationError> {
    Ok(UserId::parse(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_the_api_code() {
        for bad in [
            "",
            &"a".repeat(65),
            "a b",
            "a/b",
            "é",
            "a%20",
            "a\u{0}",
            ".",
            "..",
        ] {
            assert_eq!(
                parse_user_id(bad).err().map(|e| e.code),
                Some("invalid_user_id"),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_user_id("Jane.Doe_1@example.com").map(|u| u.to_string()),
            Ok("Jane.Doe_1@example.com".into())
        );
    }
}
