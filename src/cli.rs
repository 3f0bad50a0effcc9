//! The command line and the environment: the process's inputs, read once and
//! turned into the domain's own types (`Config`). Nothing below main knows
//! that a command line exists.
//!
//! `FLAGS` is the one list of options: it drives the getopt-style reading
//! (`-Hhost`, `-w3`, bundled `-kv`, `--opt=value`) and the test that keeps
//! `--help`, the man page, the README and the Icinga 2 CheckCommand in step.
//! The reading is our own rather than pico-args': pico-args looks a value up
//! by the first token that spells an option name (`-u --port -p 1` read
//! `--port` as the port), strips quotes from values, and its combined-flags
//! feature rewrites `-Hgklm` into `-Hglm` when it looks for `-k`.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::credentials::{AuthSource, FromEnvironment};
use crate::evaluate::Thresholds;
use crate::mode::{Mode, age::Age, needed::Needed, result::LastResult, running::Running};
use crate::render::Format;
use crate::report::State;
use crate::state::Location;
use crate::target::{Host, HostError, Prefix, Target};
use crate::threshold::{Range, SyntaxError, parse_duration};
use crate::tls::OpensslEnv;

/// One command-line option.
#[derive(Debug)]
pub struct Flag {
    pub short: Option<char>,
    pub long: &'static str,
    /// The value's name in `--help`; None for a switch.
    pub value: Option<&'static str>,
    /// The default as `--help` states it.
    pub default: Option<&'static str>,
}

const fn flag(short: Option<char>, long: &'static str) -> Flag {
    Flag {
        short,
        long,
        value: None,
        default: None,
    }
}

const fn valued(
    short: Option<char>,
    long: &'static str,
    value: &'static str,
    default: Option<&'static str>,
) -> Flag {
    Flag {
        short,
        long,
        value: Some(value),
        default,
    }
}

pub const DEFAULT_PORT: u16 = 9443;
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;
pub const DEFAULT_MAX_GAP: &str = "1d";

/// Every option, in `--help` order.
pub const FLAGS: &[Flag] = &[
    valued(Some('H'), "--hostname", "HOST", None),
    valued(Some('p'), "--port", "PORT", Some("9443")),
    valued(None, "--prefix", "PREFIX", Some("auto")),
    valued(Some('l'), "--language", "LANG", Some("en")),
    valued(Some('u'), "--username", "USER", None),
    valued(None, "--password-file", "FILE", None),
    flag(None, "--no-session-cache"),
    valued(None, "--auth-id-file", "FILE", None),
    valued(None, "--cacert", "FILE", None),
    flag(Some('k'), "--insecure"),
    valued(None, "--mode", "MODE", Some("running")),
    valued(Some('w'), "--warning", "RANGE", None),
    valued(Some('c'), "--critical", "RANGE", None),
    valued(None, "--warning-time", "DURATION", None),
    valued(None, "--critical-time", "DURATION", None),
    valued(None, "--max-gap", "DURATION", Some(DEFAULT_MAX_GAP)),
    valued(None, "--unknown-result-state", "STATE", Some("ok")),
    valued(None, "--backup-dir", "DIR", None),
    valued(None, "--state-file", "PATH", None),
    valued(None, "--unreachable-state", "STATE", Some("critical")),
    valued(Some('t'), "--timeout", "SECONDS", Some("10")),
    valued(None, "--format", "FORMAT", Some("nagios")),
    flag(Some('v'), "--verbose"),
    flag(Some('h'), "--help"),
    flag(Some('V'), "--version"),
];

/// How to check the server's certificate, as the user chose it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustChoice {
    System,
    CaFile(PathBuf),
    Insecure,
}

/// Everything a run needs, in the domain's terms.
#[derive(Clone, Debug)]
pub struct Config {
    pub target: Target,
    pub auth: AuthSource,
    /// Keep the session between runs (with `-u` only).
    pub session_cache: bool,
    pub trust: TrustChoice,
    pub language: String,
    pub mode: Mode,
    pub state: Location,
    pub unreachable_state: State,
    pub timeout: Duration,
    pub verbosity: u8,
    pub format: Format,
}

