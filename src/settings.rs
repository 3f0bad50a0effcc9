//! The settings of a run, in the domain's own types: what the command line
//! gave (`Given`, read by `cli`) and the environment are turned into, the
//! typed defaults, and the rules a value must keep to be one. Nothing here
//! knows how an option is spelt on the command line, beyond naming it in a
//! message.

use std::path::PathBuf;
use std::time::Duration;

use crate::gklm::credentials::{AuthSource, FromEnvironment};
use crate::gklm::target::{Host, Prefix, Target};
use crate::gklm::tls::OpensslEnv;
use crate::history::Location;
use crate::mode::threshold::{Range, Thresholds, parse_duration};
use crate::mode::zone::Zone;
use crate::mode::{self, Mode, ModeOptions, kind};
use crate::output::render::Format;
use crate::output::state::State;

/// The defaults, typed. `FLAGS` states each as `--help` shows it, and a
/// test reads those words back to these values.
pub const DEFAULT_PORT: u16 = 9443;
pub const DEFAULT_LANGUAGE: &str = "en";
pub const DEFAULT_UNREACHABLE_STATE: State = State::Critical;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The modes asked, in the order given: one, or several (the whole
    /// picture), each with its own options.
    pub modes: Vec<Mode>,
    /// Whether several were asked for (`--mode` more than once, or a list
    /// of modes): they are printed as one picture.
    pub picture: bool,
    pub state: Location,
    pub unreachable_state: State,
    pub timeout: Duration,
    pub verbosity: u8,
    pub format: Format,
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

/// What a command line gave, as text, by each option's long name: the
/// value of each valued option, and how often each switch was given. Each
/// value is named in messages as the command line spells its option
/// (`-w/--warning`).
#[derive(Default)]
pub struct Given {
    pub values: Vec<Valued>,
    pub counts: Vec<(&'static str, usize)>,
}

/// One valued option: its long name, how a message names it, its value.
pub struct Valued {
    pub long: &'static str,
    pub named: String,
    pub text: Option<String>,
}

impl Given {
    /// The value given to a valued option, taken out (it is read once).
    fn value(&mut self, long: &str) -> Option<String> {
        self.values
            .iter_mut()
            .find(|v| v.long == long)
            .and_then(|v| v.text.take())
    }

    /// How a message names the option `long`.
    fn named(&self, long: &str) -> String {
        self.values
            .iter()
            .find(|v| v.long == long)
            .map_or_else(|| long.to_string(), |v| v.named.clone())
    }

    pub fn count(&self, long: &str) -> usize {
        self.counts
            .iter()
            .find(|(l, _)| *l == long)
            .map_or(0, |(_, n)| *n)
    }
}

impl Config {
    /// The settings the values given stand for, defaults filled in.
    pub fn from_given(args: Given, env: &Environment) -> Result<Config, String> {
        settings_of(args, env)
    }

    /// The settings of a run of several modes: `run` gave the run's
    /// options, each of `modes` its own.
    pub fn of_picture(
        run: Given,
        modes: Vec<(String, Given)>,
        env: &Environment,
    ) -> Result<Config, String> {
        let mut config = settings_of(run, env)?;
        config.modes = modes
            .into_iter()
            .map(|(name, mut given)| mode::choose(&name, &mode_options(&mut given)?))
            .collect::<Result<_, _>>()?;
        config.picture = true;
        Ok(config)
    }

    /// The mode of a run of one mode (the first, of several).
    pub fn mode(&self) -> &Mode {
        &self.modes[0]
    }
}

fn settings_of(mut args: Given, env: &Environment) -> Result<Config, String> {
    let verbosity = u8::try_from(args.count("--verbose")).unwrap_or(u8::MAX);
    let session_cache = args.count("--no-session-cache") == 0;
    let insecure = args.count("--insecure") > 0;
    let host = args.value("--hostname");
    let port = args
        .value("--port")
        .map_or(Ok(DEFAULT_PORT), |p| parse_port(&p))?;
    let prefix = match args.value("--prefix").as_deref() {
        None | Some("auto") => Prefix::Auto,
        Some(p) => Prefix::Fixed(
            Prefix::fixed(p)
                .ok_or_else(|| format!("invalid --prefix '{p}': expected auto, /SKLM or /GKLM"))?,
        ),
    };
    let language = args
        .value("--language")
        .map_or(Ok(DEFAULT_LANGUAGE.to_string()), parse_language)?;
    let auth = parse_auth(
        args.value("--username"),
        args.value("--password-file"),
        args.value("--auth-id-file"),
    )?;
    // Only a login's session is cached: with a given id the option would
    // promise something it cannot change.
    if !session_cache && !matches!(auth, AuthSource::Login { .. }) {
        return Err("--no-session-cache needs -u/--username: a session id given by --auth-id-file or GKLM_AUTH_ID is never cached".into());
    }
    let cacert = args.value("--cacert");
    let mode_name = args.value("--mode");
    let mode_options = mode_options(&mut args)?;
    let state_file = args.value("--state-file");
    let unreachable_state = args
        .value("--unreachable-state")
        .map_or(Ok(DEFAULT_UNREACHABLE_STATE), |s| {
            parse_state(&s, "--unreachable-state")
        })?;
    let timeout = args
        .value("--timeout")
        .map_or(Ok(DEFAULT_TIMEOUT), |t| parse_timeout(&t))?;
    let format = args
        .value("--format")
        .map_or(Ok(Format::default()), |f| parse_format(&f))?;
    let trust = match (cacert, insecure) {
        (Some(_), true) => {
            return Err("--cacert and --insecure contradict each other; give one".into());
        }
        (Some(path), false) => TrustChoice::CaFile(PathBuf::from(path)),
        (None, true) => TrustChoice::Insecure,
        (None, false) => TrustChoice::System,
    };
    let mode = mode::choose(
        mode_name.as_deref().unwrap_or(mode::DEFAULT.name),
        &mode_options,
    )?;
    let host = Host::parse(&host.ok_or("missing -H/--hostname")?).map_err(|e| e.to_string())?;
    let user = match &auth {
        AuthSource::Login { user, .. } => Some(user.clone()),
        AuthSource::SessionId { .. } => None,
    };
    Ok(Config {
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
        modes: vec![mode],
        picture: false,
        state: Location::choose(parse_state_file(state_file)?, &env.state_dirs),
        unreachable_state,
        timeout,
        verbosity,
        format,
    })
}

/// The options only some modes take, each read by its own syntax; the
/// mode decides whether it takes them and how they combine.
fn mode_options(args: &mut Given) -> Result<ModeOptions, String> {
    let mut range = |long: &str| {
        let value = args.value(long);
        value
            .map(|v| Range::parse(&v).map_err(|e| format!("{}: {e}", args.named(long))))
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
            .map(|z| Zone::parse(&z))
            .transpose()?,
    })
}

/// A duration, its syntax error named with the option it was given to:
/// `-w -c 5` must not read as a complaint about `-c`.
fn duration(args: &mut Given, long: &str) -> Result<Option<u64>, String> {
    let value = args.value(long);
    value
        .map(|v| parse_duration(&v).map_err(|e| format!("{}: {e}", args.named(long))))
        .transpose()
}

fn usage<T>(text: impl Into<String>) -> Result<T, String> {
    Err(text.into())
}

/// Shorter than any check interval, a `--max-gap` would restart the count
/// at every check, and -c or --critical-time could never fire.
pub fn parse_max_gap(text: String) -> Result<u64, String> {
    let gap = parse_duration(&text).map_err(|e| format!("--max-gap: {e}"))?;
    if gap < kind::MIN_MAX_GAP {
        return Err(format!(
            "--max-gap {text} is shorter than 1m; give at least the check interval (default {})",
            kind::DEFAULT_MAX_GAP
        ));
    }
    Ok(gap)
}

pub fn parse_auth(
    user: Option<String>,
    password_file: Option<String>,
    auth_id_file: Option<String>,
) -> Result<AuthSource, String> {
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

pub fn parse_state(text: &str, flag: &str) -> Result<State, String> {
    State::parse(text).ok_or_else(|| {
        format!("invalid {flag} '{text}': expected ok, warning, critical or unknown")
    })
}

pub fn parse_format(text: &str) -> Result<Format, String> {
    match text {
        "nagios" => Ok(Format::Nagios),
        "json" => Ok(Format::Json),
        "prometheus" => Ok(Format::Prometheus),
        other => usage(format!(
            "invalid --format '{other}': expected nagios, json or prometheus"
        )),
    }
}

pub fn parse_port(p: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("invalid -p/--port '{p}': expected 1 to 65535"))
}

pub fn parse_language(language: String) -> Result<String, String> {
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

pub fn parse_timeout(t: &str) -> Result<Duration, String> {
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
pub fn parse_state_file(path: Option<String>) -> Result<Option<PathBuf>, String> {
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
pub fn parse_state_key(name: String) -> Result<String, String> {
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

pub fn parse_backup_dir(dir: String) -> Result<String, String> {
    if dir.trim().is_empty() || dir.len() > 1024 || dir.chars().any(char::is_control) {
        return usage(format!(
            "invalid --backup-dir '{}': expected a directory path on the GKLM server",
            dir.escape_debug()
        ));
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{self, Command};

    /// The settings of a command line, as the binary reads it.
    fn config_with(args: &[&str], env: &Environment) -> Config {
        match cli::parse(args.iter().map(Into::into).collect(), env) {
            Ok(Command::Run(config)) => *config,
            _ => panic!("not a run: {args:?}"),
        }
    }

    #[test]
    fn a_state_key_is_a_short_safe_token() {
        for name in ["x", "backup-long_1.0", &"k".repeat(64)] {
            let c = config_with(&["-H", "h", "--state-key", name], &Environment::default());
            assert_eq!(c.mode().service_key().as_deref(), Some(name));
        }
        let c = config_with(
            &["-H", "h", "--mode", "needed", "--state-key=n1"],
            &Environment::default(),
        );
        assert_eq!(c.mode().service_key().as_deref(), Some("n1"));
        assert_eq!(
            config_with(&["-H", "h"], &Environment::default())
                .mode()
                .service_key()
                .as_deref(),
            Some("max_gap=86400")
        );
    }

    #[test]
    fn the_state_location_comes_from_the_option_then_the_environment() {
        let env = Environment {
            state_dirs: [None, Some(PathBuf::from("/legacy"))],
            ..Environment::default()
        };
        let run = |args: &[&str]| config_with(args, &env).state;
        assert_eq!(run(&["-H", "h"]), Location::Dir(PathBuf::from("/legacy")));
        assert_eq!(
            run(&["-H", "h", "--state-file", "/x/s.json"]),
            Location::File(PathBuf::from("/x/s.json"))
        );
    }
}
