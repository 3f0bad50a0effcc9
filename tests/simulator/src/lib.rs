//! A GKLM simulator: serves `ckms/login`, `ckms/logout` and the backup
//! questions (`backups/isrunning`, `backups/need`, `backups/result` and the
//! list `backups`) over real HTTPS on 127.0.0.1, with certificates it mints
//! itself; each answer can be switched (see `answers`), or the server made to
//! misbehave in every way the tests need.
//!
//! Used in-process by the integration tests (which then run the real binary
//! against it) and as a standalone server by `examples/gklm_simulator.rs`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::ssl::{HandshakeError, Ssl, SslAcceptor, SslStream, SslVerifyMode, SslVersion};

pub mod answers;
mod certs;
pub mod measure;

use certs::make_acceptor;

pub const USER: &str = "monitor";
pub const PASSWORD: &str = "Sim-Pa55word-7f3e9";

/// What the `isrunning` (or `login`) endpoint does instead of answering well.
#[derive(Clone, Debug, PartialEq)]
pub enum Behavior {
    Normal,
    /// Wait this long before sending anything, then answer normally.
    Delay(Duration),
    /// Answer with this status, content type and body.
    Reply {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// Headers at once, then the body one byte per second.
    DripBody,
    /// Announce a body, send half of it, close.
    CloseMidBody,
    /// A 200 whose body is this many bytes.
    HugeBody(usize),
    /// A header line of this many bytes.
    HugeHeader(usize),
}

impl Behavior {
    pub fn json(status: u16, body: &str) -> Behavior {
        Behavior::Reply {
            status,
            content_type: "application/json".into(),
            body: body.as_bytes().to_vec(),
        }
    }
}

/// What happens on the TCP connection before any HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    Tls,
    /// Accept the connection, never complete (or start) the TLS handshake.
    SilentTcp,
    /// Speak plain HTTP on the port the check expects TLS on.
    PlainHttp,
    /// TLS, but only versions 1.0 and 1.1 (an old or misconfigured server).
    OldTlsOnly,
    /// TLS that demands a client certificate (mutual TLS) and fails the
    /// handshake without one.
    ClientCertRequired,
    /// The same, capped at TLS 1.2, where OpenSSL answers a missing client
    /// certificate with a bare handshake_failure alert.
    ClientCertRequiredTls12,
}

/// Which certificate the server presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cert {
    Good,
    Expired,
    WrongName,
    /// Signed by a CA that is not in `ca.pem`.
    UnknownCa,
    /// Names only addresses: IP 127.0.0.1 and IP ::1 (and a DNS name that
    /// is neither `localhost` nor resolvable), as for `-H ::1`.
    IpAddresses,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub running: bool,
    /// `backups/need`: are there keys that no backup holds?
    pub needed: bool,
    /// `backups/result`: the `code` as raw JSON (`"0"`, `-1`, `"7"`).
    pub result_code: String,
    /// `backups`: the whole body as raw JSON (undocumented shape).
    pub backup_list: String,
    /// `restore/isrunning`: the phase, 0 IDLE to 7 COMPLETED.
    pub restore_phase: u8,
    /// Prefixes served; others answer 404.
    pub prefixes: Vec<String>,
    pub status_behavior: Behavior,
    /// The behaviour of one question, in place of `status_behavior`.
    pub question_behaviors: Vec<(answers::Question, Behavior)>,
    pub login_behavior: Behavior,
    /// How the login answer spells the id key.
    pub login_key: String,
    pub code_as_number: bool,
    pub wire: Wire,
}

impl Config {
    pub fn serving(prefixes: &[&str]) -> Config {
        Config {
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            ..Config::default()
        }
    }

    pub fn wire(wire: Wire) -> Config {
        Config {
            wire,
            ..Config::default()
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            running: false,
            needed: false,
            result_code: "\"0\"".into(),
            restore_phase: 0,
            backup_list: answers::backup_list(&[answers::hours_ago(1)]),
            prefixes: vec!["/SKLM".into()],
            status_behavior: Behavior::Normal,
            question_behaviors: Vec::new(),
            login_behavior: Behavior::Normal,
            login_key: "UserAuthId".into(),
            code_as_number: false,
            wire: Wire::Tls,
        }
    }
}