pub enum Command {
    Run(Box<Config>),
    Help,
    Version,
}

/// What the process's environment holds for the check, read in this one
/// place.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `MP_STATE_PATH`, `NAGIOS_PLUGIN_STATE_DIRECTORY`.
    pub state_dirs: [Option<PathBuf>; 2],
    /// `GKLM_PASSWORD`, `GKLM_AUTH_ID`.
    pub credentials: FromEnvironment,
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR`: what OpenSSL will honour.
    pub openssl: OpensslEnv,
    /// `CHECK_GKLM_BACKUP_SELF_TEST_PANIC`: lets the tests prove the panic
    /// hook on the real binary.
    pub self_test_panic: bool,
}

impl Environment {
    pub fn read() -> Environment {
        let path = |name| std::env::var_os(name).map(PathBuf::from);
        let text = |name| std::env::var(name).ok();
        Environment {
            state_dirs: [path("MP_STATE_PATH"), path("NAGIOS_PLUGIN_STATE_DIRECTORY")],
            credentials: FromEnvironment {
                password: text("GKLM_PASSWORD"),
                session_id: text("GKLM_AUTH_ID"),
            },
            openssl: OpensslEnv {
                cert_file_set: std::env::var_os("SSL_CERT_FILE").is_some(),
                cert_dir: path("SSL_CERT_DIR"),
            },
            self_test_panic: std::env::var_os("CHECK_GKLM_BACKUP_SELF_TEST_PANIC").is_some(),
        }
    }
}

/// A usage error: one line that names the option and what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl From<SyntaxError> for UsageError {
    fn from(e: SyntaxError) -> UsageError {
        UsageError(e.to_string())
    }
}

impl From<HostError> for UsageError {
    fn from(e: HostError) -> UsageError {
        UsageError(e.to_string())
    }
}

fn usage<T>(text: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(text.into()))
}

/// Parse the arguments (without the program name).
pub fn parse(raw: Vec<OsString>, env: &Environment) -> Result<Command, UsageError> {
    let mut args = getopt(raw)?;
    if args.count("--help") > 0 {
        return Ok(Command::Help);
    }
    if args.count("--version") > 0 {
        return Ok(Command::Version);
    }
    // A misspelt option is a better hint than the -H it may have hidden.
    if let Some(stray) = &args.stray {
        return usage(format!("unknown option or argument '{stray}'"));
    }
    let verbosity = u8::try_from(args.count("--verbose")).unwrap_or(u8::MAX);
    let session_cache = args.count("--no-session-cache") == 0;
    let insecure = args.count("--insecure") > 0;
    let host = args.value("--hostname");
    let port = args
        .value("--port")
        .map_or(Ok(DEFAULT_PORT), |p| parse_port(&p))?;
    let prefix = match args.value("--prefix").as_deref() {
        None | Some("auto") => Prefix::Auto,
        Some(p) => Prefix::Fixed(Prefix::fixed(p).ok_or_else(|| {
            UsageError(format!(
                "invalid --prefix '{p}': expected auto, /SKLM or /GKLM"
            ))
        })?),
    };
    let language = parse_language(args.value("--language").unwrap_or_else(|| "en".into()))?;
    let auth = parse_auth(
        args.value("--username"),
        args.value("--password-file"),
        args.value("--auth-id-file"),
    )?;
    let cacert = args.value("--cacert");
    let mode_name = args.value("--mode");
    let thresholds = Thresholds {
        warning: args
            .value("--warning")
            .map(|v| Range::parse(&v))
            .transpose()?,
        critical: args
            .value("--critical")
            .map(|v| Range::parse(&v))
            .transpose()?,
        warning_time: duration(args.value("--warning-time"))?,
        critical_time: duration(args.value("--critical-time"))?,
    };
    let max_gap = args.value("--max-gap");
    let unknown_result_state = args.value("--unknown-result-state");
    let backup_dir = args.value("--backup-dir");
    let state_file = args.value("--state-file");
    let unreachable_state = match args.value("--unreachable-state") {
        None => State::Critical,
        Some(s) => parse_state(&s, "--unreachable-state")?,
    };
    let timeout = match args.value("--timeout") {
        None => Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS),
        Some(t) => parse_timeout(&t)?,
    };
    let format = parse_format(args.value("--format").as_deref())?;
    let trust = match (cacert, insecure) {
        (Some(_), true) => return usage("--cacert and --insecure contradict each other; give one"),
        (Some(path), false) => TrustChoice::CaFile(PathBuf::from(path)),
        (None, true) => TrustChoice::Insecure,
        (None, false) => TrustChoice::System,
    };
    let mode = parse_mode(
        mode_name.as_deref(),
        ModeOptions {
            thresholds,
            max_gap,
            unknown_result_state,
            backup_dir,
        },
    )?;
    let host = Host::parse(&host.ok_or(UsageError("missing -H/--hostname".into()))?)?;
    let user = match &auth {
        AuthSource::Login { user, .. } => Some(user.clone()),
        AuthSource::SessionId { .. } => None,
    };
    Ok(Command::Run(Box::new(Config {
        target: Target {
            host,
            port,
            prefix,
            user,
        },
        auth,
        session_cache,
        trust,
        language,
        mode,
        state: Location::choose(parse_state_file(state_file)?, &env.state_dirs),
        unreachable_state,
        timeout,
        verbosity,
        format,
    })))
}

/// `-H/--hostname` for messages.
fn names(long: &str) -> String {
    match FLAGS.iter().find(|f| f.long == long).and_then(|f| f.short) {
        Some(short) => format!("-{short}/{long}"),
        None => long.to_string(),
    }
}

/// The command line once read the getopt way: each option with its value,
/// and the first word that is no option at all.
struct Given {
    options: Vec<(&'static str, Option<String>)>,
    stray: Option<String>,
}

impl Given {
    /// The value of a valued option, taking it out (it is given once).
    fn value(&mut self, long: &str) -> Option<String> {
        let at = self.options.iter().position(|(l, _)| *l == long)?;
        self.options.remove(at).1
    }

    /// Whether a switch was given, and how often (`-vvv`).
    fn count(&self, long: &str) -> usize {
        self.options.iter().filter(|(l, _)| *l == long).count()
    }
}

/// Read what getopt accepts: `-Hhost`, `-H host`, `-w3`, bundled switches
/// `-kv` and `-vvv`, `--long value`, `--long=value`. A value is whatever
/// follows its option, even when it looks like an option itself (`-w -5:5`).
/// A repeated single-valued option is refused by name rather than silently
/// resolved.
fn getopt(raw: Vec<OsString>) -> Result<Given, UsageError> {
    let mut given = Given {
        options: Vec::with_capacity(raw.len()),
        stray: None,
    };
    let mut args = raw.into_iter();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            return usage(format!(
                "argument '{}' is not valid UTF-8",
                arg.to_string_lossy()
            ));
        };
        let found = if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            FLAGS
                .iter()
                .find(|f| !name.is_empty() && &f.long[2..] == name)
                .map(|f| vec![(f, inline)])
        } else if text.len() > 1 && text.starts_with('-') {
            shorts(text)
        } else {
            None
        };
        let Some(found) = found else {
            given.stray.get_or_insert_with(|| text.to_string());
            continue;
        };
        for (f, inline) in found {
            if f.value.is_some() && given.count(f.long) > 0 {
                return usage(format!(
                    "{} given more than once; give it once",
                    names(f.long)
                ));
            }
            let value = match (f.value, inline) {
                (None, Some(_)) => return usage(format!("{} takes no value", names(f.long))),
                (None, None) => None,
                (Some(_), Some(v)) => Some(v),
                (Some(_), None) => match args.next() {
                    Some(v) => Some(v.into_string().map_err(|v| {
                        UsageError(format!(
                            "{} '{}' is not valid UTF-8",
                            names(f.long),
                            v.to_string_lossy()
                        ))
                    })?),
                    None => return usage(format!("{} needs a value", names(f.long))),
                },
            };
            given.options.push((f.long, value));
        }
    }
    Ok(given)
}

/// `-kv` or `-Hhost`: switches, then at most one option whose value is the
/// rest of the word (or the next word). None when a letter is unknown.
fn shorts(word: &str) -> Option<Vec<(&'static Flag, Option<String>)>> {
    let mut found = Vec::new();
    let letters = &word[1..];
    for (i, c) in letters.char_indices() {
        let f = FLAGS.iter().find(|f| f.short == Some(c))?;
        if f.value.is_some() {
            let rest = &letters[i + c.len_utf8()..];
            found.push((f, Some(rest.to_string()).filter(|r| !r.is_empty())));
            return Some(found);
        }
        found.push((f, None));
    }
    Some(found)
}

/// Options that only some modes understand.
struct ModeOptions {
    thresholds: Thresholds,
    max_gap: Option<String>,
    unknown_result_state: Option<String>,
    backup_dir: Option<String>,
}

fn parse_mode(name: Option<&str>, o: ModeOptions) -> Result<Mode, UsageError> {
    let name = name.unwrap_or("running");
    let refuse = |flag: &str, given: bool| -> Result<(), UsageError> {
        if given {
            usage(format!("{flag} means nothing for --mode {name}"))
        } else {
            Ok(())
        }
    };
    let max_gap = || -> Result<u64, UsageError> {
        let gap = parse_duration(o.max_gap.as_deref().unwrap_or(DEFAULT_MAX_GAP))?;
        if gap == 0 {
            return usage("--max-gap must be longer than 0");
        }
        Ok(gap)
    };
    let counts = o.thresholds.any_count();
    let mode = match name {
        "running" | "needed" => {
            refuse("--unknown-result-state", o.unknown_result_state.is_some())?;
            refuse("--backup-dir", o.backup_dir.is_some())?;
            let (thresholds, max_gap) = (o.thresholds.clone(), max_gap()?);
            if name == "running" {
                Mode::Running(Running {
                    thresholds,
                    max_gap,
                })
            } else {
                Mode::Needed(Needed {
                    thresholds,
                    max_gap,
                })
            }
        }
        "result" => {
            refuse("-w/-c", counts)?;
            refuse("--warning-time/--critical-time", o.thresholds.any_time())?;
            refuse("--max-gap", o.max_gap.is_some())?;
            refuse("--backup-dir", o.backup_dir.is_some())?;
            let undetermined_state = match &o.unknown_result_state {
                None => State::Ok,
                Some(s) => parse_state(s, "--unknown-result-state")?,
            };
            Mode::Result(LastResult { undetermined_state })
        }
        "age" => {
            refuse("-w/-c (use --warning-time/--critical-time)", counts)?;
            refuse("--max-gap", o.max_gap.is_some())?;
            refuse("--unknown-result-state", o.unknown_result_state.is_some())?;
            if !o.thresholds.any_time() {
                return usage(
                    "--mode age needs --warning-time or --critical-time (for example --critical-time 2d)",
                );
            }
            Mode::Age(Age {
                thresholds: o.thresholds,
                backup_dir: o.backup_dir.map(parse_backup_dir).transpose()?,
            })
        }
        other => {
            return usage(format!(
                "invalid --mode '{other}': expected running, needed, result or age"
            ));
        }
    };
    Ok(mode)
}

fn parse_auth(
    user: Option<String>,
    password_file: Option<String>,
    auth_id_file: Option<String>,
) -> Result<AuthSource, UsageError> {
    let password_file = password_file.map(PathBuf::from);
    match (user, auth_id_file) {
        (Some(_), Some(_)) => usage("give either -u/--username or --auth-id-file, not both"),
        (Some(user), None) if user.is_empty() => usage("-u/--username is empty"),
        (Some(user), None) if user.chars().any(char::is_control) => {
            usage("-u/--username contains control characters")
        }
        (Some(user), None) => Ok(AuthSource::Login {
            user,
            password_file,
        }),
        (None, _) if password_file.is_some() => usage("--password-file needs -u/--username"),
        (None, file) => Ok(AuthSource::SessionId {
            file: file.map(PathBuf::from),
        }),
    }
}

fn duration(value: Option<String>) -> Result<Option<u64>, UsageError> {
    Ok(value.map(|v| parse_duration(&v)).transpose()?)
}

fn parse_state(text: &str, flag: &str) -> Result<State, UsageError> {
    State::parse(text).ok_or_else(|| {
        UsageError(format!(
            "invalid {flag} '{text}': expected ok, warning, critical or unknown"
        ))
    })
}

fn parse_format(text: Option<&str>) -> Result<Format, UsageError> {
    match text {
        None | Some("nagios") => Ok(Format::Nagios),
        Some("json") => Ok(Format::Json),
        Some("prometheus") => Ok(Format::Prometheus),
        Some(other) => usage(format!(
            "invalid --format '{other}': expected nagios, json or prometheus"
        )),
    }
}

fn parse_port(p: &str) -> Result<u16, UsageError> {
    p.parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| UsageError(format!("invalid -p/--port '{p}': expected 1 to 65535")))
}

fn parse_language(language: String) -> Result<String, UsageError> {
    let tag = !language.is_empty()
        && language.len() <= 35
        && language
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if tag {
        Ok(language)
    } else {
        usage(format!(
            "invalid -l/--language '{language}': expected a language tag such as en or de"
        ))
    }
}

fn parse_timeout(t: &str) -> Result<Duration, UsageError> {
    match t.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 3600.0 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => usage(format!(
            "invalid -t/--timeout '{t}': expected seconds between 0 and 3600"
        )),
    }
}

/// An empty path or a directory cannot hold the history: refused before
/// anything is sent, rather than failing every run afterwards.
fn parse_state_file(path: Option<String>) -> Result<Option<PathBuf>, UsageError> {
    let Some(path) = path else {
        return Ok(None);
    };
    if path.trim().is_empty() {
        return usage("--state-file is empty; give a file path, or leave it out for the default");
    }
    if path.ends_with('/') || std::path::Path::new(&path).is_dir() {
        return usage(format!(
            "--state-file '{path}' is a directory; give a file path (or set MP_STATE_PATH to a directory)"
        ));
    }
    Ok(Some(PathBuf::from(path)))
}

fn parse_backup_dir(dir: String) -> Result<String, UsageError> {
    if dir.is_empty() || dir.len() > 1024 || dir.chars().any(char::is_control) {
        return usage(format!(
            "invalid --backup-dir '{}': expected a directory path on the GKLM server",
            dir.escape_debug()
        ));
    }
    Ok(dir)
}

/// The output format the raw arguments ask for, so that even a usage error
/// is printed in the form the caller reads (Zabbix stores whatever it gets).
pub fn requested_format(raw: &[OsString]) -> Format {
    parse_format(raw_value(raw, "--format").as_deref()).unwrap_or_default()
}

/// The mode the raw arguments ask for (`running` when none is given), so a
/// usage error in JSON still carries that mode's fields.
pub fn requested_mode(raw: &[OsString]) -> String {
    raw_value(raw, "--mode").unwrap_or_else(|| "running".into())
}

/// The last value given to `long` (`--long value` or `--long=value`) in
/// arguments that could not be read in full.
fn raw_value(raw: &[OsString], long: &str) -> Option<String> {
    let mut found = None;
    for (i, arg) in raw.iter().enumerate() {
        if arg == long {
            found = raw.get(i + 1).map(|v| v.to_string_lossy().into_owned());
        } else if let Some(v) = arg
            .to_str()
            .and_then(|a| a.strip_prefix(long)?.strip_prefix('='))
        {
            found = Some(v.to_string());
        }
    }
    found
}

/// `-V`: the version from Cargo.toml and, when build.rs learnt it, the commit
/// the binary was built from, so a package can be traced to its source.
pub fn version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    match option_env!("CHECK_GKLM_BACKUP_COMMIT") {
        Some(commit) => format!("check_gklm_backup {version} (commit {commit})"),
        None => format!("check_gklm_backup {version}"),
    }
}

pub const HELP: &str = include_str!("help.txt");

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, UsageError> {
        parse(
            args.iter().map(OsString::from).collect(),
            &Environment::default(),
        )
    }

    fn config(args: &[&str]) -> Config {
        match parse_strs(args) {
            Ok(Command::Run(c)) => *c,
            Ok(_) => panic!("not a run"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn defaults() {
        let c = config(&["-H", "gklm"]);
        assert_eq!(
            (c.target.port, c.target.prefix.clone(), c.language.as_str()),
            (9443, Prefix::Auto, "en")
        );
        assert_eq!(c.auth, AuthSource::SessionId { file: None });
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.unreachable_state, State::Critical);
        assert!(c.session_cache);
        assert_eq!(c.mode.name(), "running");
        assert_eq!(c.mode.max_gap(), 86_400);
        assert_eq!(c.state, Location::Default);
    }

    #[test]
    fn getopt_forms_equal_their_spaced_forms() {
        let spaced = config(&[
            "-H", "gklm", "-p", "9444", "-w", "3", "-c", "5", "-k", "-v", "-v", "-v", "-t", "5",
        ]);
        for args in [
            &["-Hgklm", "-p9444", "-w3", "-c5", "-kvvv", "-t5"][..],
            &[
                "--hostname=gklm",
                "--port=9444",
                "--warning=3",
                "--critical",
                "5",
                "-vkvv",
                "--timeout=5",
            ],
            &[
                "-kvvvHgklm",
                "-p",
                "9444",
                "-w",
                "+3",
                "-c",
                "5e0",
                "-t",
                "5",
            ],
        ] {
            let c = config(args);
            assert_eq!(c.target, spaced.target, "{args:?}");
            assert_eq!(c.mode, spaced.mode, "{args:?}");
            assert_eq!(
                (c.verbosity, c.trust.clone(), c.timeout),
                (3, TrustChoice::Insecure, spaced.timeout),
                "{args:?}"
            );
        }
    }

    #[test]
    fn a_value_is_whatever_follows_its_option() {
        let c = config(&["-H", "h", "-u", "--port", "-p", "19555", "-w", "-5:5"]);
        assert_eq!(c.target.user.as_deref(), Some("--port"));
        assert_eq!(c.target.port, 19555);
        let c = config(&["-H", "h", "-u", "'quoted'", "-l", "de"]);
        assert_eq!(c.target.user.as_deref(), Some("'quoted'"));
        let c = config(&["-H", "h", "--username=a=b"]);
        assert_eq!(c.target.user.as_deref(), Some("a=b"));
    }

    #[test]
    fn verbosity_counts_every_form() {
        assert_eq!(config(&["-H", "h", "-vvv"]).verbosity, 3);
        assert_eq!(config(&["-H", "h", "-v", "--verbose"]).verbosity, 2);
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
            (
                &["-H", "a", "-H", "b"],
                "-H/--hostname given more than once",
            ),
            (
                &["-H", "a", "--hostname=b"],
                "-H/--hostname given more than once",
            ),
            (
                &["-H", "a", "-w", "1", "-w2"],
                "-w/--warning given more than once",
            ),
            (&["-H", "a", "--insecure=yes"], "takes no value"),
            (&["-H", "a", "-x"], "'-x'"),
            (&["-H", "host:9443"], "-p"),
            (&["-H", "h", "--state-file", ""], "--state-file is empty"),
            (&["-H", "h", "--state-file", "/tmp"], "is a directory"),
            (
                &["-H", "h", "--state-file", "/nonexistent/dir/"],
                "is a directory",
            ),
            (&["-H", "h", "--mode", "size"], "--mode 'size'"),
            (
                &["-H", "h", "--mode", "result", "-w", "1"],
                "-w/-c means nothing for --mode result",
            ),
            (
                &["-H", "h", "--mode", "result", "--critical-time", "1d"],
                "for --mode result",
            ),
            (
                &["-H", "h", "--mode", "age"],
                "needs --warning-time or --critical-time",
            ),
            (
                &[
                    "-H",
                    "h",
                    "--mode",
                    "age",
                    "-c",
                    "1",
                    "--critical-time",
                    "1d",
                ],
                "-w/-c",
            ),
            (
                &["-H", "h", "--backup-dir", "/x"],
                "--backup-dir means nothing for --mode running",
            ),
            (
                &[
                    "-H",
                    "h",
                    "--mode",
                    "needed",
                    "--unknown-result-state",
                    "ok",
                ],
                "--unknown-result-state means nothing",
            ),
            (&["-H", "h", "--max-gap", "0"], "--max-gap"),
            (
                &[
                    "-H",
                    "h",
                    "--mode",
                    "age",
                    "--critical-time",
                    "1d",
                    "--max-gap",
                    "1h",
                ],
                "--max-gap means nothing",
            ),
            (
                &[
                    "-H",
                    "h",
                    "--mode",
                    "result",
                    "--unknown-result-state",
                    "bad",
                ],
                "--unknown-result-state",
            ),
        ] {
            let err = parse_strs(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} accepted"))
                .to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn each_mode_takes_its_own_options() {
        let c = config(&[
            "-H",
            "h",
            "--mode",
            "age",
            "--critical-time",
            "2d",
            "--backup-dir",
            "/opt/b",
        ]);
        assert_eq!(
            c.mode.endpoint().query,
            vec![("backupDirectory", "/opt/b".to_string())]
        );
        let c = config(&[
            "-H",
            "h",
            "--mode",
            "result",
            "--unknown-result-state",
            "critical",
        ]);
        assert_eq!(
            c.mode,
            Mode::Result(LastResult {
                undetermined_state: State::Critical
            })
        );
        let c = config(&[
            "-H",
            "h",
            "--mode",
            "needed",
            "--warning-time",
            "1d",
            "--max-gap",
            "2d",
        ]);
        assert_eq!(
            (c.mode.name(), c.mode.max_gap(), c.mode.needs_history()),
            ("needed", 172_800, true)
        );
    }

    #[test]
    fn the_requested_format_is_found_in_raw_arguments() {
        let raw = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            requested_format(&raw(&["-H", "h", "--format", "json", "--bogus"])),
            Format::Json
        );
        assert_eq!(
            requested_format(&raw(&["--format=prometheus"])),
            Format::Prometheus
        );
        assert_eq!(
            requested_format(&raw(&["--format", "nagios", "json"])),
            Format::Nagios
        );
    }

    #[test]
    fn the_state_location_comes_from_the_option_then_the_environment() {
        let env = Environment {
            state_dirs: [None, Some(PathBuf::from("/legacy"))],
            ..Environment::default()
        };
        let run = |args: &[&str]| match parse(args.iter().map(OsString::from).collect(), &env) {
            Ok(Command::Run(c)) => c.state,
            _ => panic!(),
        };
        assert_eq!(run(&["-H", "h"]), Location::Dir(PathBuf::from("/legacy")));
        assert_eq!(
            run(&["-H", "h", "--state-file", "/x/s.json"]),
            Location::File(PathBuf::from("/x/s.json"))
        );
    }
}
