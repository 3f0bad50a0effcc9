//! The fault matrix: every family of faults against every mode. A rule
//! learnt in one mode must hold in all of them, so a new mode gets the
//! whole matrix by adding one row to the test table (`tests/util/modes.rs`).
//!
//! Each case runs the real binary against the simulator and checks the
//! state and exit code, the first line (one line, at most 300 bytes, no
//! secret) and the deadline (`-t 2` plus half a second).

use std::time::Duration;

use crate::util::modes::{Mode, every_mode};
use crate::util::*;

const TIMEOUT: &str = "2";

#[test]
fn the_matrix_has_a_row_for_every_mode_of_the_registry() {
    assert_eq!(every_mode().len(), check_gklm_backup::mode::MODES.len());
}

/// `--mode MODE -t 2`, logged in with a fresh workspace, plus `extra`.
fn bounded(sim: &Simulator, mode: &Mode, extra: &[&str]) -> Run {
    let ws = Workspace::new();
    let r = run(login_command(sim, &ws)
        .args(["--mode", mode.name, "-t", TIMEOUT])
        .args(mode.needs)
        .args(extra));
    plugin_line(&r, mode);
    r
}

/// What every case checks: one line of at most 300 bytes, no secret, and
/// the end within `-t 2` plus `SLACK`.
fn plugin_line(r: &Run, mode: &Mode) {
    let context = format!("--mode {}: {}", mode.name, r.stdout);
    assert_eq!(r.stdout.lines().count(), 1, "{context}");
    assert!(
        r.first_line().len() <= 300,
        "{} bytes: {context}",
        r.first_line().len()
    );
    for secret in [PASSWORD, "simsess-"] {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "{secret}: {context}"
        );
    }
    assert!(
        r.elapsed < Duration::from_secs(2) + SLACK,
        "took {:?}: {context}",
        r.elapsed
    );
}

/// The simulator answering every backup question with `behavior`.
fn answering(behavior: Behavior) -> Simulator {
    let sim = Simulator::start();
    sim.set_status_behavior(behavior);
    sim
}

fn expect(r: &Run, mode: &Mode, state: &str, code: i32, texts: &[&str]) {
    assert_eq!(
        (r.state(), r.code),
        (state, code),
        "--mode {}: {}",
        mode.name,
        r.stdout
    );
    for text in texts {
        assert!(
            r.first_line().contains(text),
            "--mode {}: {text:?} not in {}",
            mode.name,
            r.stdout
        );
    }
}

// ---------------------------------------------------------------- transport

#[test]
fn transport_faults_take_the_unreachable_state_in_every_mode() {
    for mode in every_mode() {
        let request = mode.what;
        let cases: Vec<(Behavior, String)> = vec![
            (
                Behavior::Delay(Duration::from_secs(60)),
                format!("{request} timed out"),
            ),
            (Behavior::DripBody, format!("{request} timed out after 2s")),
            (
                Behavior::CloseMidBody,
                "connection closed after 16 of 200 body bytes".into(),
            ),
            (
                Behavior::HugeHeader(1 << 20),
                "a header line over 16 KiB".into(),
            ),
        ];
        for (behavior, text) in cases {
            let r = bounded(&answering(behavior.clone()), mode, &[]);
            expect(&r, mode, "CRITICAL", 2, &[&text]);
            if behavior == Behavior::DripBody {
                // Every read succeeds: only the watchdog ends this run. It
                // took -t and the grace; the metric keeps to its maximum.
                assert_eq!(
                    r.perf("time").as_deref(),
                    Some("2.000s;;;0;2"),
                    "{}",
                    r.stdout
                );
            }
            let r = bounded(
                &answering(behavior),
                mode,
                &["--unreachable-state", "unknown"],
            );
            expect(&r, mode, "UNKNOWN", 3, &[&text]);
        }
    }
}

