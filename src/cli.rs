//! The command line and the environment: the process's inputs, read once and
//! turned into the domain's own types (`Config`). Nothing below main knows
//! that a command line exists.
//!
//! `FLAGS` is the one list of options: it drives the getopt-style reading
//! (`-Hhost`, `-w3`, bundled `-kv`, `--opt=value`) and the test that keeps
//! `--help`, the man page, the README and the Icinga 2 CheckCommand in step.
//! pico-args reads the options, after one small rewriting step that spells
//! every option out the way pico-args reads it unambiguously (`canonical`).

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::credentials::{AuthSource, FromEnvironment};
use crate::evaluate::Thresholds;
use crate::mode::{self, Mode, ModeOptions, result, streak};
use crate::render::Format;
use crate::report::State;
use crate::state::Location;
use crate::target::{Host, HostError, Prefix, Target};
use crate::threshold::{Range, SyntaxError, parse_duration};
use crate::tls::OpensslEnv;
use crate::zone::Zone;

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

/// Each default is written once, here or in the mode that owns it, and
/// read through the same parser as a value given on the command line.
const DEFAULT_PORT: &str = "9443";
const DEFAULT_PREFIX: &str = "auto";
const DEFAULT_LANGUAGE: &str = "en";
const DEFAULT_UNREACHABLE_STATE: &str = "critical";
const DEFAULT_TIMEOUT: &str = "10";
const DEFAULT_FORMAT: &str = "nagios";

