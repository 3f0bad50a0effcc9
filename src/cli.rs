//! Command line: options, their validation, `--help` and `--version`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::evaluate::Thresholds;
use crate::report::{Format, PerfLimits, State};
use crate::threshold::{Range, parse_duration};

/// Which GKLM path prefix to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prefix {
    /// Try `/SKLM`, then `/GKLM`, and remember which answered.
    Auto,
    Fixed(String),
}

/// Where the credentials come from. Never a value on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSource {
    /// `-u USER`, password from `--password-file` or `GKLM_PASSWORD`.
    Login {
        user: String,
        password_file: Option<PathBuf>,
    },
    /// An existing session id from `--auth-id-file` or `GKLM_AUTH_ID`.
    SessionId { file: Option<PathBuf> },
}

#[derive(Clone, Debug)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub prefix: Prefix,
    pub language: String,
    pub auth: AuthSource,
    pub session_cache: bool,
    pub cacert: Option<PathBuf>,
    pub insecure: bool,
    pub thresholds: Thresholds,
    pub state_file: Option<PathBuf>,
    pub unreachable_state: State,
    pub timeout: Duration,
    pub verbosity: u8,
    pub format: Format,
    pub mode: Mode,
}

/// Which of GKLM's backup questions one run asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Is a backup running, and for how long?
    #[default]
    Running,
    /// Are there keys and certificates that are not backed up?
    Needed,
    /// Did the last backup succeed?
    Result,
    /// How old is the newest backup?
    Age,
}

impl Options {
    /// What identifies the monitored target in the state file name: not the
    /// thresholds, which operators tune without wanting to lose history.
    pub fn target_key(&self) -> String {
        let prefix = match &self.prefix {
            Prefix::Auto => "auto",
            Prefix::Fixed(p) => p,
        };
        let who = match &self.auth {
            AuthSource::Login { user, .. } => user.as_str(),
            AuthSource::SessionId { .. } => "(session id)",
        };
        format!(
            "{}:{} {prefix} {who}",
            self.host.to_ascii_lowercase(),
            self.port
        )
    }

    pub fn perf_limits(&self) -> PerfLimits {
        let range = |r: &Option<Range>| r.as_ref().map(ToString::to_string).unwrap_or_default();
        let secs = |s: Option<u64>| s.map(|s| s.to_string()).unwrap_or_default();
        PerfLimits {
            warning: range(&self.thresholds.warning),
            critical: range(&self.thresholds.critical),
            warning_time: secs(self.thresholds.warning_time),
            critical_time: secs(self.thresholds.critical_time),
            timeout: self.timeout.as_secs_f64(),
        }
    }
}

pub enum Command {
    Run(Box<Options>),
    Help,
    Version,
}

pub const DEFAULT_PORT: u16 = 9443;
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;

