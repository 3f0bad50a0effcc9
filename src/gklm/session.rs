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

/// The answers, and what the state file should hold afterwards.
pub struct Fetched {
    /// GKLM's JSON answer to each question, in the order of the plan's
    /// endpoints.
    pub answers: Vec<Result<Body, QueryError>>,
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
    /// The questions, asked side by side in one session (a run of one mode
    /// has one).
    pub endpoints: &'a [Endpoint],
    pub prefix: &'a Prefix,
    pub remembered_prefix: Option<&'a str>,
    pub credentials: &'a Credentials,
    /// Keep the session between runs (with `-u` only).
    pub cache_session: bool,
    pub cached_session: Option<Secret>,
}

/// A GKLM that the questions of one run may ask at once.
pub type Shared<'a> = &'a (dyn Server + Sync);

/// Ask every question of the plan, each as it would be asked alone, at
/// the cost of one login for all of them.
pub fn fetch(gklm: Shared, plan: Plan<'_>, trace: &Trace) -> Fetched {
    let candidates = candidate_prefixes(plan.prefix, plan.remembered_prefix, trace);
    match plan.credentials {
        Credentials::SessionId(id) => with_session_id(gklm, &plan, &candidates, id, trace),
        Credentials::Login { user, password } => {
            let login = Login {
                gklm,
                user,
                password,
                trace,
            };
            with_login(&login, &plan, &candidates)
        }
    }
}

/// A session id the user gave: no login to share, so each question finds
/// its own prefix, side by side; the first that answered is remembered.
fn with_session_id(
    gklm: Shared,
    plan: &Plan<'_>,
    candidates: &[String],
    id: &Secret,
    trace: &Trace,
) -> Fetched {
    let asked = side_by_side(plan.endpoints, |endpoint| {
        let mut not_found = Vec::new();
        for prefix in candidates {
            match gklm.ask(prefix, endpoint, id) {
                Err(GklmError::NotFound { url, status, .. }) if plan.prefix == &Prefix::Auto => {
                    trace_next(trace, prefix, status, &url);
                    not_found.push(url);
                }
                answer => {
                    let answered = !matches!(answer, Err(GklmError::Transport { .. }));
                    return (
                        answer.map_err(QueryError::Gklm),
                        answered.then(|| prefix.clone()),
                    );
                }
            }
        }
        (Err(QueryError::NoPrefix { urls: not_found }), None)
    });
    let prefix = asked.iter().find_map(|(_, prefix)| prefix.clone());
    Fetched {
        answers: asked.into_iter().map(|(answer, _)| answer).collect(),
        prefix,
        session: None,
    }
}

/// The login of this run, made at most when a question needs it.
struct Login<'a> {
    gklm: Shared<'a>,
    user: &'a str,
    password: &'a Secret,
    trace: &'a Trace,
}

impl Login<'_> {
    fn at(&self, prefix: &str) -> Result<Secret, GklmError> {
        self.trace
            .note(1, format!("session: logging in as {}", self.user));
        self.gklm.login(prefix, self.user, self.password)
    }
}

/// User and password: a cached session asks every question side by side;
/// where it is refused (expired, or a 404 it cannot tell apart from a
/// wrong prefix), one login, and those questions asked again. Without one,
/// one login, then every question side by side. A login that finds no GKLM
/// tries the next prefix. The session is logged out at the end unless it
/// is cached, or GKLM refused it.
fn with_login(login: &Login<'_>, plan: &Plan<'_>, candidates: &[String]) -> Fetched {
    let auto = plan.prefix == &Prefix::Auto;
    let mut cached = plan.cached_session.clone();
    let mut not_found = Vec::new();
    for prefix in candidates {
        let asked = match cached.take() {
            Some(id) => with_cached(login, plan, prefix, id),
            None => match login.at(prefix) {
                Ok(fresh) => Asked::fresh(login, plan, prefix, fresh),
                Err(e) => Asked::failed(plan, e),
            },
        };
        match asked.login_not_found() {
            Some((url, status)) if auto => {
                trace_next(login.trace, prefix, status, &url);
                not_found.push(url);
            }
            _ => return asked.fetched(login, plan, prefix),
        }
    }
    let none = Err(QueryError::NoPrefix { urls: not_found });
    Fetched {
        answers: plan.endpoints.iter().map(|_| none.clone()).collect(),
        prefix: None,
        session: None,
    }
}

/// The questions asked at one prefix, and the session that asked them.
struct Asked {
    answers: Vec<Result<Body, QueryError>>,
    session: Option<Secret>,
    /// The login failed: every question not answered has its error.
    login: Option<GklmError>,
}

impl Asked {
    /// Every question, with a session GKLM just issued at `prefix`.
    fn fresh(login: &Login<'_>, plan: &Plan<'_>, prefix: &str, id: Secret) -> Asked {
        let answers = side_by_side(plan.endpoints, |endpoint| {
            let answer = login.gklm.ask(prefix, endpoint, &id);
            ask_fresh(answer, prefix, endpoint, login.user)
        });
        Asked {
            answers,
            session: Some(id),
            login: None,
        }
    }

    /// A login that failed: no question was asked.
    fn failed(plan: &Plan<'_>, e: GklmError) -> Asked {
        Asked {
            answers: plan
                .endpoints
                .iter()
                .map(|_| Err(QueryError::Gklm(e.clone())))
                .collect(),
            session: None,
            login: Some(e),
        }
    }

    /// Where the login found no GKLM (a 404): the next prefix may.
    fn login_not_found(&self) -> Option<(String, u16)> {
        match &self.login {
            Some(GklmError::NotFound { url, status, .. }) => Some((url.clone(), *status)),
            _ => None,
        }
    }