/// One request as the simulator saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub accept_language: Option<String>,
}

struct Shared {
    config: Mutex<Config>,
    log: Mutex<Vec<Logged>>,
    sessions: Mutex<HashSet<String>>,
    next_id: AtomicU64,
    stop: AtomicBool,
}

pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

impl Simulator {
    pub fn start() -> Simulator {
        Simulator::start_with(Config::default(), Cert::Good)
    }

    /// A simulator with a good certificate and this configuration.
    pub fn with(config: Config) -> Simulator {
        Simulator::start_with(config, Cert::Good)
    }

    pub fn start_with(config: Config, cert: Cert) -> Simulator {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        Simulator::serve(config, cert, "127.0.0.1:0", &dir, Some(tmp))
    }

    /// Like `start_with`, listening on the IPv6 loopback `[::1]` instead.
    pub fn start_v6(config: Config, cert: Cert) -> Simulator {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        Simulator::serve(config, cert, "[::1]:0", &dir, Some(tmp))
    }

    /// Serve on `bind`, writing `ca.pem` (and a hashed CA directory) to `dir`.
    pub fn serve(
        config: Config,
        cert: Cert,
        bind: &str,
        dir: &Path,
        tmp: Option<tempfile::TempDir>,
    ) -> Simulator {
        let acceptor = make_acceptor(cert, dir);
        let listener = TcpListener::bind(bind).expect("bind simulator port");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            config: Mutex::new(config),
            log: Mutex::new(Vec::new()),
            sessions: Mutex::new(HashSet::new()),
            next_id: AtomicU64::new(1),
            stop: AtomicBool::new(false),
        });
        let server = Arc::clone(&shared);
        thread::spawn(move || accept_loop(listener, acceptor, server));
        Simulator {
            addr,
            shared,
            dir: dir.to_path_buf(),
            _tmp: tmp,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The CA as an OpenSSL hashed directory (`<hash>.0`), for SSL_CERT_DIR.
    pub fn ca_dir(&self) -> PathBuf {
        self.dir.join("hashed")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn configure(&self, change: impl FnOnce(&mut Config)) {
        change(&mut self.shared.config.lock().unwrap());
    }

    pub fn set_running(&self, running: bool) {
        self.configure(|c| c.running = running);
    }

    pub fn set_needed(&self, needed: bool) {
        self.configure(|c| c.needed = needed);
    }

    /// The `code` of `backups/result`, as raw JSON: `"0"`, `-1`, `"7"`.
    pub fn set_result_code(&self, code: &str) {
        self.configure(|c| c.result_code = code.to_string());
    }

    /// The restore phase `restore/isrunning` reports (0 to 7).
    pub fn set_restore_phase(&self, phase: u8) {
        self.configure(|c| c.restore_phase = phase);
    }

    /// The whole body of the backup list, as raw JSON.
    pub fn set_backup_list(&self, body: &str) {
        self.configure(|c| c.backup_list = body.to_string());
    }

    pub fn set_status_behavior(&self, behavior: Behavior) {
        self.configure(|c| c.status_behavior = behavior);
    }

    /// How the question at `endpoint` (`backups/result`) behaves, the
    /// others as before; panics on an endpoint the simulator does not
    /// serve.
    pub fn set_behavior_of(&self, endpoint: &str, behavior: Behavior) {
        let question = answers::Question::at(endpoint).expect("a question the simulator serves");
        self.configure(|c| {
            c.question_behaviors.retain(|(q, _)| *q != question);
            c.question_behaviors.push((question, behavior));
        });
    }

    /// Forget every session, as GKLM does after 15 idle minutes.
    pub fn forget_sessions(&self) {
        self.shared.sessions.lock().unwrap().clear();
    }

    /// A session id valid now, as if obtained by someone else's login.
    pub fn issue_session(&self) -> String {
        new_session(&self.shared)
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str, path_suffix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path.ends_with(path_suffix))
            .count()
    }

    pub fn clear_log(&self) {
        self.shared.log.lock().unwrap().clear();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn accept_loop(listener: TcpListener, acceptor: Arc<SslAcceptor>, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let (acceptor, shared) = (Arc::clone(&acceptor), Arc::clone(&shared));
        thread::spawn(move || {
            let _ = handle_connection(stream, &acceptor, &shared);
        });
    }
}

type Io<T> = std::io::Result<T>;

fn handle_connection(stream: TcpStream, acceptor: &SslAcceptor, shared: &Shared) -> Io<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let wire = shared.config.lock().unwrap().wire;
    match wire {
        Wire::SilentTcp => {
            sleep_unless_stopped(shared, Duration::from_secs(30));
            Ok(())
        }
        Wire::PlainHttp => {
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf)?;
            stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
            Ok(())
        }
        Wire::Tls => {
            let tls = acceptor.accept(stream).map_err(std::io::Error::other)?;
            serve_request(tls, shared)
        }
        Wire::OldTlsOnly | Wire::ClientCertRequired | Wire::ClientCertRequiredTls12 => {
            let mut ssl = Ssl::new(acceptor.context()).map_err(std::io::Error::other)?;
            if wire == Wire::OldTlsOnly {
                // Security level 0: OpenSSL 3 refuses TLS 1.0/1.1 otherwise.
                ssl.set_security_level(0);
                ssl.set_cipher_list("DEFAULT:@SECLEVEL=0")
                    .map_err(std::io::Error::other)?;
                ssl.set_min_proto_version(Some(SslVersion::TLS1))
                    .map_err(std::io::Error::other)?;
                ssl.set_max_proto_version(Some(SslVersion::TLS1_1))
                    .map_err(std::io::Error::other)?;
            } else {
                ssl.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
                if wire == Wire::ClientCertRequiredTls12 {
                    ssl.set_max_proto_version(Some(SslVersion::TLS1_2))
                        .map_err(std::io::Error::other)?;
                }
            }
            let tls = match ssl.accept(stream) {
                Ok(tls) => tls,
                Err(HandshakeError::Failure(mut mid) | HandshakeError::WouldBlock(mut mid)) => {
                    // Like a careful server: the alert is out; read what the
                    // client still sends (with TLS 1.3 its request follows
                    // its Finished at once), so that closing does not reset
                    // the connection and drop the alert before it is read.
                    drain(mid.get_mut(), shared);
                    return Err(std::io::Error::other(mid.into_error()));
                }
                Err(HandshakeError::SetupFailure(e)) => return Err(std::io::Error::other(e)),
            };
            serve_request(tls, shared)
        }
    }
}

