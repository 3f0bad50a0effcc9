//! Threshold syntax: the plugin range (`-w`, `-c`) and durations
//! (`--warning-time`, `--critical-time`).
//!
//! Ranges follow the Monitoring Plugins guidelines, `[@]start:end`, both ends
//! inclusive; an alert is raised when the value lies *outside* the range, or
//! *inside* it when the range starts with `@`.

use std::fmt;

use crate::output::state::State;

/// A parsed `[@]start:end` range. It prints in normalised plain syntax
/// (`1e0` as `1`, `+5` as `5`, `0:5` as `5`), the only form graphing tools
/// that read performance data understand.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    start: f64,
    end: f64,
    inside: bool,
}

/// Why a range or duration was refused; the message names the offending text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyntaxError {}

impl Range {
    pub fn parse(text: &str) -> Result<Range, SyntaxError> {
        let given = text.trim();
        let bad = |why: &str| SyntaxError(format!("invalid range '{given}': {why}"));
        let (inside, body) = match given.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, given),
        };
        if body.is_empty() {
            return Err(bad("empty"));
        }
        let (start, end) = match body.split_once(':') {
            None => (0.0, parse_number(body).map_err(|e| bad(&e))?),
            Some(("", "")) => return Err(bad("neither start nor end given")),
            Some((start, end)) => {
                let start = match start {
                    "~" => f64::NEG_INFINITY,
                    "" => 0.0,
                    s => parse_number(s).map_err(|e| bad(&e))?,
                };
                let end = match end {
                    "" => f64::INFINITY,
                    e => parse_number(e).map_err(|e| bad(&e))?,
                };
                (start, end)
            }
        };
        if start > end {
            return Err(bad("start is greater than end"));
        }
        Ok(Range { start, end, inside })
    }

    /// True when `value` should raise the alert this range belongs to.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start <= value && value <= self.end;
        within == self.inside
    }

    /// Whether `self` as the warning is inverted against `critical`: its
    /// alert region lies strictly inside critical's, so wherever it would
    /// alert, critical (evaluated first) already does and WARNING can never
    /// show. `-w 3 -c 2`, `-w 5: -c 10:`, `-w 10:20 -c 12:18`, `-w @5:6 -c
    /// @0:10`. Not inverted: equal ranges (a deliberate "critical only"),
    /// `-w 10: -c 5:` (warn below 10, critical below 5), and ranges whose
    /// regions only overlap, or of the two kinds (`@` and plain), which may
    /// mean something this rule cannot see.
    pub fn inverted_against(&self, critical: &Range) -> bool {
        if self.inside != critical.inside || self == critical {
            return false;
        }
        // Plain ranges alert outside [start, end]: warning's region is
        // inside critical's when critical's interval holds warning's.
        // `@` ranges alert inside: the other way round.
        let (outer, inner) = if self.inside {
            (critical, self)
        } else {
            (self, critical)
        };
        outer.start <= inner.start && inner.end <= outer.end
    }
}

/// `-w`/`-c` and `--warning-time`/`--critical-time` in an order where
/// WARNING could never show: refused rather than silently never warning.
pub fn check_order(
    warning: Option<&Range>,
    critical: Option<&Range>,
    warning_time: Option<u64>,
    critical_time: Option<u64>,
) -> Result<(), SyntaxError> {
    if let (Some(w), Some(c)) = (warning, critical)
        && w.inverted_against(c)
    {
        return Err(SyntaxError(format!(
            "-w {w} and -c {c} are inverted: critical already alerts wherever warning would, so WARNING could never show; give a warning that alerts before the critical (for example -w 2 -c 3)"
        )));
    }
    if let (Some(w), Some(c)) = (warning_time, critical_time)
        && w > c
    {
        return Err(SyntaxError(format!(
            "--warning-time {} is longer than --critical-time {}, so WARNING could never show; give the shorter time to --warning-time",
            human_duration(w),
            human_duration(c)
        )));
    }
    Ok(())
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        // `+ 0.0` turns a negative zero into 0, so `-0` prints as `0`.
        let (start, end) = (self.start + 0.0, self.end + 0.0);
        match (start, end) {
            (s, e) if s == 0.0 && e.is_finite() && !self.inside => write!(f, "{e}"),
            (s, e) if e.is_infinite() => write!(f, "{}:", tilde(s)),
            (s, e) => write!(f, "{}:{e}", tilde(s)),
        }
    }
}

