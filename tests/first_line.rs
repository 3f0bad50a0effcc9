//! The first line under pressure: GKLM's text is what gets cut to 300
//! bytes, never the check's own reason or the perfdata, and the check's
//! words after GKLM's text read as one sentence.

use crate::util::*;

/// `running` and `needed` answering "yes" with a status text of about
/// `bytes` bytes of `filler` after the message id and GKLM's sentence.
fn long_answers(filler: &str) -> [(&'static str, String, &'static str); 2] {
    let tail = filler.repeat(600 / filler.len());
    [
        (
            "running",
            format!(r#"{{"code":"0","status":"CTGKM3290I Backup process is running. {tail}"}}"#),
            "running",
        ),
        (
            "needed",
            format!(
                r#"{{"code":"1","status":"CTGKM1305I There are keys and certificates which have not been backed up. Make a backup. {tail}"}}"#
            ),
            "needed",
        ),
    ]
}

#[test]
fn the_reason_and_perfdata_survive_a_long_gklm_text() {
    for filler in ["x", "\u{e9}", "\u{8a9e}", "\u{1f600}"] {
        for (mode, body, verb) in long_answers(filler) {
            let sim = Simulator::start();
            sim.set_status_behavior(Behavior::json(200, &body));
            let ws = Workspace::new();
            let args = ["--mode", mode, "-w", "1", "--prefix", "/SKLM"];
            run(login_command(&sim, &ws).args(args)).expect("OK", 0);
            let r = run(login_command(&sim, &ws).args(args));
            r.expect("WARNING", 1);
            let line = r.first_line();
            assert!(line.len() <= 300, "{} bytes: {line}", line.len());
            let (text, perf) = line.split_once(" | ").expect("perfdata");
            // The seconds depend on how fast the two runs came.
            let (cut, reason) = text.rsplit_once(" (").expect("a reason");
            assert!(cut.ends_with("..."), "{filler}: {text}");
            assert!(
                reason.starts_with(&format!("{verb} for 2 checks, "))
                    && reason.ends_with("s, -w 1 crossed)"),
                "{filler}: {text}"
            );
            let labels: Vec<&str> = perf
                .split(' ')
                .map(|p| p.split('=').next().unwrap())
                .collect();
            assert_eq!(
                labels,
                [
                    verb,
                    &format!("{verb}_checks"),
                    &format!("{verb}_seconds"),
                    "time"
                ],
                "{line}"
            );
            assert_eq!(
                r.perf(&format!("{verb}_checks")).as_deref(),
                Some("2;1;;0;")
            );
            // JSON keeps the reason whole too.
            let r = run(login_command(&sim, &ws)
                .args(args)
                .args(["--format", "json"]));
            let message = r.json()["message"].as_str().unwrap().to_string();
            assert!(
                message.contains(&format!("({verb} for 3 checks, "))
                    && message.ends_with("s, -w 1 crossed)"),
                "{message}"
            );
        }
    }
}

#[test]
fn a_short_gklm_text_and_its_reason_print_as_before() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    run(login_command(&sim, &ws).args(["-w", "1"])).expect("OK", 0);
    let r = run(login_command(&sim, &ws).args(["-w", "1"]));
    // The seconds between the two runs: 0 unless the machine is busy.
    let seconds = r.perf_number("running_seconds").unwrap();
    assert!(seconds <= 5.0, "{}", r.stdout);
    r.expect("WARNING", 1).expect_text(&format!(
        "WARNING - CTGKM3290I Backup process is running. (running for 2 checks, {seconds}s, -w 1 crossed) | running=1;;;0;1 running_checks=2;1;;0; running_seconds={seconds}s;;;0; time="
    ));
}

#[test]
fn thresholds_that_cannot_be_applied_read_as_one_sentence() {
    for (mode, text) in [
        ("running", "CTGKM3290I Backup process is running"),
        // GKLM's longer text is cut to leave room for the reason.
        ("needed", "CTGKM1305I There are keys"),
    ] {
        let sim = Simulator::start();
        sim.set_running(true);
        sim.set_needed(true);
        let ws = Workspace::new();
        // A state file below a regular file: it can be neither read nor made.
        let blocker = ws.secret_file("not-a-directory", "");
        let state = blocker.join("state.json");
        let r = run(login_command(&sim, &ws)
            .args(["--mode", mode, "-w", "1", "--state-file"])
            .arg(&state));
        r.expect("UNKNOWN", 3)
            .expect_text(text)
            .expect_text(" but the thresholds cannot be applied: cannot create directory");
        // A cut ends in "..."; a sentence must not end before "but".
        let line = r.first_line().replace("... but", "");
        assert!(!line.contains(". but"), "{}", r.first_line());
        if mode == "running" {
            r.expect_text("CTGKM3290I Backup process is running but the thresholds");
        }
    }
}

#[test]
fn a_stray_escape_introducer_in_gklm_text_eats_nothing() {
    let sim = Simulator::start();
    sim.set_status_behavior(Behavior::json(
        200,
        r#"{"code":"1","status":"CTGKM3291I Backup\u001b[ process is not running.\u001b[1m"}"#,
    ));
    let ws = Workspace::new();
    let r = run(login_command(&sim, &ws).args(["--prefix", "/SKLM"]));
    r.expect("OK", 0)
        .expect_text("OK - CTGKM3291I Backup process is not running. | running=0");
}
