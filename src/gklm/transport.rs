//! One HTTPS exchange with a hard deadline and a bounded response.
//!
//! The one module that sends requests and reads replies through attohttpc
//! (`tls` only configures its builder, `target` checks a host with its URL
//! parser, `api` names its methods). It turns
//! whatever the network, TLS or HTTP layer does into either a bounded
//! `Reply` or a `TransportError` that says, in an operator's words, what
//! went wrong.

use std::fmt;
use std::io::Read;
use std::time::{Duration, Instant};

use attohttpc::{ErrorKind, Method, ProxySettings, RequestBuilder};

use crate::gklm::tls::Trust;
use crate::output::secret;

/// The most of a response body the check will read, and what to say past
/// it. The transport knows no endpoint: the caller names both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    pub bytes: usize,
    /// What an operator can do about a larger answer.
    pub advice: &'static str,
}

impl BodyLimit {
    /// GKLM's answers are a few hundred bytes; anything far larger is not
    /// GKLM and must not cost memory.
    pub const ANSWER: BodyLimit = BodyLimit {
        bytes: 64 * 1024,
        advice: "this is not a GKLM answer",
    };
}

/// What came back from the server, already read in full.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
    pub elapsed: Duration,
}

/// A request that did not produce a usable HTTP reply.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportError {
    /// The run's deadline passed before the exchange finished.
    Timeout,
    Refused(String),
    Resolve(String),
    /// Handshake or certificate verification failed.
    Tls(String),
    /// The server speaks only TLS versions older than 1.2.
    OldTlsVersion,
    /// The server demands a client certificate (mutual TLS).
    ClientCertificateRequired,
    /// What answered on the port does not speak TLS (plain HTTP, say).
    NotTls,
    /// The server ended the handshake with a bare handshake_failure alert.
    HandshakeRefused,
    /// The connection broke after it was made (reset, closed early).
    Network(String),
    /// The server answered with more than the request's limit allows.
    TooLarge(BodyLimit),
    /// The bytes that came back are not a well-formed HTTP response.
    Protocol(String),
    /// The URL layer refused the URL (a host `-H` validation let through).
    InvalidUrl(String),
}

impl TransportError {
    /// True for failures that mean "the server cannot be reached or trusted",
    /// which map to `--unreachable-state`; false for a server that answered
    /// with something we cannot use (always UNKNOWN).
    pub fn is_unreachable(&self) -> bool {
        !matches!(
            self,
            TransportError::TooLarge(_)
                | TransportError::Protocol(_)
                | TransportError::InvalidUrl(_)
        )
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Timeout => f.write_str("timed out"),
            TransportError::InvalidUrl(e) => write!(f, "the URL is not valid ({e}); check -H"),
            TransportError::Refused(_) => {
                f.write_str("connection refused; is GKLM listening on that host and port?")
            }
            TransportError::Resolve(e) => write!(f, "cannot resolve host name ({e}); check -H"),
            // Only a certificate the check could not verify is helped by
            // --cacert or --insecure; other handshake failures are not.
            TransportError::Tls(e) if e.contains("certificate verify failed") => write!(
                f,
                "TLS failed: {e}; for a self-signed or internal-CA certificate use --cacert FILE (or --insecure)"
            ),
            TransportError::Tls(e) => write!(f, "TLS failed: {e}"),
            TransportError::OldTlsVersion => f.write_str(
                "TLS failed: the server offers only TLS versions older than 1.2 (TLS 1.0 or 1.1), which this check refuses; enable TLS 1.2 or 1.3 on GKLM",
            ),
            TransportError::ClientCertificateRequired => f.write_str(
                "TLS failed: the server demands a client certificate (mutual TLS), which this check does not present; let the monitoring host connect without one",
            ),
            TransportError::NotTls => f.write_str(
                "TLS failed: what answers on this port does not speak TLS (plain HTTP?); check -p",
            ),
            TransportError::HandshakeRefused => f.write_str(
                "TLS failed: the server refused the handshake; it demands a client certificate (mutual TLS), which this check does not present, or shares no cipher suite with it",
            ),
            TransportError::Network(e) => write!(f, "connection failed: {e}"),
            TransportError::TooLarge(limit) => write!(
                f,
                "response body larger than {}; {}",
                human_size(limit.bytes),
                limit.advice
            ),
            TransportError::Protocol(e) => write!(f, "malformed HTTP response: {e}"),
        }
    }
}

