//! Secrets (password, session id) and the last line of defence that keeps
//! them out of anything printed.

use std::fmt;
use std::sync::Mutex;

/// Every secret value this process has seen, so that output can be scrubbed
/// even if a server echoes one back in an error message.
///
/// Values shorter than `MIN_REDACTED` are not scrubbed: masking every `x` or
/// `ok` would wreck the output, and the check never prints a secret itself;
/// the scrub is only the last line of defence.
static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

const MIN_REDACTED: usize = 4;

/// A value that must never be printed. `Debug` and `Display` show `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        if value.len() >= MIN_REDACTED
            && let Ok(mut known) = KNOWN.lock()
        {
            // Longest first, so a secret that contains another is masked whole.
            let at = known.partition_point(|k| k.len() >= value.len());
            known.insert(at, value.clone());
        }
        Secret(value)
    }

    /// The raw value, for the one place that must send it to GKLM.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// Replace every known secret in `text` with `****`.
pub fn redact(text: &str) -> String {
    let known = KNOWN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    known.iter().fold(text.to_string(), |acc, secret| {
        acc.replace(secret.as_str(), "****")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format_and_are_redacted() {
        let s = Secret::new("hunter2-xyz".into());
        assert_eq!(format!("{s} {s:?}"), "**** Secret(****)");
        assert_eq!(
            redact("login as hunter2-xyz failed"),
            "login as **** failed"
        );
        assert_eq!(s.expose(), "hunter2-xyz");
    }
}
