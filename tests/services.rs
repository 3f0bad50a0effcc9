//! Several services of one target and mode (one with `-w 3`, one with
//! `--critical-time 4h`): each counts only its own checks, while when the
//! condition was first seen is a fact about GKLM that they share.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::util::modes::{every_mode, taking};
use crate::util::*;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn checks(r: &Run, mode: &str) -> u64 {
    r.perf_number(&format!("{mode}_checks"))
        .unwrap_or_else(|| panic!("no {mode}_checks: {}", r.stdout)) as u64
}

fn seconds(r: &Run, mode: &str) -> f64 {
    r.perf_number(&format!("{mode}_seconds"))
        .unwrap_or_else(|| panic!("no {mode}_seconds: {}", r.stdout))
}

/// Write `edit`ed state back.
fn edit_state(ws: &Workspace, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = ws.state_files().remove(0);
    let mut state = ws.state_json();
    edit(&mut state);
    std::fs::write(&path, state.to_string()).unwrap();
}

#[test]
fn two_services_of_one_mode_never_count_each_others_checks() {
    for streak in taking("--max-gap") {
        let mode = streak.name;
        let sim = Simulator::start();
        (streak.condition)(&sim, true);
        let ws = Workspace::new();
        let by_count = ["--mode", mode, "-w", "3"];
        let by_time = ["--mode", mode, "--critical-time", "4h"];
        let mut states = Vec::new();
        for round in 1..=4u64 {
            let r = run_with(&sim, &ws, &by_count);
            assert_eq!(checks(&r, mode), round, "{mode}: {}", r.stdout);
            states.push(r.state().to_string());
            let r = run_with(&sim, &ws, &by_time);
            r.expect("OK", 0);
            assert_eq!(checks(&r, mode), round, "{mode}: {}", r.stdout);
        }
        // -w 3 warns from its own 4th check, not from the 4th of both.
        assert_eq!(states, ["OK", "OK", "OK", "WARNING"], "{mode}");
        // Whichever sees the condition end, ends it for both.
        (streak.condition)(&sim, false);
        run_with(&sim, &ws, &by_time).expect("OK", 0);
        (streak.condition)(&sim, true);
        let r = run_with(&sim, &ws, &by_count);
        assert_eq!(checks(&r, mode), 1, "{mode}: {}", r.stdout);
    }
}

#[test]
fn options_that_judge_nothing_do_not_make_another_service() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    for (round, extra) in [
        &[][..],
        &["-v"],
        &["-t", "7", "--format", "json"],
        &["-w", "+3", "-l", "de"],
        &["-w", "0:3", "--max-gap", "1d"],
        &["-w", "3e0", "--max-gap", "86400"],
    ]
    .iter()
    .enumerate()
    {
        let mut args = vec!["-w", "3"];
        if extra.first() == Some(&"-w") {
            args.clear();
        }
        args.extend_from_slice(extra);
        let r = run_with(&sim, &ws, &args);
        let count = if extra.contains(&"json") {
            r.json()["running_checks"].as_u64().unwrap()
        } else {
            checks(&r, "running")
        };
        assert_eq!(count, round as u64 + 1, "{args:?}: {}", r.stdout);
    }
    // A different --max-gap judges the streak differently: its own count.
    let r = run_with(&sim, &ws, &["-w", "3", "--max-gap", "2d"]);
    assert_eq!(checks(&r, "running"), 1, "{}", r.stdout);
}

