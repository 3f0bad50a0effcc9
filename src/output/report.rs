//! The plugin result of one run, independent of how it is printed: a state,
//! a summary, and metrics that each carry their own thresholds and
//! performance-data form, so that no printer needs to know a metric's name.

use std::fmt;

use serde_json::Value;

use crate::mode::threshold::{Range, Thresholds};
use crate::output::state::State;

/// A metric's value: whole numbers print without a decimal point, measured
/// times with three decimals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    /// Counts and seconds, whole and never negative.
    Count(u64),
    Millis(f64),
    /// As given: `10`, `2.5`.
    Plain(f64),
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(n) => n.fmt(f),
            Number::Count(n) => n.fmt(f),
            Number::Millis(x) => write!(f, "{x:.3}"),
            Number::Plain(x) => x.fmt(f),
        }
    }
}

/// One measured value with everything needed to print it anywhere.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Performance-data label: fixed, lower case, `[a-z_]`, never quoted.
    pub label: &'static str,
    /// One sentence for whoever reads the metric elsewhere (Prometheus HELP).
    pub help: &'static str,
    pub value: Number,
    /// `s` for seconds, empty for plain numbers.
    pub unit: &'static str,
    /// Warning and critical in plain range syntax, empty when not set.
    pub warning: String,
    pub critical: String,
    pub min: Option<Number>,
    pub max: Option<Number>,
}

impl Metric {
    /// A flag such as `running`: 0 or 1.
    pub fn flag(label: &'static str, help: &'static str, on: bool) -> Metric {
        Metric {
            max: Some(Number::Int(1)),
            ..Metric::count(label, help, u64::from(on))
        }
    }

    /// A count judged by `-w`/`-c` (`running_checks`).
    pub fn checks(label: &'static str, help: &'static str, value: u64, t: &Thresholds) -> Metric {
        Metric::count(label, help, value).limits(t.warning.as_ref(), t.critical.as_ref())
    }

    /// Seconds judged by `--warning-time`/`--critical-time`
    /// (`running_seconds`, `backup_age`).
    pub fn timed(label: &'static str, help: &'static str, value: u64, t: &Thresholds) -> Metric {
        Metric::seconds(label, help, value).time_limits(t.warning_time, t.critical_time)
    }

    /// A non-negative count.
    pub fn count(label: &'static str, help: &'static str, value: u64) -> Metric {
        Metric {
            label,
            help,
            value: Number::Count(value),
            unit: "",
            warning: String::new(),
            critical: String::new(),
            min: Some(Number::Int(0)),
            max: None,
        }
    }

    /// Whole seconds, at least 0.
    pub fn seconds(label: &'static str, help: &'static str, value: u64) -> Metric {
        Metric {
            unit: "s",
            ..Metric::count(label, help, value)
        }
    }

    /// A code from a known closed range, such as GKLM's backup result.
    pub fn code(label: &'static str, help: &'static str, value: i64, min: i64, max: i64) -> Metric {
        Metric {
            value: Number::Int(value),
            min: Some(Number::Int(min)),
            max: Some(Number::Int(max)),
            ..Metric::count(label, help, 0)
        }
    }

    /// How long the run took, up to the timeout.
    pub fn elapsed(seconds: f64, timeout: f64) -> Metric {
        Metric {
            label: "time",
            help: "How long the check took, in seconds.",
            value: Number::Millis(seconds),
            unit: "s",
            warning: String::new(),
            critical: String::new(),
            min: Some(Number::Int(0)),
            max: Some(Number::Plain(timeout)),
        }
    }

    pub fn limits(self, warning: Option<&Range>, critical: Option<&Range>) -> Metric {
        let text = |r: Option<&Range>| r.map(ToString::to_string).unwrap_or_default();
        Metric {
            warning: text(warning),
            critical: text(critical),
            ..self
        }
    }

    pub fn time_limits(self, warning: Option<u64>, critical: Option<u64>) -> Metric {
        let text = |s: Option<u64>| s.map(|s| s.to_string()).unwrap_or_default();
        Metric {
            warning: text(warning),
            critical: text(critical),
            ..self
        }
    }

    /// `label=value[unit];warn;crit;min;max`.
    pub fn perfdata(&self) -> String {
        let opt = |n: Option<Number>| n.map(|n| n.to_string()).unwrap_or_default();
        format!(
            "{}={}{};{};{};{};{}",
            self.label,
            self.value,
            self.unit,
            self.warning,
            self.critical,
            opt(self.min),
            opt(self.max)
        )
    }
}

