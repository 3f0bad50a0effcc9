//! The one implementation of the modes that count a condition in a streak
//! (a backup running, a backup needed, a restore in progress). Such a mode
//! declares a `Watch`: what it asks, how it reads whether the condition
//! holds, and how its two streak metrics are named. The options, the
//! streak and the thresholds are handled here, once for all of them.

use serde_json::{Value, json};

use crate::gklm::api::Endpoint;
use crate::gklm::json::Body;
use crate::mode::evaluate::{Thresholds, judge_streak};
use crate::mode::threshold::{check_order, parse_duration};
use crate::mode::{Answer, History, Kind, ModeOptions, Question};
use crate::output::report::{Metric, Report, State};

/// The options every streak mode takes.
pub const OPTIONS: &[&str] = &[
    "--warning",
    "--critical",
    "--warning-time",
    "--critical-time",
    "--max-gap",
    "--state-key",
];

/// Longest pause between two observations that continues a streak, unless
/// `--max-gap` says otherwise: long enough for hourly checks and for an HA
/// zone that alternates two nodes.
pub const DEFAULT_MAX_GAP: &str = "1d";

/// A shorter `--max-gap` would restart the count at every check, so that
/// `-c` and `--critical-time` could never fire.
pub const MIN_MAX_GAP: u64 = 60;

/// What a streak mode watches.
pub struct Watch {
    pub kind: &'static Kind,
    pub endpoint: fn() -> Endpoint,
    /// Read a 200 answer: whether the condition holds, and the report so
    /// far (GKLM's text and id, the mode's own metrics and fields).
    pub read: fn(&Value) -> Result<Sighting, String>,
    /// "running", as in "(running for 2 checks, 10m 0s)".
    pub verb: &'static str,
    /// The label and help of the 0/1 metric that says whether the condition
    /// holds now (`running`); also the name of its JSON field.
    pub flag: (&'static str, &'static str),
    /// The label and help of the two streak metrics.
    pub checks: (&'static str, &'static str),
    pub seconds: (&'static str, &'static str),
    /// The state while the condition holds and no threshold is given.
    pub untouched: State,
}

/// One answer as a streak mode reads it.
pub struct Sighting {
    pub seen: bool,
    pub report: Report,
}

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

/// A streak mode with its settings: the `Question` of every streak mode.
#[derive(Debug)]
pub struct StreakMode {
    watch: &'static Watch,
    settings: Settings,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.name)
    }
}

impl Watch {
    /// The report of one answer before the streak is judged: GKLM's text
    /// and id, and the flag as metric and field.
    pub fn report(&self, seen: bool, message: &str, message_id: Option<String>) -> Report {
        let (label, help) = self.flag;
        Report {
            summary: message.to_string(),
            message_id,
            metrics: vec![Metric::flag(label, help, seen)],
            fields: vec![(label, json!(seen))],
            ..Report::default()
        }
    }
}

/// A `Kind::build` for a streak mode.
pub fn build(watch: &'static Watch, o: &ModeOptions) -> Result<Box<dyn Question>, String> {
    Ok(Box::new(StreakMode {
        watch,
        settings: Settings::from(o)?,
    }))
}

impl Question for StreakMode {
    fn kind(&self) -> &'static Kind {
        self.watch.kind
    }

    fn endpoint(&self) -> Endpoint {
        (self.watch.endpoint)()
    }

    fn streak(&self) -> Option<&Settings> {
        Some(&self.settings)
    }

    fn read<'a>(&'a self, body: &Body) -> Result<Box<dyn Answer + 'a>, String> {
        let sighting = (self.watch.read)(&body.json)?;
        Ok(Box::new(Seen {
            mode: self,
            sighting,
        }))
    }
}

struct Seen<'a> {
    mode: &'a StreakMode,
    sighting: Sighting,
}

impl Answer for Seen<'_> {
    fn seen(&self) -> Option<bool> {
        Some(self.sighting.seen)
    }

    fn judge(&self, history: History, now: u64) -> Report {
        judge(
            self.mode.watch,
            &self.mode.settings.thresholds,
            self.sighting.report.clone(),
            self.sighting.seen,
            history,
            now,
        )
    }
}

/// Complete `report` for an answer that did or did not see the condition.
/// When it is seen, the thresholds decide if any are given, else the
/// watch's `untouched` state.
pub fn judge(
    watch: &Watch,
    thresholds: &Thresholds,
    mut report: Report,
    seen: bool,
    history: History,
    now: u64,
) -> Report {
    if !seen {
        // Known without any history: not seen, so both counts are 0.
        add_streak(watch, &mut report, thresholds, 0, 0);
        return report;
    }
    match history {
        Ok(observed) => {
            let verdict = judge_streak(&observed, now, thresholds, watch.verb);
            report.state = if thresholds.any() {
                verdict.state
            } else {
                watch.untouched
            };
            report.reason = Some(format!("({})", verdict.detail));
            add_streak(
                watch,
                &mut report,
                thresholds,
                verdict.checks,
                verdict.seconds,
            );
        }
        Err(why) if thresholds.any() => return report.without_history(&why),
        Err(why) => {
            report.state = watch.untouched;
            report.reason = Some(format!("(how long is unknown: {why})"));
        }
    }
    report
}

fn add_streak(
    watch: &Watch,
    report: &mut Report,
    thresholds: &Thresholds,
    checks: u64,
    seconds: u64,
) {
    let ((checks_label, checks_help), (seconds_label, seconds_help)) =
        (watch.checks, watch.seconds);
    report
        .metrics
        .push(thresholds.count_metric(checks_label, checks_help, checks));
    report
        .metrics
        .push(thresholds.seconds_metric(seconds_label, seconds_help, seconds));
    report.fields.push((checks_label, json!(checks)));
    report.fields.push((seconds_label, json!(seconds)));
}

/// A history in which the condition has been seen `checks` times since
/// `since`, for the streak modes' tests.
#[cfg(test)]
pub(crate) fn seen_for(checks: u64, since: u64) -> History {
    use crate::mode::evaluate::{Observed, Streak};
    Ok(Observed {
        streak: Streak {
            checks,
            since: Some(since),
            last: Some(since),
        },
        restarted_after: None,
        clock_back: None,
        dropped: Vec::new(),
    })
}
