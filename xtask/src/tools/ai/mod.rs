//! The optional AI operations tools: kubectl-ai, the kagent CLI and Docker's assistant
//! (`docker ai`, Gordon). Their absence is reported, never fatal.
//!
//! None of them reports its own result truthfully through its exit code (kubectl-ai exits 0
//! when it stops for an approval it cannot ask for, `kagent invoke` and `kagent install` exit 0
//! after printing an error), so every answer is classified from what the tool printed into one
//! [`Outcome`].

pub mod gordon;
pub mod kagent;
pub mod kubectl_ai;

use std::fmt;

use serde::Serialize;

pub use gordon::{GORDON_HINT, gordon, gordon_review};
pub use kagent::{KAGENT_HINT, kagent_install, kagent_invoke, kagent_version, kagent_versions};
pub use kubectl_ai::{KUBECTL_AI_HINT, kubectl_ai_version};

/// What became of one question to one tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "why", rename_all = "lowercase")]
pub enum Outcome {
    /// The tool finished and gave an answer.
    Answered,
    /// The tool stopped, or was stopped, before doing something it may not do (an approval it
    /// could not ask for, a write the API server refused). Not a failure of the run.
    Blocked(String),
    /// The tool gave no usable answer; the text says why.
    Failed(String),
    /// The question was not asked; the text says why.
    Skipped(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Blocked(_) => "blocked",
            Outcome::Failed(_) => "failed",
            Outcome::Skipped(_) => "skipped",
        }
    }

    pub fn why(&self) -> Option<&str> {
        match self {
            Outcome::Answered => None,
            Outcome::Blocked(w) | Outcome::Failed(w) | Outcome::Skipped(w) => Some(w),
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.why() {
            Some(w) => write!(f, "{} ({w})", self.label()),
            None => f.write_str(self.label()),
        }
    }
}

/// Headers whose value is a credential, as HTTP dumps in traces show them.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization:",
    "x-goog-api-key:",
    "api-key:",
    "x-api-key:",
    "proxy-authorization:",
];

/// Masks credential header values (`Authorization: Bearer ...`, `X-Goog-Api-Key: ...`) in any
/// text a tool wrote, whether or not the value is a secret the xtask knows: kubectl-ai's trace
/// holds a dump of every request it sent to the model provider.
pub fn mask_credential_headers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let lower = line.to_ascii_lowercase();
        let hit = CREDENTIAL_HEADERS.iter().find_map(|h| {
            lower
                .find(h)
                .filter(|&at| {
                    // A header name starts the line or follows whitespace, a quote or `\n`.
                    at == 0
                        || matches!(lower.as_bytes()[at - 1], b' ' | b'\t' | b'"' | b'\'')
                        || lower[..at].ends_with("\\n")
                        || lower[..at].ends_with("\\r")
                })
                .map(|at| at + h.len())
        });
        match hit {
            Some(end) => {
                out.push_str(&line[..end]);
                let rest = &line[end..];
                // Keep what follows the value on the same line when it is an escaped line end
                // (`\r\n` inside a quoted dump), so other headers stay readable.
                let cut = rest
                    .find("\\r\\n")
                    .or_else(|| rest.find("\\n"))
                    .unwrap_or(rest.len());
                out.push_str(" ***");
                out.push_str(&mask_credential_headers(&rest[cut..]));
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_print_their_reason() {
        assert_eq!(Outcome::Answered.to_string(), "answered");
        assert_eq!(
            Outcome::Blocked("needed approval".into()).to_string(),
            "blocked (needed approval)"
        );
        let json = serde_json::to_value(Outcome::Failed("timed out".into())).expect("json");
        assert_eq!(json["outcome"], "failed");
        assert_eq!(json["why"], "timed out");
    }

    #[test]
    fn credential_headers_are_masked_in_plain_and_escaped_dumps() {
        let plain = "POST /v1/chat/completions HTTP/1.1\nAuthorization: Bearer sk-abc123\nContent-Type: application/json";
        let masked = mask_credential_headers(plain);
        assert!(!masked.contains("sk-abc123"), "{masked}");
        assert!(masked.contains("Authorization: ***"), "{masked}");
        assert!(
            masked.contains("Content-Type: application/json"),
            "{masked}"
        );
        let escaped = r#"  request: "POST /v1beta/models HTTP/1.1\r\nHost: x\r\nX-Goog-Api-Key: AIzaSECRET\r\nAccept: */*\r\n""#;
        let masked = mask_credential_headers(escaped);
        assert!(!masked.contains("AIzaSECRET"), "{masked}");
        assert!(masked.contains("Accept: */*"), "{masked}");
        // Words that merely contain a header name are left alone.
        assert_eq!(
            mask_credential_headers("no-authorization: here"),
            "no-authorization: here"
        );
    }
}
