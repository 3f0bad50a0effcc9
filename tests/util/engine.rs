//! Helpers for tests that drive real third-party tools (monitoring engines,
//! dpkg): finding them, skipping loudly when absent, and never leaving a
//! daemon behind.
#![allow(dead_code)] // each test binary uses a different part of it

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root, for the shipped packaging files.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Find `name` in PATH or the sbin directories. When it is missing, a test
/// run by hand is skipped with a clear message; under CI it fails, because
/// `.ci/run` installs every tool.
pub fn require(name: &str, test: &str, package: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        missing(
            test,
            &format!("{name} is not installed (apt-get install {package})"),
        );
    }
    found
}

/// A test cannot run because `why`: skipped by hand, a failure under CI.
pub fn missing(test: &str, why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} cannot run under CI: {why}; .ci/run should have installed it"
    );
    say(&format!("SKIPPED {test}: {why}"));
}

/// `require`, and when the engine is there, print which version the test
/// drives.
pub fn require_engine(name: &str, test: &str, package: &str) -> Option<PathBuf> {
    let engine = require(name, test, package)?;
    say(&format!(
        "engine: {}",
        first_line_of(Command::new(&engine).arg("--version"))
    ));
    Some(engine)
}

/// A line that shows in the test output even when cargo captures it.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether a test that needs root (mounts, chown) can run: skipped by hand
/// without root, a failure under CI, which runs as root.
pub fn require_root(test: &str, why: &str) -> bool {
    if running_as_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} cannot run under CI: it needs root to {why}"
    );
    say(&format!(
        "SKIPPED {test}: needs root to {why} (CI runs as root)"
    ));
    false
}

pub fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// The first line a command prints (its version, say).
pub fn first_line_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run tool");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// A daemon in its own process group, killed with its workers on drop.
pub struct Daemon {
    child: Child,
}

impl Daemon {
    pub fn start(cmd: &mut Command, log: &Path) -> Daemon {
        Daemon::start_logging_to(cmd, std::fs::File::create(log).expect("daemon log"))
    }

    pub fn start_logging_to(cmd: &mut Command, log: std::fs::File) -> Daemon {
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start daemon");
        Daemon { child }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let kill = |signal: &str| {
            Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status()
        };
        let _ = kill("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.is_running() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = kill("-KILL");
        let _ = self.child.wait();
    }
}

/// Poll `probe` every 200 ms until it returns Some, for at most `limit`.
pub fn wait_for<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Parse `label=value;warn;crit;min;max ...` into (label, fields).
pub fn perf_items(perfdata: &str) -> Vec<(String, Vec<String>)> {
    perfdata
        .split_whitespace()
        .filter_map(|item| item.split_once('='))
        .map(|(label, rest)| {
            (
                label.trim_matches('\'').to_string(),
                rest.split(';').map(str::to_string).collect(),
            )
        })
        .collect()
}

/// The leading number of a perfdata value such as `12s`.
pub fn number(value: &str) -> f64 {
    let digits: String = value
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {value}"))
}

/// Expected state for `-w 2 -c 4` after `checks` running checks.
pub fn state_after(checks: u64) -> (&'static str, u8) {
    match checks {
        0..=2 => ("OK", 0),
        3..=4 => ("WARNING", 1),
        _ => ("CRITICAL", 2),
    }
}

/// Assert the check's four perfdata items as an engine recorded them.
pub fn assert_check_perfdata(perfdata: &str, checks: u64) {
    let items = perf_items(perfdata);
    let labels: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["running", "running_checks", "running_seconds", "time"],
        "{perfdata}"
    );
    assert_eq!(number(&items[0].1[0]), 1.0, "{perfdata}");
    assert_eq!(number(&items[1].1[0]) as u64, checks, "{perfdata}");
    assert_eq!(
        (items[1].1[1].as_str(), items[1].1[2].as_str()),
        ("2", "4"),
        "{perfdata}"
    );
    assert!(
        items[2].1[0].ends_with('s') && items[3].1[0].ends_with('s'),
        "{perfdata}"
    );
    assert!(number(&items[3].1[0]) < 10.0, "{perfdata}");
}