/// Parse the arguments (without the program name). Errors are one line, and
/// the caller adds the pointer to `--help`.
pub fn parse(raw: Vec<OsString>) -> Result<Command, String> {
    let mut args = pico_args::Arguments::from_vec(expand_verbose(raw));
    if args.contains(["-h", "--help"]) {
        return Ok(Command::Help);
    }
    if args.contains(["-V", "--version"]) {
        return Ok(Command::Version);
    }
    let mut verbosity = 0u8;
    while args.contains(["-v", "--verbose"]) {
        verbosity = verbosity.saturating_add(1);
    }
    let host = opt(&mut args, &["-H", "--hostname"])?;
    let port = opt(&mut args, &["-p", "--port"])?.map_or(Ok(DEFAULT_PORT), |p| parse_port(&p))?;
    let prefix = match opt(&mut args, &["--prefix"])?.as_deref() {
        None | Some("auto") => Prefix::Auto,
        Some(p) => Prefix::Fixed(parse_prefix(p)?),
    };
    let language =
        parse_language(opt(&mut args, &["-l", "--language"])?.unwrap_or_else(|| "en".into()))?;
    let auth = parse_auth(&mut args)?;
    let session_cache = !args.contains("--no-session-cache");
    let cacert = opt(&mut args, &["--cacert"])?.map(PathBuf::from);
    let insecure = args.contains(["-k", "--insecure"]);
    if insecure && cacert.is_some() {
        return Err("--cacert and --insecure contradict each other; give one".into());
    }
    let thresholds = parse_thresholds(&mut args)?;
    let state_file = opt(&mut args, &["--state-file"])?.map(PathBuf::from);
    let unreachable_state = match opt(&mut args, &["--unreachable-state"])? {
        None => State::Critical,
        Some(s) => State::parse(&s).ok_or(format!(
            "invalid --unreachable-state '{s}': expected ok, warning, critical or unknown"
        ))?,
    };
    let timeout = match opt(&mut args, &["-t", "--timeout"])? {
        None => Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS),
        Some(t) => parse_timeout(&t)?,
    };
    let format = match opt(&mut args, &["--format"])?.as_deref() {
        None | Some("nagios") => Format::Nagios,
        Some("json") => Format::Json,
        Some(other) => {
            return Err(format!(
                "invalid --format '{other}': expected nagios or json"
            ));
        }
    };
    let mode = match opt(&mut args, &["--mode"])?.as_deref() {
        None | Some("running") => Mode::Running,
        Some(other) => {
            return Err(format!(
                "invalid --mode '{other}': expected running (needed, result and age are not built yet)"
            ));
        }
    };
    // A misspelt option is a better hint than the -H it may have hidden.
    if let Some(first) = args.finish().first() {
        return Err(format!(
            "unknown option or argument '{}'",
            first.to_string_lossy()
        ));
    }
    let host = host
        .filter(|h| !h.trim().is_empty())
        .ok_or("missing -H/--hostname")?;
    Ok(Command::Run(Box::new(Options {
        host,
        port,
        prefix,
        language,
        auth,
        session_cache,
        cacert,
        insecure,
        thresholds,
        state_file,
        unreachable_state,
        timeout,
        verbosity,
        format,
        mode,
    })))
}

/// The value of an option given by one or two names, if present.
fn opt(
    args: &mut pico_args::Arguments,
    keys: &'static [&'static str],
) -> Result<Option<String>, String> {
    let value = match keys {
        [short, long] => args.opt_value_from_str([*short, *long]),
        [long] => args.opt_value_from_str(*long),
        _ => unreachable!("option keys are one or two names"),
    };
    value.map_err(|e| describe(e, keys))
}

fn parse_auth(args: &mut pico_args::Arguments) -> Result<AuthSource, String> {
    let user = opt(args, &["-u", "--username"])?;
    let password_file = opt(args, &["--password-file"])?.map(PathBuf::from);
    let auth_id_file = opt(args, &["--auth-id-file"])?.map(PathBuf::from);
    match (user, auth_id_file) {
        (Some(_), Some(_)) => Err("give either -u/--username or --auth-id-file, not both".into()),
        (Some(user), None) if user.is_empty() => Err("-u/--username is empty".into()),
        (Some(user), None) => Ok(AuthSource::Login {
            user,
            password_file,
        }),
        (None, _) if password_file.is_some() => Err("--password-file needs -u/--username".into()),
        (None, file) => Ok(AuthSource::SessionId { file }),
    }
}

fn parse_thresholds(args: &mut pico_args::Arguments) -> Result<Thresholds, String> {
    let range = |v: Option<String>| {
        v.map(|v| Range::parse(&v).map_err(|e| e.to_string()))
            .transpose()
    };
    let duration = |v: Option<String>| {
        v.map(|v| parse_duration(&v).map_err(|e| e.to_string()))
            .transpose()
    };
    Ok(Thresholds {
        warning: range(opt(args, &["-w", "--warning"])?)?,
        critical: range(opt(args, &["-c", "--critical"])?)?,
        warning_time: duration(opt(args, &["--warning-time"])?)?,
        critical_time: duration(opt(args, &["--critical-time"])?)?,
    })
}

fn parse_port(p: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or(format!("invalid -p/--port '{p}': expected 1 to 65535"))
}

fn parse_language(language: String) -> Result<String, String> {
    let tag = !language.is_empty()
        && language
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if tag {
        Ok(language)
    } else {
        Err(format!(
            "invalid -l/--language '{language}': expected a language tag such as en or de"
        ))
    }
}

/// Whether the raw arguments ask for JSON output, for reporting a usage
/// error in the format the caller reads.
pub fn asks_for_json(raw: &[OsString]) -> bool {
    raw.iter()
        .zip(raw.iter().skip(1))
        .any(|(a, b)| a == "--format" && b == "json")
        || raw.iter().any(|a| a == "--format=json")
}

