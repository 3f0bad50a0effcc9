//! Reading the password or session id from a file or the environment.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cli::AuthSource;
use crate::secret::Secret;
use crate::trace::Trace;

pub enum Credentials {
    /// Log in as `user`.
    Login { user: String, password: Secret },
    /// Use a session id obtained elsewhere.
    SessionId(Secret),
}

pub fn load(source: &AuthSource, trace: &Trace) -> Result<Credentials, String> {
    match source {
        AuthSource::Login {
            user,
            password_file,
        } => {
            let password = from_file_or_env(
                password_file.as_deref(),
                "GKLM_PASSWORD",
                "--password-file",
                trace,
            )?
            .ok_or("-u needs a password: give --password-file FILE or set GKLM_PASSWORD")?;
            Ok(Credentials::Login {
                user: user.clone(),
                password,
            })
        }
        AuthSource::SessionId { file } => {
            let id = from_file_or_env(file.as_deref(), "GKLM_AUTH_ID", "--auth-id-file", trace)?
                .ok_or("no credentials: give -u USER with --password-file, or --auth-id-file, or set GKLM_AUTH_ID")?;
            if !id.expose().bytes().all(|b| b.is_ascii_graphic()) {
                return Err("the session id contains spaces or control characters".into());
            }
            Ok(Credentials::SessionId(id))
        }
    }
}

fn from_file_or_env(
    file: Option<&Path>,
    var: &str,
    flag: &str,
    trace: &Trace,
) -> Result<Option<Secret>, String> {
    let raw = match file {
        Some(path) => {
            warn_if_readable_by_others(path, flag, trace);
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {flag} {}: {e}", path.display()))?;
            // The first line only: editors add a trailing newline, and a
            // second line is never part of a password.
            text.lines().next().unwrap_or("").to_string()
        }
        // An empty variable counts as unset: engines such as Icinga 2 pass
        // every `env` entry, empty when its custom variable is not set.
        None => match std::env::var(var) {
            Ok(value) if !value.is_empty() => value.trim_end_matches(['\r', '\n']).to_string(),
            _ => return Ok(None),
        },
    };
    if raw.is_empty() {
        let from = file.map_or_else(|| var.to_string(), |p| format!("{flag} {}", p.display()));
        return Err(format!("{from} is empty"));
    }
    Ok(Some(Secret::new(raw)))
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
