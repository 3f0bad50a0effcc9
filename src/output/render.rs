//! Printing a `Report`: the Nagios plugin line with performance data, one
//! JSON object (Zabbix, scripts), or the Prometheus text exposition format
//! (node_exporter's textfile collector). Every text on its way out passes
//! `printable`: secrets scrubbed first, then made safe, then cut. Knows no
//! metric names: each metric brings its own form.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::output::report::{Metric, Report};
use crate::output::secret;
use crate::output::text::{clean, shorten};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Nagios,
    Json,
    Prometheus,
}

/// How this run prints: chosen once, before anything can go wrong, so the
/// watchdog can render its timeout result in the same form.
#[derive(Clone, Debug)]
pub struct Printer {
    pub format: Format,
    /// The timeout in seconds: the maximum of `time`.
    pub timeout: f64,
    /// The mode's name, for JSON and Prometheus.
    pub mode: &'static str,
    /// `host` and `port` labels for Prometheus.
    pub host: String,
    pub port: u16,
    /// When the run started (Unix seconds).
    pub checked_at: u64,
}

/// Longest first line in bytes: NRPE, pagers and SMS gateways count bytes,
/// and a CJK status is three bytes a character.
pub const FIRST_LINE_MAX: usize = 300;

/// Longest line after the first, and longest JSON text field, in bytes.
const DETAIL_MAX: usize = 1000;

impl Printer {
    pub fn render(&self, report: &Report, elapsed: f64) -> String {
        if !report.parts.is_empty() {
            return self.picture(report, elapsed);
        }
        let mut metrics = report.metrics.clone();
        // A run the watchdog ended took a little more than -t (its grace);
        // the metric keeps to its own maximum, -t. JSON keeps the real time.
        metrics.push(Metric::elapsed(elapsed.min(self.timeout), self.timeout));
        match self.format {
            Format::Nagios => nagios(report, &metrics),
            Format::Json => self.json(report, elapsed),
            Format::Prometheus => self.prometheus(report, &metrics),
        }
    }

    fn json(&self, report: &Report, elapsed: f64) -> String {
        self.json_of(report, self.mode, elapsed).to_string()
    }

    /// The JSON object of one mode's report.
    fn json_of(&self, report: &Report, mode: &str, elapsed: f64) -> Value {
        let text = |s: &str| printable(s, DETAIL_MAX);
        let mut object = Map::new();
        for (name, value) in &report.fields {
            object.insert(name.to_string(), value.clone());
        }
        let envelope = json!({
            "state": report.state.label(),
            "exit_code": report.state.exit_code(),
            "mode": mode,
            "message": message(report, DETAIL_MAX),
            "message_id": report.message_id.as_deref().map(text),
            "time": (elapsed * 1000.0).round() / 1000.0,
            "error": report.error.as_deref().map(text),
            "details": report.details.iter().map(|d| text(d)).collect::<Vec<_>>(),
        });
        if let Value::Object(fixed) = envelope {
            object.extend(fixed);
        }
        Value::Object(object)
    }

    /// The whole picture of several modes, in the format asked.
    fn picture(&self, report: &Report, elapsed: f64) -> String {
        match self.format {
            Format::Nagios => self.picture_nagios(report, elapsed),
            Format::Json => {
                let text = |s: &str| printable(s, DETAIL_MAX);
                let modes: Map<String, Value> = report
                    .parts
                    .iter()
                    .map(|(name, part)| (name.to_string(), self.json_of(part, name, elapsed)))
                    .collect();
                json!({
                    "state": report.state.label(),
                    "exit_code": report.state.exit_code(),
                    "message": picture_line(report, DETAIL_MAX),
                    "time": (elapsed * 1000.0).round() / 1000.0,
                    "details": report.details.iter().map(|d| text(d)).collect::<Vec<_>>(),
                    "modes": modes,
                })
                .to_string()
            }
            Format::Prometheus => self.picture_prometheus(report, elapsed),
        }
    }

