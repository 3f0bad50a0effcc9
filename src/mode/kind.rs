//! What a mode is, as its module declares it: its `Kind` (name, fields,
//! options, vocabulary, how it is built), the options it may take, and the
//! `Question` it asks and the `Answer` it reads, with a streak mode's
//! `Settings`. Below every mode and the registry, so that nothing here
//! knows which modes there are.

use std::fmt;

use crate::gklm::api::Endpoint;
use crate::gklm::json::Body;
use crate::history::sighting::Observed;
use crate::mode::reader::{Every, Vocabulary};
use crate::mode::threshold::{Thresholds, check_order, parse_duration};
use crate::mode::zone::Zone;
use crate::output::report::Report;
use crate::output::state::State;

/// Longest pause between two observations that continues a streak, unless
/// `--max-gap` says otherwise: long enough for hourly checks and for an HA
/// zone that alternates two nodes.
pub const DEFAULT_MAX_GAP: &str = "1d";

/// A shorter `--max-gap` would restart the count at every check, so that
/// `-c` and `--critical-time` could never fire.
pub const MIN_MAX_GAP: u64 = 60;

/// What a mode declares about itself, before any option is read.
pub struct Kind {
    /// As given to `--mode`.
    pub name: &'static str,
    /// The JSON fields it prints, present (null) even on failure.
    pub fields: &'static [&'static str],
    /// The options of `ModeOptions` it takes, by long name.
    pub options: &'static [&'static str],
    /// What its answers can say, for `reader`.
    pub vocabulary: &'static Vocabulary,
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
    pub time_zone: Option<Zone>,
}

impl ModeOptions {
    /// The long names of the options given, each with how a refusal names
    /// it (`-w/-c` for the pair).
    pub fn given(&self) -> Vec<(&'static str, &'static str)> {
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

/// One run's question, with its settings.
pub trait Question: fmt::Debug {
    fn kind(&self) -> &'static Kind;
    fn endpoint(&self) -> Endpoint;
    /// The streak it keeps; None for a mode that keeps none.
    fn streak(&self) -> Option<&Settings> {
        None
    }
    /// Read GKLM's 200 answer, or say what did not fit; `every` is every
    /// mode's vocabulary.
    fn read<'a>(&'a self, body: &Body, every: Every) -> Result<Box<dyn Answer + 'a>, String>;
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

/// A streak mode's settings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// On the checks and seconds metrics.
    pub thresholds: Thresholds,
    pub max_gap: u64,
    /// `--state-key`: names this service's count.
    pub state_key: Option<String>,
}

impl Settings {
    /// From the options given: the thresholds in order (cli has checked
    /// that a `--max-gap` given is at least `MIN_MAX_GAP`).
    pub fn from(o: &ModeOptions) -> Result<Settings, String> {
        let t = &o.thresholds;
        check_order(
            t.warning.as_ref(),
            t.critical.as_ref(),
            t.warning_time,
            t.critical_time,
        )
        .map_err(|e| e.to_string())?;
        let max_gap = match o.max_gap {
            Some(gap) => gap,
            None => parse_duration(DEFAULT_MAX_GAP).map_err(|e| e.to_string())?,
        };
        Ok(Settings {
            thresholds: t.clone(),
            max_gap,
            state_key: o.state_key.clone(),
        })
    }

    /// `--state-key`, else the options that judge the streak.
    pub fn service_key(&self) -> String {
        self.state_key
            .clone()
            .unwrap_or_else(|| self.thresholds.service_key(self.max_gap))
    }
}
