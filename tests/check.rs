//! The check end to end: the real binary against the simulator over HTTPS.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::util::*;

#[test]
fn not_running_is_ok_with_gklm_text_and_all_perfdata() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let r = run_with(&sim, &ws, &["--no-session-cache"]);
    r.expect("OK", 0);
    assert!(r.first_line().starts_with("OK - CTGKM3291I Backup process is not running. | running=0;;;0;1 running_checks=0;;;0; running_seconds=0s;;;0; time="));
    let time = r.perf("time").unwrap();
    assert!(time.ends_with("s;;;0;10"), "{time}");
    assert_eq!(
        r.stdout.lines().count(),
        1,
        "no extra lines without -v: {}",
        r.stdout
    );
}

#[test]
fn w2_c4_escalates_while_running_and_resets_when_it_stops() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let expected = [
        ("OK", 0),
        ("OK", 0),
        ("WARNING", 1),
        ("WARNING", 1),
        ("CRITICAL", 2),
    ];
    for (i, (state, code)) in expected.into_iter().enumerate() {
        let r = run_with(&sim, &ws, &["-w", "2", "-c", "4"]);
        r.expect(state, code);
        assert_eq!(
            r.perf("running_checks").unwrap(),
            format!("{};2;4;0;", i + 1)
        );
        assert_eq!(r.perf("running").unwrap(), "1;;;0;1");
        let plural = if i == 0 { "check" } else { "checks" };
        r.expect_text(&format!(
            "CTGKM3290I Backup process is running. (running for {} {plural}, ",
            i + 1
        ));
    }
    sim.set_running(false);
    let r = run_with(&sim, &ws, &["-w", "2", "-c", "4"]);
    r.expect("OK", 0);
    assert_eq!(r.perf("running_checks").unwrap(), "0;2;4;0;");
    assert_eq!(r.perf("running_seconds").unwrap(), "0s;;;0;");
}

#[test]
fn without_session_cache_each_run_logs_in_once_and_out_once() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for round in 1..=3 {
        run_with(&sim, &ws, &["--no-session-cache"]).expect("OK", 0);
        assert_eq!(sim.count("POST", "/ckms/login"), round);
        assert_eq!(sim.count("DELETE", "/ckms/logout"), round);
        assert_eq!(sim.count("GET", "/ckms/backups/isrunning"), round);
    }
    let status = sim
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("isrunning"))
        .unwrap();
    assert!(
        status
            .authorization
            .unwrap()
            .starts_with("SKLMAuth userAuthId=simsess-")
    );
}

#[test]
fn logs_out_even_when_the_status_call_fails() {
    let sim = Simulator::start();
    sim.set_status_behavior(Behavior::json(
        500,
        r#"{"code":"CTGKM0001E","message":"CTGKM0001E Unexpected"}"#,
    ));
    let ws = Workspace::new();
    run_with(&sim, &ws, &["--no-session-cache"]).expect("UNKNOWN", 3);
    assert_eq!(sim.count("DELETE", "/ckms/logout"), 1);
}

#[test]
fn password_from_environment() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let r = run(target_command(&sim, &ws)
        .args(["-u", USER])
        .env("GKLM_PASSWORD", PASSWORD));
    r.expect("OK", 0);
}

#[test]
fn session_id_from_file_or_environment_without_login() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let id = sim.issue_session();
    let file = ws.secret_file("auth-id", &format!("{id}\n"));
    let r = run(target_command(&sim, &ws).arg("--auth-id-file").arg(&file));
    r.expect("OK", 0).expect_text("CTGKM3290I");
    let r = run(target_command(&sim, &ws).env("GKLM_AUTH_ID", &id));
    r.expect("OK", 0);
    assert_eq!(r.perf_number("running_checks"), Some(2.0));
    assert_eq!(sim.count("POST", "/login"), 0);
    assert_eq!(sim.count("DELETE", "/logout"), 0);
}

#[test]
fn language_is_sent_and_code_may_be_a_number() {
    let sim = Simulator::start();
    sim.configure(|c| c.code_as_number = true);
    let ws = Workspace::new();
    let r = run_with(&sim, &ws, &["-l", "de"]);
    r.expect("OK", 0)
        .expect_text("CTGKM3291I Der Sicherungsprozess wird nicht ausgeführt.");
    assert!(
        sim.requests()
            .iter()
            .all(|q| q.accept_language.as_deref() == Some("de"))
    );
}

#[test]
fn insecure_skips_verification_and_says_so() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let r = run(untrusted_command(&sim, &ws)
        .args(["--insecure", "-v", "-u", USER, "--password-file"])
        .arg(ws.password_file()));
    r.expect("OK", 0);
    assert!(
        r.stdout.contains("NOT verifying the server certificate"),
        "{}",
        r.stdout
    );
}

