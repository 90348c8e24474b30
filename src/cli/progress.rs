//! A one-line progress counter on stderr for long runs (a matrix of millions of flows), shown
//! only when stderr is a terminal so pipes, CI logs and reports never see it.
//!
//! Hand-written rather than a progress-bar crate: one line rewritten in place is all it does,
//! and it must never touch stdout, which carries the deterministic output.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the line is redrawn at most.
const REDRAW: Duration = Duration::from_millis(250);

/// Work below this many units finishes too fast for a progress line to help.
const WORTH_SHOWING: u64 = 1_000_000;

/// `meshsim COMMAND: 42% (420000 of 1000000 flows)`, redrawn in place.
#[derive(Debug)]
pub(super) struct Progress {
    command: &'static str,
    total: u64,
    /// `None` when nothing is shown (not a terminal, or a small run).
    last: Option<Instant>,
    shown: bool,
}

impl Progress {
    /// A counter towards `total` flows for `command`.
    pub(super) fn new(command: &'static str, total: u64) -> Progress {
        let show = total >= WORTH_SHOWING && std::io::stderr().is_terminal();
        Progress {
            command,
            total,
            last: show.then(Instant::now),
            shown: false,
        }
    }

    /// `done` flows are finished; clears the line when all are.
    pub(super) fn update(&mut self, done: u64) {
        let Some(last) = self.last else { return };
        let mut err = std::io::stderr().lock();
        if done >= self.total {
            if self.shown {
                // Errors on stderr have nowhere to go; the run's output is unaffected.
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            }
            self.last = None;
            return;
        }
        if last.elapsed() < REDRAW {
            return;
        }
        let percent = done * 100 / self.total.max(1);
        let _ = write!(
            err,
            "\r\x1b[2Kmeshsim {}: {percent}% ({done} of {} flows)",
            self.command, self.total
        );
        let _ = err.flush();
        self.shown = true;
        self.last = Some(Instant::now());
    }
}