    /// The first line (at most `FIRST_LINE_MAX` bytes, with each mode's
    /// state as perfdata), a line per mode with its whole text, the `-v`
    /// lines, and every mode's metrics as perfdata after them.
    fn picture_nagios(&self, report: &Report, elapsed: f64) -> String {
        let states = report
            .parts
            .iter()
            .map(|(name, part)| format!("{name}_state={};;;0;3", part.state.exit_code()))
            .collect::<Vec<_>>()
            .join(" ");
        let label = report.state.label();
        let room = FIRST_LINE_MAX.saturating_sub(states.len() + label.len() + " -  | ".len());
        let mut out = format!("{label} - {} | {states}", picture_line(report, room));
        for (name, part) in &report.parts {
            let text = message(part, DETAIL_MAX);
            let _ = write!(out, "\n{name}: {} - {text}", part.state.label());
        }
        for line in &report.details {
            out.push('\n');
            out.push_str(&printable(line, DETAIL_MAX));
        }
        let timeout = self.timeout;
        let time = Metric::elapsed(elapsed.min(timeout), timeout);
        let perf = report
            .parts
            .iter()
            .flat_map(|(_, part)| &part.metrics)
            .chain(std::iter::once(&time))
            .map(Metric::perfdata)
            .collect::<Vec<_>>()
            .join(" ");
        // No space after the bar: Icinga 2 would read it as part of the
        // first label (` running`), where the lines after the first carry
        // perfdata.
        let _ = write!(out, "\n|{perf}");
        out
    }

    /// Every mode's samples, each family named once; each mode's state as
    /// a number under a label that does not change with it.
    fn picture_prometheus(&self, report: &Report, elapsed: f64) -> String {
        let target = format!(
            "host=\"{}\",port=\"{}\"",
            label_value(&self.host),
            self.port
        );
        let mut families: Vec<(String, &str, Vec<String>)> = Vec::new();
        let mut sample = |name: String, help: &'static str, labels: &str, value: String| {
            let line = format!("{name}{{{labels}}} {value}");
            match families.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, _, lines)) => lines.push(line),
                None => families.push((name, help, vec![line])),
            }
        };
        for (name, part) in &report.parts {
            let labels = format!("{target},mode=\"{name}\"");
            sample(
                "gklm_backup_mode_state".into(),
                "Plugin state of each mode: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
                &labels,
                part.state.exit_code().to_string(),
            );
            for metric in &part.metrics {
                sample(
                    prometheus_name(metric),
                    metric.help,
                    &labels,
                    metric.value.to_string(),
                );
            }
        }
        let time = Metric::elapsed(elapsed.min(self.timeout), self.timeout);
        sample(
            "gklm_backup_picture_state".into(),
            "Plugin state of the whole picture, the worst of its modes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            &target,
            report.state.exit_code().to_string(),
        );
        sample(
            prometheus_name(&time),
            time.help,
            &target,
            time.value.to_string(),
        );
        sample(
            "gklm_backup_check_timestamp_seconds".into(),
            "When the check ran, in seconds since the Unix epoch.",
            &target,
            self.checked_at.to_string(),
        );
        let mut out = String::new();
        for (name, help, lines) in families {
            let _ = writeln!(out, "# HELP {name} {}", help_text(help));
            let _ = writeln!(out, "# TYPE {name} gauge");
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
        out.truncate(out.trim_end().len());
        out
    }

    fn prometheus(&self, report: &Report, metrics: &[Metric]) -> String {
        let labels = format!(
            "host=\"{}\",port=\"{}\",mode=\"{}\"",
            label_value(&self.host),
            self.port,
            self.mode
        );
        let mut out = String::new();
        let mut family = |name: &str, help: &str, labels: &str, value: &str| {
            let _ = writeln!(out, "# HELP {name} {}", help_text(help));
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        };
        family(
            "gklm_backup_state",
            "Plugin state of the check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            &format!("{labels},state=\"{}\"", report.state.label()),
            &report.state.exit_code().to_string(),
        );
        for metric in metrics {
            family(
                &prometheus_name(metric),
                metric.help,
                &labels,
                &metric.value.to_string(),
            );
        }
        family(
            "gklm_backup_check_timestamp_seconds",
            "When the check ran, in seconds since the Unix epoch.",
            &labels,
            &self.checked_at.to_string(),
        );
        out.truncate(out.trim_end().len());
        out
    }
}

