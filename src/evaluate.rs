//! The decision rules every mode shares: a streak of consecutive checks that
//! saw a condition (a backup running, a backup needed), the thresholds on it,
//! and their judgement. Pure: the clock is an argument, no files, no network.

use crate::report::{Metric, State};
use crate::threshold::{Range, human_duration};

/// Consecutive checks that saw a condition, when the first of them ran and
/// when the last one did (Unix seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Streak {
    pub checks: u64,
    pub since: Option<u64>,
    pub last: Option<u64>,
}

/// A streak after one more observation, and why it started again if it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    pub streak: Streak,
    /// Set when a pause longer than `--max-gap` ended the earlier streak.
    pub restarted_after: Option<Restart>,
}

/// A streak that started again because nobody had seen the condition for
/// longer than `--max-gap`: said on the first line, since a streak that
/// restarts at every check would otherwise never alert, silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    /// Seconds since the last observation of the earlier streak.
    pub gap: u64,
    pub max_gap: u64,
}

impl std::fmt::Display for Restart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "counting restarted: last check {} ago, --max-gap {}",
            human_duration(self.gap),
            human_duration(self.max_gap)
        )
    }
}

impl Streak {
    /// The streak once this run's observation at `now` is added. A gap of
    /// more than `max_gap` seconds since the last observation means the
    /// history is stale (checks were paused, or this node did not run them),
    /// so the streak starts again rather than alarming at once.
    pub fn observe(self, seen: bool, now: u64, max_gap: u64) -> Observed {
        if !seen {
            return Observed {
                streak: Streak::default(),
                restarted_after: None,
            };
        }
        let gap = self
            .last
            .or(self.since)
            .map(|last| now.saturating_sub(last));
        let stale = self.checks > 0 && gap.is_some_and(|g| g > max_gap);
        let since = match self.since {
            Some(since) if self.checks > 0 && !stale => since,
            _ => now,
        };
        let checks = if stale { 0 } else { self.checks };
        Observed {
            streak: Streak {
                checks: checks.saturating_add(1),
                since: Some(since),
                last: Some(now),
            },
            restarted_after: gap.filter(|_| stale).map(|gap| Restart { gap, max_gap }),
        }
    }

    /// Seconds since the first observation; 0 if the clock went back.
    pub fn seconds(&self, now: u64) -> u64 {
        self.since.map_or(0, |since| now.saturating_sub(since))
    }
}

/// `-w`/`-c` on consecutive checks, `--warning-time`/`--critical-time` on
/// seconds. Which quantity they measure is the mode's business.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Thresholds {
    pub warning: Option<Range>,
    pub critical: Option<Range>,
    pub warning_time: Option<u64>,
    pub critical_time: Option<u64>,
}

impl Thresholds {
    pub fn any(&self) -> bool {
        self.any_count() || self.any_time()
    }

    pub fn any_count(&self) -> bool {
        self.warning.is_some() || self.critical.is_some()
    }

    pub fn any_time(&self) -> bool {
        self.warning_time.is_some() || self.critical_time.is_some()
    }

    /// The worst state the thresholds give, and which of them were crossed.
    /// Critical is judged first; the worse state wins.
    pub fn judge(&self, checks: u64, seconds: u64) -> (State, Vec<String>) {
        let critical = crossed(
            &self.critical,
            "-c",
            self.critical_time,
            "--critical-time",
            checks,
            seconds,
        );
        if !critical.is_empty() {
            return (State::Critical, critical);
        }
        let warning = crossed(
            &self.warning,
            "-w",
            self.warning_time,
            "--warning-time",
            checks,
            seconds,
        );
        let state = if warning.is_empty() {
            State::Ok
        } else {
            State::Warning
        };
        (state, warning)
    }

    /// The count metric (`running_checks`, `needed_checks`) with its ranges.
    pub fn count_metric(&self, label: &'static str, help: &'static str, value: u64) -> Metric {
        Metric::count(label, help, value).limits(self.warning.as_ref(), self.critical.as_ref())
    }

