//! The GKLM REST API as the check uses it: log in, ask one question (GET an
//! endpoint a mode names), log out. HTTP replies become the answer's JSON or
//! a `GklmError` that says which step failed and why; what the JSON means is
//! the mode's business.

use std::fmt;

use attohttpc::Method;
use serde_json::{Map, Value};

use crate::gklm::credentials::plausible_session_id;
use crate::gklm::json::{Body, ListShape};
use crate::gklm::target::Host;
use crate::gklm::transport::{BodyLimit, Reply, Request, Transport, TransportError};
use crate::output::secret::{self, Secret};
use crate::output::text;
use crate::output::trace::Trace;
use crate::watchdog;

/// The steps of a run, named the way an operator reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Login,
    /// The mode's question, named as in "backup status request".
    Ask(&'static str),
    Logout,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Login => "login",
            Step::Ask(what) => what,
            Step::Logout => "logout",
        }
    }
}

/// One GKLM question: a GET below `{prefix}/rest/v1/ckms/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `backups/isrunning`, `backups`, ...
    pub path: &'static str,
    /// Query parameters, sent percent-encoded.
    pub query: Vec<(&'static str, String)>,
    /// How an operator names the request: "backup status request".
    pub what: &'static str,
    /// How much of the answer may be read: a list grows, a status does not.
    pub limit: BodyLimit,
    /// What an operator can do when this GKLM lacks the request (404/405
    /// though the login worked): the mode's own advice.
    pub when_missing: &'static str,
    /// Where the answer holds a long list, and what of its entries is read.
    pub list: Option<&'static ListShape>,
}

impl Endpoint {
    pub fn get(path: &'static str, what: &'static str) -> Endpoint {
        Endpoint {
            path,
            query: Vec::new(),
            what,
            limit: BodyLimit::ANSWER,
            when_missing: "GKLM before 4.2 lacks backups/need, backups/result and the backup list: use --mode running",
            list: None,
        }
    }

    /// The advice for a GKLM that lacks this request.
    pub fn when_missing(mut self, advice: &'static str) -> Endpoint {
        self.when_missing = advice;
        self
    }

    fn path_and_query(&self) -> String {
        let mut out = self.path.to_string();
        for (i, (key, value)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            out.push_str(&percent_encode(value));
        }
        out
    }
}

/// Everything but RFC 3986's unreserved characters, as UTF-8 bytes.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// GKLM's error body `{"code": "CTGKM6004E", "message": "CTGKM6004E ..."}`,
/// as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GklmMessage {
    pub id: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GklmError {
    Transport {
        step: Step,
        url: String,
        error: TransportError,
    },
    /// The user name or password was refused.
    LoginRejected {
        status: u16,
        detail: GklmMessage,
    },
    /// The session id was refused (expired, logged out, malformed).
    SessionRejected {
        status: u16,
        detail: GklmMessage,
    },
    /// 404 or 405: nothing serves this path (wrong prefix?).
    NotFound {
        step: Step,
        status: u16,
        url: String,
    },
    Redirect {
        step: Step,
        status: u16,
        location: Option<String>,
    },
    Http {
        step: Step,
        status: u16,
        detail: GklmMessage,
    },
    BadResponse {
        step: Step,
        why: String,
    },
}

impl GklmError {
    /// Failures of the network or TLS, as opposed to a server that answered.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, GklmError::Transport { error, .. } if error.is_unreachable())
    }
}

impl std::error::Error for GklmError {}

impl fmt::Display for GklmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GklmError::Transport {
                step,
                url,
                error: TransportError::Timeout,
            } => {
                write!(
                    f,
                    "{} timed out ({url}); GKLM is slow or unreachable, or raise -t",
                    step.name()
                )
            }
            GklmError::Transport { step, url, error } => {
                write!(f, "{} to {url}: {error}", step.name())
            }
            GklmError::LoginRejected { status, detail } => write!(
                f,
                "GKLM rejected the login (HTTP {status}{}); check -u and the password file or GKLM_PASSWORD",
                detail.suffix()
            ),
            GklmError::SessionRejected { status, detail } => write!(
                f,
                "GKLM rejected the session id (HTTP {status}{}); it has expired or was logged out: supply a fresh one or use -u",
                detail.suffix()
            ),
            GklmError::NotFound { step, status, url } => {
                write!(
                    f,
                    "{} got HTTP {status} for {url}: nothing serves this path; check --prefix (/SKLM before 5.x, /GKLM from 5.x)",
                    step.name()
                )?;
                // Without a login of our own (a session id from elsewhere)
                // the prefix is not proven: the request may be what is
                // missing (`session` turns the proven case into NotOffered).
                if let Step::Ask(_) = step {
                    f.write_str(", or this GKLM lacks this request")?;
                }
                Ok(())
            }
            GklmError::Redirect {
                step,
                status,
                location,
            } => write!(
                f,
                "{} was redirected (HTTP {status} to {}); redirects are not followed: point -H/-p/--prefix at GKLM itself",
                step.name(),
                location.as_deref().unwrap_or("no Location")
            ),
            GklmError::Http {
                step,
                status,
                detail,
            } => {
                write!(
                    f,
                    "{} failed with HTTP {status}{}",
                    step.name(),
                    detail.suffix()
                )
            }
            GklmError::BadResponse { step, why } => {
                write!(f, "unexpected answer to {}: {why}", step.name())
            }
        }
    }
}

