//! The plugin result and how it is printed: the Nagios plugin line with
//! performance data, or one JSON object for Zabbix and scripts.

use std::fmt::Write as _;

use serde_json::json;

use crate::secret;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    #[default]
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    pub fn exit_code(self) -> i32 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        match text.to_ascii_lowercase().as_str() {
            "ok" | "0" => Some(State::Ok),
            "warning" | "1" => Some(State::Warning),
            "critical" | "2" => Some(State::Critical),
            "unknown" | "3" => Some(State::Unknown),
            _ => None,
        }
    }
}

/// Everything one run found out, independent of how it is printed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub state: State,
    /// The text after `STATE - `.
    pub summary: String,
    pub message_id: Option<String>,
    /// None when GKLM's answer was not obtained.
    pub running: Option<bool>,
    pub running_checks: Option<u64>,
    pub running_seconds: Option<u64>,
    /// Why the check could not do its job, when it could not.
    pub error: Option<String>,
    /// Lines after the first (verbose output, notes for the operator).
    pub details: Vec<String>,
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
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Nagios,
    Json,
}

/// The threshold texts echoed in performance data, and the timeout that is
/// the maximum of `time`.
#[derive(Clone, Debug, Default)]
pub struct PerfLimits {
    pub warning: String,
    pub critical: String,
    pub warning_time: String,
    pub critical_time: String,
    pub timeout: f64,
}

/// Longest first line: well under 300 characters whatever the server says,
/// so it survives pagers, NRPE and SMS gateways.
const FIRST_LINE_MAX: usize = 290;

pub fn render(report: &Report, format: Format, limits: &PerfLimits, elapsed: f64) -> String {
    match format {
        Format::Nagios => render_nagios(report, limits, elapsed),
        Format::Json => render_json(report, elapsed),
    }
}

fn render_nagios(report: &Report, limits: &PerfLimits, elapsed: f64) -> String {
    let perf = perfdata(report, limits, elapsed);
    let room = FIRST_LINE_MAX.saturating_sub(perf.len() + report.state.label().len() + 6);
    let summary = printable(&report.summary, room);
    let mut out = format!("{} - {summary} | {perf}", report.state.label());
    for line in &report.details {
        out.push('\n');
        out.push_str(&printable(line, DETAIL_MAX));
    }
    out
}

fn perfdata(report: &Report, limits: &PerfLimits, elapsed: f64) -> String {
    let mut perf = String::new();
    if let Some(running) = report.running {
        let _ = write!(perf, "running={};;;0;1 ", u8::from(running));
    }
    if let (Some(checks), Some(seconds)) = (report.running_checks, report.running_seconds) {
        let _ = write!(
            perf,
            "running_checks={checks};{};{};0; ",
            limits.warning, limits.critical
        );
        let _ = write!(
            perf,
            "running_seconds={seconds}s;{};{};0; ",
            limits.warning_time, limits.critical_time
        );
    }
    let _ = write!(perf, "time={elapsed:.3}s;;;0;{}", limits.timeout);
    perf
}

fn render_json(report: &Report, elapsed: f64) -> String {
    let text = |s: &str| printable(s, DETAIL_MAX);
    let value = json!({
        "state": report.state.label(),
        "exit_code": report.state.exit_code(),
        "message": text(&report.summary),
        "message_id": report.message_id,
        "running": report.running,
        "running_checks": report.running_checks,
        "running_seconds": report.running_seconds,
        "time": (elapsed * 1000.0).round() / 1000.0,
        "error": report.error.as_deref().map(text),
        "details": report.details.iter().map(|d| text(d)).collect::<Vec<_>>(),
    });
    value.to_string()
}

/// Longest line after the first, and longest JSON text field.
const DETAIL_MAX: usize = 1000;

/// Any text on its way out: secrets scrubbed, made safe, cut to `max`.
fn printable(text: &str, max: usize) -> String {
    shorten(&clean(&secret::redact(text)), max)
}

/// Make server-controlled text safe for a plugin line: no `|` (it would start
/// forged performance data), no line breaks or other control characters, no
/// terminal escape sequences; runs of white space become one space.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // CSI sequence: ESC [ parameters final-byte. Drop it whole.
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                for p in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&p) {
                        break;
                    }
                }
            }
            '|' => out.push('/'),
            c if c.is_control() || c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> PerfLimits {
        PerfLimits {
            warning: "2".into(),
            critical: "4".into(),
            timeout: 10.0,
            ..PerfLimits::default()
        }
    }

    #[test]
    fn nagios_line_has_the_four_labels_in_order() {
        let report = Report {
            summary: "CTGKM3291I Backup process is not running.".into(),
            running: Some(false),
            running_checks: Some(0),
            running_seconds: Some(0),
            ..Report::default()
        };
        assert_eq!(
            render(&report, Format::Nagios, &limits(), 0.0123),
            "OK - CTGKM3291I Backup process is not running. | running=0;;;0;1 running_checks=0;2;4;0; running_seconds=0s;;;0; time=0.012s;;;0;10"
        );
    }

    #[test]
    fn failures_carry_only_the_time() {
        let report = Report::failure(State::Unknown, "broken");
        assert_eq!(
            render(&report, Format::Nagios, &limits(), 1.5),
            "UNKNOWN - broken | time=1.500s;;;0;10"
        );
    }

    #[test]
    fn server_text_cannot_forge_lines_or_perfdata() {
        let hostile = "a|b=1\nCRITICAL - x\r\t\u{1b}[31mred\u{1b}[0m\u{7f}\u{85}end";
        assert_eq!(clean(hostile), "a/b=1 CRITICAL - x red end");
        let report = Report {
            summary: "y".repeat(10_000),
            ..Report::default()
        };
        let line = render(&report, Format::Nagios, &limits(), 0.0);
        assert!(line.len() < 300, "{}", line.len());
        assert!(!line.contains('\n'));
    }

    #[test]
    fn json_is_one_line_with_every_field() {
        let report = Report {
            state: State::Warning,
            summary: "m\nx".into(),
            message_id: Some("CTGKM3290I".into()),
            running: Some(true),
            running_checks: Some(3),
            running_seconds: Some(60),
            details: vec!["d".into()],
            ..Report::default()
        };
        let line = render(&report, Format::Json, &limits(), 0.25);
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["state"], "WARNING");
        assert_eq!(v["exit_code"], 1);
        assert_eq!(v["message"], "m x");
        assert_eq!(v["message_id"], "CTGKM3290I");
        assert_eq!(v["running"], true);
        assert_eq!(v["running_checks"], 3);
        assert_eq!(v["running_seconds"], 60);
        assert_eq!(v["time"], 0.25);
        assert!(v["error"].is_null());
    }

    #[test]
    fn states_parse_and_map_to_exit_codes() {
        assert_eq!(State::parse("Critical"), Some(State::Critical));
        assert_eq!(State::parse("nope"), None);
        assert_eq!(State::Unknown.exit_code(), 3);
    }
}
