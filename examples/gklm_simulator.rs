//! The bundled GKLM simulator, standalone.
//!
//!   cargo run --example gklm_simulator -- --demo
//!       builds the check, starts the simulator and runs the check against it
//!       in every mode: a backup's life (not running, running too long,
//!       finished), a backup needed, each result code, backups of each age,
//!       a restore going through its phases.
//!       Exits non-zero if any state differs from the expected one.
//!
//!   cargo run --example gklm_simulator -- [--port 9443] [--running]
//!       [--needed] [--result CODE] [--prefix /GKLM] [--dir DIR] [--backups N]
//!       serves until interrupted; writes DIR/ca.pem and DIR/password.
//!       --backups lists N hourly backups, the newest 2 hours old (for
//!       measuring a long list: the control endpoint takes at most 1 MiB).
//!       --needed starts with keys that need a backup; --result sets the
//!       code of backups/result (raw JSON: 0, "1", -1, "2"; default "0").
//!
//!   Control endpoints (any method, body as given; e.g.
//!   curl -k -X POST --data true https://localhost:9443/_sim/needed):
//!       /_sim/running   body true or false: a backup runs (backups/isrunning)
//!       /_sim/needed    body true or false: keys need a backup (backups/need)
//!       /_sim/result    body the raw JSON `code` of backups/result: 0, "1", -1
//!       /_sim/backups   body the whole JSON answer of the backup list, e.g.
//!                       [{"timestamp":1795700000000,"backupFilePath":"..."}]
//!       /_sim/restore   body the restore phase, 0 (IDLE) to 7 (COMPLETED)
//!                       (restore/isrunning)
//!       /_sim/forget    drop all sessions, as GKLM does after 15 idle minutes
//!       /_sim/stats     count requests, logins and logouts

use std::path::{Path, PathBuf};
use std::process::Command;

use gklm_simulator::{Cert, Config, PASSWORD, Simulator, USER, answers};

/// A bad option value ends the simulator with pico-args' own reason.
fn usage<T>(error: pico_args::Error) -> T {
    eprintln!("{error}; see the comment at the top of examples/gklm_simulator.rs");
    std::process::exit(2)
}

fn main() {
    let mut args = pico_args::Arguments::from_env();
    let demo = args.contains("--demo");
    let running = args.contains("--running");
    let needed = args.contains("--needed");
    let result: Option<String> = args.opt_value_from_str("--result").unwrap_or_else(usage);
    let port: u16 = args
        .opt_value_from_str("--port")
        .unwrap_or_else(usage)
        .unwrap_or(if demo { 0 } else { 9443 });
    let prefix: Option<String> = args.opt_value_from_str("--prefix").unwrap_or_else(usage);
    let dir: Option<PathBuf> = args.opt_value_from_str("--dir").unwrap_or_else(usage);
    let backups: Option<u64> = args.opt_value_from_str("--backups").unwrap_or_else(usage);
    let rest = args.finish();
    if !rest.is_empty() {
        eprintln!(
            "unknown arguments {rest:?}; see the comment at the top of examples/gklm_simulator.rs"
        );
        std::process::exit(2);
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("create --dir");
    let config = Config {
        running,
        needed,
        result_code: result.unwrap_or_else(|| "\"0\"".into()),
        prefixes: vec![prefix.unwrap_or_else(|| "/SKLM".into())],
        backup_list: backups
            .map_or_else(|| Config::default().backup_list, answers::long_backup_list),
        ..Config::default()
    };
    let sim = Simulator::serve(config, Cert::Good, &format!("127.0.0.1:{port}"), &dir, None);
    let password = dir.join("password");
    std::fs::write(&password, format!("{PASSWORD}\n")).expect("write password file");
    set_private(&password);
    if demo {
        std::process::exit(run_demo(&sim, &password, &dir));
    }
    println!(
        "GKLM simulator on https://localhost:{} (user {USER})",
        sim.port()
    );
    println!("  CA certificate: {}", sim.ca_pem().display());
    println!("  password file:  {}", password.display());
    println!("  hashed CA dir:  {}", sim.ca_dir().display());
    loop {
        std::thread::park();
    }
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

/// One step of the demo: what GKLM is made to say, the check's options,
/// and the state the check must answer.
struct Step {
    gklm: String,
    set: Box<dyn Fn(&Simulator)>,
    args: &'static [&'static str],
    expected: &'static str,
}

fn step(
    gklm: impl Into<String>,
    set: impl Fn(&Simulator) + 'static,
    args: &'static [&'static str],
    expected: &'static str,
) -> Step {
    Step {
        gklm: gklm.into(),
        set: Box::new(set),
        args,
        expected,
    }
}

