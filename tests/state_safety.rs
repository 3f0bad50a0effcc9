//! The state file is never lost, corrupted or turned against the host.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::util::modes::{every_mode, taking};
use crate::util::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn fifty_simultaneous_runs_lose_no_increment() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let runs = run_concurrently(50, || {
        let mut cmd = login_command(&sim, &ws);
        cmd.args(["-t", "30"]);
        cmd
    });
    for r in &runs {
        r.expect("OK", 0);
    }
    assert_eq!(checks_in(&ws.state_json(), "running"), Some(50));
}

#[test]
fn killed_runs_never_leave_a_partial_state_file() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    // Spread the kill moments over one run's lifetime on this machine, and
    // keep adapting the spread: a load spike during the measurement or the
    // loop must not make most kills land after the run already ended.
    let mut lifetimes: Vec<u64> = (0..3)
        .map(|_| run_with(&sim, &ws, &[]).elapsed.as_micros() as u64)
        .collect();
    lifetimes.sort();
    let mut spread = lifetimes[1].max(1_000);
    let path = ws.state_files().remove(0);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed = 0;
    for _ in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = login_command(&sim, &ws)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(seed % spread));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
            spread = spread * 21 / 20;
        } else {
            spread = (spread * 9 / 10).max(500);
        }
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(&path).expect("state file still there");
        let value: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("corrupt after kill ({e}): {text:?}"));
        assert_eq!(value["version"], 3);
    }
    assert!(
        killed > 50,
        "only {killed} of 200 runs were killed mid-way; the test did not test"
    );
    let after = run_with(&sim, &ws, &[]);
    after.expect("OK", 0);
    assert!(after.perf_number("running_checks").unwrap() >= 4.0);
}

fn replaced_and_mentioned(content: &[u8], why: &str) {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    let path = ws.state_files().remove(0);
    std::fs::write(&path, content).unwrap();
    let r = run_with(&sim, &ws, &["-v"]);
    r.expect("OK", 0);
    assert_eq!(
        r.perf_number("running_checks"),
        Some(1.0),
        "treated as no history"
    );
    assert!(
        r.stdout.contains("ignored state file") && r.stdout.contains(why),
        "{}",
        r.stdout
    );
    assert_eq!(
        checks_in(&ws.state_json(), "running"),
        Some(1),
        "replaced by a valid file"
    );
}

#[test]
fn empty_state_file() {
    replaced_and_mentioned(b"", "not valid JSON");
}

#[test]
fn truncated_state_file() {
    replaced_and_mentioned(b"{\"version\":1,\"updated\":17", "not valid JSON");
}

#[test]
fn non_json_state_file() {
    replaced_and_mentioned(b"\x00\xffgarbage", "not valid JSON");
}

/// The check under libfaketime with its clock moved by `offset`
/// (`-6m`, `+1h`): a real clock step, as NTP, a VM resume or a snapshot
/// restore make one. None, said, when libfaketime is not installed.
fn at_clock(sim: &Simulator, ws: &Workspace, offset: &str, args: &[&str]) -> Option<Run> {
    let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    if !std::path::Path::new(lib).is_file() {
        engine::missing(
            "clock steps",
            "libfaketime is not installed (apt-get install faketime)",
        );
        return None;
    }
    let mut cmd = login_command(sim, ws);
    cmd.env("LD_PRELOAD", lib)
        .env("FAKETIME", offset)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .args(args);
    Some(run(&mut cmd))
}

#[test]
fn a_clock_that_went_back_keeps_every_streak_and_the_session() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    for _ in 0..7 {
        run_with(&sim, &ws, &["-c", "5"]);
    }
    let logins = sim.count("POST", "/login");
    let Some(r) = at_clock(&sim, &ws, "-6m", &["-c", "5"]) else {
        return;
    };
    r.expect("CRITICAL", 2).expect_text("running for 8 checks");
    // 6m less the seconds a busy machine took between the two runs.
    let said = r.first_line();
    assert!(
        ["went back 6m 0s since", "went back 5m 5"]
            .iter()
            .any(|t| said.contains(t)),
        "{said}"
    );
    assert_eq!(
        sim.count("POST", "/login"),
        logins,
        "the cached session was kept"
    );
    assert_eq!(checks_in(&ws.state_json(), "running"), Some(8));
    // A run that learns nothing writes nothing, whatever the clock did.
    let path = ws.state_files().remove(0);
    let before = std::fs::read(&path).unwrap();
    sim.set_status_behavior(Behavior::json(500, ""));
    let r = at_clock(&sim, &ws, "-1h", &["-c", "5"]).unwrap();
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
    sim.set_status_behavior(Behavior::Normal);
    sim.set_running(true);
    let r = at_clock(&sim, &ws, "-1h", &["-c", "5"]).unwrap();
    r.expect("CRITICAL", 2).expect_text("running for 9 checks");
}

