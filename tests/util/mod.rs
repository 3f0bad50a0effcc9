//! Shared by the integration tests: the simulator and a way to run the real
//! `check_gklm_backup` binary against it.

pub mod disk;
pub mod engine;
pub mod modes;
pub mod zabbix;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use gklm_simulator::{Behavior, Cert, Config, PASSWORD, Simulator, USER, Wire};

pub const BIN: &str = env!("CARGO_BIN_EXE_check_gklm_backup");

/// What a run may take beyond its `-t` in a binary test: the watchdog's
/// half second, and the fork, exec and OpenSSL start of a loaded machine.
pub const SLACK: Duration = Duration::from_millis(1500);

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// What a finished child left, `elapsed` since it was started.
    pub fn of(out: std::process::Output, started: Instant) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }

    pub fn first_line(&self) -> &str {
        self.stdout.lines().next().unwrap_or("")
    }

    /// The state word the first line starts with.
    pub fn state(&self) -> &str {
        self.first_line().split(" - ").next().unwrap_or("")
    }

    pub fn perfdata(&self) -> &str {
        self.first_line().split_once(" | ").map_or("", |(_, p)| p)
    }

    /// The value part of one perfdata item, e.g. `3;2;4;0;` for running_checks.
    pub fn perf(&self, label: &str) -> Option<String> {
        self.perfdata()
            .split(' ')
            .find_map(|item| item.strip_prefix(&format!("{label}=")).map(str::to_string))
    }

    /// The number at the start of a perfdata value.
    pub fn perf_number(&self, label: &str) -> Option<f64> {
        let value = self.perf(label)?;
        let number: String = value
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        number.parse().ok()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.first_line())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// Assert state word and exit code agree with what is expected.
    pub fn expect(&self, state: &str, code: i32) -> &Run {
        assert_eq!(
            (self.state(), self.code),
            (state, code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Assert the run ended within `-t 2` and the `SLACK` a busy machine
    /// takes to start and reap a process (the watchdog's own half second is
    /// unit-tested in `watchdog.rs`).
    pub fn within_timeout_of_2s(&self) -> &Run {
        assert!(
            self.elapsed < Duration::from_secs(2) + SLACK,
            "took {:?} with -t 2: {}",
            self.elapsed,
            self.stdout
        );
        self
    }

    pub fn expect_text(&self, needle: &str) -> &Run {
        assert!(
            self.first_line().contains(needle),
            "expected {needle:?} in first line: {}",
            self.stdout
        );
        self
    }

    /// `needle` in a line after the first (the `-v` lines).
    pub fn expect_detail(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.lines().skip(1).any(|l| l.contains(needle)),
            "expected {needle:?} after the first line: {}",
            self.stdout
        );
        self
    }
}

/// A temporary place for state files and credential files.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state_dir(&self) -> PathBuf {
        let dir = self.path().join("state");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    /// Write `content` to a 0600 file and return its path.
    pub fn secret_file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// Written once: rewriting it while a spawned run reads it would race.
    pub fn password_file(&self) -> PathBuf {
        let path = self.path().join("password");
        if !path.exists() {
            self.secret_file("password", &format!("{PASSWORD}\n"));
        }
        path
    }

    /// State files the runs left (not locks or temporaries).
    pub fn state_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.state_dir())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
    }

    pub fn state_json(&self) -> serde_json::Value {
        let files = self.state_files();
        assert_eq!(files.len(), 1, "expected one state file: {files:?}");
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap())
            .expect("state file is JSON")
    }
}

/// A command for the binary with a clean environment: state in `ws`, no
/// credentials inherited from the caller, and `ws` as working directory, so
/// a relative path never lands in the source tree.
pub fn command(ws: &Workspace) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MP_STATE_PATH", ws.state_dir())
        .current_dir(ws.path())
        .stdin(Stdio::null());
    cmd
}

/// `-H localhost -p PORT`: the simulator as target, its CA not trusted.
pub fn untrusted_command(sim: &Simulator, ws: &Workspace) -> Command {
    let mut cmd = command(ws);
    cmd.args(["-H", "localhost", "-p", &sim.port().to_string()]);
    cmd
}

/// The simulator as target, trusted with `--cacert`, without credentials.
pub fn target_command(sim: &Simulator, ws: &Workspace) -> Command {
    let mut cmd = untrusted_command(sim, ws);
    cmd.arg("--cacert").arg(sim.ca_pem());
    cmd
}

/// The target, logging in as `monitor` with the password in `file`.
pub fn login_with(sim: &Simulator, ws: &Workspace, file: &Path) -> Command {
    let mut cmd = target_command(sim, ws);
    cmd.args(["-u", USER, "--password-file"]).arg(file);
    cmd
}

/// The target, logging in with the right password.
pub fn login_command(sim: &Simulator, ws: &Workspace) -> Command {
    login_with(sim, ws, &ws.password_file())
}

pub fn run(cmd: &mut Command) -> Run {
    let started = Instant::now();
    Run::of(cmd.output().expect("run check_gklm_backup"), started)
}

/// Start `count` runs at once (each from `make`) and wait for all of them.
pub fn run_concurrently(count: usize, make: impl Fn() -> Command) -> Vec<Run> {
    let started = Instant::now();
    let children: Vec<_> = (0..count)
        .map(|_| {
            make()
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    children
        .into_iter()
        .map(|child| Run::of(child.wait_with_output().expect("wait"), started))
        .collect()
}

/// `binary` run as user `uid` (via setpriv, environment cleared) against the
/// simulator, logging in with `password`, trusting `ca`, at `-vv`.
pub fn login_as(uid: u32, binary: &Path, sim: &Simulator, password: &Path, ca: &Path) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={uid}"),
        &format!("--regid={uid}"),
        "--clear-groups",
    ])
    .arg(binary)
    .args([
        "-H",
        "localhost",
        "-p",
        &sim.port().to_string(),
        "-u",
        USER,
        "-vv",
        "--password-file",
    ])
    .arg(password)
    .arg("--cacert")
    .arg(ca)
    .env_clear();
    cmd
}

pub fn run_with(sim: &Simulator, ws: &Workspace, args: &[&str]) -> Run {
    run(login_command(sim, ws).args(args))
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// The count a state file keeps for `mode`, when one service counts it
/// (None once the streak ended); more than one service is a test error.
pub fn checks_in(state: &serde_json::Value, mode: &str) -> Option<u64> {
    let streak = state["streaks"].get(mode)?;
    let services = streak["services"].as_object().expect("services");
    assert_eq!(services.len(), 1, "one service counts {mode}: {state}");
    services.values().next()?["checks"].as_u64()
}
