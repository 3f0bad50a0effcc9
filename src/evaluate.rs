//! The decision: GKLM's answer, the history of earlier runs and the user's
//! thresholds become a plugin state. Pure: no clock, no files, no network.

use crate::gklm::BackupStatus;
use crate::report::{Report, State};
use crate::threshold::{Range, human_duration};

/// What earlier runs saw: how many consecutive runs found a backup running,
/// and when the first of them ran (Unix seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub running_checks: u64,
    pub running_since: Option<u64>,
}

impl History {
    /// The history once this run's observation at `now` is added.
    pub fn observe(self, running: bool, now: u64) -> History {
        if !running {
            return History::default();
        }
        let since = match (self.running_checks, self.running_since) {
            (n, Some(since)) if n > 0 => since,
            _ => now,
        };
        History {
            running_checks: self.running_checks.saturating_add(1),
            running_since: Some(since),
        }
    }

    /// Seconds since the first running observation; 0 if the clock went back.
    pub fn running_seconds(&self, now: u64) -> u64 {
        self.running_since
            .map_or(0, |since| now.saturating_sub(since))
    }
}

/// `-w`/`-c` on consecutive running checks, `--warning-time`/`--critical-time`
/// on seconds running. Thresholds apply only while a backup runs: a backup
/// that is not running is always OK.
#[derive(Clone, Debug, Default)]
pub struct Thresholds {
    pub warning: Option<Range>,
    pub critical: Option<Range>,
    pub warning_time: Option<u64>,
    pub critical_time: Option<u64>,
}

impl Thresholds {
    pub fn any(&self) -> bool {
        self.warning.is_some()
            || self.critical.is_some()
            || self.warning_time.is_some()
            || self.critical_time.is_some()
    }

    /// The worst state the thresholds give, and which of them were crossed.
    /// Critical is judged first; the worse state wins.
    fn judge(&self, checks: u64, seconds: u64) -> (State, Vec<String>) {
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

/// Turn one observation into the plugin's report. `history` is the history
/// *after* this observation, or why it is unavailable.
pub fn evaluate(
    status: &BackupStatus,
    history: Result<History, String>,
    now: u64,
    thresholds: &Thresholds,
) -> Report {
    let mut report = Report {
        state: State::Ok,
        summary: status.message.clone(),
        message_id: status.message_id.clone(),
        running: Some(status.running),
        ..Report::default()
    };
    if !status.running {
        // Known without any history: nothing is running, so both counters are 0.
        report.running_checks = Some(0);
        report.running_seconds = Some(0);
        return report;
    }
    match history {
        Ok(h) => {
            let seconds = h.running_seconds(now);
            let (state, crossed) = thresholds.judge(h.running_checks, seconds);
            let plural = if h.running_checks == 1 { "" } else { "s" };
            let mut detail = format!(
                "running for {} check{plural}, {}",
                h.running_checks,
                human_duration(seconds)
            );
            // Commas, not semicolons: Nagios rewrites `;` in plugin output.
            for reason in crossed {
                detail.push_str(", ");
                detail.push_str(&reason);
            }
            report.state = state;
            report.summary = format!("{} ({detail})", status.message);
            report.running_checks = Some(h.running_checks);
            report.running_seconds = Some(seconds);
        }
        Err(why) if thresholds.any() => {
            report.state = State::Unknown;
            report.summary = format!(
                "{} but the thresholds cannot be applied: {why}",
                status.message
            );
            report.error = Some(why);
        }
        Err(why) => {
            report.summary = format!("{} (how long is unknown: {why})", status.message);
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(running: bool) -> BackupStatus {
        let message = if running {
            "CTGKM3290I Backup process is running."
        } else {
            "CTGKM3291I Backup process is not running."
        };
        BackupStatus {
            running,
            message: message.into(),
            message_id: Some(message[..10].into()),
        }
    }

    fn thresholds(w: &str, c: &str) -> Thresholds {
        Thresholds {
            warning: Some(Range::parse(w).unwrap()),
            critical: Some(Range::parse(c).unwrap()),
            ..Thresholds::default()
        }
    }

    #[test]
    fn history_counts_consecutive_running_observations() {
        let h = History::default().observe(true, 100);
        assert_eq!(
            h,
            History {
                running_checks: 1,
                running_since: Some(100)
            }
        );
        let h = h.observe(true, 400);
        assert_eq!(
            h,
            History {
                running_checks: 2,
                running_since: Some(100)
            }
        );
        assert_eq!(h.running_seconds(1183), 1083);
        assert_eq!(h.observe(false, 500), History::default());
        assert_eq!(h.running_seconds(50), 0, "clock went back");
    }

    #[test]
    fn w2_c4_gives_ok_ok_warning_warning_critical_then_ok() {
        let t = thresholds("2", "4");
        let mut h = History::default();
        let mut states = Vec::new();
        for i in 0..5 {
            h = h.observe(true, 1000 + i * 60);
            states.push(evaluate(&status(true), Ok(h), 1000 + i * 60, &t).state);
        }
        assert_eq!(
            states,
            [
                State::Ok,
                State::Ok,
                State::Warning,
                State::Warning,
                State::Critical
            ]
        );
        h = h.observe(false, 2000);
        let r = evaluate(&status(false), Ok(h), 2000, &t);
        assert_eq!((r.state, r.running_checks), (State::Ok, Some(0)));
    }

    #[test]
    fn summary_says_how_long_and_what_was_crossed() {
        let h = History {
            running_checks: 4,
            running_since: Some(0),
        };
        let r = evaluate(&status(true), Ok(h), 1083, &thresholds("3", "10"));
        assert_eq!(r.state, State::Warning);
        assert_eq!(
            r.summary,
            "CTGKM3290I Backup process is running. (running for 4 checks, 18m 3s, -w 3 crossed)"
        );
        assert_eq!(r.message_id.as_deref(), Some("CTGKM3290I"));
    }

    #[test]
    fn time_thresholds_apply_strictly_after_the_limit() {
        let t = Thresholds {
            warning_time: Some(600),
            critical_time: Some(3600),
            ..Thresholds::default()
        };
        let h = History {
            running_checks: 2,
            running_since: Some(0),
        };
        assert_eq!(evaluate(&status(true), Ok(h), 600, &t).state, State::Ok);
        assert_eq!(
            evaluate(&status(true), Ok(h), 601, &t).state,
            State::Warning
        );
        let r = evaluate(&status(true), Ok(h), 3601, &t);
        assert_eq!(r.state, State::Critical);
        assert!(
            r.summary.contains("--critical-time 1h 0m 0s crossed"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn not_running_is_ok_whatever_the_thresholds() {
        let r = evaluate(
            &status(false),
            Ok(History::default()),
            0,
            &thresholds("@0:10", "@0:10"),
        );
        assert_eq!(r.state, State::Ok);
        assert_eq!(r.summary, "CTGKM3291I Backup process is not running.");
    }

    #[test]
    fn missing_history_is_unknown_only_when_a_threshold_needs_it() {
        let r = evaluate(
            &status(true),
            Err("state file unreadable".into()),
            0,
            &thresholds("2", "4"),
        );
        assert_eq!(r.state, State::Unknown);
        assert!(r.summary.contains("state file unreadable"));
        let r = evaluate(
            &status(true),
            Err("state file unreadable".into()),
            0,
            &Thresholds::default(),
        );
        assert_eq!((r.state, r.running_checks), (State::Ok, None));
        let r = evaluate(&status(false), Err("x".into()), 0, &thresholds("2", "4"));
        assert_eq!(r.state, State::Ok);
    }
}
