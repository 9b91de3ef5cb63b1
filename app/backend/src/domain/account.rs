//! Account inputs: the email address (which, lower-cased, is the user id) and the password.
//!
//! The email rule, checked at sign-up:
//! - spaces around it are dropped and it is lower-cased;
//! - at most 64 characters of letters, digits, `.`, `_`, `-` and one `@` (it becomes the user id);
//! - the part before `@` is not empty, does not start or end with `.` and has no `..`;
//! - the part after `@` has at least two labels separated by dots; each label has 1-63 letters,
//!   digits or `-`, not at either end; the last label has at least 2 characters and is not all
//!   digits.
//!
//! Log-in only checks that the address fits the user-id alphabet, so an account made under an
//! earlier, looser rule can still log in.

use super::ValidationError;
use super::user_id::{UserId, parse_user_id};

const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 128;
const EMAIL_RULE: &str = "email must look like name@example.com: at most 64 characters of letters, digits, '.', '_', '-' and one '@', with a domain of two or more labels";

fn invalid_email() -> ValidationError {
    ValidationError::new("invalid_email", EMAIL_RULE)
}

/// The user id of a new account's email, by the rule above.
pub fn parse_signup_email(raw: &str) -> Result<UserId, ValidationError> {
    let email = raw.trim().to_lowercase();
    let id = parse_user_id(&email).map_err(|_| invalid_email())?;
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid_email());
    };
    let local_ok = !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| t.len() >= 2 && !t.bytes().all(|b| b.is_ascii_digit()));
    if local_ok && labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok {
        Ok(id)
    } else {
        Err(invalid_email())
    }
}

/// The lower-cased email of a log-in, checked only against the user-id alphabet.
pub fn parse_login_email(raw: &str) -> Result<UserId, ValidationError> {
    let email = raw.trim().to_lowercase();
    match parse_user_id(&email) {
        Ok(id) if email.contains('@') => Ok(id),
        _ => Err(invalid_email()),
    }
}

/// A password: 8-128 characters with no control characters (which no keyboard types and some
/// databases or terminals mangle).
pub fn check_password(password: &str) -> Result<(), ValidationError> {
    let len = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(ValidationError::new(
            "invalid_password",
            format!("password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters"),
        ));
    }
    check_login_password(password)
}

/// A log-in's password: no control characters and at most 128 characters (no account has a
/// longer one); a short one is simply wrong.
pub fn check_login_password(password: &str) -> Result<(), ValidationError> {
    if password.chars().count() > PASSWORD_MAX || password.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "invalid_password",
            format!(
                "password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters without control characters"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signup_emails_follow_the_documented_rule() {
        for ok in [
            "a@b.co",
            "Jane.Doe@Example.COM",
            "x_y-z@mail.example.org",
            "  bob@host-1.example.io ",
            "n@xn--p1ai.xn--p1ai",
        ] {
            let id = parse_signup_email(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(id.as_str(), ok.trim().to_lowercase());
        }
        for bad in [
            "a@.",
            "x@b.",
            "..@..",
            "@example.com",
            "a@example",
            "a@@example.com",
            "a@b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@-b.com",
            "a@b-.com",
            "a@b..com",
            "a@example.c",
            "a@1.2.3.4",
            "a@exa_mple.com",
            "a+tag@example.com",
            "a\u{0}@example.com",
            "not-an-email",
            "",
        ] {
            assert_eq!(
                parse_signup_email(bad).err().map(|e| e.code),
                Some("invalid_email"),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(60));
        assert!(parse_signup_email(&long).is_err());
    }

    #[test]
    fn login_emails_only_need_the_alphabet() {
        assert!(parse_login_email("x@b.").is_ok());
        for bad in ["x\u{0}@b.co", "nobody", "a b@c.de", ""] {
            assert!(parse_login_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_bounded_and_printable() {
        assert!(check_password("correct horse").is_ok());
        assert!(check_password("short").is_err());
        assert!(check_password(&"p".repeat(129)).is_err());
        for bad in [
            "pass\u{0}word",
            "pass\tword",
            "pass\nword",
            "pass\u{7f}word",
            "pass\u{85}word",
        ] {
            assert_eq!(
                check_password(bad).err().map(|e| e.code),
                Some("invalid_password"),
                "{bad:?}"
            );
            assert!(check_login_password(bad).is_err(), "{bad:?}");
        }
        assert!(check_login_password("x").is_ok());
    }
}