/// `~` for minus infinity, the plain number otherwise.
fn tilde(n: f64) -> String {
    if n.is_infinite() {
        "~".into()
    } else {
        n.to_string()
    }
}

/// Only plain decimal notation: Rust's float parser would also take `inf`,
/// `NaN` and `infinity`, which the range syntax does not allow.
fn parse_number(text: &str) -> Result<f64, String> {
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    let has_digit = text.bytes().any(|b| b.is_ascii_digit());
    match text.parse::<f64>() {
        Ok(n) if plain && has_digit && n.is_finite() => within_bounds(text, n),
        _ => Err(format!("'{text}' is not a number")),
    }
}

/// Counts and seconds are whole numbers far below 10^12; a threshold outside
/// [10^-6, 10^12] (or 0) can only be a typo, and echoing it in perfdata
/// with all its digits would push the plugin line past 300 bytes.
const NUMBER_MAX: f64 = 1e12;
const NUMBER_MIN: f64 = 1e-6;

fn within_bounds(text: &str, n: f64) -> Result<f64, String> {
    if n.abs() > NUMBER_MAX || (n != 0.0 && n.abs() < NUMBER_MIN) {
        return Err(format!(
            "'{text}' is out of range (0, or between 0.000001 and 1000000000000)"
        ));
    }
    Ok(n)
}

/// Longest duration accepted: ten years is far beyond any backup, and keeps
/// every later addition to a timestamp far from overflow.
const MAX_DURATION_SECS: f64 = 10.0 * 365.0 * 86_400.0;

/// Parse `90`, `90s`, `90m`, `2h`, `1.5d` into whole seconds (rounded up, so
/// that a limit is never silently made stricter than asked).
pub fn parse_duration(text: &str) -> Result<u64, SyntaxError> {
    let given = text.trim();
    let bad = |why: &str| SyntaxError(format!("invalid duration '{given}': {why}"));
    if given.is_empty() {
        return Err(bad("empty"));
    }
    let unit_at = given
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .len();
    let (number, unit) = given.split_at(unit_at);
    let scale = match unit {
        "" | "s" | "S" => 1.0,
        // `M` is months to some and minutes to others: refused, not guessed.
        "M" => {
            return Err(bad(
                "'M' is ambiguous (minutes or months); write m or min for minutes",
            ));
        }
        "m" => 60.0,
        u if u.eq_ignore_ascii_case("min") => 60.0,
        "h" | "H" => 3_600.0,
        "d" | "D" => 86_400.0,
        _ => return Err(bad("unit must be s, m (or min), h or d")),
    };
    let value = parse_number(number).map_err(|e| bad(&e))?;
    if value < 0.0 {
        return Err(bad("must not be negative"));
    }
    let seconds = (value * scale).ceil();
    if seconds > MAX_DURATION_SECS {
        return Err(bad("longer than ten years"));
    }
    Ok(seconds as u64)
}