#[test]
fn a_clock_that_jumped_past_max_gap_restarts_the_count_and_says_so() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    for _ in 0..3 {
        run_with(&sim, &ws, &["--max-gap", "10m"]);
    }
    let Some(r) = at_clock(&sim, &ws, "+1h", &["--max-gap", "10m"]) else {
        return;
    };
    r.expect("OK", 0)
        .expect_text("running for 1 check, 0s, counting restarted: last check 1h 0m");
}

#[test]
fn unknown_version_state_file() {
    replaced_and_mentioned(
        br#"{"version":99,"updated":1,"running_checks":9,"running_since":1}"#,
        "unknown format version 99",
    );
    // Versions 1 and 2 were never released: read as no version at all.
    replaced_and_mentioned(
        br#"{"version":1,"updated":1,"running_checks":9,"running_since":1}"#,
        "unknown format version 1",
    );
    replaced_and_mentioned(
        br#"{"version":2,"updated":1,"streaks":{"running":{"checks":9,"since":1,"last":1}}}"#,
        "unknown format version 2",
    );
}

/// A world-writable (sticky, like /tmp) directory inside the workspace.
fn shared_dir(ws: &Workspace) -> std::path::PathBuf {
    let dir = ws.path().join("shared");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    dir
}

#[test]
fn a_symlinked_state_file_is_refused_not_followed() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let victim = ws.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = shared_dir(&ws).join("state.json");
    symlink(&victim, &link).unwrap();
    let r = run_with(&sim, &ws, &["--state-file", link.to_str().unwrap()]);
    r.expect("UNKNOWN", 3).expect_text("is a symlink");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_symlinked_lock_file_is_refused() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let victim = ws.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let dir = shared_dir(&ws);
    symlink(&victim, dir.join("state.json.lock")).unwrap();
    let r = run_with(
        &sim,
        &ws,
        &["--state-file", dir.join("state.json").to_str().unwrap()],
    );
    r.expect("UNKNOWN", 3).expect_text("symlink");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn a_symlinked_state_directory_in_a_shared_directory_is_refused() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let elsewhere = ws.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let link = shared_dir(&ws).join("statedir");
    symlink(&elsewhere, &link).unwrap();
    let r = run(login_command(&sim, &ws).env("MP_STATE_PATH", &link));
    r.expect("UNKNOWN", 3)
        .expect_text("symlink in a world-writable directory");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[test]
fn a_state_file_owned_by_another_user_is_refused() {
    if !running_as_root() {
        eprintln!(
            "SKIPPED a_state_file_owned_by_another_user_is_refused: needs root to chown a file to another user (CI runs as root)"
        );
        return;
    }
    let sim = Simulator::start();
    let ws = Workspace::new();
    let dir = shared_dir(&ws);
    let file = dir.join("state.json");
    std::fs::write(&file, r#"{"version":3,"updated":1,"streaks":{}}"#).unwrap();
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    let r = run_with(&sim, &ws, &["--state-file", file.to_str().unwrap()]);
    r.expect("UNKNOWN", 3).expect_text("owned by uid 65534");
}

#[test]
fn files_are_0600_and_new_directories_0700() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let dir = ws.path().join("new").join("state");
    run(login_command(&sim, &ws).env("MP_STATE_PATH", &dir)).expect("OK", 0);
    assert_eq!(mode(&dir), 0o700);
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 2, "state file and its lock: {entries:?}");
    for entry in entries {
        assert_eq!(mode(&entry), 0o600, "{}", entry.display());
    }
}