    /// The answers, the prefix if GKLM answered there, and the session to
    /// keep; a session GKLM refused is dropped, not logged out.
    fn fetched(self, login: &Login<'_>, plan: &Plan<'_>, prefix: &str) -> Fetched {
        let answered = self
            .answers
            .iter()
            .any(|a| !matches!(a, Err(QueryError::Gklm(GklmError::Transport { .. }))));
        let refused = self.answers.iter().any(|a| {
            matches!(
                a,
                Err(QueryError::Gklm(GklmError::SessionRejected { .. })
                    | QueryError::NotPermitted { .. })
            )
        });
        let session = self.session.filter(|_| !refused);
        Fetched {
            answers: self.answers,
            prefix: answered.then(|| prefix.to_string()),
            session: end_or_keep(login, plan, prefix, session),
        }
    }
}

/// Every question with the cached session; those it could not answer
/// (refused, or a 404) asked again after one login.
fn with_cached(login: &Login<'_>, plan: &Plan<'_>, prefix: &str, id: Secret) -> Asked {
    login.trace.note(1, "session: reusing the cached session");
    let mut answers: Vec<Result<Body, GklmError>> = side_by_side(plan.endpoints, |endpoint| {
        login.gklm.ask(prefix, endpoint, &id)
    });
    let stale = |a: &Result<Body, GklmError>| match a {
        Err(GklmError::NotFound { status, .. }) => Some(format!("got HTTP {status}")),
        Err(GklmError::SessionRejected { .. }) => Some("rejected".to_string()),
        _ => None,
    };
    let Some(why) = answers.iter().find_map(stale) else {
        return Asked {
            answers: answers
                .into_iter()
                .map(|a| a.map_err(QueryError::Gklm))
                .collect(),
            session: Some(id),
            login: None,
        };
    };
    // Expired or logged out elsewhere; or a 404 that a cached session
    // cannot tell apart (wrong prefix, or a request this GKLM lacks): one
    // fresh login settles it, same budget.
    login.trace.note(
        1,
        format!("session: cached session {why}, logging in again"),
    );
    let again: Vec<usize> = (0..answers.len())
        .filter(|&i| stale(&answers[i]).is_some())
        .collect();
    let fresh = match login.at(prefix) {
        Ok(fresh) => fresh,
        Err(e) => {
            let mut failed = Asked::failed(plan, e);
            for (i, answer) in answers.drain(..).enumerate() {
                if !again.contains(&i) {
                    failed.answers[i] = answer.map_err(QueryError::Gklm);
                }
            }
            // Only a login that found no GKLM at all moves to the next prefix.
            if again.len() < plan.endpoints.len() {
                failed.login = None;
            }
            return failed;
        }
    };
    let endpoints: Vec<Endpoint> = again.iter().map(|&i| plan.endpoints[i].clone()).collect();
    let retried = side_by_side(&endpoints, |endpoint| {
        ask_fresh(
            login.gklm.ask(prefix, endpoint, &fresh),
            prefix,
            endpoint,
            login.user,
        )
    });
    let mut answers: Vec<Result<Body, QueryError>> = answers
        .into_iter()
        .map(|a| a.map_err(QueryError::Gklm))
        .collect();
    for (i, answer) in again.into_iter().zip(retried) {
        answers[i] = answer;
    }
    Asked {
        answers,
        session: Some(fresh),
        login: None,
    }
}

/// The -v line for a prefix where GKLM is not.
fn trace_next(trace: &Trace, prefix: &str, status: u16, url: &str) {
    trace.note(
        1,
        format!("prefix {prefix}: HTTP {status} at {url}, trying the next one"),
    );
}

/// The session afterwards: kept if it is to be cached, else logged out.
fn end_or_keep(
    login: &Login<'_>,
    plan: &Plan<'_>,
    prefix: &str,
    session: Option<Secret>,
) -> Option<Secret> {
    if plan.cache_session {
        return session;
    }
    if let Some(id) = &session
        && let Err(e) = login.gklm.logout(prefix, id)
    {
        login.trace.note(1, format!("logout failed (ignored): {e}"));
    }
    None
}

/// `ask` for each endpoint, each in a thread of its own when there are
/// several (one runs here); the answers in the endpoints' order.
fn side_by_side<T: Send>(endpoints: &[Endpoint], ask: impl Fn(&Endpoint) -> T + Sync) -> Vec<T> {
    match endpoints {
        [] => Vec::new(),
        [one] => vec![ask(one)],
        [first, rest @ ..] => std::thread::scope(|scope| {
            let others: Vec<_> = rest
                .iter()
                .map(|endpoint| scope.spawn(|| ask(endpoint)))
                .collect();
            let mut answers = vec![ask(first)];
            for other in others {
                match other.join() {
                    Ok(answer) => answers.push(answer),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            answers
        }),
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

/// The answer to a question asked with a session this run just got from a
/// login on the same prefix: that prefix is GKLM's, so a 404/405 means the
/// request is missing, and a rejected session means a missing permission.
fn ask_fresh(
    answer: Result<Body, GklmError>,
    prefix: &str,
    endpoint: &Endpoint,
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
            path: endpoint.path,
            status,
            advice: endpoint.when_missing,
        },
        // 401 is GKLM's word for a session it does not accept; a 400
        // (malformed id) stays what it is.
        GklmError::SessionRejected {
            status: status @ 401,
            detail,
        } => QueryError::NotPermitted {
            what: endpoint.what,
            user: user.to_string(),
            status,
            detail,
        },
        other => QueryError::Gklm(other),
    })
}