#[test]
fn explicit_prefix_is_used_as_given() {
    let sim = Simulator::with(Config::serving(&["/GKLM"]));
    let ws = Workspace::new();
    run_with(&sim, &ws, &["--prefix", "/GKLM"]).expect("OK", 0);
    assert!(sim.requests().iter().all(|r| r.path.starts_with("/GKLM/")));
    let r = run_with(&sim, &ws, &["--prefix", "/SKLM"]);
    r.expect("UNKNOWN", 3)
        .expect_text("HTTP 404")
        .expect_text("--prefix");
}

#[test]
fn time_thresholds_use_the_first_running_sighting() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    run_with(
        &sim,
        &ws,
        &["--warning-time", "30m", "--critical-time", "2h"],
    )
    .expect("OK", 0);
    // Pretend the first sighting was 45 minutes ago.
    let path = ws.state_files().remove(0);
    let mut state = ws.state_json();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    state["streaks"]["running"]["since"] = (now - 2700).into();
    std::fs::write(&path, state.to_string()).unwrap();
    let r = run_with(
        &sim,
        &ws,
        &["--warning-time", "30m", "--critical-time", "2h"],
    );
    r.expect("WARNING", 1)
        .expect_text("running for 2 checks, 45m")
        .expect_text("--warning-time 30m 0s crossed");
    let seconds = r.perf_number("running_seconds").unwrap();
    assert!((2700.0..2760.0).contains(&seconds), "{seconds}");
    assert!(
        r.perf("running_seconds")
            .unwrap()
            .ends_with("s;1800;7200;0;"),
        "{}",
        r.perfdata()
    );
}

#[test]
fn state_directory_from_the_environment_and_per_target_files() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    run(login_command(&sim, &ws).args(["--prefix", "/SKLM"])).expect("OK", 0);
    assert_eq!(
        ws.state_files().len(),
        2,
        "one file per target (prefix differs)"
    );
    let legacy = ws.path().join("legacy");
    let r = run(login_command(&sim, &ws)
        .env_remove("MP_STATE_PATH")
        .env("NAGIOS_PLUGIN_STATE_DIRECTORY", &legacy));
    r.expect("OK", 0);
    assert_eq!(
        std::fs::read_dir(&legacy)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json"))
            .count(),
        1
    );
    let explicit = ws.path().join("mine.json");
    run(login_command(&sim, &ws).arg("--state-file").arg(&explicit)).expect("OK", 0);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&explicit).unwrap()).unwrap();
    assert_eq!(saved["version"], 3);
    assert_eq!(
        saved["streaks"],
        serde_json::json!({}),
        "nothing running, no streak"
    );
}

#[test]
fn an_unknown_run_leaves_history_alone() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    run_with(&sim, &ws, &[]).expect("OK", 0);
    run_with(&sim, &ws, &[]).expect("OK", 0);
    sim.set_status_behavior(Behavior::json(200, "not json"));
    run_with(&sim, &ws, &[]).expect("UNKNOWN", 3);
    assert_eq!(checks_in(&ws.state_json(), "running"), Some(2));
    sim.set_status_behavior(Behavior::Normal);
    let r = run_with(&sim, &ws, &[]);
    assert_eq!(r.perf_number("running_checks"), Some(3.0));
}

#[test]
fn unreachable_server_leaves_history_alone() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let port = sim.port().to_string();
    run_with(&sim, &ws, &["--prefix", "/SKLM"]).expect("OK", 0);
    let ca = ws.path().join("ca.pem");
    std::fs::copy(sim.ca_pem(), &ca).unwrap();
    drop(sim);
    let r = run(command(&ws)
        .args([
            "-H",
            "localhost",
            "-p",
            &port,
            "--prefix",
            "/SKLM",
            "-u",
            USER,
            "--password-file",
        ])
        .arg(ws.password_file())
        .arg("--cacert")
        .arg(ca));
    r.expect("CRITICAL", 2).expect_text("connection refused");
    assert_eq!(checks_in(&ws.state_json(), "running"), Some(1));
}

#[test]
fn server_text_is_filtered() {
    let sim = Simulator::start();
    sim.set_status_behavior(Behavior::json(
        200,
        r#"{"code":"1","status":"CTGKM3291I not running | evil=1\nCRITICAL - forged"}"#,
    ));
    let ws = Workspace::new();
    let r = run_with(&sim, &ws, &[]);
    r.expect("OK", 0);
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(
        r.first_line()
            .starts_with("OK - CTGKM3291I not running / evil=1 CRITICAL - forged | running=0"),
        "{}",
        r.stdout
    );
    assert_eq!(r.perfdata().split(' ').count(), 4);
}

