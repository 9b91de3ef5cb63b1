use super::ValidationError;

/// The owner of tasks and conversations: 1–64 characters of `[A-Za-z0-9._@-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let ok_len = (1..=64).contains(&value.len());
        let ok_chars = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
        if ok_len && ok_chars {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::new(
                "invalid_user_id",
                "user_id must be 1-64 characters of letters, digits, '.', '_', '@' or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_alphabet() {
        for ok in [
            "demo",
            "a",
            "Jane.Doe_1@example.com",
            "x-y",
            &"a".repeat(64),
        ] {
            assert!(UserId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_empty_long_and_foreign_characters() {
        for bad in ["", &"a".repeat(65), "a b", "a/b", "é", "a%20", "a\u{0}"] {
            assert_eq!(
                UserId::parse(bad).err().map(|e| e.code),
                Some("invalid_user_id"),
                "{bad:?}"
            );
        }
    }
}
