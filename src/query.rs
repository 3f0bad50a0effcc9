//! Getting one answer out of GKLM: which credentials, which session, which
//! path prefix, and what to remember about them for the next run.

use serde_json::Value;

use crate::credentials::Credentials;
use crate::gklm::{Endpoint, Gklm, GklmError};
use crate::secret::Secret;
use crate::target::Prefix;
use crate::trace::Trace;

/// The prefixes `auto` tries, oldest naming first.
pub const KNOWN_PREFIXES: [&str; 2] = ["/SKLM", "/GKLM"];

/// The answer, and what the state file should hold afterwards.
pub struct Fetched {
    /// GKLM's JSON answer to the mode's question.
    pub answer: Result<Value, QueryError>,
    /// The prefix that answered, to try first next time.
    pub prefix: Option<String>,
    /// The session id to keep for the next run, if any.
    pub session: Option<Secret>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryError {
    Gklm(GklmError),
    /// `--prefix auto` found nothing at any known prefix.
    NoPrefix {
        urls: Vec<String>,
    },
}

impl QueryError {
    /// Failures of the network or TLS, as opposed to a server that answered.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, QueryError::Gklm(e) if e.is_unreachable())
    }
}

impl std::error::Error for QueryError {}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Gklm(e) => e.fmt(f),
            QueryError::NoPrefix { urls } => write!(
                f,
                "no GKLM REST API found: {} answered 404/405; check -H and -p, or give --prefix",
                urls.join(" and ")
            ),
        }
    }
}

/// Everything `fetch` needs from the configuration.
pub struct Plan<'a> {
    pub endpoint: &'a Endpoint,
    pub prefix: &'a Prefix,
    pub remembered_prefix: Option<&'a str>,
    pub credentials: &'a Credentials,
    /// Keep the session between runs (with `-u` only).
    pub cache_session: bool,
    pub cached_session: Option<Secret>,
}

pub fn fetch(gklm: &Gklm<'_>, plan: Plan<'_>, trace: &Trace) -> Fetched {
    let candidates = candidate_prefixes(plan.prefix, plan.remembered_prefix, trace);
    let auto = matches!(plan.prefix, Prefix::Auto);
    let mut session = plan.cached_session.clone();
    let mut not_found = Vec::new();
    for prefix in &candidates {
        let (status, kept) = attempt(gklm, prefix, &plan, session.take(), trace);
        session = kept;
        match status {
            Err(GklmError::NotFound { url, status, .. }) if auto => {
                trace.note(
                    1,
                    format!("prefix {prefix}: HTTP {status} at {url}, trying the next one"),
                );
                not_found.push(url);
            }
            status => {
                let answered = !matches!(status, Err(GklmError::Transport { .. }));
                return Fetched {
                    answer: status.map_err(QueryError::Gklm),
                    prefix: answered.then(|| prefix.clone()),
                    session: session.filter(|_| plan.cache_session),
                };
            }
        }
    }
    Fetched {
        answer: Err(QueryError::NoPrefix { urls: not_found }),
        prefix: None,
        session: session.filter(|_| plan.cache_session),
    }
}

fn candidate_prefixes(prefix: &Prefix, remembered: Option<&str>, trace: &Trace) -> Vec<String> {
    match prefix {
        Prefix::Fixed(p) => {
            trace.note(1, format!("prefix {p} (given with --prefix)"));
            vec![p.clone()]
        }
        Prefix::Auto => {
            match remembered {
                Some(p) => trace.note(1, format!("prefix {p} (remembered from an earlier run)")),
                None => trace.note(1, "prefix auto: trying /SKLM, then /GKLM"),
            }
            let mut list: Vec<String> = remembered.into_iter().map(str::to_string).collect();
            list.extend(
                KNOWN_PREFIXES
                    .iter()
                    .map(|p| p.to_string())
                    .filter(|p| Some(p.as_str()) != remembered),
            );
            list
        }
    }
}

/// One try at one prefix. Returns the status and the session id that is
/// still valid afterwards (None once GKLM has rejected or we logged out).
fn attempt(
    gklm: &Gklm<'_>,
    prefix: &str,
    plan: &Plan<'_>,
    cached: Option<Secret>,
    trace: &Trace,
) -> (Result<Value, GklmError>, Option<Secret>) {
    let ask = |id: &Secret| gklm.ask(prefix, plan.endpoint, id);
    let (user, password) = match plan.credentials {
        Credentials::SessionId(id) => return (ask(id), None),
        Credentials::Login { user, password } => (user, password),
    };
    let (id, reused) = match cached {
        Some(id) => {
            trace.note(1, "session: reusing the cached session");
            (id, true)
        }
        None => {
            trace.note(1, format!("session: logging in as {user}"));
            match gklm.login(prefix, user, password) {
                Ok(id) => (id, false),
                Err(e) => return (Err(e), None),
            }
        }
    };
    let (status, id) = match ask(&id) {
        Err(GklmError::SessionRejected { .. }) if reused => {
            // Expired or logged out elsewhere: one fresh login, same budget.
            trace.note(
                1,
                format!("session: cached session rejected, logging in again as {user}"),
            );
            match gklm.login(prefix, user, password) {
                Ok(fresh) => (ask(&fresh), fresh),
                Err(e) => return (Err(e), None),
            }
        }
        status => (status, id),
    };
    if matches!(status, Err(GklmError::SessionRejected { .. })) {
        return (status, None);
    }
    if plan.cache_session {
        return (status, Some(id));
    }
    if let Err(e) = gklm.logout(prefix, &id) {
        trace.note(1, format!("logout failed (ignored): {e}"));
    }
    (status, None)
}
