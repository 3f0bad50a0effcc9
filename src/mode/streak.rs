//! Streaks: the modes that count a condition (a backup running, a backup
//! needed, a restore in progress). Such a mode declares a `Watch`: what it
//! asks, how it reads whether the condition holds, and how its two streak
//! metrics are named; the options, the streak and the thresholds are
//! handled here, once for all of them, and `judge_streak` judges what the
//! history observed (`history::sighting` keeps the count). Pure: the clock
//! is an argument, no files, no network.

use serde_json::{Value, json};

use crate::gklm::api::Endpoint;
use crate::gklm::json::Body;
use crate::history::sighting::Observed;
use crate::mode::kind::{Answer, History, Kind, ModeOptions, Question, Settings};
use crate::mode::reader::Every;
use crate::mode::threshold::{Thresholds, human_duration};
use crate::output::report::{Metric, Report};
use crate::output::state::State;

/// The options every streak mode takes.
pub const OPTIONS: &[&str] = &[
    "--warning",
    "--critical",
    "--warning-time",
    "--critical-time",
    "--max-gap",
    "--state-key",
];

/// What a streak mode watches.
pub struct Watch {
    pub kind: &'static Kind,
    pub endpoint: fn() -> Endpoint,
    /// Read a 200 answer: whether the condition holds, and the report so
    /// far (GKLM's text and id, the mode's own metrics and fields).
    pub read: fn(&Value, Every) -> Result<Condition, String>,
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

/// What one answer says of the condition, as a streak mode reads it.
pub struct Condition {
    pub seen: bool,
    pub report: Report,
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

    fn read<'a>(&'a self, body: &Body, every: Every) -> Result<Box<dyn Answer + 'a>, String> {
        let condition = (self.watch.read)(&body.json, every)?;
        Ok(Box::new(Seen {
            mode: self,
            condition,
        }))
    }
}

struct Seen<'a> {
    mode: &'a StreakMode,
    condition: Condition,
}

impl Answer for Seen<'_> {
    fn seen(&self) -> Option<bool> {
        Some(self.condition.seen)
    }

    fn judge(&self, history: History, now: u64) -> Report {
        judge(
            self.mode.watch,
            &self.mode.settings.thresholds,
            self.condition.report.clone(),
            self.condition.seen,
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
    report.metrics.push(Metric::checks(
        checks_label,
        checks_help,
        checks,
        thresholds,
    ));
    report.metrics.push(Metric::timed(
        seconds_label,
        seconds_help,
        seconds,
        thresholds,
    ));
    report.fields.push((checks_label, json!(checks)));
    report.fields.push((seconds_label, json!(seconds)));
}

/// The judgement of a streak: state, the `(... for 2 checks, 10m 0s, -w 1
/// crossed)` detail, and the checks and seconds it was made on.
#[derive(Clone, Debug, PartialEq)]
pub struct StreakVerdict {
    pub state: State,
    pub detail: String,
    pub checks: u64,
    pub seconds: u64,
}

/// Judge the streak after this run's observation by `thresholds`; `verb` is
/// what the streak counts ("running", "needed").
pub fn judge_streak(
    observed: &Observed,
    now: u64,
    thresholds: &Thresholds,
    verb: &str,
) -> StreakVerdict {
    let streak = &observed.streak;
    let seconds = streak.seconds(now);
    let (state, crossed) = thresholds.judge(streak.checks, seconds);
    let plural = if streak.checks == 1 { "" } else { "s" };
    let mut detail = format!(
        "{verb} for {} check{plural}, {}",
        streak.checks,
        human_duration(seconds)
    );
    // Commas, not semicolons: Nagios rewrites `;` in plugin output.
    let restart = observed.restarted_after.map(|r| r.to_string());
    let clock = observed.clock_back.map(|back| {
        format!(
            "the clock went back {} since the last check",
            human_duration(back)
        )
    });
    for reason in crossed.into_iter().chain(restart).chain(clock) {
        detail.push_str(", ");
        detail.push_str(&reason);
    }
    StreakVerdict {
        state,
        detail,
        checks: streak.checks,
        seconds,
    }
}

/// A history in which the condition has been seen `checks` times since
/// `since`, for the streak modes' tests.
#[cfg(test)]
use crate::history::sighting::Streak;

#[cfg(test)]
pub(crate) fn seen_for(checks: u64, since: u64) -> History {
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

#[cfg(test)]
mod bookkeeping {
    use super::*;
    use crate::history::sighting::tests::{A, observe, observe_all, seen};
    use crate::history::sighting::{Sighting, Streak};

    #[test]
    fn w2_c4_gives_ok_ok_warning_warning_critical() {
        let t = Thresholds::both("2", "4");
        let mut sighting = None;
        let mut states = Vec::new();
        for i in 0..5 {
            let (next, observed) = observe(&sighting, A, true, 1000 + i * 60);
            sighting = next;
            states.push(judge_streak(&observed, 1000 + i * 60, &t, "running").state);
        }
        use State::*;
        assert_eq!(states, [Ok, Ok, Warning, Warning, Critical]);
    }

    #[test]
    fn the_detail_says_how_long_and_what_was_crossed() {
        let s = Streak {
            checks: 4,
            since: Some(0),
            last: Some(1000),
        };
        let v = judge_streak(&seen(s), 1083, &Thresholds::both("3", "10"), "running");
        assert_eq!(v.state, State::Warning);
        assert_eq!(v.detail, "running for 4 checks, 18m 3s, -w 3 crossed");
    }

    #[test]
    fn time_thresholds_apply_strictly_after_the_limit() {
        let t = Thresholds {
            warning_time: Some(600),
            critical_time: Some(3600),
            ..Thresholds::default()
        };
        let s = Streak {
            checks: 2,
            since: Some(0),
            last: Some(0),
        };
        let state = |now| judge_streak(&seen(s), now, &t, "running").state;
        assert_eq!(state(600), State::Ok);
        assert_eq!(state(601), State::Warning);
        let v = judge_streak(&seen(s), 3601, &t, "running");
        assert_eq!(v.state, State::Critical);
        assert!(
            v.detail.contains("--critical-time 1h 0m 0s crossed"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn a_restarted_streak_says_so_in_the_detail() {
        let (old, _) = observe_all(A, &[0, 1000]);
        let (_, observed) = Sighting::observe(old.as_ref(), A, true, 1000 + 660, 600);
        let v = judge_streak(&observed, 1660, &Thresholds::both("3", "10"), "running");
        assert_eq!(v.state, State::Ok);
        assert_eq!(
            v.detail,
            "running for 1 check, 0s, counting restarted: last check 11m 0s ago, --max-gap 10m 0s"
        );
    }
}
