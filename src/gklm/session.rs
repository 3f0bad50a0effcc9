//! Getting one answer out of GKLM: which credentials, which session, which
//! path prefix, and what to remember about them for the next run.

use crate::gklm::json::Body;

use crate::gklm::api::{Endpoint, GklmError, GklmMessage, Server, Step};
use crate::gklm::credentials::Credentials;
use crate::gklm::target::Prefix;
use crate::output::secret::Secret;
use crate::output::trace::Trace;

/// The prefixes `auto` tries, oldest naming first.
pub const KNOWN_PREFIXES: [&str; 2] = ["/SKLM", "/GKLM"];

/// The answer, and what the state file should hold afterwards.
pub struct Fetched {
    /// GKLM's JSON answer to the mode's question.
    pub answer: Result<Body, QueryError>,
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
    /// A login succeeded on this prefix in this run, so the prefix is
    /// GKLM's; only the mode's request got 404/405: this GKLM lacks it.
    NotOffered {
        what: &'static str,
        prefix: String,
        path: &'static str,
        status: u16,
        /// The mode's advice for a GKLM that lacks the request.
        advice: &'static str,
    },
    /// GKLM refused a session it had issued moments before in this run:
    /// not an expired session, but a request this user may not make.
    NotPermitted {
        what: &'static str,
        user: String,
        status: u16,
        detail: GklmMessage,
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
            QueryError::NotOffered {
                what,
                prefix,
                path,
                status,
                advice,
            } => write!(
                f,
                "this GKLM does not offer the {what} (GET {prefix}/rest/v1/ckms/{path}: HTTP {status}, though the login there worked); {advice}"
            ),
            QueryError::NotPermitted {
                what,
                user,
                status,
                detail,
            } => write!(
                f,
                "GKLM rejected the session it had just issued when asked the {what} (HTTP {status}{}); the user {user} may lack the permission for this request: check its role in GKLM",
                detail.suffix()
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

pub fn fetch(gklm: &dyn Server, plan: Plan<'_>, trace: &Trace) -> Fetched {
    let candidates = candidate_prefixes(plan.prefix, plan.remembered_prefix, trace);
    let auto = matches!(plan.prefix, Prefix::Auto);
    let mut session = plan.cached_session.clone();
    let mut not_found = Vec::new();
    for prefix in &candidates {
        let (status, kept) = attempt(gklm, prefix, &plan, session.take(), trace);
        session = kept;
        match status {
            Err(QueryError::Gklm(GklmError::NotFound { url, status, .. })) if auto => {
                trace.note(
                    1,
                    format!("prefix {prefix}: HTTP {status} at {url}, trying the next one"),
                );
                not_found.push(url);
            }
            status => {
                let answered =
                    !matches!(status, Err(QueryError::Gklm(GklmError::Transport { .. })));
                return Fetched {
                    answer: status,
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
    gklm: &dyn Server,
    prefix: &str,
    plan: &Plan<'_>,
    cached: Option<Secret>,
    trace: &Trace,
) -> (Result<Body, QueryError>, Option<Secret>) {
    let ask = |id: &Secret| gklm.ask(prefix, plan.endpoint, id);
    let (user, password) = match plan.credentials {
        Credentials::SessionId(id) => return (ask(id).map_err(QueryError::Gklm), None),
        Credentials::Login { user, password } => (user, password),
    };
    let login = || {
        trace.note(1, format!("session: logging in as {user}"));
        gklm.login(prefix, user, password)
    };
    let (status, id) = match cached {
        Some(cached) => {
            trace.note(1, "session: reusing the cached session");
            match ask(&cached) {
                // Expired or logged out elsewhere; or a 404 that a cached
                // session cannot tell apart (wrong prefix, or a request this
                // GKLM lacks): one fresh login settles it, same budget.
                Err(e @ (GklmError::SessionRejected { .. } | GklmError::NotFound { .. })) => {
                    let why = match e {
                        GklmError::NotFound { status, .. } => format!("got HTTP {status}"),
                        _ => "rejected".to_string(),
                    };
                    trace.note(
                        1,
                        format!("session: cached session {why}, logging in again"),
                    );
                    match login() {
                        Ok(fresh) => (ask_fresh(ask(&fresh), prefix, plan, user), fresh),
                        Err(e) => return (Err(QueryError::Gklm(e)), None),
                    }
                }
                status => (status.map_err(QueryError::Gklm), cached),
            }
        }
        None => match login() {
            Ok(fresh) => (ask_fresh(ask(&fresh), prefix, plan, user), fresh),
            Err(e) => return (Err(QueryError::Gklm(e)), None),
        },
    };
    if matches!(
        status,
        Err(QueryError::Gklm(GklmError::SessionRejected { .. }) | QueryError::NotPermitted { .. })
    ) {
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

/// The answer to a question asked with a session this run just got from a
/// login on the same prefix: that prefix is GKLM's, so a 404/405 means the
/// request is missing, and a rejected session means a missing permission.
fn ask_fresh(
    answer: Result<Body, GklmError>,
    prefix: &str,
    plan: &Plan<'_>,
    user: &str,
) -> Result<Body, QueryError> {
    answer.map_err(|e| match e {
        GklmError::NotFound {
            step: Step::Ask(what),
            status,
            ..
        } => QueryError::NotOffered {
            what,
            prefix: prefix.to_string(),
            path: plan.endpoint.path,
            status,
            advice: plan.endpoint.when_missing,
        },
        // 401 is GKLM's word for a session it does not accept; a 400
        // (malformed id) stays what it is.
        GklmError::SessionRejected {
            status: status @ 401,
            detail,
        } => QueryError::NotPermitted {
            what: plan.endpoint.what,
            user: user.to_string(),
            status,
            detail,
        },
        other => QueryError::Gklm(other),
    })
}