#[test]
fn a_new_threshold_keeps_the_time_since_the_condition_was_first_seen() {
    for streak in taking("--max-gap") {
        let mode = streak.name;
        let sim = Simulator::start();
        (streak.condition)(&sim, true);
        let ws = Workspace::new();
        run_with(&sim, &ws, &["--mode", mode, "--critical-time", "8h"]).expect("OK", 0);
        // First seen five hours ago, last seen a minute ago.
        let t = now();
        edit_state(&ws, |s| {
            s["streaks"][mode]["since"] = (t - 5 * 3600).into();
            s["streaks"][mode]["last"] = (t - 60).into();
        });
        // The threshold changes (a new service key): its count starts at
        // 1, but the backup has been running (needed) for five hours.
        let r = run_with(
            &sim,
            &ws,
            &["--mode", mode, "-w", "3", "--warning-time", "4h"],
        );
        r.expect("WARNING", 1)
            .expect_text("for 1 check, 5h 0m")
            .expect_text("--warning-time 4h 0m 0s crossed");
        assert_eq!(checks(&r, mode), 1);
        assert!(
            (18_000.0..18_100.0).contains(&seconds(&r, mode)),
            "{}",
            r.stdout
        );
        // And the first service goes on from its own count.
        let r = run_with(&sim, &ws, &["--mode", mode, "--critical-time", "8h"]);
        r.expect("OK", 0);
        assert_eq!(checks(&r, mode), 2, "{}", r.stdout);
        assert!(seconds(&r, mode) >= 18_000.0, "{}", r.stdout);
    }
}

#[test]
fn a_state_key_names_the_count_and_only_that_name_shares_it() {
    for streak in taking("--max-gap") {
        let mode = streak.name;
        let sim = Simulator::start();
        (streak.condition)(&sim, true);
        let ws = Workspace::new();
        // The same name with other thresholds: one count (an operator who
        // tunes -w keeps the count).
        let a = ["--mode", mode, "--state-key", "backup-window", "-w", "2"];
        let b = ["--mode", mode, "--state-key", "backup-window", "-w", "9"];
        let other = ["--mode", mode, "--state-key", "other", "-w", "2"];
        assert_eq!(checks(&run_with(&sim, &ws, &a), mode), 1);
        assert_eq!(checks(&run_with(&sim, &ws, &b), mode), 2);
        run_with(&sim, &ws, &a)
            .expect("WARNING", 1)
            .expect_text("-w 2 crossed");
        assert_eq!(checks(&run_with(&sim, &ws, &other), mode), 1);
        assert_eq!(
            checks(&run_with(&sim, &ws, &["--mode", mode, "-w", "2"]), mode),
            1
        );
        let services = &ws.state_json()["streaks"][mode]["services"];
        assert_eq!(services["backup-window"]["checks"], 3, "{services}");
        assert_eq!(services["other"]["checks"], 1, "{services}");
        assert_eq!(
            services["warning=2 max_gap=86400"]["checks"], 1,
            "{services}"
        );
    }
}

#[test]
fn an_invalid_state_key_is_a_usage_error_before_anything_is_sent() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for key in ["", "a b", "../x", "ключ", &"k".repeat(65)] {
        let r = run_with(&sim, &ws, &["--state-key", key]);
        r.expect("UNKNOWN", 3).expect_text("invalid --state-key");
    }
    // A value spelt like an option: glued to its own, or pico-args takes
    // `-w` for the option (which is then refused for want of a value).
    run_with(&sim, &ws, &["--state-key=-w"])
        .expect("UNKNOWN", 3)
        .expect_text("invalid --state-key");
    run_with(&sim, &ws, &["--state-key", "-w"])
        .expect("UNKNOWN", 3)
        .expect_text("-w/--warning needs a value");
    let keyless = every_mode().iter().filter(|m| !m.takes("--state-key"));
    for m in keyless {
        let mode = &[&["--mode", m.name][..], m.needs].concat();
        let r = run_with(&sim, &ws, &[mode, &["--state-key", "k"][..]].concat());
        r.expect("UNKNOWN", 3)
            .expect_text("--state-key means nothing for --mode");
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn the_counts_kept_per_mode_are_bounded() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    for w in 1..=20 {
        let r = run_with(&sim, &ws, &["-w", &format!("{w}0")]);
        assert_eq!(checks(&r, "running"), 1, "{}", r.stdout);
    }
    let state = ws.state_json();
    let services = state["streaks"]["running"]["services"].as_object().unwrap();
    assert_eq!(services.len(), 16, "{state}");
    assert!(
        services.contains_key("warning=200 max_gap=86400"),
        "{state}"
    );
}