/// `-vvv` is three `-v`; pico-args only knows single flags.
fn expand_verbose(raw: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(raw.len());
    for arg in raw {
        match arg.to_str() {
            Some(s) if s.len() > 2 && s.starts_with("-v") && s[1..].bytes().all(|b| b == b'v') => {
                out.extend(std::iter::repeat_n(OsString::from("-v"), s.len() - 1));
            }
            _ => out.push(arg),
        }
    }
    out
}

fn describe(error: pico_args::Error, keys: &[&str]) -> String {
    let name = keys.join("/");
    match error {
        pico_args::Error::OptionWithoutAValue(_) => format!("{name} needs a value"),
        pico_args::Error::Utf8ArgumentParsingFailed { .. } | pico_args::Error::NonUtf8Argument => {
            format!("{name} is not valid UTF-8")
        }
        other => format!("{name}: {other}"),
    }
}

fn parse_prefix(p: &str) -> Result<String, String> {
    let trimmed = p.trim_end_matches('/');
    let valid = trimmed.starts_with('/')
        && trimmed.len() > 1
        && trimmed.len() < 100
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    if valid {
        Ok(trimmed.to_string())
    } else {
        Err(format!(
            "invalid --prefix '{p}': expected auto, /SKLM or /GKLM"
        ))
    }
}

fn parse_timeout(t: &str) -> Result<Duration, String> {
    match t.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 3600.0 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "invalid -t/--timeout '{t}': expected seconds between 0 and 3600"
        )),
    }
}

pub fn version() -> String {
    format!("check_gklm_backup {}", env!("CARGO_PKG_VERSION"))
}

pub const HELP: &str = include_str!("help.txt");

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(OsString::from).collect())
    }

    fn options(args: &[&str]) -> Options {
        match parse_strs(args) {
            Ok(Command::Run(o)) => *o,
            Ok(_) => panic!("not a run"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn defaults() {
        let o = options(&["-H", "gklm"]);
        assert_eq!(
            (o.port, o.prefix.clone(), o.language.as_str()),
            (9443, Prefix::Auto, "en")
        );
        assert_eq!(o.auth, AuthSource::SessionId { file: None });
        assert_eq!(o.timeout, Duration::from_secs(10));
        assert_eq!(o.unreachable_state, State::Critical);
        assert!(o.session_cache);
    }

    #[test]
    fn verbosity_counts_every_form() {
        assert_eq!(options(&["-H", "h", "-vvv"]).verbosity, 3);
        assert_eq!(options(&["-H", "h", "-v", "--verbose"]).verbosity, 2);
    }

    #[test]
    fn usage_errors_name_the_option() {
        for (args, needle) in [
            (&["-p", "1"][..], "-H/--hostname"),
            (&["--hostnme", "h"], "'--hostnme'"),
            (&["-H", "h", "-p", "0"], "--port"),
            (&["-H", "h", "-w", "abc"], "invalid range"),
            (&["-H", "h", "--warning-time", "5x"], "invalid duration"),
            (&["-H", "h", "--bogus"], "'--bogus'"),
            (&["-H", "h", "extra"], "'extra'"),
            (&["-H", "h", "-t", "0"], "--timeout"),
            (&["-H", "h", "-t"], "needs a value"),
            (&["-H", "h", "--insecure", "--cacert", "x"], "contradict"),
            (
                &["-H", "h", "--unreachable-state", "bad"],
                "--unreachable-state",
            ),
            (&["-H", "h", "--prefix", "SKLM"], "--prefix"),
            (&["-H", "h", "--password-file", "p"], "needs -u"),
            (&["-H", "h", "--format", "xml"], "--format"),
        ] {
            let err = parse_strs(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} accepted"));
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn json_is_recognised_in_raw_arguments() {
        let raw = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(asks_for_json(&raw(&[
            "-H", "h", "--format", "json", "--bogus"
        ])));
        assert!(asks_for_json(&raw(&["--format=json"])));
        assert!(!asks_for_json(&raw(&["--format", "nagios", "json"])));
    }

    #[test]
    fn target_key_ignores_thresholds() {
        let a = options(&["-H", "GKLM", "-u", "mon", "-w", "3"]);
        let b = options(&["-H", "gklm", "-u", "mon", "-c", "5"]);
        assert_eq!(a.target_key(), b.target_key());
        assert_eq!(a.target_key(), "gklm:9443 auto mon");
    }
}
