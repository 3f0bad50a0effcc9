//! The whole picture in one run: every mode of the registry asked at once
//! (`--mode` given once per mode), each part as that mode gives it alone,
//! the worst state as the exit code, one login, and a fault on one
//! endpoint costing only its own part.

use std::time::Duration;

use serde_json::Value;

use crate::util::modes::{Mode, every_mode};
use crate::util::*;

const TIMEOUT: &str = "2";

/// `--mode NAME` and the options it cannot run without, for every mode.
fn every_mode_args() -> Vec<&'static str> {
    every_mode()
        .iter()
        .flat_map(|m| {
            ["--mode", m.name]
                .into_iter()
                .chain(m.needs.iter().copied())
        })
        .collect()
}

/// A run of the whole picture in `ws`, with `extra` before the modes.
fn picture(sim: &Simulator, ws: &Workspace, extra: &[&str]) -> Run {
    run(login_command(sim, ws)
        .args(["-t", TIMEOUT])
        .args(extra)
        .args(every_mode_args()))
}

/// A run of `mode` alone in `ws`.
fn alone(sim: &Simulator, ws: &Workspace, mode: &Mode, extra: &[&str]) -> Run {
    run(login_command(sim, ws)
        .args(["-t", TIMEOUT])
        .args(extra)
        .args(["--mode", mode.name])
        .args(mode.needs))
}

/// The line of `mode` in the picture's long output: `mode: STATE - text`.
fn part_line<'a>(r: &'a Run, mode: &Mode) -> &'a str {
    let head = format!("{}: ", mode.name);
    r.stdout
        .lines()
        .skip(1)
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no line for {}: {}", mode.name, r.stdout))
}

/// A single run's first line as a part's line: `mode: STATE - text`.
fn as_part(r: &Run, mode: &Mode) -> String {
    let text = r.first_line().split(" | ").next().unwrap_or("");
    format!("{}: {text}", mode.name)
}

/// A line with its durations (`1m 3s`, `1h 0m 1s`) put as `<duration>`:
/// runs a moment apart may differ by the clock's tick.
fn timeless(line: &str) -> String {
    let is_duration = |word: &str| {
        let word = word.trim_end_matches([')', ',', ';']);
        word.len() > 1
            && word.ends_with(['d', 'h', 'm', 's'])
            && word[..word.len() - 1].bytes().all(|b| b.is_ascii_digit())
    };
    let mut out: Vec<String> = Vec::new();
    let mut in_duration = false;
    for word in line.split(' ') {
        if is_duration(word) {
            let tail = &word[word.trim_end_matches([')', ',', ';']).len()..];
            if in_duration {
                out.pop();
            }
            out.push(format!("<duration>{tail}"));
            in_duration = tail.is_empty();
        } else {
            out.push(word.to_string());
            in_duration = false;
        }
    }
    out.join(" ")
}

#[test]
fn timeless_puts_every_duration_as_one_word() {
    assert_eq!(
        timeless("newest backup is 1h 0m 1s old (running for 2 checks, 1m 0s), x"),
        "newest backup is <duration> old (running for 2 checks, <duration>), x"
    );
    assert_eq!(
        timeless("CTGKM3291I Backup process"),
        "CTGKM3291I Backup process"
    );
}

fn no_secret(r: &Run) {
    for secret in [PASSWORD, "simsess-"] {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "{secret}: {}",
            r.stdout
        );
    }
}

#[test]
fn every_part_is_the_mode_as_it_runs_alone_with_one_login_for_all() {
    let sim = Simulator::start();
    sim.set_running(true);
    let (each, all) = (Workspace::new(), Workspace::new());
    for round in 0..2 {
        let singles: Vec<Run> = every_mode()
            .iter()
            .map(|m| alone(&sim, &each, m, &[]))
            .collect();
        sim.clear_log();
        let r = picture(&sim, &all, &[]);
        no_secret(&r);
        assert_eq!(r.code, 0, "{}", r.stdout);
        assert!(
            r.first_line()
                .starts_with("OK - all 5 modes OK | running_state=0;;;0;3")
        );
        assert!(r.first_line().len() <= 300, "{}", r.first_line());
        // The runs alone came a moment earlier: durations may differ.
        for (mode, single) in every_mode().iter().zip(&singles) {
            assert_eq!(
                timeless(part_line(&r, mode)),
                timeless(&as_part(single, mode)),
                "round {round}"
            );
        }
        // One login in the first round, none once the session is cached;
        // each question once.
        assert_eq!(
            sim.count("POST", "/login"),
            usize::from(round == 0),
            "round {round}"
        );
        for mode in every_mode() {
            assert_eq!(sim.count("GET", mode.path), 1, "{}", mode.name);
        }
        assert_eq!(sim.count("DELETE", "/logout"), 0);
        // The streaks the history keeps are those of the runs alone: the
        // same conditions, services and counts.
        let streaks = |ws: &Workspace| {
            let json = ws.state_json();
            let mut counts = Vec::new();
            for (mode, sighting) in json["streaks"].as_object().unwrap() {
                for (service, count) in sighting["services"].as_object().unwrap() {
                    counts.push((mode.clone(), service.clone(), count["checks"].clone()));
                }
            }
            counts
        };
        assert_eq!(streaks(&all), streaks(&each), "round {round}");
        assert!(!streaks(&all).is_empty());
        // Every mode's metrics follow the long output as perfdata.
        let perf = r.stdout.lines().last().unwrap_or("");
        assert!(
            perf.starts_with("|running=1;;;0;1 running_checks="),
            "{perf}"
        );
    }
}