#[test]
fn the_default_directory_is_per_effective_user() {
    if !running_as_root() {
        eprintln!(
            "SKIPPED the_default_directory_is_per_effective_user: needs root to run the check as two users (CI runs as root)"
        );
        return;
    }
    let sim = Simulator::start();
    let ws = Workspace::new();
    // The monitoring user must be able to read the binary, CA and password.
    for path in [ws.path(), sim.dir()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(sim.ca_pem(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let password = ws.password_file();
    // CI's clone may sit in a directory the other user cannot enter.
    let binary = ws.path().join("check_gklm_backup");
    std::fs::copy(BIN, &binary).unwrap();
    std::os::unix::fs::chown(&password, Some(65534), Some(65534)).unwrap();
    let as_root = run(login_command(&sim, &ws).env_remove("MP_STATE_PATH"));
    as_root.expect("OK", 0);
    let mut as_nobody = login_as(65534, &binary, &sim, &password, &sim.ca_pem());
    let r = run(&mut as_nobody);
    r.expect("OK", 0);
    assert!(
        r.stdout.contains("/var/tmp/check_gklm_backup-65534/"),
        "{}",
        r.stdout
    );
    assert_eq!(mode(Path::new("/var/tmp/check_gklm_backup-65534")), 0o700);
}

#[test]
fn an_unwritable_state_directory_is_unknown_only_with_thresholds() {
    // A path under a regular file fails even for root, who ignores modes.
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let not_a_dir = ws.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let state = not_a_dir.join("state.json");
    let r = run_with(&sim, &ws, &["--state-file", state.to_str().unwrap()]);
    r.expect("OK", 0).expect_text("how long is unknown");
    let r = run_with(
        &sim,
        &ws,
        &["--state-file", state.to_str().unwrap(), "-w", "3"],
    );
    r.expect("UNKNOWN", 3)
        .expect_text("thresholds cannot be applied")
        .expect_text("cannot create directory");
}

// ------------------------------------------------- history that cannot be kept

/// A tmpfs of a few pages mounted at `dir`, unmounted when dropped.
struct TinyDisk {
    dir: std::path::PathBuf,
}

impl TinyDisk {
    fn mount(dir: std::path::PathBuf) -> TinyDisk {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount tmpfs at {}", dir.display());
        TinyDisk { dir }
    }

    /// Fill every free byte, as a full disk is.
    fn fill(&self) {
        let mut filler = std::fs::File::create(self.dir.join("filler")).unwrap();
        let block = vec![0u8; 4096];
        while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.dir.join("filler")).unwrap();
    }

    fn remount(&self, option: &str) {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "remount {option}");
    }

    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
    }
}

#[test]
fn a_full_disk_makes_thresholds_unknown_and_leaves_no_temporary_file() {
    let test = "a_full_disk_makes_thresholds_unknown_and_leaves_no_temporary_file";
    if !crate::util::engine::require_root(test, "mount a tiny tmpfs") {
        return;
    }
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let disk = TinyDisk::mount(ws.path().join("disk"));
    let state = disk.dir.join("state.json");
    let file = state.to_str().unwrap();
    let limits = ["--state-file", file, "-w", "5", "-c", "9"];
    run_with(&sim, &ws, &limits).expect("OK", 0);
    disk.fill();
    for _ in 0..2 {
        let r = run_with(&sim, &ws, &limits);
        r.expect("UNKNOWN", 3)
            .expect_text("CTGKM3290I Backup process is running.")
            .expect_text(file)
            .expect_text("No space left on device");
    }
    assert_eq!(
        disk.leftovers(),
        Vec::<String>::new(),
        "temporary file left"
    );
    // Without a threshold the state is GKLM's, and -v says why history is lost.
    let r = run_with(&sim, &ws, &["--state-file", file]);
    r.expect("OK", 0);
    assert!(!r.stdout.contains("No space"), "{}", r.stdout);
    run_with(&sim, &ws, &["--state-file", file, "-v"]).expect_detail("No space left on device");
    // Once there is room again, the streak goes on from what was saved.
    disk.free();
    let r = run_with(&sim, &ws, &limits);
    r.expect("OK", 0);
    assert_eq!(r.perf_number("running_checks"), Some(2.0));
}

#[test]
fn a_read_only_file_system_makes_thresholds_unknown() {
    let test = "a_read_only_file_system_makes_thresholds_unknown";
    if !crate::util::engine::require_root(test, "mount a tiny tmpfs") {
        return;
    }
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let disk = TinyDisk::mount(ws.path().join("disk"));
    let state = disk.dir.join("state.json");
    let file = state.to_str().unwrap();
    run_with(&sim, &ws, &["--state-file", file]).expect("OK", 0);
    disk.remount("ro");
    let r = run_with(&sim, &ws, &["--state-file", file, "--critical-time", "1h"]);
    r.expect("UNKNOWN", 3)
        .expect_text(file)
        .expect_text("Read-only file system");
    disk.remount("rw");
}

