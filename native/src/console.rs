//! Where a node's human-readable lines go: stdout, stderr, nowhere, or a buffer (tests, demo),
//! with an optional progress bar that the lines are printed around.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
enum Sink {
    Stdout,
    Stderr,
    Quiet,
    Capture(Arc<Mutex<Vec<String>>>),
}

/// A cheap, cloneable handle for printing a node's event lines.
#[derive(Clone, Debug)]
pub struct Console {
    sink: Sink,
    prefix: Option<Arc<str>>,
    bar: Option<ProgressBar>,
}

impl Console {
    /// Lines go to standard output.
    pub fn stdout() -> Self {
        Console { sink: Sink::Stdout, prefix: None, bar: None }
    }

    /// Lines go to standard error (used with `--json`, which keeps stdout for the summary).
    pub fn stderr() -> Self {
        Console { sink: Sink::Stderr, prefix: None, bar: None }
    }

    /// Lines are dropped.
    pub fn quiet() -> Self {
        Console { sink: Sink::Quiet, prefix: None, bar: None }
    }

    /// Lines are kept in memory; read them back with [`Console::captured`].
    pub fn capture() -> Self {
        Console { sink: Sink::Capture(Arc::new(Mutex::new(Vec::new()))), prefix: None, bar: None }
    }

    /// The same sink with every line prefixed by `prefix` (e.g. `"[server 2] "`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(Arc::from(prefix.into()));
        self
    }

    /// Adds a progress bar on stderr, but only when stderr is a terminal and lines are not
    /// suppressed; otherwise this is a no-op.
    pub fn with_progress_if_terminal(mut self) -> Self {
        if std::io::stderr().is_terminal() && !matches!(self.sink, Sink::Quiet) {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} segments ({eta})",
            ) {
                bar.set_style(style);
            }
            self.bar = Some(bar);
        }
        self
    }

    /// Whether lines are suppressed.
    pub fn is_quiet(&self) -> bool {
        matches!(self.sink, Sink::Quiet)
    }

    /// Prints one line (with the prefix, if any).
    pub fn line(&self, msg: &str) {
        let text = match &self.prefix {
            Some(p) => format!("{p}{msg}"),
            None => msg.to_string(),
        };
        let print = || match &self.sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                // A closed stdout (e.g. `| head`) must not kill the node.
                let _ = writeln!(out, "{text}");
            }
            Sink::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
            Sink::Quiet => {}
            Sink::Capture(buf) => {
                if let Ok(mut v) = buf.lock() {
                    v.push(text.clone());
                }
            }
        };
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Lines captured so far (empty unless made with [`Console::capture`]).
    pub fn captured(&self) -> Vec<String> {
        match &self.sink {
            Sink::Capture(buf) => buf.lock().map(|v| v.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Updates the progress bar, if there is one.
    pub fn progress(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            if bar.length() != Some(total) {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
    }

    /// Removes the progress bar from the screen, if there is one.
    pub fn finish_progress(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
