//! Session reuse and prefix discovery (one login per session, GKLM 3.x-5.x).

use crate::util::*;

#[test]
fn ten_runs_make_one_login_no_logout_and_eleven_requests() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for _ in 0..10 {
        run_with(&sim, &ws, &[]).expect("OK", 0);
    }
    assert_eq!(sim.count("POST", "/ckms/login"), 1);
    assert_eq!(sim.count("DELETE", "/ckms/logout"), 0);
    assert_eq!(sim.requests().len(), 11);
    let ids: std::collections::HashSet<_> = sim
        .requests()
        .into_iter()
        .filter_map(|r| r.authorization)
        .collect();
    assert_eq!(ids.len(), 1, "every status call used the one session");
}

#[test]
fn a_forgotten_session_means_one_new_login_and_the_right_state() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    sim.forget_sessions();
    sim.set_running(true);
    let r = run_with(&sim, &ws, &["-v", "-w", "0"]);
    r.expect("WARNING", 1).expect_text("CTGKM3290I");
    assert!(
        r.stdout
            .contains("cached session rejected, logging in again"),
        "{}",
        r.stdout
    );
    assert_eq!(sim.count("POST", "/ckms/login"), 2);
    run_with(&sim, &ws, &[]).expect("OK", 0);
    assert_eq!(
        sim.count("POST", "/ckms/login"),
        2,
        "the new session is cached in turn"
    );
}

#[test]
fn a_second_rejection_is_unknown_and_a_wrong_password_is_never_retried() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    sim.set_status_behavior(Behavior::json(401, r#"{"code":"CTGKM6004E","message":"CTGKM6004E User is not authenticated or has already logged out"}"#));
    let r = run_with(&sim, &ws, &[]);
    r.expect("UNKNOWN", 3).expect_text("CTGKM6004E");
    assert_eq!(
        sim.count("POST", "/ckms/login"),
        2,
        "exactly one fresh login after the rejection"
    );
    sim.set_status_behavior(Behavior::Normal);
    let wrong = ws.secret_file("wrong", "not-the-password\n");
    let r = run(&mut login_with(&sim, &ws, &wrong));
    r.expect("UNKNOWN", 3)
        .expect_text("CTGKM6003E")
        .expect_text("rejected the login");
    assert_eq!(
        sim.count("POST", "/ckms/login"),
        3,
        "wrong password tried once"
    );
}

#[test]
fn rejection_found_only_inside_the_message_also_triggers_a_new_login() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    sim.forget_sessions();
    // Some GKLM versions put a generic code and the id only in the message.
    sim.set_status_behavior(Behavior::json(
        400,
        r#"{"code":"400","message":"CTGKM6002E Bad Request: invalid user authentication ID"}"#,
    ));
    let r = run_with(&sim, &ws, &["-v"]);
    assert!(r.stdout.contains("cached session rejected"), "{}", r.stdout);
    r.expect("UNKNOWN", 3).expect_text("CTGKM6002E");
}

#[test]
fn no_session_cache_logs_in_and_out_every_run_and_stores_no_id() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for _ in 0..3 {
        run_with(&sim, &ws, &["--no-session-cache"]).expect("OK", 0);
    }
    assert_eq!(
        (sim.count("POST", "/login"), sim.count("DELETE", "/logout")),
        (3, 3)
    );
    assert!(ws.state_json()["session"].is_null());
}

#[test]
fn cached_session_lives_in_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let sim = Simulator::start();
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    let file = ws.state_files().remove(0);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        ws.state_json()["session"]
            .as_str()
            .unwrap()
            .starts_with("simsess-")
    );
}

#[test]
fn gklm_5_only_prefix_is_found_and_remembered() {
    let sim = Simulator::with(Config::serving(&["/GKLM"]));
    let ws = Workspace::new();
    let r = run_with(&sim, &ws, &["-v"]);
    r.expect("OK", 0);
    assert!(r.stdout.contains("prefix /SKLM: HTTP 404"), "{}", r.stdout);
    assert_eq!(ws.state_json()["prefix"], "/GKLM");
    sim.clear_log();
    for _ in 0..3 {
        let r = run_with(&sim, &ws, &["-v"]);
        r.expect("OK", 0);
        assert!(
            r.stdout
                .contains("prefix /GKLM (remembered from an earlier run)")
        );
    }
    let requests = sim.requests();
    assert_eq!(requests.len(), 3);
    assert!(
        requests.iter().all(|r| r.path.starts_with("/GKLM/")),
        "{requests:?}"
    );
}

#[test]
fn auth_id_mode_discovers_the_prefix_too() {
    let sim = Simulator::with(Config::serving(&["/GKLM"]));
    let ws = Workspace::new();
    let r = run(target_command(&sim, &ws).env("GKLM_AUTH_ID", sim.issue_session()));
    r.expect("OK", 0);
    assert_eq!(sim.count("GET", "/SKLM/rest/v1/ckms/backups/isrunning"), 1);
    assert_eq!(sim.count("GET", "/GKLM/rest/v1/ckms/backups/isrunning"), 1);
}

#[test]
fn neither_prefix_answering_is_unknown_naming_both_urls() {
    let sim = Simulator::with(Config::serving(&["/OTHER"]));
    let ws = Workspace::new();
    let r = run_with(&sim, &ws, &[]);
    r.expect("UNKNOWN", 3)
        .expect_text("/SKLM/rest/v1/ckms/login")
        .expect_text("/GKLM/rest/v1/ckms/login");
}

#[test]
fn twenty_simultaneous_runs_share_one_session() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let wave = || {
        let runs = run_concurrently(20, || login_command(&sim, &ws));
        for r in &runs {
            r.expect("OK", 0)
                .expect_text("OK - CTGKM3290I Backup process is running.");
        }
        let mut counts: Vec<u64> = runs
            .iter()
            .map(|r| r.perf_number("running_checks").unwrap() as u64)
            .collect();
        counts.sort();
        counts
    };
    // No session yet: no run waits for another's login, so several may log
    // in; the file keeps one session and every other is logged out.
    assert_eq!(wave(), (1..=20).collect::<Vec<_>>());
    let (logins, logouts) = (sim.count("POST", "/login"), sim.count("DELETE", "/logout"));
    assert!(logins >= 1, "{logins}");
    assert_eq!(logins - logouts, 1, "sessions left open in GKLM");
    let kept = ws.state_json()["session"].as_str().unwrap().to_string();
    // Once it is kept, twenty simultaneous runs all use it: no login.
    sim.clear_log();
    assert_eq!(wave(), (21..=40).collect::<Vec<_>>());
    assert_eq!(
        sim.count("POST", "/login"),
        0,
        "a login despite a cached session"
    );
    assert_eq!(sim.count("DELETE", "/logout"), 0);
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("SKLMAuth userAuthId={kept}"))),
        "{:?}",
        sim.requests()
    );
    assert_eq!(checks_in(&ws.state_json(), "running"), Some(40));
}