fn drain(stream: &mut TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 4096];
    for _ in 0..50 {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return,
        }
    }
}

fn sleep_unless_stopped(shared: &Shared, total: Duration) {
    let mut left = total;
    while !left.is_zero() && !shared.stop.load(Ordering::SeqCst) {
        let step = left.min(Duration::from_millis(50));
        thread::sleep(step);
        left -= step;
    }
}

pub(crate) struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(reader: &mut BufReader<&mut SslStream<TcpStream>>) -> Io<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    let length = request
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    request.body = body;
    Ok(request)
}

fn serve_request(mut tls: SslStream<TcpStream>, shared: &Shared) -> Io<()> {
    let request = read_request(&mut BufReader::new(&mut tls))?;
    shared.log.lock().unwrap().push(Logged {
        method: request.method.clone(),
        path: request.path.clone(),
        authorization: request.header("authorization").map(str::to_string),
        accept_language: request.header("accept-language").map(str::to_string),
    });
    let config = shared.config.lock().unwrap().clone();
    let answer = route(&request, &config, shared);
    let behavior = match answer {
        Route::Login => &config.login_behavior,
        Route::Ask(question) => config
            .question_behaviors
            .iter()
            .find(|(q, _)| *q == question)
            .map_or(&config.status_behavior, |(_, b)| b),
        Route::Plain(..) => &Behavior::Normal,
    };
    let (status, content_type, body) = match (behavior, &answer) {
        (Behavior::Normal | Behavior::Delay(_), Route::Plain(status, body)) => (
            *status,
            "application/json".to_string(),
            body.clone().into_bytes(),
        ),
        (Behavior::Normal | Behavior::Delay(_), Route::Login) => login(&request, &config, shared),
        (Behavior::Normal | Behavior::Delay(_), Route::Ask(question)) => {
            match session_of(&request, shared) {
                Err((status, body)) => (status, "application/json".into(), body.into_bytes()),
                Ok(_) => (
                    200,
                    "application/json".into(),
                    answers::answer(*question, &request, &config).into_bytes(),
                ),
            }
        }
        (
            Behavior::Reply {
                status,
                content_type,
                body,
            },
            _,
        ) => (*status, content_type.clone(), body.clone()),
        (special, _) => return misbehave(tls, special, shared),
    };
    if let Behavior::Delay(d) = behavior {
        sleep_unless_stopped(shared, *d);
    }
    write_response(&mut tls, status, &content_type, &[], &body)?;
    let _ = tls.shutdown();
    Ok(())
}

