//! No password or session id reaches stdout or stderr, in any mode, at -vvv.

use std::os::unix::fs::PermissionsExt;

use crate::util::*;

fn assert_clean(r: &Run, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !r.stdout.contains(secret.as_str()) && !r.stderr.contains(secret.as_str()),
            "secret {secret:?} leaked:\n{}\n{}",
            r.stdout,
            r.stderr
        );
    }
}

/// Every session id the simulator handed out or was shown.
fn session_ids(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter_map(|r| r.authorization)
        .filter_map(|a| a.strip_prefix("SKLMAuth userAuthId=").map(str::to_string))
        .collect()
}

#[test]
fn no_mode_prints_a_secret_at_vvv() {
    let sim = Simulator::start();
    sim.set_running(true);
    let ws = Workspace::new();
    let base = |ws: &Workspace| {
        let mut c = target_command(&sim, ws);
        c.arg("-vvv");
        c
    };
    let mut runs = Vec::new();
    // -u with the session cache: first run logs in, second reuses.
    runs.push(run(base(&ws)
        .args(["-u", USER, "--password-file"])
        .arg(ws.password_file())));
    runs.push(run(base(&ws)
        .args(["-u", USER, "--password-file"])
        .arg(ws.password_file())));
    // A forgotten session: rejected id, then a new login.
    sim.forget_sessions();
    runs.push(run(base(&ws)
        .args(["-u", USER, "--password-file"])
        .arg(ws.password_file())));
    // No cache: login, call, logout; password from the environment.
    runs.push(run(base(&ws)
        .args(["-u", USER, "--no-session-cache"])
        .env("GKLM_PASSWORD", PASSWORD)));
    // JSON output.
    runs.push(run(base(&ws)
        .args(["-u", USER, "--format", "json", "--password-file"])
        .arg(ws.password_file())));
    // Session id from a file and from the environment, and a rejected one.
    let id = sim.issue_session();
    let id_file = ws.secret_file("id", &id);
    runs.push(run(base(&ws).arg("--auth-id-file").arg(&id_file)));
    runs.push(run(base(&ws).env("GKLM_AUTH_ID", &id)));
    runs.push(run(base(&ws).env("GKLM_AUTH_ID", "stale-session-id-0001")));
    // A server that echoes the password back in its error.
    sim.configure(|c| {
        c.login_behavior = Behavior::json(
            401,
            &format!(r#"{{"code":"CTGKM6003E","message":"CTGKM6003E bad password {PASSWORD}"}}"#),
        )
    });
    runs.push(run(base(&ws)
        .args(["-u", USER, "--no-session-cache", "--password-file"])
        .arg(ws.password_file())));
    let mut secrets = session_ids(&sim);
    secrets.push(PASSWORD.to_string());
    secrets.push("stale-session-id-0001".into());
    assert!(secrets.len() > 5, "the runs did use sessions: {secrets:?}");
    for r in &runs {
        assert!(
            r.stdout.contains("state file: "),
            "-vvv printed detail lines: {}",
            r.stdout
        );
        assert_clean(r, &secrets);
    }
    assert!(runs.last().unwrap().stdout.contains("bad password ****"));
}

#[test]
fn a_password_file_readable_by_others_is_warned_about_at_v() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let file = ws.password_file();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = run_with(&sim, &ws, &["-v"]);
    r.expect("OK", 0);
    assert!(
        r.stdout
            .contains("is readable by group or others (mode 644); chmod 600 it"),
        "{}",
        r.stdout
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = run_with(&sim, &ws, &["-v"]);
    assert!(!r.stdout.contains("readable by group"));
}

#[test]
fn a_trailing_newline_in_the_password_file_is_ignored() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for content in [
        format!("{PASSWORD}\n"),
        format!("{PASSWORD}\r\n"),
        PASSWORD.to_string(),
    ] {
        let file = ws.secret_file("pw", &content);
        let r = run(login_with(&sim, &ws, &file).arg("--no-session-cache"));
        r.expect("OK", 0);
    }
}