impl std::error::Error for TransportError {}

/// Everything a request needs that does not change between requests.
pub struct Transport {
    trust: Trust,
    deadline: Instant,
    language: String,
    /// Whether every request ends by the deadline by itself, however its
    /// body trickles (attohttpc's timeout, a thread per request).
    bounded: bool,
}

/// One request to send: method, full URL, optional session id and JSON body.
pub struct Request<'a> {
    pub method: Method,
    pub url: &'a str,
    pub auth_id: Option<&'a str>,
    pub body: Option<Vec<u8>>,
    pub limit: BodyLimit,
}

impl Transport {
    pub fn new(trust: Trust, deadline: Instant, language: &str) -> Transport {
        Transport {
            trust,
            deadline,
            language: language.to_string(),
            bounded: false,
        }
    }

    /// This transport, with every request ended by the deadline by itself:
    /// for a run that asks several questions side by side, where the
    /// watchdog ending one that trickles would end them all.
    pub fn bounded(self) -> Transport {
        Transport {
            bounded: true,
            ..self
        }
    }

    pub fn send(&self, request: Request<'_>) -> Result<Reply, TransportError> {
        let started = Instant::now();
        let remaining = self
            .deadline
            .checked_duration_since(started)
            .filter(|d| !d.is_zero())
            .ok_or(TransportError::Timeout)?;
        let builder = self.builder(&request, remaining)?;
        let outcome = match request.body {
            Some(body) => builder.bytes(body).send(),
            None => builder.send(),
        };
        let response = outcome.map_err(|e| self.classify(e))?;
        let (status, headers, reader) = response.split();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location").map(|l| secret::scrub_server_text(&l));
        let body = self.read_body(reader, request.limit)?;
        // attohttpc hands back a short body when the connection closes early.
        if let Some(expected) = header("content-length").and_then(|l| l.parse::<usize>().ok())
            && body.len() < expected
        {
            let why = format!(
                "connection closed after {} of {expected} body bytes",
                body.len()
            );
            return Err(TransportError::Network(why));
        }
        Ok(Reply {
            status: status.as_u16(),
            location,
            body,
            elapsed: started.elapsed(),
        })
    }

    fn builder(
        &self,
        request: &Request<'_>,
        remaining: Duration,
    ) -> Result<RequestBuilder, TransportError> {
        // try_new: a URL the parser refuses is an error, never a panic.
        let mut builder = RequestBuilder::try_new(request.method.clone(), request.url)
            .map_err(|e| TransportError::InvalidUrl(e.to_string()))?
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .header("Accept-Language", self.language.as_str())
            .follow_redirects(false)
            // A proxy meant for package downloads must not sit between the
            // check and the key server: connect directly, always.
            .proxy_settings(ProxySettings::builder().build())
            .connect_timeout(remaining)
            // No attohttpc `.timeout()` unless `bounded`: it costs a thread
            // per request, and the watchdog already ends a run of one
            // question whose reads trickle past the deadline.
            .read_timeout(remaining);
        if self.bounded {
            builder = builder.timeout(remaining);
        }
        if let Some(id) = request.auth_id {
            builder = builder.header("Authorization", format!("SKLMAuth userAuthId={id}"));
        }
        Ok(self.trust.apply(builder))
    }

    fn read_body(
        &self,
        reader: attohttpc::ResponseReader,
        limit: BodyLimit,
    ) -> Result<Vec<u8>, TransportError> {
        let mut body = Vec::with_capacity(1024);
        match reader.take(limit.bytes as u64 + 1).read_to_end(&mut body) {
            Ok(_) if body.len() > limit.bytes => Err(TransportError::TooLarge(limit)),
            Ok(_) => Ok(body),
            Err(e) => Err(self.classify(attohttpc::Error::from(e))),
        }
    }

    /// The deadline is checked first: once it has passed, whatever error the
    /// interrupted socket produced is really a timeout.
    fn classify(&self, error: attohttpc::Error) -> TransportError {
        if Instant::now() >= self.deadline {
            return TransportError::Timeout;
        }
        match error.kind() {
            ErrorKind::Io(e) => classify_io(e),
            ErrorKind::Tls(e) => tls_failure(&e.to_string()),
            ErrorKind::InvalidResponse(k) => TransportError::Protocol(one_line(&k.to_string())),
            ErrorKind::Http(e) => TransportError::Protocol(one_line(&e.to_string())),
            ErrorKind::InvalidUrlHost | ErrorKind::InvalidBaseUrl | ErrorKind::InvalidUrlPort => {
                TransportError::Resolve("invalid host name or port".into())
            }
            other => TransportError::Network(one_line(&format!("{other:?}"))),
        }
    }
}