/// Everything one run found out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub state: State,
    /// The text after `STATE - `, unfiltered (the printer filters it):
    /// GKLM's own text, or why the check failed. What the printer cuts
    /// when the first line runs long.
    pub summary: String,
    /// The check's own words after the summary, such as `(running for 4
    /// checks, 18m 3s, -w 3 crossed)`: kept whole while any of the summary
    /// is left to cut, since it says why the state is what it is.
    pub reason: Option<String>,
    pub message_id: Option<String>,
    /// The mode's measurements, in perfdata order.
    pub metrics: Vec<Metric>,
    /// The mode's own fields for JSON output (null when unknown).
    pub fields: Vec<(&'static str, Value)>,
    /// Why the check could not do its job, when it could not.
    pub error: Option<String>,
    /// Lines after the first (verbose output, notes for the operator).
    pub details: Vec<String>,
    /// For a run of several modes, each mode's own report, in the order
    /// asked: this report is then the whole picture.
    pub parts: Vec<(&'static str, Report)>,
}

impl Report {
    pub fn failure(state: State, why: impl Into<String>) -> Report {
        let why = why.into();
        Report {
            state,
            summary: why.clone(),
            error: Some(why),
            ..Report::default()
        }
    }

    /// This report with every JSON field of the mode present (null where it
    /// has no value), so consumers such as Zabbix always find each key.
    pub fn with_fields(mut self, names: &[&'static str]) -> Report {
        for name in names {
            if !self.fields.iter().any(|(n, _)| n == name) {
                self.fields.push((name, Value::Null));
            }
        }
        self
    }

    /// The whole picture of several modes' reports: the worst state (a
    /// failed backup is never hidden behind an unknown), and the parts.
    pub fn picture(parts: Vec<(&'static str, Report)>) -> Report {
        let state = parts
            .iter()
            .map(|(_, part)| part.state)
            .max_by_key(|state| severity(*state))
            .unwrap_or(State::Unknown);
        Report {
            state,
            parts,
            ..Report::default()
        }
    }

    /// The parts that are not OK, worst first (in the order asked within
    /// a state), and how many are OK.
    pub fn not_ok(&self) -> (Vec<&(&'static str, Report)>, usize) {
        let mut bad: Vec<_> = self
            .parts
            .iter()
            .filter(|(_, p)| p.state != State::Ok)
            .collect();
        bad.sort_by_key(|(_, p)| std::cmp::Reverse(severity(p.state)));
        let ok = self.parts.len() - bad.len();
        (bad, ok)
    }

    /// The whole message: the summary, then the reason.
    pub fn text(&self) -> String {
        match &self.reason {
            Some(reason) => format!("{} {reason}", self.summary),
            None => self.summary.clone(),
        }
    }

    /// The history this report relied on is not available: say why,
    /// keeping GKLM's answer in the text, as one sentence.
    pub fn without_history(self, why: &str) -> Report {
        let but = format!("but the thresholds cannot be applied: {why}");
        let (summary, reason) = match self.reason {
            Some(reason) => (self.summary, format!("{reason} {but}")),
            // "... is running. but" would read as two broken sentences.
            None => (
                self.summary.trim_end().trim_end_matches('.').to_string(),
                but,
            ),
        };
        Report {
            state: State::Unknown,
            summary,
            reason: Some(reason),
            error: Some(why.to_string()),
            ..self
        }
    }
}

/// How bad a state is, for the whole picture: CRITICAL > WARNING > UNKNOWN
/// > OK, so that a failed backup is never hidden behind an unknown.
fn severity(state: State) -> u8 {
    match state {
        State::Ok => 0,
        State::Unknown => 1,
        State::Warning => 2,
        State::Critical => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfdata_forms() {
        assert_eq!(
            Metric::flag("running", "", true).perfdata(),
            "running=1;;;0;1"
        );
        let r = Range::parse("+2").unwrap();
        assert_eq!(
            Metric::count("running_checks", "", 3)
                .limits(Some(&r), None)
                .perfdata(),
            "running_checks=3;2;;0;"
        );
        assert_eq!(
            Metric::seconds("running_seconds", "", 60)
                .time_limits(Some(600), Some(3600))
                .perfdata(),
            "running_seconds=60s;600;3600;0;"
        );
        assert_eq!(
            Metric::code("result", "", -1, -1, 2).perfdata(),
            "result=-1;;;-1;2"
        );
        assert_eq!(
            Metric::elapsed(0.0123, 10.0).perfdata(),
            "time=0.012s;;;0;10"
        );
        assert_eq!(Metric::elapsed(1.5, 2.5).perfdata(), "time=1.500s;;;0;2.5");
    }

    #[test]
    fn without_history_reads_as_one_sentence() {
        let running = Report {
            summary: "CTGKM3290I Backup process is running.".into(),
            ..Report::default()
        };
        assert_eq!(
            running.clone().without_history("disk full").text(),
            "CTGKM3290I Backup process is running but the thresholds cannot be applied: disk full"
        );
        let counted = Report {
            reason: Some("(running for 2 checks, 0s)".into()),
            ..running
        };
        let r = counted.without_history("disk full");
        assert_eq!(
            r.text(),
            "CTGKM3290I Backup process is running. (running for 2 checks, 0s) but the thresholds cannot be applied: disk full"
        );
        assert_eq!(
            (r.state, r.error.as_deref()),
            (State::Unknown, Some("disk full"))
        );
    }

    #[test]
    fn states_parse_and_map_to_exit_codes() {
        assert_eq!(State::parse("Critical"), Some(State::Critical));
        assert_eq!(State::parse("nope"), None);
        assert_eq!(State::Unknown.exit_code(), 3);
    }
}