#[test]
fn an_empty_or_directory_state_file_is_a_usage_error_before_anything_is_sent() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for path in ["", "  ", ws.path().to_str().unwrap(), "/nonexistent/dir/"] {
        let r = run_with(&sim, &ws, &["--state-file", path]);
        r.expect("UNKNOWN", 3).expect_text("--state-file");
        let r = run_with(&sim, &ws, &["--state-file", path, "--format", "json"]);
        assert_eq!(r.json()["state"], "UNKNOWN", "{}", r.stdout);
    }
    assert_eq!(sim.requests().len(), 0, "nothing may be sent");
}

// ------------------------------------------------------ one file, one target

#[test]
fn a_state_file_of_another_target_never_sends_its_session_elsewhere() {
    let (a, b) = (Simulator::start(), Simulator::start());
    a.set_running(true);
    b.set_running(true);
    let ws = Workspace::new();
    let shared = ws.path().join("shared.json");
    let file = shared.to_str().unwrap();
    run_with(&a, &ws, &["--state-file", file]).expect("OK", 0);
    run_with(&a, &ws, &["--state-file", file]).expect("OK", 0);
    let before = std::fs::read_to_string(&shared).unwrap();
    // The session cache needs the file: UNKNOWN, and B is never asked.
    let r = run_with(&b, &ws, &["--state-file", file]);
    r.expect("UNKNOWN", 3)
        .expect_text("belongs to target 'localhost:")
        .expect_text("give each target its own --state-file");
    assert!(
        b.requests().is_empty(),
        "B was contacted: {:?}",
        b.requests()
    );
    // Without session cache and thresholds the check runs, without A's history.
    let r = run_with(&b, &ws, &["--state-file", file, "--no-session-cache", "-v"]);
    r.expect("OK", 0).expect_detail("belongs to target");
    let a_session = a.requests()[1].authorization.clone().unwrap();
    assert!(
        b.requests()
            .iter()
            .all(|q| q.authorization.as_ref() != Some(&a_session)),
        "A's session id went to B"
    );
    // A threshold needs the history: UNKNOWN.
    run_with(
        &b,
        &ws,
        &["--state-file", file, "--no-session-cache", "-c", "3"],
    )
    .expect("UNKNOWN", 3);
    assert_eq!(
        std::fs::read_to_string(&shared).unwrap(),
        before,
        "A's file was changed"
    );
    let r = run_with(&a, &ws, &["--state-file", file]);
    assert_eq!(
        r.perf_number("running_checks"),
        Some(3.0),
        "A's streak went on"
    );
}

// ------------------------------------------------------------ stale history

#[test]
fn a_streak_whose_last_observation_is_a_month_old_starts_again() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    run_with(&sim, &ws, &[]).expect("OK", 0);
    let path = ws.state_files().remove(0);
    let mut state = ws.state_json();
    let month_ago = state["updated"].as_u64().unwrap() - 30 * 86_400;
    state["streaks"]["running"]["since"] = (month_ago - 600).into();
    state["streaks"]["running"]["last"] = month_ago.into();
    std::fs::write(&path, state.to_string()).unwrap();
    let r = run_with(&sim, &ws, &["-c", "1", "--critical-time", "1d", "-v"]);
    r.expect("OK", 0)
        .expect_text(
            "(running for 1 check, 0s, counting restarted: last check 30d 0h 0m ago, --max-gap 1d 0h 0m)",
        )
        .expect_detail("more than --max-gap 1d 0h 0m; counting starts again");
    // A shorter limit is the operator's choice.
    state["streaks"]["running"]["last"] = (month_ago + 30 * 86_400 - 7200).into();
    std::fs::write(&path, state.to_string()).unwrap();
    run_with(&sim, &ws, &["--max-gap", "1h", "-c", "1"]).expect("OK", 0);
}