impl GklmMessage {
    /// Read whatever a GKLM error body offers. Never fails: a body that is
    /// not GKLM's JSON may still be a proxy's page worth quoting.
    pub fn from_body(body: &[u8]) -> GklmMessage {
        // Scrubbed whole, before anything below cuts or reflows it.
        let text = secret::scrub_server_text(&String::from_utf8_lossy(body));
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) else {
            let id = find_message_id(&text).map(str::to_string);
            let snippet = text::shorten(&text::clean(&text), 120);
            return GklmMessage {
                id,
                text: Some(snippet).filter(|s| !s.is_empty()),
            };
        };
        let field = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_string);
        let message = field("message").or_else(|| field("status"));
        let id = field("code")
            .filter(|c| find_message_id(c).is_some())
            .or_else(|| {
                message
                    .as_deref()
                    .and_then(find_message_id)
                    .map(str::to_string)
            });
        GklmMessage { id, text: message }
    }

    fn mentions(&self, id: &str) -> bool {
        self.id.as_deref() == Some(id) || self.text.as_deref().is_some_and(|t| t.contains(id))
    }

    /// `: CTGKM6004E User is not authenticated` for an error line; the id is
    /// not repeated when the text already starts with it.
    pub fn suffix(&self) -> String {
        match (&self.id, &self.text) {
            (_, Some(text)) => format!(": {}", text.chars().take(200).collect::<String>()),
            (Some(id), None) => format!(": {id}"),
            (None, None) => String::new(),
        }
    }
}

/// A GKLM message id: five capital letters, four digits, and I, W or E
/// (`CTGKM3291I`), a word of its own however punctuation surrounds it (see
/// `message_ids`). The first one in `text`.
pub fn find_message_id(text: &str) -> Option<&str> {
    message_ids(text).into_iter().next()
}

/// Every message id in `text`, in order (a status may quote a cause): a
/// word of ASCII letters and digits, however it is glued to punctuation
/// (`CTGKM1302E-Backup`, `'CTGKM1302E'`, `id=CTGKM3290I`).
pub fn message_ids(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            let b = w.as_bytes();
            b.len() == 10
                && b[..5].iter().all(u8::is_ascii_uppercase)
                && b[5..9].iter().all(u8::is_ascii_digit)
                && matches!(b[9], b'I' | b'W' | b'E')
        })
        .collect()
}

/// Parse the body of a 200 answer to `ckms/login`: the session id, under a
/// key spelled `userAuthId`, `UserAuthId` or any other case.
pub fn parse_login(body: &[u8]) -> Result<String, String> {
    let map = parse_object(body)?;
    let id = map
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("userauthid"))
        .map(|(_, v)| v);
    match id {
        Some(Value::String(s)) if plausible_session_id(s) => Ok(s.clone()),
        Some(_) => Err("the UserAuthId field is empty or not a usable token".into()),
        None => Err("no UserAuthId field".into()),
    }
}

pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match parse_json(body, None)?.json {
        Value::Object(map) => Ok(map),
        other => Err(not_an_object(&other)),
    }
}

/// GKLM's answers are JSON objects; anything else is quoted briefly.
pub fn object(body: &Value) -> Result<&Map<String, Value>, String> {
    body.as_object().ok_or_else(|| not_an_object(body))
}

fn not_an_object(value: &Value) -> String {
    format!("expected a JSON object, got {}", brief(value))
}

fn parse_json(body: &[u8], list: Option<&'static ListShape>) -> Result<Body, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("empty body".into());
    }
    super::json::parse(body, list)
}

/// Every text in GKLM's answer with secrets scrubbed, before any mode can
/// quote, cut or reshape it; but for its lists' cells, which are scrubbed
/// when one is quoted (`ListEntry::quote`).
fn scrub_strings(mut body: Body) -> Body {
    secret::Scrubber::new().json(&mut body.json);
    body
}

/// A JSON value in a few characters, for quoting it in a message.
pub fn brief(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        Value::String(s) => {
            let s = secret::scrub_server_text(s);
            format!("\"{}\"", s.chars().take(20).collect::<String>())
        }
        other => secret::scrub_server_text(&other.to_string())
            .chars()
            .take(20)
            .collect(),
    }
}

