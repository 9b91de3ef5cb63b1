//! Tool versions: parsed from whatever a tool prints, compared against a minimum.

use std::fmt;

use serde::Serialize;

/// A `major.minor.patch` version; missing parts are 0 and suffixes (`+g1234`, `-dispatcher`)
/// are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    pub const fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Finds the first `N.N[.N]` in `text` (a leading `v` is allowed).
    pub fn find(text: &str) -> Option<Version> {
        let bytes = text.as_bytes();
        (0..bytes.len())
            .filter(|&i| {
                bytes[i].is_ascii_digit()
                    && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'v')
            })
            .find_map(|i| Version::parse_prefix(&text[i..]))
    }

    fn parse_prefix(s: &str) -> Option<Version> {
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let mut parts = s[..end].split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version::new(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versions_in_real_outputs() {
        assert_eq!(
            Version::find("v4.1.4+g05fa379"),
            Some(Version::new(4, 1, 4))
        );
        assert_eq!(
            Version::find("v1.32.4-dispatcher"),
            Some(Version::new(1, 32, 4))
        );
        assert_eq!(
            Version::find("minikube version: v1.38.1\ncommit: abc"),
            Some(Version::new(1, 38, 1))
        );
        assert_eq!(
            Version::find("Docker version 28.2.2, build e6534b4"),
            Some(Version::new(28, 2, 2))
        );
        assert_eq!(
            Version::find("version: 0.0.12"),
            Some(Version::new(0, 0, 12))
        );
        assert_eq!(Version::find("no digits"), None);
    }

    #[test]
    fn compares_numerically() {
        assert!(Version::new(1, 10, 0) > Version::new(1, 9, 9));
        assert!(Version::new(3, 17, 0) < Version::new(4, 0, 0));
    }
}