#[test]
fn a_panic_is_still_an_unknown_plugin_line() {
    let ws = Workspace::new();
    let r = run(command(&ws)
        .args(["-H", "localhost"])
        .env("CHECK_GKLM_BACKUP_SELF_TEST_PANIC", "1")
        .env("RUST_BACKTRACE", "1"));
    r.expect("UNKNOWN", 3)
        .expect_text("UNKNOWN - internal error: ");
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(
        !r.stderr.contains("backtrace") && !r.stderr.contains("panicked"),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------- echoes

/// Everything a run printed, as a user would read it: the raw lines and,
/// in JSON mode, the decoded text fields too (JSON escapes a `"` or `\`).
fn visible(r: &Run) -> String {
    let mut all = format!("{}\n{}", r.stdout, r.stderr);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(r.first_line()) {
        for field in ["message", "error"] {
            all.push('\n');
            all.push_str(v[field].as_str().unwrap_or(""));
        }
        for d in v["details"].as_array().into_iter().flatten() {
            all.push('\n');
            all.push_str(d.as_str().unwrap_or(""));
        }
    }
    all
}

/// Every piece of `password` long enough to be recognisable: all three
/// character pieces, and the two character ones made of letters or digits
/// (a leaked cut shows the first characters of the password).
fn pieces(password: &str) -> Vec<String> {
    let chars: Vec<char> = password.chars().collect();
    let threes = chars.windows(3).map(|w| w.iter().collect::<String>());
    let twos = chars
        .windows(2)
        .filter(|w| w.iter().all(char::is_ascii_alphanumeric))
        .map(|w| w.iter().collect::<String>());
    threes.chain(twos).collect()
}

/// The modes a user can read output in.
const MODES: [&[&str]; 3] = [&[], &["-vvv"], &["--format", "json"]];

/// Run with `-u monitor`, the password from GKLM_PASSWORD (so it may hold
/// any character), against a login that answers `reply`.
fn login_echoing(sim: &Simulator, password: &str, reply: Behavior, mode: &[&str]) -> Run {
    sim.configure(|c| c.login_behavior = reply);
    let ws = Workspace::new();
    let mut r = run(target_command(sim, &ws)
        .args([
            "-u",
            USER,
            "--no-session-cache",
            "-t",
            "5",
            "--prefix",
            "/SKLM",
        ])
        .args(mode)
        .env("GKLM_PASSWORD", password));
    // The workspace's random name (shown at -vv) could hold two letters of
    // the password by chance: it is ours, not an echo.
    let ws_path = ws.path().display().to_string();
    r.stdout = r.stdout.replace(&ws_path, "<workspace>");
    r
}

/// GKLM's 401 as JSON, and a proxy's HTML page, both echoing `text`.
fn echoes(text: &str) -> [Behavior; 2] {
    let json = serde_json::json!({"code": "CTGKM6003E", "message": format!("CTGKM6003E {text}")});
    [
        Behavior::json(401, &json.to_string()),
        Behavior::Reply {
            status: 401,
            content_type: "text/html".into(),
            body: format!("<html><body>CTGKM6003E {text}</body></html>").into_bytes(),
        },
    ]
}

#[test]
fn an_echoed_password_never_shows_wherever_the_text_is_cut() {
    let sim = Simulator::start();
    for password in [r#"Wq8"Zx\Kv 3Jy"#, "Rk4 \n\tTz9Pm"] {
        let len = password.chars().count();
        // The password back to back, long past every cut (120 and 200
        // characters of server text, the first line, 1000 per detail
        // line), shifted by every offset within one copy: some copy then
        // straddles each cut at each of its positions.
        for shift in 0..len {
            let text = format!("{}{}", ".".repeat(shift), password.repeat(1200 / len));
            for reply in echoes(&text) {
                for mode in MODES {
                    let r = login_echoing(&sim, password, reply.clone(), mode);
                    assert_eq!(r.code, 3, "{}", r.stdout);
                    let seen = visible(&r);
                    assert!(seen.contains("CTGKM6003E"), "server text shown: {seen}");
                    for piece in pieces(password) {
                        assert!(
                            !seen.contains(&piece),
                            "{piece:?} of the password shows (shift {shift}, {mode:?}):\n{seen}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_password_too_short_to_mask_withholds_the_server_text_that_echoes_it() {
    let sim = Simulator::start();
    for password in ["Q", "Zq", r#""\"#, "Zq9"] {
        let text = format!("ECHO-MARK invalid password '{password}' for user {USER}");
        for reply in echoes(&text) {
            for mode in MODES {
                let r = login_echoing(&sim, password, reply.clone(), mode);
                assert_eq!(r.code, 3, "{}", r.stdout);
                let seen = visible(&r);
                assert!(
                    !seen.contains("ECHO-MARK") && !seen.contains("invalid password"),
                    "server text holding {password:?} shows ({mode:?}):\n{seen}"
                );
                assert!(seen.contains("server text withheld"), "{seen}");
            }
        }
    }
}

// ------------------------------------------------------- altered session ids

const SESSION_ID: &str = "0f8b3c2e-1234-4abc-9def-00112233aabb";

/// The session id as servers and proxies log it: upper-cased, without
/// hyphens, shortened to 8 or 12 characters, or both.
fn altered_session_ids() -> Vec<String> {
    let bare = SESSION_ID.replace('-', "");
    vec![
        SESSION_ID.to_uppercase(),
        bare.clone(),
        bare.to_uppercase(),
        SESSION_ID[..8].to_string(),
        SESSION_ID[..8].to_uppercase(),
        bare[..12].to_uppercase(),
        SESSION_ID[..13].to_string(),
    ]
}

/// No trace of the id: the first 8 characters in any case, hyphens ignored.
fn assert_no_session_id(seen: &str, how: &str) {
    let folded = seen.to_lowercase().replace('-', "");
    assert!(
        !folded.contains(&SESSION_ID.replace('-', "")[..8]),
        "the session id shows ({how}):\n{seen}"
    );
}

/// GKLM answers the question with 500 and this text, or with 200 and a
/// status text that quotes it.
fn echoing_answers(echo: &str) -> [Behavior; 2] {
    let error = serde_json::json!({"code": "CTGKM0001E", "message": format!("CTGKM0001E session {echo} failed")});
    let status = serde_json::json!({"code": "1", "status": format!("CTGKM3291I Backup process is not running. Session {echo}.")});
    [
        Behavior::json(500, &error.to_string()),
        Behavior::json(200, &status.to_string()),
    ]
}

#[test]
fn a_session_id_echoed_altered_never_shows_whatever_gave_the_id() {
    let sim = Simulator::start();
    // The login hands out the known id (the questions answer without
    // checking it, as each `echoing_answers` reply does).
    sim.configure(|c| {
        c.login_behavior = Behavior::json(200, &format!(r#"{{"UserAuthId":"{SESSION_ID}"}}"#))
    });
    for echo in altered_session_ids() {
        for answer in echoing_answers(&echo) {
            sim.set_status_behavior(answer);
            for mode in MODES {
                let ws = Workspace::new();
                let id_file = ws.secret_file("id", &format!("{SESSION_ID}\n"));
                let logged_in = |ws: &Workspace| {
                    let mut cmd = login_command(&sim, ws);
                    cmd.args(["-t", "5", "--prefix", "/SKLM"]).args(mode);
                    cmd
                };
                let runs = [
                    ("fresh login", run(&mut logged_in(&ws))),
                    // The id cached by that run, read from the state file.
                    ("cached session", run(&mut logged_in(&ws))),
                    (
                        "--auth-id-file",
                        run(target_command(&sim, &ws)
                            .args(["-t", "5", "--prefix", "/SKLM", "--auth-id-file"])
                            .arg(&id_file)
                            .args(mode)),
                    ),
                    (
                        "GKLM_AUTH_ID",
                        run(target_command(&sim, &ws)
                            .args(["-t", "5", "--prefix", "/SKLM"])
                            .args(mode)
                            .env("GKLM_AUTH_ID", SESSION_ID)),
                    ),
                ];
                for (source, r) in runs {
                    let seen = visible(&r);
                    assert!(seen.contains("CTGKM"), "server text shown: {seen}");
                    assert_no_session_id(&seen, &format!("{source}, {echo}, {mode:?}"));
                }
            }
        }
    }
}

/// The real binary, on a 1 MiB stack (`ulimit -s 1024`), with `args`.
fn on_a_small_stack(sim: &Simulator, ws: &Workspace, session: &str, args: &[&str]) -> Run {
    let port = sim.port().to_string();
    let ca = sim.ca_pem();
    let mut cmd = std::process::Command::new("sh");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MP_STATE_PATH", ws.state_dir())
        .env("GKLM_AUTH_ID", session)
        .current_dir(ws.path())
        .stdin(std::process::Stdio::null())
        .args(["-c", r#"ulimit -s 1024 && exec "$0" "$@""#, BIN])
        .args(["-H", "localhost", "-p", &port, "--cacert"])
        .arg(ca)
        .args(args);
    run(&mut cmd)
}

#[test]
fn an_answer_made_to_defeat_the_secret_matcher_still_gets_its_plugin_line() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let session = sim.issue_session();
    let first = &session[..1];
    let (head, tail) = session.split_at(4);
    for text in [
        // Hyphens after the id's first character, up to GKLM's 64 KiB bound.
        format!("CTGKM0001E {first}{}", "-".repeat(60_000)),
        // The id's prefix, over and over.
        format!("CTGKM0001E {}", head.repeat(15_000)),
        // The id with 30,000 hyphens inside: still the id.
        format!("CTGKM0001E {head}{}{tail}", "-".repeat(30_000)),
    ] {
        let body = format!(r#"{{"code":"CTGKM0001E","message":"{text}"}}"#);
        sim.set_status_behavior(Behavior::json(500, &body));
        let r = on_a_small_stack(&sim, &ws, &session, &["-t", "10", "-vvv"]);
        assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.starts_with("UNKNOWN - "), "{}", r.stdout);
        assert!(r.stdout.contains("HTTP 500"), "{}", r.stdout);
        assert!(
            !r.stdout.contains(&session) && !r.stderr.contains(&session),
            "the session id leaked"
        );
    }
}

/// `text` percent-encoded, every byte (`upper` hex digits or lower).
fn percent_all(text: &str, upper: bool) -> String {
    text.bytes()
        .map(|b| match upper {
            true => format!("%{b:02X}"),
            false => format!("%{b:02x}"),
        })
        .collect()
}

#[test]
fn a_password_echoed_url_encoded_or_html_escaped_never_shows() {
    let sim = Simulator::start();
    let password = "Tr0ub4dor&3 horse";
    let encodings = [
        "Tr0ub4dor&amp;3 horse".to_string(),
        "Tr0ub4dor&#38;3&#32;horse".to_string(),
        "Tr0ub4dor&#x26;3 horse".to_string(),
        "Tr0ub4dor%263%20horse".to_string(),
        "Tr0ub4dor%263+horse".to_string(),
        percent_all(password, true),
        percent_all(password, false),
    ];
    for echo in &encodings {
        for reply in echoes(&format!("bad password {echo} for {USER}")) {
            for mode in MODES {
                let r = login_echoing(&sim, password, reply.clone(), mode);
                assert_eq!(r.code, 3, "{}", r.stdout);
                let seen = visible(&r);
                assert!(seen.contains("CTGKM6003E"), "server text shown: {seen}");
                for shown in [echo.as_str(), password, "Tr0ub4dor", "%54%72%30"] {
                    assert!(!seen.contains(shown), "{shown:?} shows ({mode:?}):\n{seen}");
                }
            }
        }
    }
}

#[test]
fn a_session_id_echoed_url_encoded_html_escaped_or_json_escaped_never_shows() {
    let sim = Simulator::start();
    sim.configure(|c| {
        c.login_behavior = Behavior::json(200, &format!(r#"{{"UserAuthId":"{SESSION_ID}"}}"#))
    });
    let json_escaped: String = SESSION_ID
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    for echo in [
        percent_all(SESSION_ID, true),
        percent_all(SESSION_ID, false),
        SESSION_ID.replace('-', "&#45;"),
        SESSION_ID.replace('-', "&#x2d;"),
        json_escaped,
    ] {
        // Raw in the body, so that the JSON escape is the server's own.
        let body =
            format!(r#"{{"code":"CTGKM0001E","message":"CTGKM0001E session {echo} failed"}}"#);
        sim.set_status_behavior(Behavior::json(500, &body));
        for mode in MODES {
            let ws = Workspace::new();
            let r = run(login_command(&sim, &ws)
                .args(["-t", "5", "--prefix", "/SKLM"])
                .args(mode));
            assert_eq!(r.code, 3, "{}", r.stdout);
            let seen = visible(&r);
            assert!(seen.contains("CTGKM0001E session"), "{seen}");
            assert!(
                !seen.contains(&echo[..12]),
                "{echo} shows ({mode:?}):\n{seen}"
            );
            assert_no_session_id(&seen, &echo);
        }
    }
}

// ------------------------------------------------------- a backup list's cells

/// A list's cells are kept raw and scrubbed only when quoted, before the
/// quote is cut: each cell `--mode age` can quote (an unfinished entry's
/// status, an unclassified one's, an unreadable entry's times), holding
/// the password plain or escaped across the cut, is masked wherever it
/// shows.
#[test]
fn a_password_in_a_backup_lists_cells_never_shows_wherever_the_quote_is_cut() {
    let sim = Simulator::start();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for echo in [PASSWORD.to_string(), PASSWORD.replace('-', "&#45;")] {
        // A quote is cut at 77 bytes of JSON: the echo starts before the
        // cut by each length from 5 bytes to all of it.
        for before_cut in 5..=echo.len() {
            let cell = |head: &str| {
                let pad = 77 - 1 - head.len() - before_cut;
                format!("{head}{}{echo} end", ".".repeat(pad))
            };
            let list = serde_json::json!([
                {"timestamp": now - 3 * 86_400, "status": "found"},
                {"timestamp": now - 60, "status": cell("failed ")},
                {"timestamp": now - 30, "status": cell("archiviert ")},
                {"timestamp": cell("at "), "backupFilePath": cell("/b/")},
            ]);
            sim.set_status_behavior(Behavior::json(200, &list.to_string()));
            for format in MODES {
                let ws = Workspace::new();
                let r = run(login_command(&sim, &ws)
                    .args(["-t", "5", "--mode", "age", "--critical-time", "1d", "-vvv"])
                    .args(format));
                let seen = visible(&r);
                for quoted in ["\"failed .", "\"archiviert .", "\"at .", "\"/b/."] {
                    assert!(seen.contains(quoted), "{quoted:?} ({format:?}):\n{seen}");
                }
                for shown in [&echo[..5], &PASSWORD[..5]] {
                    assert!(
                        !seen.contains(shown),
                        "{shown:?} shows ({before_cut} bytes before the cut, {format:?}):\n{seen}"
                    );
                }
            }
        }
    }
}