#[test]
fn a_damaged_file_that_still_names_another_target_is_not_replaced() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let file = ws.path().join("shared.json");
    // Another target's file, of a version this check does not know.
    let theirs = r#"{"version":3,"target":"gklm-a.example:9443 auto monitor","updated":1}"#;
    std::fs::write(&file, theirs).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = run_with(
        &sim,
        &ws,
        &["--state-file", file.to_str().unwrap(), "-w", "3"],
    );
    r.expect("UNKNOWN", 3)
        .expect_text("belongs to target 'gklm-a.example:9443");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs);
}

#[test]
fn a_state_file_option_naming_some_other_file_never_overwrites_it() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let not_state = ws.secret_file("copy-of-password", &format!("{PASSWORD}\n"));
    let r = run_with(&sim, &ws, &["--state-file", not_state.to_str().unwrap()]);
    r.expect("UNKNOWN", 3)
        .expect_text("holds something other than this check's state");
    assert!(!r.stdout.contains(PASSWORD), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(&not_state).unwrap(),
        format!("{PASSWORD}\n"),
        "the file was changed"
    );
}

#[test]
fn a_run_that_changes_nothing_does_not_rewrite_the_state_file() {
    use std::os::unix::fs::MetadataExt;
    let sim = Simulator::start();
    let ws = Workspace::new();
    let every: Vec<Vec<&str>> = every_mode()
        .iter()
        .map(|m| [&["--mode", m.name][..], m.needs].concat())
        .collect();
    for mode in &every {
        run_with(&sim, &ws, mode).expect("OK", 0);
    }
    let path = ws.state_files().remove(0);
    let inode = std::fs::metadata(&path).unwrap().ino();
    for mode in every.iter().chain(&every[..1]) {
        run_with(&sim, &ws, mode).expect("OK", 0);
        // A rewrite renames a new file over the old one: a new inode.
        assert_eq!(
            std::fs::metadata(&path).unwrap().ino(),
            inode,
            "{mode:?} rewrote it"
        );
    }
    sim.set_running(true);
    run_with(&sim, &ws, &[]).expect("OK", 0);
    assert_ne!(
        std::fs::metadata(&path).unwrap().ino(),
        inode,
        "a new streak is saved"
    );
}

/// `cmd` run with this umask (set in the child before exec).
fn with_umask(cmd: &mut std::process::Command, mask: libc::mode_t) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: umask is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(mask);
            Ok(())
        })
    }
}

#[test]
fn state_and_lock_files_are_0600_and_new_directories_0700_whatever_the_umask() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    for mask in [0o000, 0o022, 0o077, 0o277, 0o377, 0o777] {
        let dir = ws.path().join(format!("umask-{mask:o}")).join("state");
        for _ in 0..2 {
            // The second run rewrites the file (the streak grows): the
            // temporary file it renames over the first is checked too.
            let r = run(with_umask(
                login_command(&sim, &ws).env("MP_STATE_PATH", &dir),
                mask,
            ));
            r.expect("OK", 0);
        }
        assert_eq!(mode(&dir), 0o700, "umask {mask:o}");
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries.len(), 2, "umask {mask:o}: {entries:?}");
        for entry in entries {
            assert_eq!(mode(&entry), 0o600, "umask {mask:o}: {}", entry.display());
        }
    }
}

