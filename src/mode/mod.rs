//! The questions the check can ask GKLM, one module each. A mode declares
//! itself in one `Kind`: its name, JSON fields, the options it takes and how
//! it turns them into its `Question` (endpoint, reading, judgement). `MODES`
//! is the one list of them; nothing else names a mode, so the help, the
//! printer, the state file and main run whichever was chosen without
//! knowing which one it is. Everything here is pure. A mode's module takes
//! what a mode is from [`kind`], never from this registry, and the reader
//! is handed every vocabulary: no import goes in a circle.
//!
//! Adding a mode: a module with its `KIND`, and one line in `MODES`. The
//! tests then name what the rest still lacks: `tests/matrix.rs` a row of
//! the fault matrix, `tests/docs.rs` the help, man page, README and package
//! descriptions, `tests/engines.rs` and `tests/zabbix_server.rs` the
//! Nagios, Icinga 2 and Zabbix integrations.

pub mod age;
pub mod kind;
pub mod needed;
pub mod reader;
pub mod restore;
pub mod result;
pub mod running;
pub mod streak;

// What the modes judge with: streaks and thresholds, their syntax, and
// GKLM's times.
pub mod threshold;
pub mod timestamp;
pub mod zone;

use std::fmt;

use crate::gklm::api::Endpoint;
use crate::gklm::json::Body;
use crate::output::report::Report;

pub use kind::{Answer, History, Kind, ModeOptions, Question, Settings};

/// The mode when none is given.
pub const DEFAULT: &Kind = &running::KIND;

/// Every mode, in `--help` order.
pub static MODES: &[&Kind] = &[
    &running::KIND,
    &needed::KIND,
    &result::KIND,
    &age::KIND,
    &restore::KIND,
];

/// The mode named `name` with `options`, or a usage error's text: an
/// unknown mode, an option the mode does not take, options that do not fit.
pub fn choose(name: &str, options: &ModeOptions) -> Result<Mode, String> {
    let kind = kind_of(name).ok_or_else(|| {
        let names: Vec<&str> = MODES.iter().map(|k| k.name).collect();
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        format!(
            "invalid --mode '{name}': expected {} or {last}",
            rest.join(", ")
        )
    })?;
    if let Some((_, named)) = options
        .given()
        .into_iter()
        .find(|(long, _)| !kind.options.contains(long))
    {
        let hint = if named == "-w/-c" && kind.options.contains(&"--warning-time") {
            " (use --warning-time/--critical-time)"
        } else {
            ""
        };
        return Err(format!("{named}{hint} means nothing for --mode {name}"));
    }
    (kind.build)(options).map(Mode)
}

/// The mode a user named, for output printed before the options could be
/// read in full (a usage error still carries its fields).
pub fn kind_of(name: &str) -> Option<&'static Kind> {
    MODES.iter().copied().find(|k| k.name == name)
}

/// Every mode's vocabulary, for the reader to tell an answer to another
/// question.
pub fn every_vocabulary() -> Vec<&'static reader::Vocabulary> {
    MODES.iter().map(|kind| kind.vocabulary).collect()
}

/// The chosen mode: what the rest of the check knows of it.
#[derive(Debug)]
pub struct Mode(Box<dyn Question>);

impl Mode {
    pub fn name(&self) -> &'static str {
        self.0.kind().name
    }

    /// The JSON fields this mode prints, present (null) even on failure.
    pub fn fields(&self) -> &'static [&'static str] {
        self.0.kind().fields
    }

    pub fn endpoint(&self) -> Endpoint {
        self.0.endpoint()
    }

    /// Whether a threshold needs the history of earlier runs.
    pub fn needs_history(&self) -> bool {
        self.0.streak().is_some_and(|s| s.thresholds.any())
    }

    /// Longest pause between two observations that continues a streak.
    pub fn max_gap(&self) -> u64 {
        self.0.streak().map_or(u64::MAX, |s| s.max_gap)
    }

    /// The key this service's count goes by: `--state-key`, else one made
    /// of the options that judge the streak; None for modes that keep none.
    pub fn service_key(&self) -> Option<String> {
        self.0.streak().map(Settings::service_key)
    }

    /// Read GKLM's 200 answer, or say what did not fit.
    pub fn read<'a>(&'a self, body: &Body) -> Result<Reading<'a>, Unexpected> {
        match self.0.read(body, &every_vocabulary()) {
            Ok(answer) => Ok(Reading {
                answer,
                fields: self.fields(),
            }),
            Err(why) => Err(Unexpected {
                what: self.endpoint().what,
                why,
            }),
        }
    }
}

/// A read answer, ready to be judged.
pub struct Reading<'a> {
    answer: Box<dyn Answer + 'a>,
    fields: &'static [&'static str],
}

impl Reading<'_> {
    pub fn seen(&self) -> Option<bool> {
        self.answer.seen()
    }

    /// The plugin result; `history` already includes this answer.
    pub fn judge(&self, history: History, now: u64) -> Report {
        self.answer.judge(history, now).with_fields(self.fields)
    }
}

/// A 200 answer that does not say what the mode asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unexpected {
    what: &'static str,
    why: String,
}

impl fmt::Display for Unexpected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected answer to {}: {}", self.what, self.why)
    }
}

impl std::error::Error for Unexpected {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_has_its_own_name_fields_and_endpoint() {
        let mut names = Vec::new();
        let mut fields = Vec::new();
        for kind in MODES {
            assert!(!names.contains(&kind.name), "{} twice", kind.name);
            names.push(kind.name);
            for field in kind.fields {
                assert!(!fields.contains(field), "{field} in two modes");
                fields.push(*field);
            }
            assert!(kind_of(kind.name).is_some_and(|k| k.name == kind.name));
        }
        assert!(kind_of(DEFAULT.name).is_some(), "the default is a mode");
    }

    #[test]
    fn an_option_a_mode_does_not_take_is_refused_naming_it() {
        let with = |edit: fn(&mut ModeOptions)| {
            let mut o = ModeOptions::default();
            edit(&mut o);
            o
        };
        let cases: [(&str, ModeOptions, &str); 4] = [
            (
                "result",
                with(|o| o.thresholds.critical_time = Some(60)),
                "--warning-time/--critical-time means nothing for --mode result",
            ),
            (
                "age",
                with(|o| o.thresholds.warning = crate::mode::threshold::Range::parse("1").ok()),
                "-w/-c (use --warning-time/--critical-time) means nothing for --mode age",
            ),
            (
                "running",
                with(|o| o.backup_dir = Some("/b".into())),
                "--backup-dir means nothing for --mode running",
            ),
            (
                "size",
                ModeOptions::default(),
                "invalid --mode 'size': expected running, needed, result, age or restore",
            ),
        ];
        for (name, options, message) in cases {
            assert_eq!(choose(name, &options).unwrap_err(), message);
        }
    }
}
