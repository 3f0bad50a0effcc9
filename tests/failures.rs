//! What the fault matrix (`matrix.rs`, every family against every mode)
//! does not repeat: faults that come before any mode's question (TLS
//! causes, certificates, login), `running`'s own answer shapes, stdout that
//! nobody reads, text that reaches a pager, and blocked local files other
//! than the password. Each asserts the exit code, the state, that the
//! message names the cause, and that the run ends within `-t` plus half a
//! second.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::engine;
use crate::util::*;

const TIMEOUT: &str = "2";

/// Run with `-t 2 --prefix /SKLM` and check the time bound.
fn bounded(sim: &Simulator, extra: &[&str]) -> Run {
    let ws = Workspace::new();
    let mut args = vec!["-t", TIMEOUT, "--prefix", "/SKLM"];
    args.extend_from_slice(extra);
    let r = run_with(sim, &ws, &args);
    r.within_timeout_of_2s();
    r
}

fn status_reply(behavior: Behavior) -> Run {
    let sim = Simulator::start();
    sim.set_status_behavior(behavior);
    bounded(&sim, &[])
}

fn json_status(status: u16, body: &str) -> Run {
    status_reply(Behavior::json(status, body))
}

// ---------------------------------------------------------------- network

/// A handshake failure that no certificate option can fix: the message
/// names the cause, without the --cacert hint or OpenSSL's error codes.
fn names_the_tls_cause(wire: Wire, cause: &str) {
    let sim = Simulator::with(Config::wire(wire));
    let r = bounded(&sim, &[]);
    r.expect("CRITICAL", 2)
        .expect_text("login to https://localhost:")
        .expect_text(cause);
    for misleading in [
        "--cacert",
        "--insecure",
        "error:",
        "SSL routines",
        "alert number",
    ] {
        assert!(
            !r.stdout.contains(misleading),
            "{misleading:?} in {}",
            r.stdout
        );
    }
}

#[test]
fn a_server_with_only_tls_1_0_or_1_1_is_named_as_such() {
    names_the_tls_cause(
        Wire::OldTlsOnly,
        "the server offers only TLS versions older than 1.2 (TLS 1.0 or 1.1)",
    );
}

#[test]
fn a_server_that_demands_a_client_certificate_is_named_as_such() {
    names_the_tls_cause(
        Wire::ClientCertRequired,
        "the server demands a client certificate (mutual TLS)",
    );
}

#[test]
fn a_tls_1_2_server_that_demands_a_client_certificate_is_named_as_a_possible_cause() {
    names_the_tls_cause(
        Wire::ClientCertRequiredTls12,
        "the server refused the handshake; it demands a client certificate (mutual TLS)",
    );
}

#[test]
fn unreachable_state_can_be_overridden() {
    let sim = Simulator::with(Config::wire(Wire::PlainHttp));
    bounded(&sim, &["--unreachable-state", "unknown"])
        .expect("UNKNOWN", 3)
        .expect_text("TLS failed");
    bounded(&sim, &["--unreachable-state", "warning"]).expect("WARNING", 1);
}

#[test]
fn connection_refused() {
    let ws = Workspace::new();
    let r = run(command(&ws)
        .args(["-H", "127.0.0.1", "-p", "1", "-t", TIMEOUT])
        .env("GKLM_AUTH_ID", "some-session-id"));
    r.expect("CRITICAL", 2)
        .expect_text("connection refused")
        .within_timeout_of_2s();
}

