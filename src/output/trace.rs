//! Lines added after the first at `-v`, `-vv` and `-vvv`.

use std::sync::Mutex;

/// Collects diagnostic lines, keeping only those the chosen verbosity asks
/// for. Shared by reference between the parts of a run, and the threads
/// that ask GKLM side by side, hence the Mutex.
/// Lines are redacted and filtered when printed, not here.
#[derive(Debug, Default)]
pub struct Trace {
    verbosity: u8,
    lines: Mutex<Vec<String>>,
}

impl Trace {
    pub fn new(verbosity: u8) -> Trace {
        Trace {
            verbosity,
            lines: Mutex::new(Vec::new()),
        }
    }

    /// Whether lines of `level` are kept: for one costly to build.
    pub fn shows(&self, level: u8) -> bool {
        self.verbosity >= level
    }

    /// Record `line` if the user asked for at least `level` (1 to 3).
    pub fn note(&self, level: u8, line: impl Into<String>) {
        if self.shows(level) {
            let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            lines.push(line.into());
        }
    }

    pub fn into_lines(self) -> Vec<String> {
        self.lines.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}