/// Render seconds the way an operator reads them: `18m 3s`, `2h 0m 5s`.
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m {s}s"),
        _ => format!("{d}d {h}h {m}m"),
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

    /// The key a service's count goes by in the state file: what judges
    /// the streak (the thresholds, normalised, and `--max-gap`), as
    /// monitoring-plugins' state API keys state by the plugin's arguments;
    /// not the verbosity, timeout or format, which judge nothing. Made of
    /// the settings' own names and values, never of how a flag is spelt,
    /// so that renaming a flag keeps every stored count; its `=` never
    /// occurs in a `--state-key` name.
    pub fn service_key(&self, max_gap: u64) -> String {
        let ranges = [("warning", &self.warning), ("critical", &self.critical)];
        let times = [
            ("warning_time", self.warning_time),
            ("critical_time", self.critical_time),
            ("max_gap", Some(max_gap)),
        ];
        let ranges = ranges
            .into_iter()
            .filter_map(|(name, r)| Some(format!("{name}={}", r.as_ref()?)));
        let times = times
            .into_iter()
            .filter_map(|(name, t)| Some(format!("{name}={}", t?)));
        ranges.chain(times).collect::<Vec<_>>().join(" ")
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

/// `-w w -c c`, for the tests of every module that judges by thresholds.
#[cfg(test)]
impl Thresholds {
    pub(crate) fn both(w: &str, c: &str) -> Thresholds {
        Thresholds {
            warning: Some(Range::parse(w).unwrap()),
            critical: Some(Range::parse(c).unwrap()),
            ..Thresholds::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn the_service_key_is_the_normalised_thresholds_and_max_gap() {
        let t = Thresholds {
            warning_time: Some(600),
            ..Thresholds::both("+3", "0:6e0")
        };
        assert_eq!(
            t.service_key(DAY),
            "warning=3 critical=6 warning_time=600 max_gap=86400"
        );
        assert_eq!(
            Thresholds::both("3", "6").service_key(DAY),
            "warning=3 critical=6 max_gap=86400"
        );
        assert_ne!(t.service_key(DAY), t.service_key(DAY + 1));
        assert_eq!(Thresholds::default().service_key(DAY), "max_gap=86400");
        // No flag's spelling, and never a name --state-key could give.
        for key in [t.service_key(DAY), Thresholds::default().service_key(DAY)] {
            assert!(!key.contains('-'), "{key}");
            assert!(
                crate::settings::parse_state_key(key.clone()).is_err(),
                "{key}"
            );
        }
    }

    fn r(text: &str) -> Range {
        Range::parse(text).unwrap()
    }

    // The range table of the Monitoring Plugins Development Guidelines (as the
    // README's Options section restates it), row by row.
    #[test]
    fn plain_number_alerts_below_zero_or_above_it() {
        let range = r("10");
        assert!(range.alerts(-1.0));
        assert!(!range.alerts(0.0));
        assert!(!range.alerts(10.0));
        assert!(range.alerts(10.5));
    }

    #[test]
    fn open_end_alerts_below_start() {
        let range = r("10:");
        assert!(range.alerts(9.9));
        assert!(!range.alerts(10.0));
        assert!(!range.alerts(1e12));
    }

    #[test]
    fn tilde_start_alerts_above_end_only() {
        let range = r("~:10");
        assert!(!range.alerts(-1e12));
        assert!(!range.alerts(10.0));
        assert!(range.alerts(11.0));
    }

    #[test]
    fn bounded_range_alerts_outside() {
        let range = r("10:20");
        assert!(range.alerts(9.0));
        assert!(!range.alerts(10.0));
        assert!(!range.alerts(20.0));
        assert!(range.alerts(21.0));
    }

    #[test]
    fn at_sign_alerts_inside_inclusive() {
        let range = r("@10:20");
        assert!(!range.alerts(9.0));
        assert!(range.alerts(10.0));
        assert!(range.alerts(15.0));
        assert!(range.alerts(20.0));
        assert!(!range.alerts(20.1));
    }

    #[test]
    fn missing_start_means_zero() {
        let range = r(":5");
        assert!(range.alerts(-0.5));
        assert!(!range.alerts(5.0));
        assert!(range.alerts(6.0));
    }

    #[test]
    fn zero_warns_on_any_positive_count() {
        assert!(r("0").alerts(1.0));
        assert!(!r("0").alerts(0.0));
    }

    #[test]
    fn decimals_and_negatives_are_numbers() {
        let range = r("-1.5:2.5");
        assert!(!range.alerts(-1.5));
        assert!(range.alerts(-1.6));
    }

    #[test]
    fn display_is_normalised_plain_syntax() {
        for (given, shown) in [
            ("@10:20", "@10:20"),
            (" 3 ", "3"),
            ("1e0", "1"),
            ("+5", "5"),
            ("0:5", "5"),
            (":5", "5"),
            ("10:", "10:"),
            ("~:10", "~:10"),
            ("~:", "~:"),
            ("@0:5", "@0:5"),
            ("-0", "0"),
            ("2.50", "2.5"),
            ("-1.5:+2.5e0", "-1.5:2.5"),
        ] {
            assert_eq!(r(given).to_string(), shown, "{given}");
            assert_eq!(r(shown), r(given), "{shown} reads back as {given}");
        }
    }

    #[test]
    fn rejects_malformed_ranges() {
        for text in [
            "",
            "@",
            "abc",
            "20:10",
            "1:2:3",
            "nan",
            "inf",
            "NaN:1",
            "1:inf",
            "infinity",
            "~",
            "1e999",
            ":",
            "@:",
            "-",
            ".",
            "1e300",
            "1e-300",
            "-1e13",
            "0.0000001",
        ] {
            let err = Range::parse(text).expect_err(text);
            assert!(err.0.contains("invalid range"), "{text}: {err}");
        }
    }

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("90m").unwrap(), 5_400);
        assert_eq!(parse_duration("2h").unwrap(), 7_200);
        assert_eq!(parse_duration("1d").unwrap(), 86_400);
        assert_eq!(parse_duration("1.5H").unwrap(), 5_400);
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("0.1s").unwrap(), 1);
    }

    #[test]
    fn capital_m_is_refused_as_ambiguous_and_min_is_minutes() {
        for text in ["5M", "1.5M", "0M"] {
            let err = parse_duration(text).expect_err(text);
            assert!(
                err.0.contains("'M' is ambiguous (minutes or months)"),
                "{text}: {err}"
            );
        }
        for text in ["5m", "5min", "5MIN", "5Min", " 5min "] {
            assert_eq!(parse_duration(text).unwrap(), 300, "{text}");
        }
    }

    #[test]
    fn inverted_ranges_are_those_where_warning_could_never_show() {
        for (w, c) in [
            ("3", "2"),
            ("~:3", "~:2"),
            ("5:", "10:"),
            ("10:20", "12:18"),
            ("10:20", "10:18"),
            ("@5:6", "@0:10"),
            ("@0:5", "@0:10"),
        ] {
            assert!(r(w).inverted_against(&r(c)), "-w {w} -c {c}");
            assert!(check_order(Some(&r(w)), Some(&r(c)), None, None).is_err());
        }
        for (w, c) in [
            ("2", "3"),
            ("3", "3"),
            ("10:", "5:"),
            ("12:18", "10:20"),
            ("0:5", "3:10"),
            ("@0:10", "@5:6"),
            ("@0:5", "3"),
            ("3", "@0:5"),
        ] {
            assert!(!r(w).inverted_against(&r(c)), "-w {w} -c {c}");
        }
        assert!(check_order(None, Some(&r("1")), Some(2), Some(1)).is_err());
        assert!(check_order(None, None, Some(1), Some(1)).is_ok());
        assert!(check_order(None, None, Some(1), None).is_ok());
    }

    #[test]
    fn rejects_malformed_durations() {
        for text in [
            "", "m", "-5m", "5w", "5 m", "1e400", "inf", "nans", "99999d", "5mm",
        ] {
            let err = parse_duration(text).expect_err(text);
            assert!(err.0.contains("invalid duration"), "{text}: {err}");
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(1083), "18m 3s");
        assert_eq!(human_duration(7205), "2h 0m 5s");
        assert_eq!(human_duration(90_061), "1d 1h 1m");
    }
}