/// In a network namespace of its own, so the name lookup reaches no
/// resolver: this machine's would be a private address, never a target.
#[test]
fn an_unknown_host_name_is_named_as_such() {
    if !engine::require_root(
        "an_unknown_host_name_is_named_as_such",
        "make a network namespace for the lookup",
    ) {
        return;
    }
    let ws = Workspace::new();
    let own = command(&ws);
    let mut cmd = Command::new("unshare");
    cmd.arg("--net")
        .arg(own.get_program())
        .args(["-H", "no-such-host.invalid", "-t", TIMEOUT])
        .env_clear()
        .envs(own.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("GKLM_AUTH_ID", "some-session-id")
        .current_dir(ws.path())
        .stdin(Stdio::null());
    let r = run(&mut cmd);
    r.expect("CRITICAL", 2)
        .expect_text("cannot resolve host name")
        .within_timeout_of_2s();
}

// ---------------------------------------------------------------- bodies

#[test]
fn code_missing_null_or_unknown() {
    // Without a code, only a known message id could decide: none here.
    json_status(200, r#"{"status":"Backup process x"}"#)
        .expect("UNKNOWN", 3)
        .expect_text("no 'code' field; 'status' says Backup process x");
    // IBM's OpenAPI file sends no code at all: the id decides.
    json_status(200, r#"{"status":"CTGKM3291I x"}"#)
        .expect("OK", 0)
        .expect_text("CTGKM3291I x");
    json_status(200, r#"{"code":null,"status":"x"}"#)
        .expect("UNKNOWN", 3)
        .expect_text("'code' is null");
    json_status(200, r#"{"code":"7","status":"x"}"#)
        .expect("UNKNOWN", 3)
        .expect_text("'code' is \"7\"");
}

#[test]
fn code_as_a_number() {
    let r = json_status(
        200,
        r#"{"code":0,"status":"CTGKM3290I Backup process is running."}"#,
    );
    r.expect("OK", 0)
        .expect_text("CTGKM3290I Backup process is running. (running for 1 check");
}

#[test]
fn status_missing() {
    let r = json_status(200, r#"{"code":"1"}"#);
    r.expect("OK", 0)
        .expect_text("not running (GKLM sent no status text)");
}

#[test]
fn extra_unknown_fields_still_work() {
    let r = json_status(
        200,
        r#"{"code":"1","status":"CTGKM3291I Backup process is not running.","taskId":42,"extra":{"a":[1]}}"#,
    );
    r.expect("OK", 0).expect_text("CTGKM3291I");
}

// ---------------------------------------------------------------- statuses

#[test]
fn login_and_session_rejections_quote_gklm() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let wrong = ws.secret_file("wrong", "nope\n");
    let r = run(login_with(&sim, &ws, &wrong).args(["-t", TIMEOUT]));
    r.expect("UNKNOWN", 3)
        .expect_text("rejected the login (HTTP 401: CTGKM6003E")
        .within_timeout_of_2s();
    let r = run(target_command(&sim, &ws)
        .args(["-t", TIMEOUT])
        .env("GKLM_AUTH_ID", "expired-session-id"));
    r.expect("UNKNOWN", 3)
        .expect_text("rejected the session id (HTTP 401: CTGKM6004E")
        .within_timeout_of_2s();
    sim.set_status_behavior(Behavior::json(400, r#"{"code":"CTGKM6002E","message":"CTGKM6002E Bad Request: invalid user authentication ID or invalid request format"}"#));
    let r = run(target_command(&sim, &ws)
        .args(["-t", TIMEOUT])
        .env("GKLM_AUTH_ID", sim.issue_session()));
    r.expect("UNKNOWN", 3)
        .expect_text("HTTP 400: CTGKM6002E")
        .within_timeout_of_2s();
}

// ---------------------------------------------------------------- certificates

fn tls_failure(cert: Cert, cause: &str) {
    let sim = Simulator::start_with(Config::default(), cert);
    let r = bounded(&sim, &[]);
    r.expect("CRITICAL", 2)
        .expect_text("TLS failed")
        .expect_text(cause)
        .expect_text("--cacert")
        .expect_text("--insecure");
}

#[test]
fn expired_certificate() {
    tls_failure(Cert::Expired, "expired");
}

#[test]
fn certificate_for_another_name() {
    tls_failure(Cert::WrongName, "mismatch");
}

#[test]
fn certificate_from_an_unknown_ca() {
    tls_failure(Cert::UnknownCa, "local issuer");
}

#[test]
fn system_store_does_not_trust_a_private_ca() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let r = run(untrusted_command(&sim, &ws)
        .args(["-t", TIMEOUT, "-u", USER, "--password-file"])
        .arg(ws.password_file()));
    r.expect("CRITICAL", 2)
        .expect_text("TLS failed")
        .expect_text("--cacert");
}

// ---------------------------------------------------------------- stdout

/// A pipe whose buffer is already full: (read end, write end). Filled with
/// the write end non-blocking, then made blocking again, so a run that
/// writes to it blocks exactly as under an engine that stopped reading.
fn full_pipe() -> (File, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two descriptors that nothing else owns.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (read, write) = unsafe { (File::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let set_nonblocking = |on: bool| {
        let fd = write.as_raw_fd();
        // SAFETY: plain fcntl on a descriptor we own.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            let flags = if on {
                flags | libc::O_NONBLOCK
            } else {
                flags & !libc::O_NONBLOCK
            };
            assert_eq!(libc::fcntl(fd, libc::F_SETFL, flags), 0);
        }
    };
    set_nonblocking(true);
    let mut filler = File::from(write.try_clone().unwrap());
    let chunk = [b'#'; 4096];
    let mut filled = 0;
    loop {
        match filler.write(&chunk) {
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling the pipe: {e}"),
        }
    }
    assert!(filled >= 4096, "pipe took {filled} bytes");
    set_nonblocking(false);
    (read, write)
}

/// Spawn the run with stdout the write end of a pipe; wait for it at most
/// 20 s (then kill it) and return its exit code and how long it took.
fn run_into(mut cmd: Command, stdout: OwnedFd) -> (Option<i32>, Duration) {
    let started = Instant::now();
    let child = cmd
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    drop(cmd); // the parent keeps no write end: EOF once the run is gone
    let pid = child.id();
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = done.send((child.wait().ok().and_then(|s| s.code()), started.elapsed()));
    });
    wait.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| {
            // SAFETY: kill(2) on the child this test spawned and has not reaped.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            (None, started.elapsed())
        })
}

#[test]
fn a_stdout_nobody_reads_does_not_hold_the_run_past_its_timeout() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let login = || {
        let mut cmd = login_command(&sim, &ws);
        cmd.args(["-t", TIMEOUT, "--prefix", "/SKLM", "-vvv"]);
        cmd
    };
    // A quick answer whose line cannot be written: ends with its own code.
    let (_read, write) = full_pipe();
    let (code, took) = run_into(login(), write);
    assert_eq!(code, Some(0), "took {took:?}");
    assert!(
        took < Duration::from_secs(2) + SLACK,
        "took {took:?} with -t 2"
    );
    // GKLM too slow, and the timeout line cannot be written either.
    sim.set_status_behavior(Behavior::Delay(Duration::from_secs(60)));
    let (_read, write) = full_pipe();
    let (code, took) = run_into(login(), write);
    assert_eq!(code, Some(2), "took {took:?}");
    assert!(
        took < Duration::from_secs(2) + SLACK,
        "took {took:?} with -t 2"
    );
}

#[test]
fn output_is_still_written_when_the_reader_catches_up_in_time() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let (mut read, write) = full_pipe();
    let mut cmd = login_command(&sim, &ws);
    cmd.args(["-t", "10", "--prefix", "/SKLM"]);
    let reader = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        let mut all = Vec::new();
        read.read_to_end(&mut all).unwrap();
        String::from_utf8_lossy(&all)
            .trim_start_matches('#')
            .to_string()
    });
    let (code, took) = run_into(cmd, write);
    let out = reader.join().unwrap();
    assert_eq!(code, Some(0), "took {took:?}: {out}");
    assert!(
        out.starts_with("OK - CTGKM3291I Backup process is not running."),
        "{out}"
    );
}