#[test]
fn a_server_that_never_finishes_tls_or_is_not_there_is_unreachable_in_every_mode() {
    let silent = Simulator::with(Config::wire(Wire::SilentTcp));
    let plain = Simulator::with(Config::wire(Wire::PlainHttp));
    let port = closed_port().to_string();
    for mode in every_mode() {
        expect(
            &bounded(&silent, mode, &[]),
            mode,
            "CRITICAL",
            2,
            &["login timed out"],
        );
        expect(
            &bounded(&plain, mode, &[]),
            mode,
            "CRITICAL",
            2,
            &["TLS failed: what answers on this port does not speak TLS (plain HTTP?)"],
        );
        let ws = Workspace::new();
        let r = run(command(&ws)
            .args([
                "-H",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                TIMEOUT,
                "--mode",
                mode.name,
            ])
            .args(mode.needs)
            .env("GKLM_AUTH_ID", "some-session-id"));
        plugin_line(&r, mode);
        expect(&r, mode, "CRITICAL", 2, &["connection refused"]);
    }
}

// ---------------------------------------------------------------- statuses

#[test]
fn http_error_statuses_are_unknown_quoting_gklm_in_every_mode() {
    let html = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>";
    for mode in every_mode() {
        let request = mode.what;
        let gklm_error = r#"{"code":"CTGKM0001E","message":"CTGKM0001E The server encountered an unexpected condition."}"#;
        let cases: Vec<(Behavior, Vec<String>)> = vec![
            (
                Behavior::json(500, ""),
                vec![format!("{request} failed with HTTP 500")],
            ),
            (
                Behavior::json(500, gklm_error),
                vec!["HTTP 500: CTGKM0001E The server encountered".into()],
            ),
            (Behavior::json(404, ""), vec!["HTTP 404".into()]),
            (Behavior::json(405, ""), vec!["HTTP 405".into()]),
            (
                Behavior::Reply {
                    status: 502,
                    content_type: "text/html".into(),
                    body: html.to_vec(),
                },
                vec!["HTTP 502".into(), "502 Bad Gateway".into()],
            ),
            (
                Behavior::Reply {
                    status: 302,
                    content_type: "text/html".into(),
                    body: b"https://elsewhere.example/login".to_vec(),
                },
                vec!["redirected (HTTP 302 to https://elsewhere.example/login)".into()],
            ),
        ];
        for (behavior, texts) in cases {
            let sim = answering(behavior);
            // The prefix given: a 404 is not answered by probing another.
            let r = bounded(&sim, mode, &["--prefix", "/SKLM"]);
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            expect(&r, mode, "UNKNOWN", 3, &texts);
            assert_eq!(sim.count("GET", mode.path), 1, "asked once, never followed");
        }
    }
}

#[test]
fn a_rejected_session_is_unknown_quoting_gklm_in_every_mode() {
    let sim = Simulator::start();
    for mode in every_mode() {
        let ws = Workspace::new();
        let r = run(target_command(&sim, &ws)
            .args(["-t", TIMEOUT, "--mode", mode.name])
            .args(mode.needs)
            .env("GKLM_AUTH_ID", "expired-session-id"));
        plugin_line(&r, mode);
        expect(
            &r,
            mode,
            "UNKNOWN",
            3,
            &["rejected the session id (HTTP 401: CTGKM6004E"],
        );
    }
}

// ---------------------------------------------------------------- bodies