#[test]
fn the_json_picture_holds_each_modes_own_object() {
    let sim = Simulator::start();
    let (each, all) = (Workspace::new(), Workspace::new());
    let r = picture(&sim, &all, &["--format", "json"]);
    let whole: Value = serde_json::from_str(&r.stdout).expect("one JSON object");
    assert_eq!(
        (&whole["state"], &whole["exit_code"], &whole["message"]),
        (
            &Value::from("OK"),
            &Value::from(0),
            &Value::from("all 5 modes OK")
        )
    );
    // The runs alone come a moment later: the time they took, and the age
    // of the newest backup, may differ by the clock's tick.
    let without_time = |mut v: Value| {
        let object = v.as_object_mut().unwrap();
        object.remove("time");
        if let Some(age) = object.get_mut("backup_age") {
            // About an hour, as the simulator lists it.
            let age = std::mem::take(age).as_u64().unwrap();
            assert!((3600..3610).contains(&age), "backup_age {age}");
        }
        if let Some(Value::String(text)) = object.get_mut("message") {
            *text = text.split(" old (").nth(1).unwrap_or(text).to_string();
        }
        v
    };
    for mode in every_mode() {
        let single = alone(&sim, &each, mode, &["--format", "json"]);
        let single: Value = serde_json::from_str(&single.stdout).unwrap();
        assert_eq!(
            without_time(whole["modes"][mode.name].clone()),
            without_time(single),
            "{}",
            mode.name
        );
    }
}

#[test]
fn the_worst_state_is_the_exit_code_and_a_failed_backup_is_never_hidden_behind_an_unknown() {
    let sim = Simulator::start();
    sim.set_result_code("\"1\"");
    sim.set_behavior_of("restore/isrunning", Behavior::json(500, "{}"));
    let r = picture(&sim, &Workspace::new(), &[]);
    no_secret(&r);
    assert_eq!(r.code, 2, "{}", r.stdout);
    let line = r.first_line();
    let (result, restore) = (
        line.find("result CRITICAL: "),
        line.find("restore UNKNOWN: "),
    );
    assert!(
        line.starts_with("CRITICAL - result CRITICAL: ") && result < restore,
        "worst first: {line}"
    );
    assert!(line.contains(", 3 OK | "), "{line}");
    assert!(line.contains("result_state=2;;;0;3") && line.contains("restore_state=3;;;0;3"));
}

#[test]
fn a_first_line_of_long_texts_keeps_every_state_and_name_within_300_bytes() {
    let sim = Simulator::start();
    let long = format!(
        r#"{{"code":"CTGKM0001E","message":"CTGKM0001E {}"}}"#,
        "very long text ".repeat(40)
    );
    sim.set_status_behavior(Behavior::json(500, &long));
    let r = picture(&sim, &Workspace::new(), &[]);
    let line = r.first_line();
    assert!(line.len() <= 300, "{} bytes: {line}", line.len());
    assert_eq!(r.code, 3, "{}", r.stdout);
    for mode in every_mode() {
        assert!(line.contains(&format!("{} UNKNOWN: ", mode.name)), "{line}");
        assert!(part_line(&r, mode).contains("very long text very long text"));
    }
}