/// Move every observation time of `mode`'s streak `seconds` into the past,
/// as if the checks had paused that long.
/// Shift `mode`'s streak `seconds` into the past, as if no check had run
/// meanwhile; returns its last observation as shifted (unix seconds).
fn pause_checks(ws: &Workspace, mode: &str, seconds: u64) -> u64 {
    fn shift(value: &mut serde_json::Value, seconds: u64, last: &mut u64) {
        if let serde_json::Value::Object(map) = value {
            for (key, v) in map.iter_mut() {
                match v.as_u64() {
                    Some(t) if key == "since" || key == "last" => {
                        *v = (t - seconds).into();
                        if key == "last" {
                            *last = (*last).max(t - seconds);
                        }
                    }
                    _ => shift(v, seconds, last),
                }
            }
        }
    }
    let path = ws.state_files().remove(0);
    let mut state = ws.state_json();
    assert!(state["streaks"][mode].is_object(), "{state}");
    let mut last = 0;
    shift(&mut state["streaks"][mode], seconds, &mut last);
    std::fs::write(&path, state.to_string()).unwrap();
    last
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_streak_restarted_by_max_gap_says_so_on_the_first_line_in_running_and_needed() {
    let sim = Simulator::start();
    sim.set_running(true);
    sim.set_needed(true);
    let ws = Workspace::new();
    sim.set_restore_phase(4);
    for streak in taking("--max-gap") {
        let (mode, verb) = (streak.name, streak.verb);
        let args = ["--mode", mode, "-w", "5", "-c", "8", "--max-gap", "10m"];
        for _ in 0..2 {
            run_with(&sim, &ws, &args).expect("OK", 0);
        }
        let last = pause_checks(&ws, mode, 660);
        let before = unix_now();
        let r = run_with(&sim, &ws, &args);
        r.expect("OK", 0);
        // 11m 0s, or a second more should the clock tick between the runs:
        // the gap the run saw, whatever second it read the clock in.
        let said = |gap: u64| {
            format!(
                "({verb} for 1 check, 0s, counting restarted: last check {}m {}s ago, --max-gap 10m 0s)",
                gap / 60,
                gap % 60
            )
        };
        assert!(
            (before - last..=unix_now() - last).any(|gap| r.first_line().contains(&said(gap))),
            "{} not in {}",
            said(before - last),
            r.stdout
        );
        assert_eq!(r.perf_number(&format!("{mode}_checks")), Some(1.0));
        // The next check continues the new streak and says nothing more.
        let r = run_with(&sim, &ws, &args);
        r.expect("OK", 0);
        assert!(!r.stdout.contains("restarted"), "{}", r.stdout);
        assert_eq!(r.perf_number(&format!("{mode}_checks")), Some(2.0));
        // Within the gap, nothing restarts.
        pause_checks(&ws, mode, 540);
        let r = run_with(&sim, &ws, &args);
        assert!(!r.stdout.contains("restarted"), "{}", r.stdout);
        assert_eq!(r.perf_number(&format!("{mode}_checks")), Some(3.0));
    }
}

#[test]
fn a_max_gap_shorter_than_a_minute_is_a_usage_error_before_anything_is_sent() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for mode in taking("--max-gap").iter().map(|m| m.name) {
        for gap in ["0", "1", "59", "59s", "0m", "0.9m"] {
            let r = run_with(&sim, &ws, &["--mode", mode, "--max-gap", gap]);
            r.expect("UNKNOWN", 3).expect_text("--max-gap");
        }
        run_with(&sim, &ws, &["--mode", mode, "--max-gap", "1m"]).expect("OK", 0);
    }
    for streak in taking("--max-gap") {
        assert_eq!(sim.count("GET", streak.path), 1, "{}", streak.name);
    }
    assert_eq!(sim.count("POST", "/ckms/login"), 1);
}

// ------------------------------------------- no run waits on another's GKLM

/// Wait (generously) until `done`, failing the test after a minute.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited a minute for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_slow_gklm_exchange_of_one_run_makes_no_other_run_of_the_target_wait() {
    let sim = Simulator::start();
    sim.set_running(true);
    sim.set_needed(true);
    let ws = Workspace::new();
    // Steady operation: a cached session and a running streak.
    run_with(&sim, &ws, &["-w", "5"]).expect("OK", 0);
    // One run of the target logs in (it keeps no session) and GKLM takes
    // its time over that login.
    sim.configure(|c| c.login_behavior = Behavior::Delay(Duration::from_secs(8)));
    sim.clear_log();
    let mut slow = login_command(&sim, &ws)
        .args(["-w", "5", "-t", "30", "--no-session-cache"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the slow login to reach GKLM", || {
        sim.count("POST", "/ckms/login") == 1
    });
    // Meanwhile every mode, with history (its condition seen, -w 7) and
    // without, answers in time.
    for mode in every_mode() {
        (mode.condition)(&sim, true);
        let history: &[&str] = if mode.streak { &["-w", "7"] } else { &[] };
        let r = run(login_command(&sim, &ws)
            .args(["--mode", mode.name, "-t", "4"])
            .args(mode.needs)
            .args(history));
        r.expect("OK", 0);
        assert!(
            r.elapsed < Duration::from_secs(4),
            "{} took {:?}",
            mode.name,
            r.elapsed
        );
        assert!(
            slow.try_wait().unwrap().is_none(),
            "the slow run ended before {} ran: nothing was tested",
            mode.name
        );
    }
    let out = slow.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("(running for 2 checks, "), "{text}");
    // What the others saved meanwhile is still there beside the slow run's.
    let state = ws.state_json();
    let checks = |mode: &str, key: &str| state["streaks"][mode]["services"][key]["checks"].clone();
    assert_eq!(checks("running", "warning=5 max_gap=86400"), 2, "{state}");
    for mode in every_mode().iter().filter(|m| m.streak) {
        assert_eq!(checks(mode.name, "warning=7 max_gap=86400"), 1, "{state}");
    }
}