fn classify_io(e: &std::io::Error) -> TransportError {
    use std::io::ErrorKind as K;
    let text = one_line(&e.to_string());
    // With TLS 1.3 a server's refusal of the client (no certificate) comes
    // as an alert on the first read, after the handshake seemed done.
    if text.starts_with("error:") {
        return tls_failure(&text);
    }
    match e.kind() {
        K::ConnectionRefused => TransportError::Refused(text),
        K::TimedOut | K::WouldBlock => TransportError::Timeout,
        K::InvalidData => TransportError::Protocol(text),
        // attohttpc reports both a connection closed before the response
        // head ended and a head line over its 16 KiB limit this way.
        K::UnexpectedEof => TransportError::Network(
            "response ended early (connection closed, or a header line over 16 KiB)".into(),
        ),
        _ if text.contains("lookup address") || text.contains("Name or service") => {
            TransportError::Resolve(text)
        }
        _ => TransportError::Network(text),
    }
}

/// An OpenSSL error text as a `TransportError`: the causes an operator can
/// act on by name, anything else as its reason without the codes.
fn tls_failure(text: &str) -> TransportError {
    // The check offers TLS 1.2 and 1.3: a server that answers with a
    // protocol_version alert, or picks an older version, has nothing newer.
    const OLD_VERSION: [&str; 3] = [
        "alert protocol version",
        "unsupported protocol",
        "no protocols available",
    ];
    // certificate_required (TLS 1.3, alert 116); the check never sends a
    // client certificate, so a bad_certificate alert is about its absence.
    const CLIENT_CERT: [&str; 2] = ["alert certificate required", "alert bad certificate"];
    // The first bytes back were not a TLS record: "HTTP/1.1 400 ..." reads
    // as a record of an unknown version.
    const NOT_TLS: [&str; 2] = ["wrong version number", "packet length too long"];
    if NOT_TLS.iter().any(|m| text.contains(m)) {
        TransportError::NotTls
    } else if OLD_VERSION.iter().any(|m| text.contains(m)) {
        TransportError::OldTlsVersion
    } else if CLIENT_CERT.iter().any(|m| text.contains(m)) {
        TransportError::ClientCertificateRequired
    } else if text.contains("alert handshake failure") {
        // With TLS 1.2, OpenSSL servers answer a missing client
        // certificate this way; so does a server with no common cipher.
        TransportError::HandshakeRefused
    } else {
        TransportError::Tls(openssl_reason(text))
    }
}

/// OpenSSL's `error:0A000086:SSL routines:func:certificate verify failed:
/// file.c:1889: (certificate has expired)` becomes `certificate verify
/// failed (certificate has expired)`: the reason, without the codes.
fn openssl_reason(text: &str) -> String {
    let text = one_line(text);
    let Some(rest) = text.strip_prefix("error:") else {
        return text;
    };
    let reason = rest.split(':').nth(3).unwrap_or(rest).trim();
    match text.rfind(" (").map(|i| &text[i + 1..]) {
        Some(detail) if detail.ends_with(')') => format!("{reason} {detail}"),
        _ => reason.to_string(),
    }
}

/// 64 KiB, 8 MiB: limits are powers of two.
fn human_size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b % 1024 == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Library error texts sometimes span lines; a plugin line must not.
fn one_line(text: &str) -> String {
    crate::output::text::clean(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_texts_become_named_causes() {
        let text = "error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../ssl/record/rec_layer_s3.c:1602:SSL alert number 116";
        assert_eq!(tls_failure(text), TransportError::ClientCertificateRequired);
        let text = "error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1602:SSL alert number 70";
        assert_eq!(tls_failure(text), TransportError::OldTlsVersion);
        let text = "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889: (certificate has expired)";
        let e = tls_failure(text);
        assert_eq!(
            e,
            TransportError::Tls("certificate verify failed (certificate has expired)".into())
        );
        assert!(e.to_string().contains("use --cacert FILE"));
        assert!(
            !TransportError::OldTlsVersion
                .to_string()
                .contains("--cacert")
        );
    }
}