#[test]
fn usage_errors_are_unknown_with_a_pointer_to_help_in_either_format() {
    let ws = Workspace::new();
    let r = run(command(&ws).args(["-H", "gklm", "--warning", "x:y"]));
    r.expect("UNKNOWN", 3)
        .expect_text("invalid range 'x:y'")
        .expect_text("see --help");
    assert_eq!(r.stdout.lines().count(), 1);
    let r = run(command(&ws).args(["--format", "json", "-H", "gklm", "--bogus"]));
    assert_eq!(r.code, 3);
    let v = r.json();
    assert_eq!(v["state"], "UNKNOWN");
    assert!(v["error"].as_str().unwrap().contains("'--bogus'"), "{v}");
}

#[test]
fn help_and_version_exit_3() {
    let ws = Workspace::new();
    let r = run(command(&ws).arg("--help"));
    assert_eq!(r.code, 3);
    for needle in [
        "--hostname",
        "--password-file",
        "--auth-id-file",
        "--cacert",
        "--insecure",
        "--warning-time",
        "--state-file",
        "--unreachable-state",
        "--format",
        "define command",
        "CheckCommand",
        "cron",
    ] {
        assert!(r.stdout.contains(needle), "help lacks {needle}");
    }
    let r = run(command(&ws).arg("-V"));
    assert_eq!(r.code, 3);
    assert!(r.stdout.starts_with("check_gklm_backup 0."), "{}", r.stdout);
}

#[test]
fn verbose_levels_add_exchanges_state_and_bodies() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let r = run_with(&sim, &ws, &["-v", "--no-session-cache"]);
    let port = sim.port();
    assert!(
        r.stdout.contains(&format!(
            "POST https://localhost:{port}/SKLM/rest/v1/ckms/login -> HTTP 200 in "
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!(
        "GET https://localhost:{port}/SKLM/rest/v1/ckms/backups/isrunning -> HTTP 200 in "
    )));
    assert!(r.stdout.contains("DELETE "));
    assert!(!r.stdout.contains("state file:"));
    let r = run_with(&sim, &ws, &["-vv"]);
    assert!(
        r.stdout.contains("state file: ") && r.stdout.contains("state file contents: {"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("response body"));
    let r = run_with(&sim, &ws, &["-vvv"]);
    assert!(
        r.stdout.contains("response body: {\"code\":\"1\""),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains(PASSWORD) && !r.stdout.contains("simsess-"),
        "secret leaked: {}",
        r.stdout
    );
    assert!(r.first_line().starts_with("OK - "));
}

#[test]
fn json_format_for_zabbix_and_scripts() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let r = run_with(&sim, &ws, &["--format", "json", "-w", "0"]);
    assert_eq!(r.code, 1);
    let v = r.json();
    assert_eq!(v["state"], "WARNING");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["message_id"], "CTGKM3290I");
    assert_eq!(v["running"], true);
    assert_eq!(v["running_checks"], 1);
    assert_eq!(v["running_seconds"], 0);
    assert!(v["time"].as_f64().unwrap() > 0.0);
    assert!(v["error"].is_null());
    let r = run(command(&ws)
        .args(["-H", "localhost", "-p", "1", "--format", "json"])
        .env("GKLM_AUTH_ID", "abcdef"));
    let v = r.json();
    assert_eq!((v["state"].as_str(), r.code), (Some("CRITICAL"), 2));
    assert!(v["running"].is_null());
    assert!(v["error"].as_str().unwrap().contains("connection refused"));
}

#[test]
fn the_whole_run_is_bounded_by_the_timeout() {
    let sim = Simulator::start();
    sim.set_status_behavior(Behavior::Delay(Duration::from_secs(30)));
    let ws = Workspace::new();
    let r = run_with(&sim, &ws, &["-t", "2"]);
    r.expect("CRITICAL", 2)
        .expect_text("backup status request timed out");
    assert!(r.elapsed >= Duration::from_millis(1900), "{:?}", r.elapsed);
    r.within_timeout_of_2s();
}

// ------------------------------------------------------------ command line

#[test]
fn anything_but_a_host_name_or_address_in_h_is_a_usage_error_and_nothing_is_sent() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let port = sim.port().to_string();
    for (host, hint) in [
        ("localhost:9443", "give the port with -p"),
        ("[::1]:9443", "give the port with -p"),
        ("https://localhost", "without https://"),
        (" localhost", "no spaces"),
        ("a b", "no spaces"),
        ("localhost/x", "without a path"),
        ("localhost?x", "without a path"),
        ("localhost#x", "without a path"),
        ("user@localhost", "the user goes in -u"),
        ("1.2.3", "not a valid IPv4 address"),
        ("xn--zz.example", "not a valid host name for a URL"),
        ("gkl\u{e9}m.example", "xn--"),
    ] {
        let mut cmd = command(&ws);
        cmd.args(["-H", host, "-p", &port, "--cacert"])
            .arg(sim.ca_pem());
        cmd.args(["-u", USER, "--password-file"])
            .arg(ws.password_file());
        let r = run(&mut cmd);
        r.expect("UNKNOWN", 3).expect_text(hint);
        assert!(!r.stdout.contains("internal error"), "{}", r.stdout);
        let r = run(cmd.args(["--format", "json"]));
        assert_eq!(r.json()["exit_code"], 3, "{host}: {}", r.stdout);
        assert!(
            r.json()["message"].as_str().unwrap().contains(hint),
            "{}",
            r.stdout
        );
    }
    assert!(sim.requests().is_empty(), "sent: {:?}", sim.requests());
}