/// The walk through every mode, then the whole picture. One target, so one
/// login and one state file for all of it, with a streak each for running
/// and needed.
fn steps() -> Vec<Step> {
    const RUNNING: &[&str] = &["-w", "1", "-c", "2"];
    const NEEDED: &[&str] = &["--mode", "needed"];
    const NEEDED_TIME: &[&str] = &[
        "--mode",
        "needed",
        "--warning-time",
        "1d",
        "--critical-time",
        "3d",
    ];
    const RESULT: &[&str] = &["--mode", "result"];
    const RESULT_STRICT: &[&str] = &["--mode", "result", "--unknown-result-state", "warning"];
    const AGE: &[&str] = &[
        "--mode",
        "age",
        "--warning-time",
        "1d",
        "--critical-time",
        "3d",
    ];
    const RESTORE: &[&str] = &["--mode", "restore"];
    const RESTORE_TIME: &[&str] = &["--mode", "restore", "--critical-time", "2h"];
    // The whole picture: every mode in one run.
    const PICTURE: &[&str] = &[
        "--mode",
        "running",
        "-w",
        "1",
        "-c",
        "2",
        "--mode",
        "needed",
        "--mode",
        "result",
        "--mode",
        "age",
        "--warning-time",
        "1d",
        "--critical-time",
        "3d",
        "--mode",
        "restore",
    ];
    let all_well = |result: &'static str| {
        move |sim: &Simulator| {
            sim.set_running(false);
            sim.set_needed(false);
            sim.set_restore_phase(0);
            sim.set_result_code(result);
            sim.set_backup_list(&answers::backup_list(&[answers::hours_ago(2)]));
        }
    };
    let running = |on: bool| move |sim: &Simulator| sim.set_running(on);
    let restore = |phase: u8| move |sim: &Simulator| sim.set_restore_phase(phase);
    let needed = |on: bool| move |sim: &Simulator| sim.set_needed(on);
    let result = |code: &'static str| move |sim: &Simulator| sim.set_result_code(code);
    let newest = |hours: u64| {
        move |sim: &Simulator| {
            let list =
                answers::backup_list(&[answers::hours_ago(hours + 24), answers::hours_ago(hours)]);
            sim.set_backup_list(&list);
        }
    };
    vec![
        step("backup not running", running(false), RUNNING, "OK"),
        step("backup running", running(true), RUNNING, "OK"),
        step("backup running", running(true), RUNNING, "WARNING"),
        step("backup running", running(true), RUNNING, "CRITICAL"),
        step("backup not running", running(false), RUNNING, "OK"),
        step("all keys backed up", needed(false), NEEDED, "OK"),
        step("backup needed", needed(true), NEEDED, "WARNING"),
        step("backup needed", needed(true), NEEDED_TIME, "OK"),
        step("all keys backed up", needed(false), NEEDED, "OK"),
        step("last backup succeeded (0)", result("\"0\""), RESULT, "OK"),
        step(
            "last backup failed (1)",
            result("\"1\""),
            RESULT,
            "CRITICAL",
        ),
        step("no backup since start (-1)", result("-1"), RESULT, "OK"),
        step(
            "no backup since start (-1)",
            result("-1"),
            RESULT_STRICT,
            "WARNING",
        ),
        step("undocumented code 2", result("2"), RESULT, "WARNING"),
        step("unknown code \"7\"", result("\"7\""), RESULT, "UNKNOWN"),
        step("newest backup 2h old", newest(2), AGE, "OK"),
        step("newest backup 30h old", newest(30), AGE, "WARNING"),
        step("newest backup 100h old", newest(100), AGE, "CRITICAL"),
        step(
            "no backup at all",
            |sim: &Simulator| sim.set_backup_list("[]"),
            AGE,
            "CRITICAL",
        ),
        step("no restore (IDLE)", restore(0), RESTORE, "OK"),
        step("restoring keystores (4)", restore(4), RESTORE, "WARNING"),
        step("restoring keystores (4)", restore(4), RESTORE_TIME, "OK"),
        step("restore COMPLETED (7)", restore(7), RESTORE, "OK"),
        step("all well", all_well("\"0\""), PICTURE, "OK"),
        step(
            "all well but the last backup",
            all_well("\"1\""),
            PICTURE,
            "CRITICAL",
        ),
    ]
}

/// Run the real check through every mode. Exits non-zero if any result
/// differs from what the check is meant to say, so the demo is also a test.
fn run_demo(sim: &Simulator, password: &Path, dir: &Path) -> i32 {
    let check = match build_check() {
        Ok(path) => path,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let state = dir.join("state.json");
    let port = sim.port().to_string();
    let mut failures = 0;
    for step in steps() {
        (step.set)(sim);
        let mut cmd = Command::new(&check);
        cmd.args([
            "-H",
            "localhost",
            "-p",
            &port,
            "-u",
            USER,
            "--password-file",
        ])
        .arg(password)
        .arg("--cacert")
        .arg(sim.ca_pem())
        // Before the modes: a run's option, and the whole picture's modes
        // take only their own after them.
        .arg("--state-file")
        .arg(&state)
        .args(step.args);
        let out = cmd.output().expect("run check_gklm_backup");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().next().unwrap_or("");
        println!(
            "[{:<27}] $ check_gklm_backup -H localhost -p {port} -u {USER} --password-file FILE --cacert CA {}",
            step.gklm,
            step.args.join(" ")
        );
        println!("    exit {}: {line}", out.status.code().unwrap_or(-1));
        // The whole picture: a line per mode, then every mode's perfdata.
        for more in text.lines().skip(1) {
            println!("        {more}");
        }
        if !line.starts_with(&format!("{} - ", step.expected)) {
            println!("    expected {}", step.expected);
            failures += 1;
        }
    }
    let stats = (
        sim.count("POST", "/login"),
        sim.count("DELETE", "/logout"),
        sim.requests().len(),
    );
    println!(
        "simulator saw {} logins, {} logouts, {} requests in all (the session is reused)",
        stats.0, stats.1, stats.2
    );
    if failures == 0 {
        println!("demo: every state as expected");
        0
    } else {
        println!("demo: {failures} of the states differ from the expected ones");
        1
    }
}

/// The check binary beside this example, built first when run through cargo.
fn build_check() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate the target directory")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "--bin", "check_gklm_backup"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build
            .status()
            .map_err(|e| format!("cannot run cargo build: {e}"))?;
        if !status.success() {
            return Err("cargo build of check_gklm_backup failed".into());
        }
    }
    let check = profile_dir.join("check_gklm_backup");
    if check.exists() {
        Ok(check)
    } else {
        Err(format!(
            "{} not found: run `cargo build` first",
            check.display()
        ))
    }
}
