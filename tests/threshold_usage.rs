//! Thresholds that cannot mean what they say are usage errors: inverted
//! warning and critical (WARNING could never show), and `M` as a duration
//! unit (minutes or months?). Exit 3, one line, nothing sent.

use crate::util::modes::taking;
use crate::util::*;

fn refused(args: &[&str], needle: &str) {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let r = run(login_command(&sim, &ws).args(args));
    r.expect("UNKNOWN", 3)
        .expect_text(needle)
        .expect_text("see --help");
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    assert!(sim.requests().is_empty(), "{args:?}: {:?}", sim.requests());
}

fn accepted(args: &[&str]) {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let r = run(login_command(&sim, &ws).args(args));
    assert_ne!(r.code, 3, "{args:?}: {}", r.stdout);
}

#[test]
fn inverted_count_thresholds_are_refused_in_every_mode_that_takes_them() {
    for mode in taking("--warning").iter().map(|m| m.name) {
        for (w, c) in [
            ("3", "2"),
            ("~:3", "~:2"),
            ("5:", "10:"),
            ("10:20", "12:18"),
        ] {
            refused(
                &["--mode", mode, "-w", w, "-c", c],
                &format!("-w {w} and -c {c} are inverted"),
            );
        }
        for (w, c) in [("2", "3"), ("3", "3"), ("10:", "5:")] {
            accepted(&["--mode", mode, "-w", w, "-c", c]);
        }
    }
}

#[test]
fn a_warning_time_longer_than_the_critical_is_refused_in_every_mode_that_takes_both() {
    for mode in taking("--warning-time").iter().map(|m| m.name) {
        refused(
            &[
                "--mode",
                mode,
                "--warning-time",
                "2d",
                "--critical-time",
                "1d",
            ],
            "--warning-time 2d 0h 0m is longer than --critical-time 1d 0h 0m",
        );
        accepted(&[
            "--mode",
            mode,
            "--warning-time",
            "1d",
            "--critical-time",
            "1d",
        ]);
        accepted(&[
            "--mode",
            mode,
            "--warning-time",
            "1d",
            "--critical-time",
            "2d",
        ]);
    }
}

#[test]
fn capital_m_is_refused_as_ambiguous_wherever_a_duration_is_given() {
    let durations = ["--warning-time", "--critical-time", "--max-gap"];
    for (mode, option) in durations
        .iter()
        .flat_map(|&o| taking(o).into_iter().map(move |m| (m.name, o)))
    {
        refused(
            &["--mode", mode, option, "90M"],
            "invalid duration '90M': 'M' is ambiguous (minutes or months); write m or min for minutes",
        );
        for minutes in ["90m", "90min"] {
            accepted(&["--mode", mode, option, minutes]);
        }
    }
}