/// A GKLM server as the check talks to it: the three requests it makes.
/// `Gklm` speaks HTTPS; the check's own tests hand it a canned one.
pub trait Server {
    fn login(&self, prefix: &str, user: &str, password: &Secret) -> Result<Secret, GklmError>;
    /// GET the endpoint; a 200 answer must be JSON, of any shape.
    fn ask(&self, prefix: &str, endpoint: &Endpoint, id: &Secret) -> Result<Body, GklmError>;
    /// Best effort: the result of the check never depends on the logout.
    fn logout(&self, prefix: &str, id: &Secret) -> Result<(), GklmError>;
}

impl Server for Gklm<'_> {
    fn login(&self, prefix: &str, user: &str, password: &Secret) -> Result<Secret, GklmError> {
        Gklm::login(self, prefix, user, password)
    }

    fn ask(&self, prefix: &str, endpoint: &Endpoint, id: &Secret) -> Result<Body, GklmError> {
        Gklm::ask(self, prefix, endpoint, id)
    }

    fn logout(&self, prefix: &str, id: &Secret) -> Result<(), GklmError> {
        Gklm::logout(self, prefix, id)
    }
}

/// A GKLM server at one base URL, spoken to through one `Transport`.
pub struct Gklm<'a> {
    transport: &'a Transport,
    base: String,
    trace: &'a Trace,
}

impl<'a> Gklm<'a> {
    pub fn new(transport: &'a Transport, host: &Host, port: u16, trace: &'a Trace) -> Gklm<'a> {
        Gklm {
            transport,
            base: format!("https://{}:{port}", host.url_form()),
            trace,
        }
    }

    fn url(&self, prefix: &str, path: &str) -> String {
        format!("{}{prefix}/rest/v1/ckms/{path}", self.base)
    }

    pub fn login(&self, prefix: &str, user: &str, password: &Secret) -> Result<Secret, GklmError> {
        let body = serde_json::json!({ "userid": user, "password": password.expose() }).to_string();
        let url = self.url(prefix, "login");
        let reply = self.exchange(
            Step::Login,
            Method::POST,
            &url,
            None,
            Some(body.into_bytes()),
            BodyLimit::ANSWER,
        )?;
        match reply.status {
            200..=299 => match parse_login(&reply.body) {
                Ok(id) => Ok(Secret::session_id(id)),
                Err(why) => Err(GklmError::BadResponse {
                    step: Step::Login,
                    why,
                }),
            },
            400 | 401 | 403 => Err(GklmError::LoginRejected {
                status: reply.status,
                detail: GklmMessage::from_body(&reply.body),
            }),
            _ => Err(unexpected(Step::Login, &url, &reply)),
        }
    }

    /// GET the endpoint; a 200 answer must be JSON, of any shape.
    pub fn ask(&self, prefix: &str, endpoint: &Endpoint, id: &Secret) -> Result<Body, GklmError> {
        let step = Step::Ask(endpoint.what);
        let url = self.url(prefix, &endpoint.path_and_query());
        let reply = self.exchange(step, Method::GET, &url, Some(id), None, endpoint.limit)?;
        let detail = || GklmMessage::from_body(&reply.body);
        match reply.status {
            200 => parse_json(&reply.body, endpoint.list)
                .map(scrub_strings)
                .map_err(|why| GklmError::BadResponse { step, why }),
            401 => Err(GklmError::SessionRejected {
                status: 401,
                detail: detail(),
            }),
            400 if detail().mentions("CTGKM6002E") || detail().mentions("CTGKM6004E") => {
                Err(GklmError::SessionRejected {
                    status: 400,
                    detail: detail(),
                })
            }
            _ => Err(unexpected(step, &url, &reply)),
        }
    }

    /// Best effort: the result of the check never depends on the logout.
    pub fn logout(&self, prefix: &str, id: &Secret) -> Result<(), GklmError> {
        let url = self.url(prefix, "logout");
        let body = serde_json::json!({ "userAuthId": id.expose() }).to_string();
        let reply = self.exchange(
            Step::Logout,
            Method::DELETE,
            &url,
            Some(id),
            Some(body.into_bytes()),
            BodyLimit::ANSWER,
        )?;
        match reply.status {
            200..=299 => Ok(()),
            _ => Err(unexpected(Step::Logout, &url, &reply)),
        }
    }

    fn exchange(
        &self,
        step: Step,
        method: Method,
        url: &str,
        id: Option<&Secret>,
        body: Option<Vec<u8>>,
        limit: BodyLimit,
    ) -> Result<Reply, GklmError> {
        watchdog::set_step(step.name(), url);
        // Whatever it came from (the state file, --auth-id-file), an id
        // sent as one is masked as one should GKLM echo it altered.
        if let Some(id) = id {
            id.mark_session_id();
        }
        let request = Request {
            method: method.clone(),
            url,
            auth_id: id.map(Secret::expose),
            body,
            limit,
        };
        let result = self.transport.send(request);
        match &result {
            Ok(reply) => {
                let ms = reply.elapsed.as_millis();
                self.trace.note(
                    1,
                    format!("{method} {url} -> HTTP {} in {ms} ms", reply.status),
                );
                // A session id in a login answer is a secret from now on,
                // before the body is kept for -vvv.
                if step == Step::Login
                    && let Ok(id) = parse_login(&reply.body)
                {
                    Secret::session_id(id);
                }
                if self.trace.shows(3) {
                    self.trace
                        .note(3, format!("response body: {}", traced_body(&reply.body)));
                }
            }
            Err(e) => self.trace.note(1, format!("{method} {url} -> {e}")),
        }
        result.map_err(|error| GklmError::Transport {
            step,
            url: url.to_string(),
            error,
        })
    }
}

