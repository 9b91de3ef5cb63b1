//! The pipeline's stages in the order `up` runs them. A stage's number is its place here, from
//! 1: `--help`, the README and docs/stages.md use these numbers, and `docs --check` compares
//! them with this list.

/// The subcommands `up` runs, in order.
pub const STAGES: [&str; 7] = [
    "doctor", "setup", "build", "deploy", "verify", "aiops", "docs",
];

/// The number of stage `name` (a subcommand), if `up` runs it.
pub fn number(name: &str) -> Option<u8> {
    STAGES
        .iter()
        .position(|s| *s == name)
        .and_then(|i| u8::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_start_at_one_in_up_order() {
        assert_eq!(number("doctor"), Some(1));
        assert_eq!(number("verify"), Some(5));
        assert_eq!(number("docs"), Some(7));
        assert_eq!(number("status"), None);
    }
}