fn nagios(report: &Report, metrics: &[Metric]) -> String {
    let perf = metrics
        .iter()
        .map(Metric::perfdata)
        .collect::<Vec<_>>()
        .join(" ");
    let label = report.state.label();
    let room = FIRST_LINE_MAX.saturating_sub(perf.len() + label.len() + " -  | ".len());
    let summary = message(report, room);
    let mut out = format!("{label} - {summary} | {perf}");
    for line in &report.details {
        out.push('\n');
        out.push_str(&printable(line, DETAIL_MAX));
    }
    out
}

/// The summary and the reason in at most `max` bytes: the summary (foreign
/// text, of any length) is cut first, so the reason survives whole. Only a
/// reason too long to fit beside `SUMMARY_FLOOR` bytes of the summary (one
/// that quotes a long path or error) is cut in turn: GKLM's message id and
/// first words stay readable.
fn message(report: &Report, max: usize) -> String {
    let Some(reason) = report.reason.as_deref() else {
        return printable(&report.summary, max);
    };
    // Where long perfdata leaves little room, the summary gives up words
    // before the reason does, down to about its message id; a reason that
    // would not fit even so is cut, after the summary's first words.
    // Scrubbed and cleaned once; only the cuts differ.
    let (summary, reason) = (safe(&report.summary), safe(reason));
    let room = max.saturating_sub(shorten(&reason, max).len() + 1);
    let floor = if (ID_FLOOR..SUMMARY_FLOOR).contains(&room) {
        room
    } else {
        SUMMARY_FLOOR
    };
    let floor = floor.min(shorten(&summary, max).len());
    let reason = shorten(&reason, max.saturating_sub(floor + 1));
    let summary = shorten(&summary, max.saturating_sub(reason.len() + 1));
    let joined = format!("{summary} {reason}");
    shorten(joined.trim(), max)
}

/// Between the parts of the picture's first line. Not `; `: Nagios turns a
/// semicolon of plugin output into a colon.
const SEPARATOR: &str = ", ";

/// The whole picture in at most `max` bytes: the modes that are not OK,
/// worst first, each as `mode STATE: text`, then how many are OK. Only
/// GKLM's texts are cut, each to a share of the room (a short one leaves
/// its share to the others); never a state or a mode's name.
fn picture_line(report: &Report, max: usize) -> String {
    let (bad, ok) = report.not_ok();
    let tail = match (bad.is_empty(), ok) {
        (true, n) => format!("all {n} modes OK"),
        (false, 0) => String::new(),
        (false, n) => format!("{n} OK"),
    };
    let heads: Vec<String> = bad
        .iter()
        .map(|(name, part)| format!("{name} {}: ", part.state.label()))
        .collect();
    let pieces = bad.len() + usize::from(!tail.is_empty());
    let fixed: usize = heads.iter().map(String::len).sum::<usize>()
        + tail.len()
        + SEPARATOR.len() * pieces.saturating_sub(1);
    let mut room = max.saturating_sub(fixed);
    let whole: Vec<usize> = bad
        .iter()
        .map(|(_, part)| message(part, DETAIL_MAX).len())
        .collect();
    // The shortest texts first: what they do not need goes to the rest.
    let mut order: Vec<usize> = (0..bad.len()).collect();
    order.sort_by_key(|&i| whole[i]);
    let mut share = vec![0; bad.len()];
    for (done, &i) in order.iter().enumerate() {
        share[i] = whole[i].min(room / (bad.len() - done));
        room -= share[i];
    }
    let mut pieces: Vec<String> = bad
        .iter()
        .zip(&heads)
        .zip(&share)
        .map(|(((_, part), head), &share)| format!("{head}{}", message(part, share)))
        .collect();
    if !tail.is_empty() {
        pieces.push(tail);
    }
    pieces.join(SEPARATOR)
}

/// What the summary keeps at least beside a long reason: a message id and
/// GKLM's short sentence (`CTGKM3290I Backup process is running.`).
const SUMMARY_FLOOR: usize = 60;
/// What it keeps at least where room is short: `CTGKM3290I Back...`.
const ID_FLOOR: usize = 18;