/// The faults of the matrix on one endpoint: that mode's part fails as it
/// fails alone, the others are unaffected, the exit code is the worst,
/// within the deadline, and no secret shows.
#[test]
fn a_fault_on_one_endpoint_costs_only_its_own_mode() {
    let echo = format!(r#"{{"code":"CTGKM0001E","message":"CTGKM0001E bad password {PASSWORD}"}}"#);
    for mode in every_mode() {
        // Each with whether its text is the same from run to run (a timeout
        // names how far the run got).
        let faults: Vec<(&str, Behavior, bool)> = vec![
            (
                "an error",
                Behavior::json(
                    500,
                    r#"{"code":"CTGKM0001E","message":"CTGKM0001E broken"}"#,
                ),
                true,
            ),
            (
                "a slow answer",
                Behavior::Delay(Duration::from_secs(5)),
                false,
            ),
            ("a body one byte a second", Behavior::DripBody, false),
            ("a cut body", Behavior::CloseMidBody, true),
            ("a huge body", Behavior::HugeBody(9 << 20), true),
            ("not JSON", Behavior::json(200, "<html>"), true),
            ("a 404", Behavior::json(404, "{}"), true),
            ("a refused session", Behavior::json(401, "{}"), true),
            (
                "a contradiction",
                Behavior::json(200, mode.contradictions[0].0),
                true,
            ),
            ("an echoed password", Behavior::json(500, &echo), true),
        ];
        for (family, fault, same_text) in faults {
            let sim = Simulator::start();
            sim.set_behavior_of(&mode.path[1..], fault);
            let r = picture(&sim, &Workspace::new(), &[]);
            let context = format!("{family} on {}: {}", mode.name, r.stdout);
            no_secret(&r);
            assert!(
                r.elapsed < Duration::from_secs(2) + SLACK,
                "took {:?}: {context}",
                r.elapsed
            );
            let single = alone(&sim, &Workspace::new(), mode, &[]);
            no_secret(&single);
            assert_ne!(single.state(), "OK", "alone: {}", single.stdout);
            let part = part_line(&r, mode);
            assert!(
                part.starts_with(&format!("{}: {} - ", mode.name, single.state())),
                "alone: {}\n{context}",
                single.stdout
            );
            if same_text {
                assert_eq!(
                    timeless(part),
                    timeless(&as_part(&single, mode)),
                    "{context}"
                );
            }
            for other in every_mode().iter().filter(|m| m.name != mode.name) {
                assert!(
                    part_line(&r, other).starts_with(&format!("{}: OK - ", other.name)),
                    "{} hurt: {context}",
                    other.name
                );
            }
            assert_eq!(r.code, single.code, "{context}");
        }
    }
}

#[test]
fn a_picture_refuses_what_belongs_to_no_mode_or_to_two() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--mode", "running", "--mode", "running"],
            "--mode running is named twice",
        ),
        (
            &["-w", "3", "--mode", "running", "--mode", "needed"],
            "-w/--warning is given before the first of several --mode options",
        ),
        (
            &["--mode", "running", "-t", "5", "--mode", "needed"],
            "-t/--timeout after --mode running belongs to the whole run",
        ),
        (
            &["--mode", "running,needed", "-w", "3"],
            "'-w' follows --mode running,needed, whose modes take their defaults",
        ),
        (
            &[
                "--mode",
                "running",
                "--backup-dir",
                "/b",
                "--mode",
                "result",
            ],
            "--backup-dir means nothing for --mode running",
        ),
    ];
    for (args, message) in cases {
        let r = run(login_command(&sim, &ws).args(args));
        assert_eq!(
            (r.state(), r.code),
            ("UNKNOWN", 3),
            "{args:?}: {}",
            r.stdout
        );
        assert!(r.first_line().contains(message), "{args:?}: {}", r.stdout);
    }
    // A list is the modes with their defaults.
    let r = run(login_command(&sim, &ws).args(["--mode", "running,needed,result"]));
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.first_line().starts_with("OK - all 3 modes OK | "),
        "{}",
        r.stdout
    );
}

/// Against a GKLM that takes 0.8 s an answer, five questions one after the
/// other would outlast `-t 2`; side by side they take about one answer's
/// time.
#[test]
fn the_questions_are_asked_side_by_side() {
    let sim = Simulator::start();
    sim.set_status_behavior(Behavior::Delay(Duration::from_millis(800)));
    let running = &every_mode()[0];
    let one = alone(&sim, &Workspace::new(), running, &[]);
    assert_eq!(one.code, 0, "{}", one.stdout);
    let all = picture(&sim, &Workspace::new(), &[]);
    assert_eq!(all.code, 0, "{}", all.stdout);
    assert!(
        all.elapsed < one.elapsed * 3,
        "the whole picture took {:?}, one mode {:?}",
        all.elapsed,
        one.elapsed
    );
}