#[test]
fn bodies_that_are_not_an_answer_are_unknown_in_every_mode() {
    for mode in every_mode() {
        let mut cases: Vec<(&str, &str)> = vec![
            ("", "empty body"),
            (r#"{"code":"1","sta"#, "not JSON"),
            ("<html>ok</html>", "not JSON"),
            ("\"running\"", "got \"running\""),
            ("null", "got null"),
            ("42", "got 42"),
        ];
        // An array is age's own shape; for the others it is no answer.
        if mode.name != "age" {
            cases.push(("[1,2]", "expected a JSON object, got an array"));
            cases.push(("{}", "no '"));
        } else {
            cases.push(("{}", "expected a list of backups"));
            cases.push((r#"{"code":"0"}"#, "expected a list of backups"));
        }
        for (body, text) in cases {
            let r = bounded(&answering(Behavior::json(200, body)), mode, &[]);
            expect(&r, mode, "UNKNOWN", 3, &[text]);
        }
    }
}

#[test]
fn a_huge_body_is_refused_at_the_modes_bound_in_every_mode() {
    for mode in every_mode() {
        let r = bounded(&answering(Behavior::HugeBody(100 << 20)), mode, &[]);
        expect(&r, mode, "UNKNOWN", 3, &[mode.limit]);
    }
}

#[test]
fn a_well_formed_answer_is_read_whatever_its_content_type_in_every_mode() {
    for mode in every_mode() {
        let sim = answering(Behavior::Reply {
            status: 200,
            content_type: "text/plain".into(),
            body: (mode.fine)().into_bytes(),
        });
        let r = bounded(&sim, mode, &[]);
        assert_eq!(r.state(), "OK", "--mode {}: {}", mode.name, r.stdout);
    }
}

#[test]
fn hostile_text_stays_one_short_line_with_the_modes_perfdata_in_every_mode() {
    let evil = format!(
        "a|b=1 \\n line2 \\r\\n \\u001b[31mred\\u001b[0m \\u202eevil {}",
        "x".repeat(10_000)
    );
    for mode in every_mode().iter().filter(|m| m.name != "age") {
        // The mode's own answer, its status text made hostile after the id.
        let fine = (mode.fine)();
        let (head, tail) = fine.split_at(fine.rfind("\"}").unwrap());
        let body = format!("{head} {evil}{tail}");
        let r = bounded(&answering(Behavior::json(200, &body)), mode, &[]);
        assert_eq!(r.state(), "OK", "--mode {}: {}", mode.name, r.stdout);
        let line = r.first_line();
        for bad in ['\u{1b}', '\u{202e}', '\n', '\r'] {
            assert!(
                !line.contains(bad),
                "--mode {}: {bad:?} in {line}",
                mode.name
            );
        }
        assert_eq!(line.matches('|').count(), 1, "--mode {}: {line}", mode.name);
        // The mode's own perfdata, every label, as for a plain answer.
        let plain = bounded(&answering(Behavior::json(200, &fine)), mode, &[]);
        assert_eq!(labels(&r), labels(&plain), "--mode {}: {line}", mode.name);
        assert!(labels(&r).len() >= 2, "--mode {}: {line}", mode.name);
    }
}

/// The perfdata labels, in order.
fn labels(r: &Run) -> Vec<String> {
    r.perfdata()
        .split(' ')
        .filter_map(|item| item.split_once('=').map(|(l, _)| l.to_string()))
        .collect()
}

// ---------------------------------------------------------------- published shapes

#[test]
fn the_shapes_ibm_publishes_are_read_as_they_mean_in_every_mode() {
    for mode in every_mode() {
        let shapes = (mode.published)();
        assert!(!shapes.is_empty(), "{} has no published shape", mode.name);
        for (body, state, text) in shapes {
            let r = bounded(&answering(Behavior::json(200, &body)), mode, &[]);
            let code = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
                .iter()
                .position(|s| *s == state)
                .unwrap() as i32;
            expect(&r, mode, state, code, &[text]);
        }
    }
}

/// The mode's fine answer as an object with `key` set to `value`.
fn fine_with(mode: &Mode, key: &str, value: serde_json::Value) -> String {
    let mut body: serde_json::Value = serde_json::from_str(&(mode.fine)()).unwrap();
    match &mut body {
        serde_json::Value::Object(map) => {
            map.insert(key.into(), value);
        }
        serde_json::Value::Array(entries) => {
            // age's list: wrapped, so that the member is the answer's own.
            let list = std::mem::take(entries);
            body = serde_json::json!({ "backups": list, key: value });
        }
        _ => unreachable!(),
    }
    body.to_string()
}

#[test]
fn what_gklm_reports_beside_the_answer_is_heard_in_every_mode() {
    let sim = Simulator::start();
    for mode in every_mode() {
        let mut cases = vec![
            (
                fine_with(mode, "error", "CTGKM0001E failed".into()),
                "UNKNOWN",
                "CTGKM0001E failed",
            ),
            (
                fine_with(mode, "errors", serde_json::json!(["disk"])),
                "UNKNOWN",
                "'errors' holds",
            ),
            (
                fine_with(mode, "error", true.into()),
                "UNKNOWN",
                "'error' holds true",
            ),
            (
                fine_with(
                    mode,
                    "details",
                    serde_json::json!({"cause": ["CTGKM0815E Key store unreadable."]}),
                ),
                "UNKNOWN",
                "CTGKM0815E",
            ),
            (
                fine_with(mode, "message", "CTGKM1314W Look at the backup.".into()),
                "UNKNOWN",
                "CTGKM1314W",
            ),
            (fine_with(mode, "errors", serde_json::json!([])), "OK", ""),
            (fine_with(mode, "error", serde_json::Value::Null), "OK", ""),
        ];
        let others = check_gklm_backup::mode::MODES
            .iter()
            .filter(|k| k.name != mode.name)
            .flat_map(|k| k.vocabulary.ids.iter().map(|(id, _)| *id));
        for id in others {
            let body = fine_with(mode, "message", format!("{id} text").into());
            cases.push((body, "UNKNOWN", "GKLM answered another question"));
        }
        for (body, state, text) in cases {
            sim.set_status_behavior(Behavior::json(200, &body));
            let r = bounded(&sim, mode, &[]);
            let code = if state == "OK" { 0 } else { 3 };
            expect(&r, mode, state, code, &[text]);
        }
    }
}

// ---------------------------------------------------------------- contradictions

#[test]
fn answers_whose_fields_disagree_are_unknown_quoting_both_in_every_mode() {
    for mode in every_mode() {
        assert!(!mode.contradictions.is_empty(), "{} has no case", mode.name);
        for (body, quotes) in mode.contradictions {
            let r = bounded(&answering(Behavior::json(200, body)), mode, &[]);
            expect(&r, mode, "UNKNOWN", 3, quotes);
            // Whatever the thresholds: never a state from a disputed answer.
            if mode.streak {
                let r = bounded(&answering(Behavior::json(200, body)), mode, &["-w", "1"]);
                expect(&r, mode, "UNKNOWN", 3, quotes);
            }
        }
    }
}

// ---------------------------------------------------------------- secrets

#[test]
fn secrets_echoed_by_gklm_never_show_in_any_mode() {
    let sim = Simulator::start();
    for mode in every_mode() {
        let session = sim.issue_session();
        for secret in [PASSWORD, session.as_str()] {
            // Whole, and split by what the printer drops later (a zero-width
            // space, a soft hyphen, a BOM, a bidi override, an escape
            // sequence), which must not join it again unmasked.
            for split in ["", "\\u200b", "\\u00ad", "\\ufeff", "\\u202e", "\\u001b[0m"] {
                let (head, tail) = secret.split_at(4);
                let echo = format!("CTGKM0001E user monitor/{head}{split}{tail} failed");
                for behavior in [
                    Behavior::json(
                        500,
                        &format!(r#"{{"code":"CTGKM0001E","message":"{echo}"}}"#),
                    ),
                    Behavior::json(
                        200,
                        &format!(r#"{{"code":"CTGKM0001E","status":"{echo}"}}"#),
                    ),
                ] {
                    sim.set_status_behavior(behavior);
                    let ws = Workspace::new();
                    let mut cmd = if secret == PASSWORD {
                        login_command(&sim, &ws)
                    } else {
                        let mut cmd = target_command(&sim, &ws);
                        cmd.env("GKLM_AUTH_ID", &session);
                        cmd
                    };
                    let r = run(cmd
                        .args(["-t", TIMEOUT, "--mode", mode.name, "-vvv"])
                        .args(mode.needs));
                    expect(&r, mode, "UNKNOWN", 3, &["CTGKM0001E user monitor/"]);
                    assert!(
                        !r.stdout.contains(secret) && !r.stderr.contains(secret),
                        "--mode {}: {secret} leaked (split by {split:?}): {}",
                        mode.name,
                        r.stdout
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------- local files

#[test]
fn a_blocked_password_file_is_unknown_in_time_in_every_mode() {
    let sim = Simulator::start();
    for mode in every_mode() {
        let ws = Workspace::new();
        let fifo = ws.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let r = run(login_with(&sim, &ws, &fifo)
            .args([
                "-t",
                TIMEOUT,
                "--mode",
                mode.name,
                "--unreachable-state",
                "ok",
            ])
            .args(mode.needs));
        plugin_line(&r, mode);
        expect(
            &r,
            mode,
            "UNKNOWN",
            3,
            &["timed out after 2s", "is a file blocked"],
        );
        assert_eq!(sim.count("POST", "/login"), 0, "nothing sent");
    }
}

#[test]
fn state_that_cannot_be_saved_is_unknown_only_where_a_threshold_needs_it() {
    for mode in every_mode() {
        let sim = answering(Behavior::json(200, &(mode.fine)()));
        let ws = Workspace::new();
        // A state directory below a regular file can never be created.
        let blocker = ws.secret_file("not-a-dir", "x");
        let state_dir = blocker.join("state");
        let base = |extra: &[&str]| {
            let mut cmd = login_command(&sim, &ws);
            cmd.env("MP_STATE_PATH", &state_dir)
                .args(["-t", TIMEOUT, "--mode", mode.name])
                .args(mode.needs)
                .args(extra);
            run(&mut cmd)
        };
        let r = base(&[]);
        plugin_line(&r, mode);
        assert_eq!(r.state(), "OK", "--mode {}: {}", mode.name, r.stdout);
        if mode.streak {
            // The mode's condition seen, with a threshold that needs history.
            sim.set_status_behavior(Behavior::json(200, mode.seen));
            let r = base(&["-w", "3"]);
            plugin_line(&r, mode);
            expect(&r, mode, "UNKNOWN", 3, &["not-a-dir"]);
        }
    }
}

/// Keeping the history can outlast `-t` (a hung mount, a frozen file
/// system, a disk a loaded machine makes slow) once GKLM has answered. The
/// answer then still decides, as with a file that cannot be written: the
/// alarm prints GKLM's result, UNKNOWN only where a threshold needs the
/// history; never "writing the state file timed out".
#[test]
fn a_state_file_kept_past_the_timeout_costs_only_the_history_in_every_mode() {
    use crate::util::disk::{FrozenDisk, waits_in_the_kernel};
    let test = "a_state_file_kept_past_the_timeout_costs_only_the_history_in_every_mode";
    let ws = Workspace::new();
    let Some(mut disk) = FrozenDisk::mount(test, ws.path().join("disk")) else {
        return;
    };
    const SECONDS: u64 = 3;
    let timeout = SECONDS.to_string();
    // (mode, answer, thresholds, state, exit code, text)
    type Case = (
        &'static Mode,
        String,
        &'static [&'static str],
        &'static str,
        i32,
        String,
    );
    let mut cases: Vec<Case> = Vec::new();
    for mode in every_mode() {
        let fine = (mode.fine)();
        cases.push((mode, fine, &[], "OK", 0, String::new()));
        if mode.streak {
            let lost = format!(
                "thresholds cannot be applied: the state file was not kept within -t {SECONDS}s"
            );
            let seen = mode.seen.to_string();
            cases.push((mode, seen, &["-w", "3"], "UNKNOWN", 3, lost));
        }
    }
    let sims: Vec<Simulator> = cases
        .iter()
        .map(|(_, body, ..)| answering(Behavior::json(200, body)))
        .collect();
    disk.freeze();
    let started = std::time::Instant::now();
    let children: Vec<_> = cases
        .iter()
        .zip(&sims)
        .enumerate()
        .map(|(i, ((mode, _, thresholds, ..), sim))| {
            let state = disk.dir.join(format!("{i}.json"));
            login_command(sim, &ws)
                .args(["--mode", mode.name, "-t", &timeout])
                .args(mode.needs)
                .args(*thresholds)
                .arg("--state-file")
                .arg(state)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    // Every run is held writing its state file, and its alarm is due,
    // before the file system thaws and lets the alarm be handled.
    let held = crate::util::engine::wait_for(Duration::from_secs(60), || {
        children
            .iter()
            .all(|c| waits_in_the_kernel(c.id()))
            .then_some(())
    });
    let due = Duration::from_secs(SECONDS) + Duration::from_secs(1);
    std::thread::sleep(due.saturating_sub(started.elapsed()));
    disk.thaw();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| Run::of(c.wait_with_output().expect("wait"), started))
        .collect();
    for ((mode, _, thresholds, state, code, text), r) in cases.iter().zip(&runs) {
        let context = format!("--mode {} {thresholds:?}: {}", mode.name, r.stdout);
        assert!(
            held.is_some(),
            "not every run reached the state file: {context}"
        );
        expect(r, mode, state, *code, &[text]);
        assert!(!r.stdout.contains("timed out"), "{context}");
        assert_eq!(r.stdout.lines().count(), 1, "{context}");
    }
}
