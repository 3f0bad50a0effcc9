//! The questions the check can ask GKLM, one module each. A mode declares
//! itself in one `Kind`: its name, JSON fields, the options it takes and how
//! it turns them into its `Question` (endpoint, reading, judgement). `MODES`
//! is the one list of them; nothing else names a mode, so the help, the
//! printer, the state file and main run whichever was chosen without
//! knowing which one it is. Everything here is pure.
//!
//! Adding a mode: a module with its `KIND`, and one line in `MODES`. The
//! tests then name what the rest still lacks: `tests/matrix.rs` a row of
//! the fault matrix, `tests/docs.rs` the help, man page, README and package
//! descriptions, `tests/engines.rs` and `tests/zabbix_server.rs` the
//! Nagios, Icinga 2 and Zabbix integrations.

pub mod age;
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
use crate::mode::streak::Observed;
use crate::mode::threshold::Thresholds;
use crate::output::report::Report;
use crate::output::state::State;

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

/// What a mode declares about itself, before any option is read.
pub struct Kind {
    /// As given to `--mode`.
    pub name: &'static str,
    /// The JSON fields it prints, present (null) even on failure.
    pub fields: &'static [&'static str],
    /// The options of `ModeOptions` it takes, by long name.
    pub options: &'static [&'static str],
    /// What its answers can say, for `reader`.
    pub vocabulary: &'static reader::Vocabulary,
    /// Turn the options given into the question, or say why they do not fit.
    pub build: fn(&ModeOptions) -> Result<Box<dyn Question>, String>,
}

/// The options that only some modes take, as given, each read by its own
/// syntax; which apply, and how they combine, is each mode's business.
#[derive(Clone, Debug, Default)]
pub struct ModeOptions {
    pub thresholds: Thresholds,
    pub max_gap: Option<u64>,
    pub state_key: Option<String>,
    pub unknown_result_state: Option<State>,
    pub backup_dir: Option<String>,
    pub time_zone: Option<crate::mode::zone::Zone>,
}

impl ModeOptions {
    /// The long names of the options given, each with how a refusal names
    /// it (`-w/-c` for the pair).
    fn given(&self) -> Vec<(&'static str, &'static str)> {
        let t = &self.thresholds;
        [
            ("--warning", "-w/-c", t.warning.is_some()),
            ("--critical", "-w/-c", t.critical.is_some()),
            (
                "--warning-time",
                "--warning-time/--critical-time",
                t.warning_time.is_some(),
            ),
            (
                "--critical-time",
                "--warning-time/--critical-time",
                t.critical_time.is_some(),
            ),
            ("--max-gap", "--max-gap", self.max_gap.is_some()),
            ("--state-key", "--state-key", self.state_key.is_some()),
            (
                "--unknown-result-state",
                "--unknown-result-state",
                self.unknown_result_state.is_some(),
            ),
            ("--backup-dir", "--backup-dir", self.backup_dir.is_some()),
            ("--time-zone", "--time-zone", self.time_zone.is_some()),
        ]
        .into_iter()
        .filter(|(_, _, given)| *given)
        .map(|(long, named, _)| (long, named))
        .collect()
    }
}

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

/// One run's question, with its settings.
pub trait Question: fmt::Debug {
    fn kind(&self) -> &'static Kind;
    fn endpoint(&self) -> Endpoint;
    /// The streak it keeps; None for a mode that keeps none.
    fn streak(&self) -> Option<&streak::Settings> {
        None
    }
    /// Read GKLM's 200 answer, or say what did not fit.
    fn read<'a>(&'a self, body: &Body) -> Result<Box<dyn Answer + 'a>, String>;
}

/// GKLM's answer as the mode that asked read it.
pub trait Answer {
    /// Whether it continues the mode's streak (a backup running, a backup
    /// needed); None for a mode that keeps none.
    fn seen(&self) -> Option<bool> {
        None
    }
    /// The plugin result; `history` already includes this answer.
    fn judge(&self, history: History, now: u64) -> Report;
}

/// What earlier runs saw, with this run's observation added, or why that
/// is not available (unreadable, foreign or unsaveable state file).
pub type History = Result<Observed, String>;

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
        self.0.streak().map(streak::Settings::service_key)
    }

    /// Read GKLM's 200 answer, or say what did not fit.
    pub fn read<'a>(&'a self, body: &Body) -> Result<Reading<'a>, Unexpected> {
        match self.0.read(body) {
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
