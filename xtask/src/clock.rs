//! The one clock for stamps in written files and reports: UTC from the system time, read once a
//! stamp.

/// Seconds since the Unix epoch (0 if the system clock is before it).
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Today's date in UTC as `YYYY-MM-DD` (for stamps in written files).
pub fn utc_date() -> String {
    date_of(now_secs())
}

/// `YYYY-MM-DDTHH:MM:SSZ` now.
pub fn utc_now() -> String {
    stamp_of(now_secs())
}

fn date_of(secs: u64) -> String {
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    format!("{y:04}-{m:02}-{d:02}")
}

fn stamp_of(secs: u64) -> String {
    let day = secs % 86_400;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date_of(secs),
        day / 3600,
        day / 60 % 60,
        day % 60
    )
}

/// Days since 1970-01-01 to a Gregorian date (Howard Hinnant's well-known algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn a_stamp_is_date_and_time_of_the_same_instant() {
        assert_eq!(stamp_of(0), "1970-01-01T00:00:00Z");
        assert_eq!(stamp_of(20_513 * 86_400 + 86_399), "2026-03-01T23:59:59Z");
        assert_eq!(date_of(20_513 * 86_400 + 86_399), "2026-03-01");
    }
}