// ------------------------------------------------------ text that reaches a pager

#[test]
fn a_long_cjk_status_is_cut_to_300_bytes_on_a_character_boundary() {
    let status = format!("CTGKM3291I {}", "\u{8a9e}".repeat(200));
    let r = json_status(200, &format!(r#"{{"code":"1","status":"{status}"}}"#));
    r.expect("OK", 0);
    let line = r.first_line();
    assert!(line.len() <= 300, "{} bytes", line.len());
    assert!(line.contains("\u{8a9e}... | running=0"), "{line}");
    let r = json_status(200, &format!(r#"{{"code":"1","status":"{status}"}}"#));
    assert!(r.first_line().len() > 250, "cut far too short");
}

#[test]
fn bidirectional_and_invisible_format_characters_are_removed() {
    let r = json_status(
        200,
        r#"{"code":"1","status":"CTGKM3291I \u202Egninnur ton\u202C \u2066x\u2069\u200B\uFEFF\u00ADy"}"#,
    );
    r.expect("OK", 0);
    let summary = r.first_line().split(" | ").next().unwrap();
    assert_eq!(summary, "OK - CTGKM3291I gninnur ton xy");
}

// ------------------------------------------------------------ local blocking

/// A FIFO nobody writes to: opening it for reading blocks forever, as a
/// file on a hung network mount would.
fn blocking_file(ws: &Workspace, name: &str) -> std::path::PathBuf {
    let path = ws.path().join(name);
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other requirement.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    path
}

#[test]
fn a_blocked_local_file_is_unknown_in_time_whatever_unreachable_state_says() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let fifo = blocking_file(&ws, "fifo");
    let password = run(target_command(&sim, &ws)
        .args(["-u", USER, "--password-file"])
        .arg(&fifo)
        .args(["-t", "2", "--unreachable-state", "ok", "-w", "3"]));
    password
        .expect("UNKNOWN", 3)
        .expect_text("reading the password or session id timed out after 2s")
        .within_timeout_of_2s();
    let cacert = run(untrusted_command(&sim, &ws)
        .arg("--cacert")
        .arg(&fifo)
        .args(["-u", USER, "--password-file"])
        .arg(ws.password_file())
        .args(["-t", "2", "--unreachable-state", "ok"]));
    cacert
        .expect("UNKNOWN", 3)
        .expect_text("reading the --cacert file timed out after 2s")
        .within_timeout_of_2s();
    assert!(
        sim.requests().is_empty(),
        "GKLM was asked: {:?}",
        sim.requests()
    );
}
