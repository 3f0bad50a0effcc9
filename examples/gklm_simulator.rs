//! The bundled GKLM simulator, standalone.
//!
//!   cargo run --example gklm_simulator -- --demo
//!       builds the check, starts the simulator and runs the check against it
//!       through a backup's life: not running, running too long, finished.
//!
//!   cargo run --example gklm_simulator -- [--port 9443] [--running]
//!       [--prefix /GKLM] [--dir DIR]
//!       serves until interrupted; writes DIR/ca.pem and DIR/password.
//!       Switch the backup with POST /_sim/running (body true or false),
//!       drop all sessions with POST /_sim/forget, count requests with
//!       GET /_sim/stats.

use std::path::{Path, PathBuf};
use std::process::Command;

use gklm_simulator::{Cert, Config, PASSWORD, Simulator, USER};

fn main() {
    let mut args = pico_args::Arguments::from_env();
    let demo = args.contains("--demo");
    let running = args.contains("--running");
    let port: u16 = args
        .opt_value_from_str("--port")
        .unwrap_or(None)
        .unwrap_or(if demo { 0 } else { 9443 });
    let prefix: Option<String> = args.opt_value_from_str("--prefix").unwrap_or(None);
    let dir: Option<PathBuf> = args.opt_value_from_str("--dir").unwrap_or(None);
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
        prefixes: vec![prefix.unwrap_or_else(|| "/SKLM".into())],
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

/// Run the real check through a backup's life. Exits non-zero if any result
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
    let steps: [(bool, &str); 5] = [
        (false, "OK"),
        (true, "OK"),
        (true, "WARNING"),
        (true, "CRITICAL"),
        (false, "OK"),
    ];
    let mut failures = 0;
    for (running, expected) in steps {
        sim.set_running(running);
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
        .args(["-w", "1", "-c", "2", "--state-file"])
        .arg(&state);
        let out = cmd.output().expect("run check_gklm_backup");
        let line = String::from_utf8_lossy(&out.stdout);
        let line = line.lines().next().unwrap_or("");
        let backup = if running {
            "backup running    "
        } else {
            "backup not running"
        };
        println!(
            "[{backup}] $ check_gklm_backup -H localhost -p {port} -u {USER} --password-file FILE --cacert CA -w 1 -c 2"
        );
        println!("    exit {}: {line}", out.status.code().unwrap_or(-1));
        if !line.starts_with(&format!("{expected} - ")) {
            println!("    expected {expected}");
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
    if failures == 0 { 0 } else { 1 }
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
