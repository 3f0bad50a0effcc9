//! The `-t` deadline holds whatever signal state the parent left: a blocked
//! SIGALRM and an ignored one both survive exec, and an engine, a wrapper
//! script or a shell's `trap '' ALRM` can leave either.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// What the parent did to SIGALRM before exec.
#[derive(Clone, Copy, Debug)]
enum Inherited {
    Blocked,
    Ignored,
    /// Blocked, with an alarm already pending (raised while blocked).
    Pending,
}

fn inherit(cmd: &mut Command, what: Inherited) {
    // SAFETY: runs in the child between fork and exec; sigemptyset,
    // sigaddset, sigprocmask and signal are async-signal-safe and touch only
    // the child's own signal state.
    unsafe {
        cmd.pre_exec(move || {
            match what {
                Inherited::Blocked | Inherited::Pending => {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGALRM);
                    if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    if matches!(what, Inherited::Pending) && libc::raise(libc::SIGALRM) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Inherited::Ignored => {
                    if libc::signal(libc::SIGALRM, libc::SIG_IGN) == libc::SIG_ERR {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            Ok(())
        });
    }
}

/// Run `cmd`, killing it after a backstop far beyond `-t 2` so that a
/// broken watchdog fails the test instead of hanging it.
fn run_with_backstop(cmd: &mut Command) -> Run {
    const BACKSTOP: Duration = Duration::from_secs(20);
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > BACKSTOP {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
    }
}

/// A FIFO nobody writes to: reading it blocks, as a hung mount would.
fn fifo(ws: &Workspace) -> std::path::PathBuf {
    let path = ws.path().join("fifo");
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other requirement.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    path
}

#[test]
fn a_dripping_gklm_times_out_whatever_the_parent_did_to_sigalrm() {
    for what in [Inherited::Blocked, Inherited::Ignored] {
        let sim = Simulator::start();
        sim.set_status_behavior(Behavior::DripBody);
        let ws = Workspace::new();
        let mut cmd = login_command(&sim, &ws);
        cmd.args(["-t", "2", "--prefix", "/SKLM"]);
        inherit(&mut cmd, what);
        let r = run_with_backstop(&mut cmd);
        println!("{what:?}: {:?} {}", r.elapsed, r.stdout);
        r.expect("CRITICAL", 2)
            .expect_text("backup status request timed out after 2s")
            .within_timeout_of_2s();
    }
}

#[test]
fn a_blocking_password_file_times_out_whatever_the_parent_did_to_sigalrm() {
    for what in [Inherited::Blocked, Inherited::Ignored] {
        let sim = Simulator::start();
        let ws = Workspace::new();
        let mut cmd = login_with(&sim, &ws, &fifo(&ws));
        cmd.args(["-t", "2"]);
        inherit(&mut cmd, what);
        let r = run_with_backstop(&mut cmd);
        println!("{what:?}: {:?} {}", r.elapsed, r.stdout);
        r.expect("UNKNOWN", 3)
            .expect_text("reading the password or session id timed out after 2s")
            .within_timeout_of_2s();
        assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    }
}

#[test]
fn an_alarm_the_parent_left_pending_does_not_end_the_run_early() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let mut cmd = login_command(&sim, &ws);
    cmd.args(["-t", "5"]);
    inherit(&mut cmd, Inherited::Pending);
    let r = run_with_backstop(&mut cmd);
    r.expect("OK", 0)
        .expect_text("CTGKM3291I Backup process is not running.");
}
