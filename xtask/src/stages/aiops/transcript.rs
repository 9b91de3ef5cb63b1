//! Transcripts: one Markdown file per question asked, whatever its outcome, written only from
//! the tool's own (redacted) output.

use std::time::Duration;

use crate::tools::ai::Outcome;
use crate::tools::ai::kubectl_ai::Denial;
use crate::ui::fmt_duration;

/// Everything one transcript shows.
pub struct Transcript<'a> {
    pub tool: &'a str,
    pub version: Option<&'a str>,
    pub command: &'a str,
    /// Who the tool acted as (the read-only identity, or the user's own context).
    pub identity: &'a str,
    pub prompt: &'a str,
    pub outcome: &'a Outcome,
    /// The answer as the tool printed it (already redacted).
    pub answer: &'a str,
    /// The commands the tool ran, from its trace.
    pub commands: &'a [String],
    /// Requests the API server refused.
    pub denials: &'a [Denial],
    /// The trace file, relative to the transcript.
    pub trace: Option<&'a str>,
    pub took: Duration,
}

impl Transcript<'_> {
    pub fn render(&self) -> String {
        let mut s = format!("# {} transcript\n\n", self.tool);
        s.push_str(&format!(
            "- Outcome: **{}**{}\n- Tool: {} {}\n- Time: {} (UTC), took {}\n- Identity: {}\n- Command: `{}`\n",
            self.outcome.label(),
            self.outcome.why().map(|w| format!(" ({w})")).unwrap_or_default(),
            self.tool,
            self.version.unwrap_or("(version unknown)"),
            crate::clock::utc_now(),
            fmt_duration(self.took),
            self.identity,
            self.command,
        ));
        if let Some(t) = self.trace {
            s.push_str(&format!("- Trace: [{t}]({t}) (redacted)\n"));
        }
        s.push_str("\nWritten by `cargo xtask aiops` from the tool's own output, unedited (secrets redacted).\n\n");
        s.push_str(&format!(
            "## Prompt\n\n> {}\n\n",
            self.prompt.replace('\n', "\n> ")
        ));
        if !self.commands.is_empty() {
            s.push_str("## Commands it ran (from the trace)\n\n");
            for c in self.commands {
                s.push_str(&format!("- `{}`\n", c.replace('`', "'")));
            }
            s.push('\n');
        }
        if !self.denials.is_empty() {
            s.push_str("## Refused by the API server (blocked by policy)\n\n");
            for d in self.denials {
                s.push_str(&format!("- `{}`\n", d.line.replace('`', "'")));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "## Answer\n\n````text\n{}\n````\n",
            strip_ansi(self.answer.trim_end())
        ));
        s
    }
}

/// Removes terminal colour codes (kubectl-ai colours its errors red).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_carry_outcome_identity_version_time_prompt_and_trace() {
        let outcome = Outcome::Blocked("needed approval for: kubectl delete pod web-1".into());
        let t = Transcript {
            tool: "kubectl-ai",
            version: Some("0.0.12"),
            command: "kubectl-ai --quiet '<prompt>'",
            identity: "ServiceAccount todo/todo-aiops-reader (ClusterRole view)",
            prompt: "Is it healthy?",
            outcome: &outcome,
            answer: "\u{1b}[31mError: RunOnce mode cannot handle user choice requests\u{1b}[0m\n",
            commands: &["kubectl get pods -n todo".to_string()],
            denials: &[],
            trace: Some("traces/x.trace.yaml"),
            took: Duration::from_millis(1500),
        }
        .render();
        assert!(
            t.contains("- Outcome: **blocked** (needed approval for: kubectl delete pod web-1)"),
            "{t}"
        );
        assert!(t.contains("Tool: kubectl-ai 0.0.12"));
        assert!(t.contains("Identity: ServiceAccount todo/todo-aiops-reader"));
        assert!(t.contains("> Is it healthy?"));
        assert!(t.contains("Time: 20"));
        assert!(t.contains("[traces/x.trace.yaml](traces/x.trace.yaml)"));
        assert!(t.contains("- `kubectl get pods -n todo`"));
        assert!(
            t.contains("````text\nError: RunOnce mode cannot handle user choice requests\n````"),
            "{t}"
        );
    }
}
