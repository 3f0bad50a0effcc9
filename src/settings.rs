//! The settings of a run, in the domain's own types: what the command line
//! and the environment are turned into (by `cli`), and the rules a value
//! must keep to be one. Nothing here knows how an option is spelt on the
//! command line, beyond naming it in a message.

use std::path::PathBuf;
use std::time::Duration;

use crate::gklm::credentials::{AuthSource, FromEnvironment};
use crate::gklm::target::Target;
use crate::gklm::tls::OpensslEnv;
use crate::history::Location;
use crate::mode::threshold::parse_duration;
use crate::mode::{Mode, streak};
use crate::output::render::Format;
use crate::output::report::State;

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

fn usage<T>(text: impl Into<String>) -> Result<T, String> {
    Err(text.into())
}

/// Shorter than any check interval, a `--max-gap` would restart the count
/// at every check, and -c or --critical-time could never fire.
pub fn parse_max_gap(text: String) -> Result<u64, String> {
    let gap = parse_duration(&text).map_err(|e| format!("--max-gap: {e}"))?;
    if gap < streak::MIN_MAX_GAP {
        return Err(format!(
            "--max-gap {text} is shorter than 1m; give at least the check interval (default {})",
            streak::DEFAULT_MAX_GAP
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
