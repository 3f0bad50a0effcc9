//! The questions the check can ask GKLM about backups, one module each: which
//! endpoint, how its answer is read, how it is judged, and the metrics it
//! yields. Everything here is pure; main runs whichever mode was chosen
//! without knowing which one it is.
//!
//! Adding a mode: a module with a settings struct and an answer type, a
//! variant in `Mode` and `Answer`, and its options in cli. The printer, the
//! state file and main stay as they are.

pub mod age;
pub mod needed;
pub mod restore;
pub mod result;
pub mod running;

use serde_json::Value;

use serde_json::json;

use crate::evaluate::{Observed, Thresholds, judge_streak};
use crate::gklm::Endpoint;
use crate::report::{Report, State};

/// One run's question, with its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Running(running::Running),
    Needed(needed::Needed),
    Result(result::LastResult),
    Age(age::Age),
}

/// GKLM's answer, read by the mode that asked.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Running(running::Status),
    Needed(needed::Need),
    Result(result::Outcome),
    Age(age::Listing),
}

/// A mode's name and JSON fields by the name a user gave, for output
/// printed before the options could be read in full (a usage error).
pub fn fields_of(name: &str) -> Option<(&'static str, &'static [&'static str])> {
    match name {
        "running" => Some(("running", running::FIELDS)),
        "needed" => Some(("needed", needed::FIELDS)),
        "result" => Some(("result", result::FIELDS)),
        "age" => Some(("age", age::FIELDS)),
        _ => None,
    }
}

/// A 200 answer that does not say what the mode asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unexpected {
    what: &'static str,
    why: String,
}

impl std::fmt::Display for Unexpected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unexpected answer to {}: {}", self.what, self.why)
    }
}

impl std::error::Error for Unexpected {}

/// What earlier runs saw, with this run's observation added, or why that
/// is not available (unreadable, foreign or unsaveable state file).
pub type History = Result<Observed, String>;

impl Mode {
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Running(_) => "running",
            Mode::Needed(_) => "needed",
            Mode::Result(_) => "result",
            Mode::Age(_) => "age",
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        match self {
            Mode::Running(_) => running::endpoint(),
            Mode::Needed(_) => needed::endpoint(),
            Mode::Result(_) => result::endpoint(),
            Mode::Age(m) => m.endpoint(),
        }
    }

    /// The JSON fields this mode prints, present (null) even on failure.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            Mode::Running(_) => running::FIELDS,
            Mode::Needed(_) => needed::FIELDS,
            Mode::Result(_) => result::FIELDS,
            Mode::Age(_) => age::FIELDS,
        }
    }

    /// Whether a threshold needs the history of earlier runs.
    pub fn needs_history(&self) -> bool {
        match self {
            Mode::Running(m) => m.thresholds.any(),
            Mode::Needed(m) => m.thresholds.any(),
            Mode::Result(_) | Mode::Age(_) => false,
        }
    }

    /// Longest pause between two observations that continues a streak.
    pub fn max_gap(&self) -> u64 {
        match self {
            Mode::Running(m) => m.max_gap,
            Mode::Needed(m) => m.max_gap,
            Mode::Result(_) | Mode::Age(_) => u64::MAX,
        }
    }

    /// The key this service's count goes by (see `Thresholds::service_key`);
    /// None for modes that keep no streak.
    pub fn service_key(&self) -> Option<String> {
        match self {
            Mode::Running(m) => Some(m.thresholds.service_key(m.max_gap)),
            Mode::Needed(m) => Some(m.thresholds.service_key(m.max_gap)),
            Mode::Result(_) | Mode::Age(_) => None,
        }
    }

    /// Read GKLM's 200 answer, or say what did not fit.
    pub fn read(&self, body: &Value) -> Result<Answer, Unexpected> {
        let read = match self {
            Mode::Running(_) => running::read(body).map(Answer::Running),
            Mode::Needed(_) => needed::read(body).map(Answer::Needed),
            Mode::Result(_) => result::read(body).map(Answer::Result),
            Mode::Age(_) => age::read(body).map(Answer::Age),
        };
        read.map_err(|why| Unexpected {
            what: self.endpoint().what,
            why,
        })
    }

    /// The plugin result for `answer`; `history` already includes it.
    pub fn judge(&self, answer: &Answer, history: History, now: u64) -> Report {
        let report = match (self, answer) {
            (Mode::Running(m), Answer::Running(a)) => m.judge(a, history, now),
            (Mode::Needed(m), Answer::Needed(a)) => m.judge(a, history, now),
            (Mode::Result(m), Answer::Result(a)) => m.judge(a),
            (Mode::Age(m), Answer::Age(a)) => m.judge(a, now),
            _ => Report::failure(State::Unknown, "internal error: answer of another mode"),
        };
        report.with_fields(self.fields())
    }
}

impl Answer {
    /// Whether this answer continues the mode's streak (a backup running, a
    /// backup needed); None for modes that keep no streak.
    pub fn seen(&self) -> Option<bool> {
        match self {
            Answer::Running(a) => a.seen(),
            Answer::Needed(a) => a.seen(),
            Answer::Result(_) | Answer::Age(_) => None,
        }
    }
}

/// A condition a mode counts in a streak (a backup running, a backup
/// needed), and the names its two metrics go by: the rule `running` and
/// `needed` share.
pub(crate) struct Condition {
    /// "running", "needed": as in "(running for 2 checks, 10m 0s)".
    pub verb: &'static str,
    pub checks: (&'static str, &'static str),
    pub seconds: (&'static str, &'static str),
}

impl Condition {
    /// Complete `report` (GKLM's text, the mode's flag metric) for an answer
    /// that did or did not see the condition. When it is seen, thresholds
    /// decide if any are given, else `untouched` is the state.
    pub fn judge(
        &self,
        mut report: Report,
        seen: bool,
        history: History,
        now: u64,
        thresholds: &Thresholds,
        untouched: State,
    ) -> Report {
        if !seen {
            // Known without any history: not seen, so both counts are 0.
            self.add_streak(&mut report, thresholds, 0, 0);
            return report;
        }
        match history {
            Ok(observed) => {
                let verdict = judge_streak(&observed, now, thresholds, self.verb);
                report.state = if thresholds.any() {
                    verdict.state
                } else {
                    untouched
                };
                report.reason = Some(format!("({})", verdict.detail));
                self.add_streak(&mut report, thresholds, verdict.checks, verdict.seconds);
            }
            Err(why) if thresholds.any() => return report.without_history(&why),
            Err(why) => {
                report.state = untouched;
                report.reason = Some(format!("(how long is unknown: {why})"));
            }
        }
        report
    }

    fn add_streak(&self, report: &mut Report, thresholds: &Thresholds, checks: u64, seconds: u64) {
        let ((checks_label, checks_help), (seconds_label, seconds_help)) =
            (self.checks, self.seconds);
        report
            .metrics
            .push(thresholds.count_metric(checks_label, checks_help, checks));
        report
            .metrics
            .push(thresholds.seconds_metric(seconds_label, seconds_help, seconds));
        report.fields.push((checks_label, json!(checks)));
        report.fields.push((seconds_label, json!(seconds)));
    }
}