/// `gklm_backup_` and the label (a leading `backup_` not repeated), with
/// `_seconds` for a metric in seconds, as Prometheus naming asks.
fn prometheus_name(metric: &Metric) -> String {
    let base = metric.label.trim_start_matches("backup_");
    let unit = if metric.unit == "s" && !base.ends_with("_seconds") {
        "_seconds"
    } else {
        ""
    };
    format!("gklm_backup_{base}{unit}")
}

fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn help_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Any text on its way out: secrets scrubbed before anything reshapes or
/// cuts it, then made safe, then cut to `max` bytes.
pub fn printable(text: &str, max: usize) -> String {
    shorten(&safe(text), max)
}

/// A text scrubbed of secrets, then made fit for one line; not yet cut.
fn safe(text: &str) -> String {
    clean(&secret::redact(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::state::State;

    fn printer(format: Format) -> Printer {
        Printer {
            format,
            timeout: 10.0,
            mode: "running",
            host: "gklm".into(),
            port: 9443,
            checked_at: 1_700_000_000,
        }
    }

    fn not_running() -> Report {
        Report {
            summary: "CTGKM3291I Backup process is not running.".into(),
            metrics: vec![
                Metric::flag("running", "Whether a backup runs.", false),
                Metric::count("running_checks", "Checks.", 0).limits(
                    Some(&crate::mode::threshold::Range::parse("2").unwrap()),
                    None,
                ),
                Metric::seconds("running_seconds", "Seconds.", 0),
            ],
            fields: vec![("running", json!(false))],
            ..Report::default()
        }
    }

    #[test]
    fn the_nagios_line_joins_the_metrics_in_order() {
        assert_eq!(
            printer(Format::Nagios).render(&not_running(), 0.0123),
            "OK - CTGKM3291I Backup process is not running. | running=0;;;0;1 running_checks=0;2;;0; running_seconds=0s;;;0; time=0.012s;;;0;10"
        );
    }

    #[test]
    fn failures_carry_only_the_time() {
        let report = Report::failure(State::Unknown, "broken");
        assert_eq!(
            printer(Format::Nagios).render(&report, 1.5),
            "UNKNOWN - broken | time=1.500s;;;0;10"
        );
    }

    #[test]
    fn long_perfdata_cuts_gklms_text_before_the_reason() {
        let reason =
            "(restoring for 1 check, 0s, -c 1 reached; phase 4 RESTORE_KEYSTORES since 0s)";
        let report = Report {
            reason: Some(reason.into()),
            ..Report::failure(
                State::Critical,
                "CTGKM9999I a long text that GKLM sends about the restore of keys and certificates",
            )
        };
        // Room for 140 bytes of text beside the perfdata: the reason whole.
        let text = message(&report, 140);
        assert!(text.ends_with(reason), "{text}");
        assert!(text.starts_with("CTGKM9999I"), "{text}");
        assert!(text.len() <= 140, "{text}");
    }

    #[test]
    fn the_time_never_passes_its_maximum() {
        let report = Report::failure(State::Critical, "timed out");
        assert_eq!(
            printer(Format::Nagios).render(&report, 10.2),
            "CRITICAL - timed out | time=10.000s;;;0;10"
        );
        let text = printer(Format::Prometheus).render(&report, 10.2);
        assert!(!text.contains("10.2"), "{text}");
    }

    #[test]
    fn the_first_line_is_at_most_300_bytes_cut_on_a_character() {
        for filler in ["y", "\u{e9}", "\u{8a9e}", "\u{1f600}"] {
            let report = Report {
                summary: filler.repeat(400),
                ..not_running()
            };
            let line = printer(Format::Nagios).render(&report, 0.0);
            assert!(line.len() <= FIRST_LINE_MAX, "{filler}: {}", line.len());
            assert!(line.len() > FIRST_LINE_MAX - 4, "{filler}: {}", line.len());
            assert!(line.contains("... | running=0"), "{line}");
        }
    }

    #[test]
    fn only_the_summary_is_cut_never_the_reason() {
        for filler in ["y", "\u{e9}", "\u{8a9e}", "\u{1f600}"] {
            let report = Report {
                state: State::Warning,
                summary: filler.repeat(400),
                reason: Some("(running for 4 checks, 18m 3s, -w 3 crossed)".into()),
                ..not_running()
            };
            let line = printer(Format::Nagios).render(&report, 0.0);
            assert!(line.len() <= FIRST_LINE_MAX, "{filler}: {}", line.len());
            assert!(
                line.contains("... (running for 4 checks, 18m 3s, -w 3 crossed) | running=0"),
                "{line}"
            );
        }
        // A reason too long on its own is cut in turn, after GKLM's first
        // 60 bytes; the line still fits.
        for summary in [
            "CTGKM3291I Backup process is not running.",
            &"s".repeat(400),
        ] {
            let report = Report {
                summary: summary.to_string(),
                reason: Some("z".repeat(400)),
                ..not_running()
            };
            let line = printer(Format::Nagios).render(&report, 0.0);
            assert!(line.len() <= FIRST_LINE_MAX, "{}", line.len());
            assert!(line.contains("z... | running=0"), "{line}");
            let kept = &summary[..summary.len().min(SUMMARY_FLOOR - 3)];
            assert!(line.starts_with(&format!("OK - {kept}")), "{line}");
        }
    }

    #[test]
    fn the_longest_thresholds_and_counts_still_fit_300_bytes() {
        use crate::mode::threshold::Thresholds;
        let widest =
            crate::mode::threshold::Range::parse("@-999999999999.5:-999999999998.5").unwrap();
        let t = Thresholds {
            warning: Some(widest.clone()),
            critical: Some(widest),
            warning_time: Some(315_360_000),
            critical_time: Some(315_360_000),
        };
        let report = Report {
            state: State::Critical,
            summary: "\u{8a9e}".repeat(200),
            metrics: vec![
                Metric::flag("running", "", true),
                Metric::checks("running_checks", "", u64::MAX, &t),
                Metric::timed("running_seconds", "", u64::MAX, &t),
            ],
            ..Report::default()
        };
        let p = Printer {
            timeout: 3599.999,
            ..printer(Format::Nagios)
        };
        let line = p.render(&report, 3599.999);
        assert!(line.len() <= FIRST_LINE_MAX, "{} bytes: {line}", line.len());
        assert!(
            line.contains("\u{8a9e}..."),
            "GKLM's text keeps some room: {line}"
        );
    }

    #[test]
    fn json_is_one_line_with_the_envelope_and_the_modes_fields() {
        let report = Report {
            state: State::Warning,
            summary: "m\nx".into(),
            message_id: Some("CTGKM3290I".into()),
            details: vec!["d".into()],
            ..not_running()
        }
        .with_fields(&["running", "running_checks"]);
        let line = printer(Format::Json).render(&report, 0.25);
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["state"], "WARNING");
        assert_eq!(v["exit_code"], 1);
        assert_eq!(v["mode"], "running");
        assert_eq!(v["message"], "m x");
        assert_eq!(v["message_id"], "CTGKM3290I");
        assert_eq!(v["running"], false);
        assert!(v["running_checks"].is_null());
        assert_eq!(v["time"], 0.25);
        assert!(v["error"].is_null());
        assert_eq!(v["details"][0], "d");
    }

    #[test]
    fn prometheus_has_state_each_metric_and_the_time_of_the_check() {
        let text = printer(Format::Prometheus).render(&not_running(), 0.5);
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let labels = "{host=\"gklm\",port=\"9443\",mode=\"running\"}";
        assert_eq!(
            samples,
            [
                "gklm_backup_state{host=\"gklm\",port=\"9443\",mode=\"running\",state=\"OK\"} 0"
                    .to_string(),
                format!("gklm_backup_running{labels} 0"),
                format!("gklm_backup_running_checks{labels} 0"),
                format!("gklm_backup_running_seconds{labels} 0"),
                format!("gklm_backup_time_seconds{labels} 0.500"),
                format!("gklm_backup_check_timestamp_seconds{labels} 1700000000"),
            ]
        );
        assert!(text.contains("# TYPE gklm_backup_running gauge\n"));
    }
}
