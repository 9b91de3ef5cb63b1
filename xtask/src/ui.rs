//! What the user sees: progress and status on stderr, results on stdout.
//!
//! A spinner with the elapsed time runs for each long step, but only when stderr is a terminal;
//! without one a step prints a plain line when it ends. Colours appear only on a terminal and
//! never with `--no-color` or `NO_COLOR`.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy)]
pub enum Tone {
    Good,
    Bad,
    Warn,
    Plain,
}

/// Shared handle to the terminal (cheap to clone).
#[derive(Clone)]
pub struct Ui {
    inner: Rc<Inner>,
}

struct Inner {
    tty: bool,
    color: bool,
    stdout_color: bool,
    verbose: u8,
    quiet: bool,
    spinner: RefCell<Option<ProgressBar>>,
}

impl Ui {
    pub fn new(verbose: u8, quiet: bool, no_color: bool) -> Ui {
        let tty = std::io::stderr().is_terminal();
        let color_allowed = !no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Ui {
            inner: Rc::new(Inner {
                tty,
                color: color_allowed && tty,
                stdout_color: color_allowed && std::io::stdout().is_terminal(),
                verbose,
                quiet,
                spinner: RefCell::new(None),
            }),
        }
    }

    /// A handle that prints nothing (unit tests).
    #[cfg(test)]
    pub fn silent() -> Ui {
        Ui {
            inner: Rc::new(Inner {
                tty: false,
                color: false,
                stdout_color: false,
                verbose: 0,
                quiet: true,
                spinner: RefCell::new(None),
            }),
        }
    }

    pub fn verbose(&self) -> u8 {
        self.inner.verbose
    }

    /// Colours `text` for stderr.
    pub fn paint(&self, text: &str, tone: Tone) -> String {
        paint(self.inner.color, text, tone)
    }

    /// True when stderr gets colours (a terminal, and neither `--no-color` nor `NO_COLOR`): the
    /// child processes whose output shares it are told `NO_COLOR` otherwise.
    pub fn stderr_colours(&self) -> bool {
        self.inner.color
    }

    /// True when stdout gets colours (a terminal, and neither `--no-color` nor `NO_COLOR`).
    pub fn stdout_colours(&self) -> bool {
        self.inner.stdout_color
    }

    /// Colours `text` for stdout.
    pub fn paint_out(&self, text: &str, tone: Tone) -> String {
        paint(self.inner.stdout_color, text, tone)
    }

    fn eprint(&self, line: &str) {
        match self.inner.spinner.borrow().as_ref() {
            Some(pb) => pb.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// A cargo-style status line on stderr: a right-aligned verb and a message.
    pub fn status(&self, verb: &str, message: &str, tone: Tone) {
        if self.inner.quiet {
            return;
        }
        let verb = self.paint(&format!("{verb:>12}"), tone);
        self.eprint(&format!("{verb} {message}"));
    }

    pub fn warn(&self, message: &str) {
        let w = self.paint("warning", Tone::Warn);
        self.eprint(&format!("{w}: {message}"));
    }

    /// Shown only with `-v`: what was detected and which commands ran.
    pub fn detail(&self, message: &str) {
        if self.inner.verbose >= 1 {
            self.eprint(&format!("{:>12} {message}", ""));
        }
    }

    /// Runs `f` under a spinner labelled `label` showing the elapsed time, then prints one line
    /// with the outcome and the duration.
    pub fn step<T>(&self, label: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let pb = (self.inner.tty && !self.inner.quiet).then(|| {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.set_message(label.to_string());
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        let previous = self.inner.spinner.replace(pb.clone());
        let result = f();
        self.inner.spinner.replace(previous);
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
        let took = fmt_duration(started.elapsed());
        match &result {
            Ok(_) => self.status("Done", &format!("{label} ({took})"), Tone::Good),
            Err(_) => self.status("Failed", &format!("{label} ({took})"), Tone::Bad),
        }
        result
    }

    /// Prints a result line on stdout.
    pub fn out(&self, text: &str) {
        println!("{text}");
    }
}

fn paint(on: bool, text: &str, tone: Tone) -> String {
    let code = match tone {
        Tone::Good => "32;1",
        Tone::Bad => "31;1",
        Tone::Warn => "33;1",
        Tone::Plain => return text.to_string(),
    };
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `850ms`, `12.3s`, `2m05s`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// A plain-text table with columns padded to their widest cell (cells may hold colour codes,
/// which are not counted).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(visible_len(cell));
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>, out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - visible_len(c) + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers.iter().map(|h| h.to_string()).collect(), &mut out);
    line(widths.iter().map(|w| "-".repeat(*w)).collect(), &mut out);
    for row in rows {
        let mut cells = row.clone();
        cells.resize(cols, String::new());
        line(cells, &mut out);
    }
    out
}

fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns_and_ignores_colour_codes() {
        let t = table(
            &["tool", "version"],
            &[
                vec![paint(true, "docker", Tone::Good), "28.2.2".into()],
                vec!["kubectl".into(), "1.32.4".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "tool     version");
        assert_eq!(lines[1], "-------  -------");
        assert!(
            lines[2].ends_with("docker\x1b[0m   28.2.2"),
            "{:?}",
            lines[2]
        );
        assert_eq!(lines[3], "kubectl  1.32.4");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(fmt_duration(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(fmt_duration(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn no_colour_when_off() {
        assert_eq!(paint(false, "x", Tone::Bad), "x");
    }
}
