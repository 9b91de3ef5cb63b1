//! One splitter of multi-document YAML streams, shared by the xtask (raw manifests, `helm
//! template` output, the validation gate) and the chart tests, so all of them see the same
//! documents.

/// The documents of a YAML stream, split at lines that are `---` (the separator helm and the
/// project's manifests use; trailing spaces allowed). Each keeps its lines, comments included,
/// each ending in `\n`; a document with nothing but blank lines and comments (helm's `# Source:`
/// of an empty template) is left out.
pub fn documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(d) = docs.last_mut() {
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.into_iter()
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_separator_lines_only() {
        let docs = documents("a: 1\n---\nb: 2\n--- \nc: '---'\nd: |\n  x---\n");
        assert_eq!(docs, ["a: 1\n", "b: 2\n", "c: '---'\nd: |\n  x---\n"]);
    }

    #[test]
    fn skips_empty_and_comment_only_documents() {
        let docs = documents(
            "---\n# Source: a\napiVersion: v1\nkind: A\n---\n# only a comment\n---\n\n---\nkind: B\n",
        );
        assert_eq!(
            docs,
            ["# Source: a\napiVersion: v1\nkind: A\n", "kind: B\n"]
        );
    }

    #[test]
    fn reads_crlf_like_lf() {
        assert_eq!(documents("a: 1\r\n---\r\nb: 2\r\n"), ["a: 1\n", "b: 2\n"]);
    }
}
