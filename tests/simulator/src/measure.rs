//! What one run of a program costs, as the benchmark and the cost tests
//! measure it: its own CPU from wait4, and its own peak memory from GNU
//! time. A child spawned by a large process records that process's memory
//! as its peak at exec, so wait4's `ru_maxrss` alone says little.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One run of a program, its output discarded.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// Whether it exited with 0.
    pub succeeded: bool,
    /// Its own user and system CPU, whatever else runs beside it.
    pub cpu_ms: f64,
    pub wall_ms: f64,
    /// wait4's peak RSS: this process's own at the child's exec, at least.
    pub max_rss_kib: f64,
}

/// Run `cmd` once and reap it with wait4.
pub fn cost(cmd: &mut Command) -> Cost {
    let started = Instant::now();
    // Reaped by wait4 below, which also yields the child's own rusage.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child, which
    // it also reaps.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(waited, pid, "wait4 failed");
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    Cost {
        succeeded: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
        wall_ms,
        max_rss_kib: usage.ru_maxrss as f64,
    }
}

/// GNU time's own path (Debian package `time`); None where it is missing.
pub fn gnu_time() -> Option<&'static Path> {
    let path = Path::new("/usr/bin/time");
    path.exists().then_some(path)
}

/// `cmd` run by GNU time, which writes the peak RSS of `cmd` itself to
/// `report` (read it with `peak_rss_kib`). `cmd`'s environment is all the
/// child sees.
pub fn under_gnu_time(cmd: &Command, report: &Path) -> Command {
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(report)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    timed
}

/// The peak RSS in KiB that GNU time wrote to `report`: its last line (a
/// first one says so when the exit code was not 0).
pub fn peak_rss_kib(report: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(report).ok()?;
    text.lines().last()?.trim().parse().ok()
}