enum Route {
    Login,
    /// One of the backup questions; its `Behavior` is `status_behavior`.
    Ask(answers::Question),
    Plain(u16, String),
}

fn route(request: &Request, config: &Config, shared: &Shared) -> Route {
    if let Some(control) = request.path.strip_prefix("/_sim/") {
        return control_endpoint(control, request, shared);
    }
    let Some(prefix) = config
        .prefixes
        .iter()
        .find(|p| request.path.starts_with(&format!("{p}/rest/v1/ckms/")))
    else {
        return Route::Plain(404, String::new());
    };
    let endpoint = &request.path[prefix.len() + "/rest/v1/ckms/".len()..];
    let endpoint = endpoint.split('?').next().unwrap_or_default();
    if let Some(question) = answers::Question::at(endpoint) {
        return match request.method.as_str() {
            "GET" => Route::Ask(question),
            _ => Route::Plain(405, String::new()),
        };
    }
    match (endpoint, request.method.as_str()) {
        ("login", "POST") => Route::Login,
        ("logout", "DELETE") => match session_of(request, shared) {
            Ok(id) => {
                shared.sessions.lock().unwrap().remove(&id);
                Route::Plain(200, format!(r#"{{"userId":"{USER}","logout":true}}"#))
            }
            Err((status, body)) => Route::Plain(status, body),
        },
        ("login" | "logout", _) => Route::Plain(405, String::new()),
        _ => Route::Plain(404, String::new()),
    }
}

/// Control endpoints for the standalone simulator (curl-friendly).
fn control_endpoint(control: &str, request: &Request, shared: &Shared) -> Route {
    match control {
        "running" => {
            let running = String::from_utf8_lossy(&request.body).trim() != "false";
            shared.config.lock().unwrap().running = running;
            Route::Plain(200, format!(r#"{{"running":{running}}}"#))
        }
        "needed" => {
            let needed = String::from_utf8_lossy(&request.body).trim() != "false";
            shared.config.lock().unwrap().needed = needed;
            Route::Plain(200, format!(r#"{{"needed":{needed}}}"#))
        }
        "result" => {
            let code = String::from_utf8_lossy(&request.body).trim().to_string();
            shared.config.lock().unwrap().result_code = code.clone();
            Route::Plain(200, format!(r#"{{"result":{code}}}"#))
        }
        "restore" => {
            let body = String::from_utf8_lossy(&request.body);
            match body.trim().parse::<u8>() {
                Ok(phase) if phase <= 7 => {
                    shared.config.lock().unwrap().restore_phase = phase;
                    Route::Plain(200, format!(r#"{{"restore_phase":{phase}}}"#))
                }
                _ => Route::Plain(400, r#"{"error":"a phase from 0 to 7"}"#.into()),
            }
        }
        "backups" => {
            let list = String::from_utf8_lossy(&request.body).trim().to_string();
            shared.config.lock().unwrap().backup_list = list;
            Route::Plain(200, "{}".into())
        }
        "forget" => {
            shared.sessions.lock().unwrap().clear();
            Route::Plain(200, "{}".into())
        }
        "stats" => {
            let log = shared.log.lock().unwrap();
            let count = |suffix: &str| log.iter().filter(|r| r.path.ends_with(suffix)).count();
            Route::Plain(
                200,
                format!(
                    r#"{{"requests":{},"logins":{},"logouts":{}}}"#,
                    log.len(),
                    count("/login"),
                    count("/logout")
                ),
            )
        }
        _ => Route::Plain(404, String::new()),
    }
}

fn session_of(request: &Request, shared: &Shared) -> Result<String, (u16, String)> {
    let header = request.header("authorization").unwrap_or_default();
    let Some(id) = header
        .strip_prefix("SKLMAuth userAuthId=")
        .filter(|id| !id.is_empty())
    else {
        return Err((400, r#"{"code":"CTGKM6002E","message":"CTGKM6002E Bad Request: invalid user authentication ID or invalid request format"}"#.into()));
    };
    if shared.sessions.lock().unwrap().contains(id) {
        Ok(id.to_string())
    } else {
        Err((401, r#"{"code":"CTGKM6004E","message":"CTGKM6004E User is not authenticated or has already logged out"}"#.into()))
    }
}

fn new_session(shared: &Shared) -> String {
    let n = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let id = format!("simsess-{n:04}-{nanos:08x}");
    shared.sessions.lock().unwrap().insert(id.clone());
    id
}

fn login(request: &Request, config: &Config, shared: &Shared) -> (u16, String, Vec<u8>) {
    let creds: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    if creds["userid"] == USER && creds["password"] == PASSWORD {
        let id = new_session(shared);
        (
            200,
            "application/json".into(),
            format!(r#"{{"{}":"{id}"}}"#, config.login_key).into_bytes(),
        )
    } else {
        (
            401,
            "application/json".into(),
            br#"{"code":"CTGKM6003E","message":"CTGKM6003E Invalid user ID or password."}"#
                .to_vec(),
        )
    }
}

fn misbehave(mut tls: SslStream<TcpStream>, behavior: &Behavior, shared: &Shared) -> Io<()> {
    match behavior {
        Behavior::DripBody => {
            let body = br#"{"code":"1","status":"CTGKM3291I Backup process is not running."}"#;
            write_head(&mut tls, 200, "application/json", &[], body.len())?;
            for byte in body {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                tls.write_all(&[*byte])?;
                tls.flush()?;
                thread::sleep(Duration::from_secs(1));
            }
        }
        Behavior::CloseMidBody => {
            write_head(&mut tls, 200, "application/json", &[], 200)?;
            tls.write_all(br#"{"code":"1","sta"#)?;
            tls.flush()?;
            let _ = tls.get_ref().shutdown(Shutdown::Both);
        }
        Behavior::HugeBody(size) => {
            write_head(&mut tls, 200, "application/json", &[], *size)?;
            let chunk = vec![b' '; 64 * 1024];
            let mut left = *size;
            while left > 0 {
                let n = left.min(chunk.len());
                if tls.write_all(&chunk[..n]).is_err() {
                    break; // the client stopped reading, as it should
                }
                left -= n;
            }
        }
        Behavior::HugeHeader(size) => {
            let big = ("X-Padding".to_string(), "a".repeat(*size));
            let body = br#"{"code":"1","status":"CTGKM3291I Backup process is not running."}"#;
            let _ = write_response(&mut tls, 200, "application/json", &[big], body);
        }
        _ => unreachable!("handled by serve_request"),
    }
    let _ = tls.shutdown();
    Ok(())
}

fn write_head(
    tls: &mut SslStream<TcpStream>,
    status: u16,
    content_type: &str,
    extra: &[(String, String)],
    length: usize,
) -> Io<()> {
    let reason = match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n"
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes())
}

fn write_response(
    tls: &mut SslStream<TcpStream>,
    status: u16,
    content_type: &str,
    extra: &[(String, String)],
    body: &[u8],
) -> Io<()> {
    let mut extra = extra.to_vec();
    if (300..400).contains(&status) {
        extra.push((
            "Location".into(),
            String::from_utf8_lossy(body).into_owned(),
        ));
    }
    write_head(tls, status, content_type, &extra, body.len())?;
    tls.write_all(body)?;
    tls.flush()
}

// ---------------------------------------------------------------- certificates
