//! The password or session id: where it comes from (never the command line)
//! and how it is read from a file or from the value the environment gave.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::output::secret::Secret;
use crate::output::trace::Trace;

/// Where the credentials come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSource {
    /// Log in as `user`; the password from `password_file`, else from the
    /// environment (`GKLM_PASSWORD`).
    Login {
        user: String,
        password_file: Option<PathBuf>,
    },
    /// An existing session id from `file`, else from the environment
    /// (`GKLM_AUTH_ID`).
    SessionId { file: Option<PathBuf> },
}

/// What the environment offered, read once by the caller.
#[derive(Clone, Debug, Default)]
pub struct FromEnvironment {
    pub password: Option<String>,
    pub session_id: Option<String>,
}

pub enum Credentials {
    /// Log in as `user`.
    Login { user: String, password: Secret },
    /// Use a session id obtained elsewhere.
    SessionId(Secret),
}

/// Why no usable credentials were found; each says what to do.
#[derive(Debug)]
pub enum CredentialsError {
    NoPassword,
    NoCredentials,
    Unreadable {
        flag: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    TooLarge {
        flag: &'static str,
        path: PathBuf,
    },
    Empty {
        source: String,
    },
    BadSessionId,
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsError::NoPassword => {
                f.write_str("-u needs a password: give --password-file FILE or set GKLM_PASSWORD")
            }
            CredentialsError::NoCredentials => f.write_str(
                "no credentials: give -u USER with --password-file, or --auth-id-file, or set GKLM_AUTH_ID",
            ),
            CredentialsError::Unreadable { flag, path, error } => {
                write!(f, "cannot read {flag} {}: {error}", path.display())
            }
            CredentialsError::TooLarge { flag, path } => write!(
                f,
                "{flag} {} is larger than {} KiB; is it the right file?",
                path.display(),
                LOCAL_FILE_MAX / 1024
            ),
            CredentialsError::Empty { source } => write!(f, "{source} is empty"),
            CredentialsError::BadSessionId => {
                f.write_str("the session id contains spaces or control characters")
            }
        }
    }
}

impl std::error::Error for CredentialsError {}

pub fn load(
    source: &AuthSource,
    env: FromEnvironment,
    trace: &Trace,
) -> Result<Credentials, CredentialsError> {
    match source {
        AuthSource::Login {
            user,
            password_file,
        } => {
            let password = read_secret(
                password_file.as_deref(),
                env.password,
                "GKLM_PASSWORD",
                "--password-file",
                trace,
            )?
            .ok_or(CredentialsError::NoPassword)?;
            Ok(Credentials::Login {
                user: user.clone(),
                password,
            })
        }
        AuthSource::SessionId { file } => {
            let id = read_secret(
                file.as_deref(),
                env.session_id,
                "GKLM_AUTH_ID",
                "--auth-id-file",
                trace,
            )?
            .ok_or(CredentialsError::NoCredentials)?;
            id.mark_session_id();
            if !plausible_session_id(id.expose()) {
                return Err(CredentialsError::BadSessionId);
            }
            Ok(Credentials::SessionId(id))
        }
    }
}

fn read_secret(
    file: Option<&Path>,
    from_env: Option<String>,
    var: &str,
    flag: &'static str,
    trace: &Trace,
) -> Result<Option<Secret>, CredentialsError> {
    let raw = match file {
        Some(path) => {
            warn_if_readable_by_others(path, flag, trace);
            let bytes = read_bounded(path).map_err(|e| match e {
                LocalFileError::TooLarge => CredentialsError::TooLarge {
                    flag,
                    path: path.to_path_buf(),
                },
                LocalFileError::Io(error) => CredentialsError::Unreadable {
                    flag,
                    path: path.to_path_buf(),
                    error,
                },
            })?;
            let text = String::from_utf8(bytes).map_err(|_| CredentialsError::Unreadable {
                flag,
                path: path.to_path_buf(),
                error: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                ),
            })?;
            // The first line only: editors add a trailing newline, and a
            // second line is never part of a password.
            text.lines().next().unwrap_or("").to_string()
        }
        // An empty variable counts as unset: engines such as Icinga 2 pass
        // every `env` entry, empty when its custom variable is not set.
        None => match from_env {
            Some(value) if !value.is_empty() => value.trim_end_matches(['\r', '\n']).to_string(),
            _ => return Ok(None),
        },
    };
    if raw.is_empty() {
        let source = file.map_or_else(|| var.to_string(), |p| format!("{flag} {}", p.display()));
        return Err(CredentialsError::Empty { source });
    }
    Ok(Some(Secret::new(raw)))
}

/// Largest local file the check reads (password, session id, `--cacert`):
/// far above any of them, so anything larger (`/dev/zero`, a log file given
/// by mistake) is the wrong file and is refused without reading it all.
pub const LOCAL_FILE_MAX: u64 = 64 * 1024;

/// Why a small local file could not be read.
#[derive(Debug)]
pub enum LocalFileError {
    Io(std::io::Error),
    /// More than `LOCAL_FILE_MAX` bytes.
    TooLarge,
}

impl fmt::Display for LocalFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalFileError::Io(e) => e.fmt(f),
            LocalFileError::TooLarge => write!(f, "larger than {} KiB", LOCAL_FILE_MAX / 1024),
        }
    }
}

impl std::error::Error for LocalFileError {}

/// The one rule for a session id, wherever it comes from (login answer,
/// --auth-id-file, state file): it goes into an HTTP header and the state
/// file, so refuse anything that could break either.
pub fn plausible_session_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 4096 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Read a file of at most `LOCAL_FILE_MAX` bytes; reading stops one byte
/// past the limit, so an endless file costs no more than a large one.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, LocalFileError> {
    let file = std::fs::File::open(path).map_err(LocalFileError::Io)?;
    let mut bytes = Vec::new();
    file.take(LOCAL_FILE_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(LocalFileError::Io)?;
    if bytes.len() as u64 > LOCAL_FILE_MAX {
        return Err(LocalFileError::TooLarge);
    }
    Ok(bytes)
}

fn warn_if_readable_by_others(path: &Path, flag: &str, trace: &Trace) {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o044 != 0
    {
        trace.note(
            1,
            format!(
                "warning: {flag} {} is readable by group or others (mode {:o}); chmod 600 it",
                path.display(),
                meta.permissions().mode() & 0o777
            ),
        );
    }
}