/// Every option, in `--help` order.
pub const FLAGS: &[Flag] = &[
    valued(Some('H'), "--hostname", "HOST", None),
    valued(Some('p'), "--port", "PORT", Some(DEFAULT_PORT)),
    valued(None, "--prefix", "PREFIX", Some(DEFAULT_PREFIX)),
    valued(Some('l'), "--language", "LANG", Some(DEFAULT_LANGUAGE)),
    valued(Some('u'), "--username", "USER", None),
    valued(None, "--password-file", "FILE", None),
    flag(None, "--no-session-cache"),
    valued(None, "--auth-id-file", "FILE", None),
    valued(None, "--cacert", "FILE", None),
    flag(Some('k'), "--insecure"),
    valued(None, "--mode", "MODE", Some(mode::DEFAULT.name)),
    valued(Some('w'), "--warning", "RANGE", None),
    valued(Some('c'), "--critical", "RANGE", None),
    valued(None, "--warning-time", "DURATION", None),
    valued(None, "--critical-time", "DURATION", None),
    valued(None, "--max-gap", "DURATION", Some(streak::DEFAULT_MAX_GAP)),
    valued(
        None,
        "--unknown-result-state",
        "STATE",
        Some(result::DEFAULT_UNDETERMINED),
    ),
    valued(None, "--backup-dir", "DIR", None),
    valued(None, "--time-zone", "ZONE", None),
    valued(None, "--state-file", "PATH", None),
    valued(None, "--state-key", "NAME", None),
    valued(
        None,
        "--unreachable-state",
        "STATE",
        Some(DEFAULT_UNREACHABLE_STATE),
    ),
    valued(Some('t'), "--timeout", "SECONDS", Some(DEFAULT_TIMEOUT)),
    valued(None, "--format", "FORMAT", Some(DEFAULT_FORMAT)),
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
#[derive(Debug)]
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

impl From<String> for UsageError {
    fn from(why: String) -> UsageError {
        UsageError(why)
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
    let port = parse_port(&args.value_or_default("--port"))?;
    let prefix = match args.value_or_default("--prefix").as_str() {
        "auto" => Prefix::Auto,
        p => Prefix::Fixed(Prefix::fixed(p).ok_or_else(|| {
            UsageError(format!(
                "invalid --prefix '{p}': expected auto, /SKLM or /GKLM"
            ))
        })?),
    };
    let language = parse_language(args.value_or_default("--language"))?;
    let auth = parse_auth(
        args.value("--username"),
        args.value("--password-file"),
        args.value("--auth-id-file"),
    )?;
    // Only a login's session is cached: with a given id the option would
    // promise something it cannot change.
    if !session_cache && !matches!(auth, AuthSource::Login { .. }) {
        return usage(
            "--no-session-cache needs -u/--username: a session id given by --auth-id-file or GKLM_AUTH_ID is never cached",
        );
    }
    let cacert = args.value("--cacert");
    let mode_name = args.value_or_default("--mode");
    let mode_options = mode_options(&mut args)?;
    let state_file = args.value("--state-file");
    let unreachable_state = parse_state(
        &args.value_or_default("--unreachable-state"),
        "--unreachable-state",
    )?;
    let timeout = parse_timeout(&args.value_or_default("--timeout"))?;
    let format = parse_format(&args.value_or_default("--format"))?;
    let trust = match (cacert, insecure) {
        (Some(_), true) => return usage("--cacert and --insecure contradict each other; give one"),
        (Some(path), false) => TrustChoice::CaFile(PathBuf::from(path)),
        (None, true) => TrustChoice::Insecure,
        (None, false) => TrustChoice::System,
    };
    let mode = mode::choose(&mode_name, &mode_options).map_err(UsageError)?;
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

    /// The value given, else the default `FLAGS` states for it.
    fn value_or_default(&mut self, long: &str) -> String {
        self.value(long)
            .unwrap_or_else(|| default_of(long).to_string())
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
///
/// pico-args does the reading, from the one form it reads without guessing
/// (see `canonical`); it is asked for every option in `FLAGS`.
fn getopt(raw: Vec<OsString>) -> Result<Given, UsageError> {
    let Canonical { words, stray } = canonical(raw)?;
    let mut args = pico_args::Arguments::from_vec(words);
    let mut given = Given {
        options: Vec::new(),
        stray,
    };
    for f in FLAGS {
        if f.value.is_none() {
            while args.contains(f.long) {
                given.options.push((f.long, None));
            }
            continue;
        }
        let mut value = || -> Result<Option<String>, UsageError> {
            args.opt_value_from_str(f.long)
                .map_err(|e| UsageError(format!("{}: {e}", names(f.long))))
        };
        if let Some(v) = value()? {
            if value()?.is_some() {
                return usage(format!(
                    "{} given more than once; give it once",
                    names(f.long)
                ));
            }
            given.options.push((f.long, Some(v)));
        }
    }
    // Every word of the canonical form names an option of FLAGS.
    debug_assert!(args.finish().is_empty());
    Ok(given)
}

/// The command line rewritten for pico-args, and the first word that is no
/// option at all.
struct Canonical {
    words: Vec<OsString>,
    stray: Option<String>,
}

/// The smallest rewriting that lets pico-args read the command line as
/// getopt would. pico-args alone would read `-u --port -p 1` with `--port`
/// as the port (it takes the first word that spells a key), and its
/// combined-flags feature turns `-Hgklm` into `-Hglm` while it looks for
/// `-k`. So each option is spelt out here from `FLAGS`, with its value in
/// the same word, `--long="value"`: no value can then be taken for a key.
/// pico-args' `eq-separator` takes the enclosing quotes off again, and only
/// those, so a value keeps quotes of its own. An empty value, which that
/// form cannot carry, goes as `--long` and an empty word.
fn canonical(raw: Vec<OsString>) -> Result<Canonical, UsageError> {
    let mut out = Canonical {
        words: Vec::with_capacity(raw.len()),
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
            out.stray.get_or_insert_with(|| text.to_string());
            continue;
        };
        for (f, inline) in found {
            let value = match (f.value, inline) {
                (None, Some(_)) => return usage(format!("{} takes no value", names(f.long))),
                (None, None) => {
                    out.words.push(f.long.into());
                    continue;
                }
                (Some(_), Some(v)) => v,
                (Some(_), None) => match args.next() {
                    Some(v) => v.into_string().map_err(|v| {
                        UsageError(format!(
                            "{} '{}' is not valid UTF-8",
                            names(f.long),
                            v.to_string_lossy()
                        ))
                    })?,
                    None => return usage(format!("{} needs a value", names(f.long))),
                },
            };
            if value.is_empty() {
                out.words.extend([f.long.into(), OsString::new()]);
            } else {
                out.words.push(format!("{}=\"{value}\"", f.long).into());
            }
        }
    }
    Ok(out)
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

/// The options only some modes take, each read by its own syntax; the
/// mode decides whether it takes them and how they combine.
fn mode_options(args: &mut Given) -> Result<ModeOptions, UsageError> {
    let mut range = |long: &str| {
        let value = args.value(long);
        value
            .map(|v| Range::parse(&v).map_err(|e| named(long, e)))
            .transpose()
    };
    let (warning, critical) = (range("--warning")?, range("--critical")?);
    Ok(ModeOptions {
        thresholds: Thresholds {
            warning,
            critical,
            warning_time: duration(args, "--warning-time")?,
            critical_time: duration(args, "--critical-time")?,
        },
        max_gap: args.value("--max-gap").map(parse_max_gap).transpose()?,
        state_key: args.value("--state-key").map(parse_state_key).transpose()?,
        unknown_result_state: args
            .value("--unknown-result-state")
            .map(|s| parse_state(&s, "--unknown-result-state"))
            .transpose()?,
        backup_dir: args
            .value("--backup-dir")
            .map(parse_backup_dir)
            .transpose()?,
        time_zone: args
            .value("--time-zone")
            .map(|z| Zone::parse(&z).map_err(UsageError::from))
            .transpose()?,
    })
}

/// Shorter than any check interval, a `--max-gap` would restart the count
/// at every check, and -c or --critical-time could never fire.
fn parse_max_gap(text: String) -> Result<u64, UsageError> {
    let gap = parse_duration(&text).map_err(|e| named("--max-gap", e))?;
    if gap < streak::MIN_MAX_GAP {
        return usage(format!(
            "--max-gap {text} is shorter than 1m; give at least the check interval (default {})",
            streak::DEFAULT_MAX_GAP
        ));
    }
    Ok(gap)
}

/// The default `FLAGS` states for `long` (every caller names one that has).
fn default_of(long: &str) -> &'static str {
    FLAGS
        .iter()
        .find(|f| f.long == long)
        .and_then(|f| f.default)
        .unwrap_or_default()
}

/// `-t`'s default, for output printed before the options could be read.
pub fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT.parse().unwrap_or(10.0)
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

fn duration(args: &mut Given, long: &str) -> Result<Option<u64>, UsageError> {
    let value = args.value(long);
    value
        .map(|v| parse_duration(&v).map_err(|e| named(long, e)))
        .transpose()
}

/// A value's syntax error, with the option it was given to: `-w -c 5`
/// must not read as a complaint about `-c`.
fn named(long: &str, e: SyntaxError) -> UsageError {
    UsageError(format!("{}: {e}", names(long)))
}

fn parse_state(text: &str, flag: &str) -> Result<State, UsageError> {
    State::parse(text).ok_or_else(|| {
        UsageError(format!(
            "invalid {flag} '{text}': expected ok, warning, critical or unknown"
        ))
    })
}

fn parse_format(text: &str) -> Result<Format, UsageError> {
    match text {
        "nagios" => Ok(Format::Nagios),
        "json" => Ok(Format::Json),
        "prometheus" => Ok(Format::Prometheus),
        other => usage(format!(
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

/// A short safe token: it names a count in the state file, and is shown
/// there and at -vv. Never a space, so never one of the derived keys.
fn parse_state_key(name: String) -> Result<String, UsageError> {
    let safe = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if safe {
        Ok(name)
    } else {
        usage(format!(
            "invalid --state-key '{}': expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            name.escape_debug()
        ))
    }
}

fn parse_backup_dir(dir: String) -> Result<String, UsageError> {
    if dir.trim().is_empty() || dir.len() > 1024 || dir.chars().any(char::is_control) {
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
    let format = raw_value(raw, "--format").unwrap_or_else(|| DEFAULT_FORMAT.into());
    parse_format(&format).unwrap_or_default()
}

/// The mode the raw arguments ask for (`running` when none is given), so a
/// usage error in JSON still carries that mode's fields.
pub fn requested_mode(raw: &[OsString]) -> String {
    raw_value(raw, "--mode").unwrap_or_else(|| mode::DEFAULT.name.into())
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
            // The same question with the same settings prints the same.
            assert_eq!(
                format!("{:?}", c.mode),
                format!("{:?}", spaced.mode),
                "{args:?}"
            );
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
    fn quotes_empty_values_and_option_like_values_survive_the_reading() {
        // Quotes are the user's own: getopt keeps them, so does the check.
        for (arg, user) in [
            ("--username=\"x\"", "\"x\""),
            ("--username='x'", "'x'"),
            ("--username=\"", "\""),
            ("--username=a\"b\"", "a\"b\""),
            ("-u\"\"", "\"\""),
        ] {
            let c = config(&["-H", "h", arg]);
            assert_eq!(c.target.user.as_deref(), Some(user), "{arg}");
        }
        // A value spelt like an option, glued or not, is that option's value.
        let c = config(&["-H", "h", "--username=--hostname=x", "-p", "1"]);
        assert_eq!(c.target.user.as_deref(), Some("--hostname=x"));
        let err = parse_strs(&["-H", "h", "-p", "-1"]).err().unwrap();
        assert!(err.to_string().contains("invalid -p/--port '-1'"), "{err}");
        // An empty value reaches the option's own check.
        for (args, needle) in [
            (&["-H", "h", "-u", ""][..], "-u/--username is empty"),
            (&["-H", "h", "--username="], "-u/--username is empty"),
            (&["-H", ""], "-H"),
        ] {
            let err = parse_strs(args).err().unwrap().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn a_double_dash_or_a_word_that_is_no_option_is_refused_by_name() {
        for (args, needle) in [
            (&["-H", "h", "--"][..], "'--'"),
            (&["-H", "h", "--", "-v"], "'--'"),
            (&["--", "-H", "h"], "'--'"),
            (&["-H", "h", "-"], "'-'"),
        ] {
            let err = parse_strs(args).err().unwrap().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn arguments_that_are_not_utf8_are_refused_naming_them() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'g', 0xff]);
        for (args, needle) in [
            (
                vec!["-H".into(), bad.clone()],
                "-H/--hostname 'g\u{fffd}' is not valid UTF-8",
            ),
            (
                vec!["-H".into(), "h".into(), bad.clone()],
                "argument 'g\u{fffd}' is not valid UTF-8",
            ),
        ] {
            let err = parse(args, &Environment::default())
                .err()
                .unwrap()
                .to_string();
            assert_eq!(err, needle);
        }
    }

    #[test]
    fn a_bad_threshold_or_duration_names_its_option() {
        for (args, message) in [
            (
                &["-H", "h", "-w", ""][..],
                "-w/--warning: invalid range '': empty",
            ),
            (
                &["-H", "h", "-w", "--critical"],
                "-w/--warning: invalid range '--critical'",
            ),
            (&["-H", "h", "-c", "x"], "-c/--critical: invalid range 'x'"),
            (
                &["-H", "h", "--warning-time", "-1"],
                "--warning-time: invalid duration '-1'",
            ),
            (
                &["-H", "h", "--critical-time", "2M"],
                "--critical-time: invalid duration '2M'",
            ),
            (
                &["-H", "h", "--max-gap", "99999999999999d"],
                "--max-gap: invalid duration",
            ),
        ] {
            let err = parse_strs(args).err().unwrap().to_string();
            assert!(err.starts_with(message), "{args:?}: {err}");
        }
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
            (
                &["-H", "h", "--auth-id-file", "f", "--no-session-cache"],
                "--no-session-cache needs -u/--username",
            ),
            (
                &["-H", "h", "--no-session-cache"],
                "--no-session-cache needs -u",
            ),
            (
                &[
                    "-H",
                    "h",
                    "--mode",
                    "age",
                    "--critical-time",
                    "1d",
                    "--backup-dir",
                    " ",
                ],
                "invalid --backup-dir ' '",
            ),
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
            (&["-H", "h", "--state-key", ""], "invalid --state-key ''"),
            (&["-H", "h", "--state-key", "a b"], "invalid --state-key"),
            (&["-H", "h", "--state-key", "-w"], "invalid --state-key"),
            (&["-H", "h", "--state-key", "../x"], "invalid --state-key"),
            (&["-H", "h", "--state-key", "x\n"], "invalid --state-key"),
            (
                &["-H", "h", "--state-key", &"k".repeat(65)],
                "invalid --state-key",
            ),
            (
                &["-H", "h", "--mode", "result", "--state-key", "x"],
                "--state-key means nothing for --mode result",
            ),
            (
                &["-H", "h", "--max-gap", "59"],
                "--max-gap 59 is shorter than 1m",
            ),
            (
                &["-H", "h", "--max-gap", "59s"],
                "--max-gap 59s is shorter than 1m",
            ),
            (
                &["-H", "h", "--mode", "needed", "--max-gap", "0.5m"],
                "shorter than 1m",
            ),
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
        assert_eq!(c.mode.name(), "result");
        assert!(
            format!("{:?}", c.mode).contains("undetermined_state: Critical"),
            "{:?}",
            c.mode
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
    fn a_state_key_is_a_short_safe_token() {
        for name in ["x", "backup-long_1.0", &"k".repeat(64)] {
            let c = config(&["-H", "h", "--state-key", name]);
            assert_eq!(c.mode.service_key().as_deref(), Some(name));
        }
        let c = config(&["-H", "h", "--mode", "needed", "--state-key=n1"]);
        assert_eq!(c.mode.service_key().as_deref(), Some("n1"));
        assert_eq!(
            config(&["-H", "h"]).mode.service_key().as_deref(),
            Some("--max-gap 86400")
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