    /// The seconds metric (`running_seconds`, ...) with its time limits.
    pub fn seconds_metric(&self, label: &'static str, help: &'static str, value: u64) -> Metric {
        Metric::seconds(label, help, value).time_limits(self.warning_time, self.critical_time)
    }
}

/// The thresholds of one level (a range on checks, a limit on seconds) that
/// the observation crosses, as `-w 3 crossed` phrases.
fn crossed(
    range: &Option<Range>,
    range_flag: &str,
    limit: Option<u64>,
    limit_flag: &str,
    checks: u64,
    seconds: u64,
) -> Vec<String> {
    let by_count = range
        .as_ref()
        .filter(|r| r.alerts(checks as f64))
        .map(|r| format!("{range_flag} {r} crossed"));
    let by_time = limit
        .filter(|&l| seconds > l)
        .map(|l| format!("{limit_flag} {} crossed", human_duration(l)));
    by_count.into_iter().chain(by_time).collect()
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
    for reason in crossed.into_iter().chain(restart) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn thresholds(w: &str, c: &str) -> Thresholds {
        Thresholds {
            warning: Some(Range::parse(w).unwrap()),
            critical: Some(Range::parse(c).unwrap()),
            ..Thresholds::default()
        }
    }

    fn seen(streak: Streak) -> Observed {
        Observed {
            streak,
            restarted_after: None,
        }
    }

    fn observe(s: Streak, seen: bool, now: u64) -> Streak {
        s.observe(seen, now, DAY).streak
    }

    #[test]
    fn a_streak_counts_consecutive_observations() {
        let s = observe(Streak::default(), true, 100);
        assert_eq!((s.checks, s.since, s.last), (1, Some(100), Some(100)));
        let s = observe(s, true, 400);
        assert_eq!((s.checks, s.since, s.last), (2, Some(100), Some(400)));
        assert_eq!(s.seconds(1183), 1083);
        assert_eq!(observe(s, false, 500), Streak::default());
        assert_eq!(s.seconds(50), 0, "clock went back");
    }

    #[test]
    fn a_gap_longer_than_the_limit_starts_the_streak_again() {
        let s = observe(observe(Streak::default(), true, 0), true, 600);
        let month_later = s.observe(true, 600 + 30 * DAY, DAY);
        assert_eq!(month_later.streak.checks, 1);
        assert_eq!(month_later.streak.since, Some(600 + 30 * DAY));
        assert_eq!(
            month_later.restarted_after,
            Some(Restart {
                gap: 30 * DAY,
                max_gap: DAY
            })
        );
        let within = s.observe(true, 600 + DAY, DAY);
        assert_eq!((within.streak.checks, within.restarted_after), (3, None));
    }

    #[test]
    fn a_streak_from_an_older_file_without_last_uses_its_start() {
        let old = Streak {
            checks: 3,
            since: Some(0),
            last: None,
        };
        assert_eq!(old.observe(true, 2 * DAY, DAY).streak.checks, 1);
        assert_eq!(old.observe(true, 600, DAY).streak.checks, 4);
    }

    #[test]
    fn w2_c4_gives_ok_ok_warning_warning_critical() {
        let t = thresholds("2", "4");
        let mut s = Streak::default();
        let mut states = Vec::new();
        for i in 0..5 {
            s = observe(s, true, 1000 + i * 60);
            states.push(judge_streak(&seen(s), 1000 + i * 60, &t, "running").state);
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
        let v = judge_streak(&seen(s), 1083, &thresholds("3", "10"), "running");
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
        let old = Streak {
            checks: 5,
            since: Some(0),
            last: Some(1000),
        };
        let observed = old.observe(true, 1000 + 660, 600);
        let v = judge_streak(&observed, 1660, &thresholds("3", "10"), "running");
        assert_eq!(v.state, State::Ok);
        assert_eq!(
            v.detail,
            "running for 1 check, 0s, counting restarted: last check 11m 0s ago, --max-gap 10m 0s"
        );
    }
}