/// Hold the lock of the workspace's one state file, as a stuck run would.
fn hold_lock(ws: &Workspace) -> std::fs::File {
    let mut path = ws.state_files().remove(0).into_os_string();
    path.push(".lock");
    let lock = std::fs::File::options()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    lock.lock().unwrap();
    lock
}

#[test]
fn a_busy_lock_at_the_end_costs_a_mode_without_history_only_a_note() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    let before = std::fs::read_to_string(ws.state_files().remove(0)).unwrap();
    let lock = hold_lock(&ws);
    // GKLM forgot the session: every run logs in again and has a new
    // session to keep, which the busy lock does not let it.
    sim.forget_sessions();
    sim.clear_log();
    for mode in every_mode() {
        let r = run_with(
            &sim,
            &ws,
            &[&["--mode", mode.name, "-t", "2", "-v"], mode.needs].concat(),
        );
        r.expect("OK", 0)
            .within_timeout_of_2s()
            .expect_detail("held the lock");
        assert!(!r.first_line().contains("lock"), "{}", r.stdout);
    }
    // The sessions that could not be kept are not left open in GKLM.
    let runs = every_mode().len();
    assert_eq!(sim.count("POST", "/ckms/login"), runs);
    assert_eq!(sim.count("DELETE", "/ckms/logout"), runs);
    // Where a threshold needs the history, it is UNKNOWN, and says why.
    for mode in every_mode().iter().filter(|m| m.streak) {
        (mode.condition)(&sim, true);
        for threshold in [&["-w", "5"][..], &["--critical-time", "1d"]] {
            let r = run_with(
                &sim,
                &ws,
                &[&["--mode", mode.name, "-t", "2"], threshold].concat(),
            );
            r.expect("UNKNOWN", 3)
                .within_timeout_of_2s()
                .expect_text("the thresholds cannot be applied")
                .expect_text("held the lock");
        }
    }
    drop(lock);
    let after = std::fs::read_to_string(ws.state_files().remove(0)).unwrap();
    assert_eq!(after, before, "written despite the lock");
}

#[test]
fn fifty_simultaneous_runs_of_every_mode_and_service_lose_no_count() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let sim = Simulator::start();
    sim.set_running(true);
    sim.set_needed(true);
    let ws = Workspace::new();
    // Every mode; each streak mode as three services: two of its keys from
    // the thresholds, one named.
    let mut kinds: Vec<(&str, Vec<&str>, Option<&str>)> = Vec::new();
    for mode in every_mode() {
        (mode.condition)(&sim, true);
        if !mode.streak {
            kinds.push((mode.name, mode.needs.to_vec(), None));
            continue;
        }
        for (args, key) in [
            (&["-w", "60"][..], "warning=60 max_gap=86400"),
            (
                &["--critical-time", "4h"],
                "critical_time=14400 max_gap=86400",
            ),
            (&["-w", "60", "--state-key", "named"], "named"),
        ] {
            kinds.push((mode.name, [mode.needs, args].concat(), Some(key)));
        }
    }
    let next = AtomicUsize::new(0);
    let runs = run_concurrently(50, || {
        let (mode, args, _) = &kinds[next.fetch_add(1, Ordering::SeqCst) % kinds.len()];
        let mut cmd = login_command(&sim, &ws);
        // A generous bound: fifty runs share two cores.
        cmd.args(["--mode", *mode, "-t", "60"]).args(args);
        cmd
    });
    let state = ws.state_json();
    for (k, (mode, _, key)) in kinds.iter().enumerate() {
        let mine: Vec<&Run> = runs.iter().skip(k).step_by(kinds.len()).collect();
        for r in &mine {
            r.expect("OK", 0);
        }
        let Some(key) = key else { continue };
        let mut counts: Vec<u64> = mine
            .iter()
            .map(|r| r.perf_number(&format!("{mode}_checks")).unwrap() as u64)
            .collect();
        counts.sort();
        let n = mine.len() as u64;
        assert_eq!(counts, (1..=n).collect::<Vec<_>>(), "{mode} {key}");
        assert_eq!(
            state["streaks"][mode]["services"][key]["checks"], n,
            "{mode} {key}: {state}"
        );
    }
    for mode in every_mode().iter().filter(|m| m.streak) {
        let services = state["streaks"][mode.name]["services"].as_object();
        assert_eq!(services.map(|s| s.len()), Some(3), "{state}");
    }
    assert_eq!(
        sim.count("POST", "/ckms/login") - sim.count("DELETE", "/ckms/logout"),
        1,
        "one session kept, the others logged out"
    );
}

