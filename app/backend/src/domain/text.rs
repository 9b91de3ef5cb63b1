//! Which characters free text may hold.
//!
//! PostgreSQL cannot store NUL in text, and other control characters have no place in a title or a
//! message; SQLite would take them. Refusing them here, before any query, gives the same 422 on
//! both engines. Multi-line text (descriptions, chat messages) keeps tab, line feed and carriage
//! return.

use super::ValidationError;

/// Refuses any control character (C0, DEL, C1).
pub fn check_single_line_text(
    code: &'static str,
    field: &str,
    value: &str,
) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            code,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

/// Refuses control characters other than tab, line feed and carriage return.
pub fn check_multiline_text(
    code: &'static str,
    field: &str,
    value: &str,
) -> Result<(), ValidationError> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(ValidationError::new(
            code,
            format!("{field} must not contain control characters other than tab and line breaks"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused() {
        for bad in ["a\u{0}b", "a\u{1b}[31m", "a\u{7f}", "a\u{85}b", "\u{8}"] {
            assert!(check_single_line_text("c", "f", bad).is_err(), "{bad:?}");
            assert!(check_multiline_text("c", "f", bad).is_err(), "{bad:?}");
        }
        assert!(check_single_line_text("c", "f", "a\tb").is_err());
        assert!(check_multiline_text("c", "f", "line 1\r\nline\t2").is_ok());
        assert!(check_single_line_text("c", "f", "café ☕ 漢字").is_ok());
    }
}
