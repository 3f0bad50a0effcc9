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
    /// The questions, asked in one session: the first finds the prefix and
    /// the session, the others are then asked side by side.
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

/// User and password: the first question finds the prefix and the session
/// (cached or logged in), the others are asked with them side by side;
/// the session is logged out at the end unless it is cached.
fn with_login(login: &Login<'_>, plan: &Plan<'_>, candidates: &[String]) -> Fetched {
    let (first, rest) = plan.endpoints.split_first().expect("a run asks a question");
    let auto = plan.prefix == &Prefix::Auto;
    let mut session = plan.cached_session.clone();
    let mut not_found = Vec::new();
    for prefix in candidates {
        let tried = attempt(login, prefix, first, session.take());
        session = tried.session.clone();
        match tried.answer {
            Err(QueryError::Gklm(GklmError::NotFound { url, status, .. })) if auto => {
                trace_next(login.trace, prefix, status, &url);
                not_found.push(url);
            }
            answer => {
                let answered =
                    !matches!(answer, Err(QueryError::Gklm(GklmError::Transport { .. })));
                let mut answers = vec![answer];
                if answered {
                    answers.extend(the_others(login, prefix, rest, &mut session, tried.proven));
                } else {
                    // GKLM did not answer: no other question would fare better.
                    let failed = answers[0].clone();
                    answers.extend(rest.iter().map(|_| failed.clone()));
                }
                let session = end_or_keep(login, plan, prefix, session);
                return Fetched {
                    answers,
                    prefix: answered.then(|| prefix.clone()),
                    session,
                };
            }
        }
    }
    let none = Err(QueryError::NoPrefix { urls: not_found });
    Fetched {
        answers: plan.endpoints.iter().map(|_| none.clone()).collect(),
        prefix: None,
        session: session.filter(|_| plan.cache_session),
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

/// The questions after the first, side by side, at the prefix that
/// answered it, with its session: a fresh one where it was refused, and
/// where a cached session that had not proved itself is refused, one
/// fresh login for those questions.
fn the_others(
    login: &Login<'_>,
    prefix: &str,
    rest: &[Endpoint],
    session: &mut Option<Secret>,
    proven: bool,
) -> Vec<Result<Body, QueryError>> {
    if rest.is_empty() {
        return Vec::new();
    }
    let fresh = |session: &mut Option<Secret>| match login.at(prefix) {
        Ok(id) => {
            *session = Some(id.clone());
            Ok(id)
        }
        Err(e) => Err(QueryError::Gklm(e)),
    };
    let asked_fresh = |id: &Secret, endpoints: &[Endpoint]| {
        side_by_side(endpoints, |endpoint| {
            ask_fresh(
                login.gklm.ask(prefix, endpoint, id),
                prefix,
                endpoint,
                login.user,
            )
        })
    };
    let id = match session.clone() {
        Some(id) => id,
        None => match fresh(session) {
            Ok(id) => return asked_fresh(&id, rest),
            Err(e) => return rest.iter().map(|_| Err(e.clone())).collect(),
        },
    };
    if proven {
        return asked_fresh(&id, rest);
    }
    let mut answers = side_by_side(rest, |endpoint| login.gklm.ask(prefix, endpoint, &id));
    let refused: Vec<usize> = (0..answers.len())
        .filter(|&i| matches!(answers[i], Err(GklmError::SessionRejected { .. })))
        .collect();
    let mut answers: Vec<Result<Body, QueryError>> = answers
        .drain(..)
        .map(|a| a.map_err(QueryError::Gklm))
        .collect();
    if !refused.is_empty() {
        login
            .trace
            .note(1, "session: cached session rejected, logging in again");
        let again: Vec<Endpoint> = refused.iter().map(|&i| rest[i].clone()).collect();
        let retried = match fresh(session) {
            Ok(id) => asked_fresh(&id, &again),
            Err(e) => again.iter().map(|_| Err(e.clone())).collect(),
        };
        for (i, answer) in refused.into_iter().zip(retried) {
            answers[i] = answer;
        }
    }
    answers
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

/// One try of the first question at one prefix.
struct Tried {
    answer: Result<Body, QueryError>,
    /// The session still valid afterwards (None once GKLM has refused it).
    session: Option<Secret>,
    /// Whether GKLM just accepted it: issued in this run, or its answer
    /// read.
    proven: bool,
}

fn attempt(login: &Login<'_>, prefix: &str, endpoint: &Endpoint, cached: Option<Secret>) -> Tried {
    let ask = |id: &Secret| login.gklm.ask(prefix, endpoint, id);
    let failed = |e| Tried {
        answer: Err(QueryError::Gklm(e)),
        session: None,
        proven: false,
    };
    let (answer, id, proven) = match cached {
        Some(cached) => {
            login.trace.note(1, "session: reusing the cached session");
            match ask(&cached) {
                // Expired or logged out elsewhere; or a 404 that a cached
                // session cannot tell apart (wrong prefix, or a request this
                // GKLM lacks): one fresh login settles it, same budget.
                Err(e @ (GklmError::SessionRejected { .. } | GklmError::NotFound { .. })) => {
                    let why = match e {
                        GklmError::NotFound { status, .. } => format!("got HTTP {status}"),
                        _ => "rejected".to_string(),
                    };
                    login.trace.note(
                        1,
                        format!("session: cached session {why}, logging in again"),
                    );
                    match login.at(prefix) {
                        Ok(fresh) => (
                            ask_fresh(ask(&fresh), prefix, endpoint, login.user),
                            fresh,
                            true,
                        ),
                        Err(e) => return failed(e),
                    }
                }
                answer => {
                    let read = answer.is_ok();
                    (answer.map_err(QueryError::Gklm), cached, read)
                }
            }
        }
        None => match login.at(prefix) {
            Ok(fresh) => (
                ask_fresh(ask(&fresh), prefix, endpoint, login.user),
                fresh,
                true,
            ),
            Err(e) => return failed(e),
        },
    };
    let refused = matches!(
        answer,
        Err(QueryError::Gklm(GklmError::SessionRejected { .. }) | QueryError::NotPermitted { .. })
    );
    Tried {
        answer,
        session: (!refused).then_some(id),
        proven,
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