#[test]
fn a_refused_state_file_gets_no_lock_file_beside_it() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let dir = ws.path().join("named");
    std::fs::create_dir_all(&dir).unwrap();
    let victim = ws.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let foreign =
        r#"{"version":3,"target":"gklm-a.example:9443 auto monitor","updated":1,"streaks":{}}"#;
    let damaged_foreign = r#"{"version":9,"target":"gklm-a.example:9443 auto monitor"}"#;
    type Make<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Make, &[&str], &str); 7] = [
        (
            "password",
            &|p| std::fs::write(p, format!("{PASSWORD}\n")).unwrap(),
            &[],
            "holds something other than this check's state",
        ),
        (
            "foreign",
            &|p| std::fs::write(p, foreign).unwrap(),
            &["-w", "3"],
            "belongs to target",
        ),
        (
            "foreign-cache",
            &|p| std::fs::write(p, foreign).unwrap(),
            &[],
            "belongs to target",
        ),
        (
            "damaged-foreign",
            &|p| std::fs::write(p, damaged_foreign).unwrap(),
            &[],
            "belongs to target",
        ),
        (
            "symlink",
            &|p| symlink(&victim, p).unwrap(),
            &[],
            "is a symlink",
        ),
        (
            "fifo",
            &|p| {
                let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
                // SAFETY: a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            },
            &[],
            "not a regular file",
        ),
        (
            "directory",
            &|p| std::fs::create_dir(p).unwrap(),
            &[],
            "is a directory",
        ),
    ];
    for (name, make, args, why) in cases {
        let path = dir.join(format!("{name}.json"));
        make(&path);
        let r = run_with(
            &sim,
            &ws,
            &[&["--state-file", path.to_str().unwrap()], args].concat(),
        );
        r.expect("UNKNOWN", 3).expect_text(why);
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        assert!(
            std::fs::symlink_metadata(&lock).is_err(),
            "{name}: a lock file was left beside the refused file"
        );
    }
    // A foreign file used by a run that needs neither history nor a cached
    // session: that run goes on without history, and leaves no lock either.
    let path = dir.join("foreign.json");
    let r = run(target_command(&sim, &ws)
        .env("GKLM_AUTH_ID", sim.issue_session())
        .args(["--mode", "result", "--state-file", path.to_str().unwrap()]));
    r.expect("OK", 0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);
    assert!(!dir.join("foreign.json.lock").exists());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn a_format_version_written_as_a_float_is_read_as_that_version() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    run_with(&sim, &ws, &["-w", "3"]).expect("OK", 0);
    let path = ws.state_files().remove(0);
    let state = ws.state_json();
    let target = state["target"].as_str().unwrap().to_string();
    let now = state["updated"].as_u64().unwrap();
    let services = state["streaks"]["running"]["services"].as_object().unwrap();
    let key = services.keys().next().unwrap();
    // As another JSON writer (or a hand edit through one) may write it.
    let text = format!(
        r#"{{"version":3.0,"target":"{target}","updated":{now},"streaks":{{"running":{{"since":{},"last":{now},"services":{{"{key}":{{"checks":3,"last":{now}}}}}}}}}}}"#,
        now - 600
    );
    std::fs::write(&path, text).unwrap();
    let r = run_with(&sim, &ws, &["-w", "3", "-v"]);
    r.expect("WARNING", 1)
        .expect_text("(running for 4 checks, 10m");
    assert!(!r.stdout.contains("ignored state file"), "{}", r.stdout);
    // Not a whole number: a damaged file, said so and replaced.
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"version\": 3", "\"version\": 2.5");
    std::fs::write(&path, text).unwrap();
    let r = run_with(&sim, &ws, &["-w", "3", "-v"]);
    r.expect("OK", 0)
        .expect_detail("format version 2.5 is not a whole number");
    assert_eq!(ws.state_json()["version"], 3);
}