#[test]
fn getopt_forms_behave_as_their_spaced_forms() {
    let sim = Simulator::start();
    sim.set_running(true);
    let port = sim.port().to_string();
    let ca = sim.ca_pem();
    let ca = ca.to_str().unwrap();
    let perf_of = |args: &[&str]| {
        let ws = Workspace::new();
        let r = run(command(&ws)
            .args(args)
            .args(["-u", USER, "--password-file"])
            .arg(ws.password_file()));
        r.expect("OK", 0);
        let perf = r.perfdata().rsplit_once(" time=").unwrap().0.to_string();
        (perf, r.stdout.lines().count())
    };
    let spaced = perf_of(&[
        "-H",
        "localhost",
        "-p",
        &port,
        "--cacert",
        ca,
        "-w",
        "1:",
        "-c",
        "5",
        "-v",
        "-v",
    ]);
    let glued = [
        "-Hlocalhost".to_string(),
        format!("-p{port}"),
        format!("--cacert={ca}"),
        "-w1:".into(),
        "-c5".into(),
        "-vv".into(),
    ];
    let glued: Vec<&str> = glued.iter().map(String::as_str).collect();
    assert_eq!(perf_of(&glued), spaced);
    // Thresholds reach perfdata in plain range syntax, whatever the spelling.
    let (perf, _) = perf_of(&[
        "-H",
        "localhost",
        "-p",
        &port,
        "--cacert",
        ca,
        "-w",
        "+1e0:",
        "-c",
        "05.0",
    ]);
    assert!(perf.contains("running_checks=1;1:;5;0;"), "{perf}");
    // Bundled switches: -k and -v together.
    let ws = Workspace::new();
    let r = run(untrusted_command(&sim, &ws)
        .args(["-kv", "-u", USER, "--password-file"])
        .arg(ws.password_file()));
    r.expect("OK", 0).expect_detail("NOT verifying");
    // A repeated single-valued option is refused by name.
    let r = run(untrusted_command(&sim, &ws).args(["-H", "other"]));
    r.expect("UNKNOWN", 3)
        .expect_text("-H/--hostname given more than once");
}

#[test]
fn a_usage_error_in_json_carries_the_asked_modes_fields() {
    let ws = Workspace::new();
    for (mode, fields) in [
        (
            "running",
            &["running", "running_checks", "running_seconds"][..],
        ),
        ("needed", &["needed", "needed_checks", "needed_seconds"]),
        ("result", &["result"]),
        ("age", &["backup_age", "backups", "newest_backup"]),
    ] {
        let r = run(command(&ws).args(["-H", "x:1", "--format", "json", "--mode", mode]));
        let v = r.json();
        assert_eq!(
            (v["state"].as_str(), v["mode"].as_str()),
            (Some("UNKNOWN"), Some(mode))
        );
        for field in fields {
            assert!(
                v.get(*field).is_some_and(|f| f.is_null()),
                "{field} in {}",
                r.stdout
            );
        }
    }
}

/// Four words of 131,000 letters once took 145 s to read with `-t 1`, and
/// the message then blamed GKLM. A command line of any size is refused at
/// once, as a usage error, in the format asked for.
#[test]
fn a_huge_command_line_is_refused_at_once_naming_the_bound() {
    let ws = Workspace::new();
    let group = format!("-{}", "v".repeat(131_000));
    let started = std::time::Instant::now();
    let r = run(command(&ws)
        .args(["-H", "127.0.0.1", "-t", "1", "--format", "json"])
        .args([&group, &group, &group, &group]));
    let json = r.json();
    assert_eq!(
        (&json["state"], &json["exit_code"]),
        (&"UNKNOWN".into(), &3.into())
    );
    let message = json["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("is 131001 bytes long; the check takes at most 8192"),
        "{message}"
    );
    assert!(!message.contains("GKLM"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(1) + SLACK,
        "{:?}",
        started.elapsed()
    );
    let many = vec!["-v"; 300];
    let r = run(command(&ws).args(["-H", "127.0.0.1"]).args(&many));
    r.expect("UNKNOWN", 3)
        .expect_text("302 arguments; the check takes at most 256");
}
