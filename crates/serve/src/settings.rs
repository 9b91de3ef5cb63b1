//! Durations in seconds from the environment: `5`, `2.5`, `0.25`.

use std::time::Duration;

/// A timing variable the app cannot use; each app turns it into its own configuration error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {var}={value:?}: {reason}\nhelp: {help}")]
pub struct SettingError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
    pub help: String,
}

/// Parses a number of seconds written as a decimal (`5`, `2.5`, `.5` is refused): no sign, no
/// exponent, at most `max_secs`.
pub fn parse_seconds(raw: &str, max_secs: u64) -> Result<Duration, String> {
    let raw = raw.trim();
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || (raw.ends_with('.')) {
        return Err("not a number of seconds such as 5 or 2.5".into());
    }
    let secs: f64 = raw
        .parse()
        .map_err(|_| "not a number of seconds such as 5 or 2.5".to_owned())?;
    if secs > max_secs as f64 {
        return Err(format!("more than the maximum of {max_secs} seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

pub(crate) fn seconds_setting(
    var: &'static str,
    raw: &str,
    max_secs: u64,
    zero_ok: bool,
) -> Result<Duration, SettingError> {
    let error = |reason: String| SettingError {
        var,
        value: raw.to_owned(),
        reason,
        help: format!(
            "set {var} to a number of seconds {} to {max_secs}, such as 5 or 2.5, or unset it",
            if zero_ok { "from 0" } else { "above 0, up" }
        ),
    };
    let d = parse_seconds(raw, max_secs).map_err(error)?;
    if d.is_zero() && !zero_ok {
        return Err(error("must be more than 0".into()));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;
    use std::collections::HashMap;

    #[test]
    fn seconds_are_decimals_without_sign_or_exponent() {
        assert_eq!(parse_seconds("5", 300), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds(" 2.5 ", 300), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_seconds("0", 300), Ok(Duration::ZERO));
        for bad in [
            "", "-1", "+1", "1e3", "inf", "NaN", ".5", "5.", "1.2.3", "5s", "301",
        ] {
            assert!(parse_seconds(bad, 300).is_err(), "{bad:?}");
        }
    }

    fn options(pairs: &[(&str, &str)]) -> Result<Options, SettingError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Options::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        let d = options(&[]).unwrap_or_default();
        assert_eq!(d.shutdown_delay, Duration::ZERO);
        assert_eq!(d.header_read_timeout, Duration::from_secs(10));
        assert_eq!(d.body_read_timeout, Duration::from_secs(10));
        let o = options(&[
            ("SHUTDOWN_DELAY", "5"),
            ("HEADER_READ_TIMEOUT", "2.5"),
            ("BODY_READ_TIMEOUT", "30"),
        ])
        .unwrap_or_default();
        assert_eq!(o.shutdown_delay, Duration::from_secs(5));
        assert_eq!(o.header_read_timeout, Duration::from_millis(2500));
        assert_eq!(o.body_read_timeout, Duration::from_secs(30));
    }

    #[test]
    fn bad_values_name_the_variable_and_the_fix() {
        for (var, value) in [
            ("SHUTDOWN_DELAY", "-1"),
            ("SHUTDOWN_DELAY", "5s"),
            ("HEADER_READ_TIMEOUT", "0"),
            ("BODY_READ_TIMEOUT", "1000"),
        ] {
            let err = options(&[(var, value)]).err();
            let err = err.unwrap_or_else(|| panic!("{var}={value} was accepted"));
            assert_eq!(err.var, var);
            let text = err.to_string();
            assert!(text.contains(var) && text.contains("help: "), "{text}");
        }
    }
}