/// A body for -vvv: scrubbed whole, then cut, so a long backup list costs
/// neither the line nor a secret. The printer cleans it later.
fn traced_body(body: &[u8]) -> String {
    const SHOWN: usize = 4096;
    let text = secret::scrub_server_text(&String::from_utf8_lossy(body));
    if text.len() <= SHOWN {
        return text;
    }
    let mut end = SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &text[..end], body.len())
}

fn unexpected(step: Step, url: &str, reply: &Reply) -> GklmError {
    match reply.status {
        404 | 405 => GklmError::NotFound {
            step,
            status: reply.status,
            url: url.to_string(),
        },
        300..=399 => GklmError::Redirect {
            step,
            status: reply.status,
            location: reply.location.clone(),
        },
        200..=299 => GklmError::BadResponse {
            step,
            why: format!("HTTP {} with no usable body", reply.status),
        },
        status => GklmError::Http {
            step,
            status,
            detail: GklmMessage::from_body(&reply.body),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        let mut e = Endpoint::get("backups", "backup list request");
        e.query
            .push(("backupDirectory", "/opt/IBM/back ups/ä&x=1".into()));
        assert_eq!(
            e.path_and_query(),
            "backups?backupDirectory=%2Fopt%2FIBM%2Fback%20ups%2F%C3%A4%26x%3D1"
        );
    }

    #[test]
    fn login_id_key_in_any_case() {
        for body in [
            r#"{"userAuthId":"abc"}"#,
            r#"{"UserAuthId":"abc"}"#,
            r#"{"userauthid":"abc"}"#,
        ] {
            assert_eq!(parse_login(body.as_bytes()).unwrap(), "abc");
        }
        assert!(parse_login(br#"{"UserAuthId":""}"#).is_err());
        assert!(parse_login(br#"{"UserAuthId":"a b"}"#).is_err());
        assert!(parse_login(br#"{"user":"x"}"#).is_err());
    }

    #[test]
    fn error_bodies_yield_id_and_text() {
        let m = GklmMessage::from_body(
            br#"{"code":"CTGKM6004E","message":"CTGKM6004E User is not authenticated"}"#,
        );
        assert_eq!(m.id.as_deref(), Some("CTGKM6004E"));
        assert!(m.mentions("CTGKM6004E"));
        let m = GklmMessage::from_body(
            br#"{"code":"400","message":"CTGKM6002E Bad Request: invalid user authentication ID"}"#,
        );
        assert_eq!(m.id.as_deref(), Some("CTGKM6002E"));
        let m = GklmMessage::from_body(b"<html><body>502 Bad Gateway</body></html>");
        assert_eq!(m.id, None);
        assert!(m.text.unwrap().contains("502 Bad Gateway"));
        assert_eq!(GklmMessage::from_body(b""), GklmMessage::default());
    }

    #[test]
    fn message_ids_are_words_however_they_are_glued() {
        assert_eq!(
            find_message_id("CTGKM3291I Backup process is not running."),
            Some("CTGKM3291I")
        );
        assert_eq!(find_message_id("error: CTGKM6004E."), Some("CTGKM6004E"));
        assert_eq!(find_message_id("CTGKM12345 nope"), None);
        assert_eq!(find_message_id("ctgkm3291i"), None);
        for glued in [
            "CTGKM1302E-Backup operation failed.",
            "failed: 'CTGKM1302E'",
            "{CTGKM1302E}",
            "CTGKM1302E!",
            "(id=CTGKM1302E)",
            "error=CTGKM1302E;",
        ] {
            assert_eq!(message_ids(glued), ["CTGKM1302E"], "{glued}");
        }
        assert!(message_ids("XCTGKM1302E CTGKM1302EX").is_empty());
    }
}
