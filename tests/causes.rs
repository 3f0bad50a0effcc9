//! Messages that point at the real cause: a request this GKLM lacks is not a
//! wrong prefix, and a session GKLM refuses right after issuing it is a
//! missing permission, not an expired session. In every mode, through the
//! real binary against the simulator.

use crate::util::modes::{Mode, every_mode};
use crate::util::*;

/// WebSphere Liberty's own page for a path no application serves.
fn websphere_404() -> Behavior {
    Behavior::Reply {
        status: 404,
        content_type: "text/html;charset=ISO-8859-1".into(),
        body: b"Error 404: SRVE0190E: File not found: /rest/v1/ckms/backups/need".to_vec(),
    }
}

fn check(sim: &Simulator, ws: &Workspace, mode: &str, args: &[&str], extra: &[&str]) -> Run {
    run(login_command(sim, ws)
        .args(["-t", "5", "--mode", mode])
        .args(args)
        .args(extra))
}

fn says_not_offered(r: &Run, what: &str, mode: &str) {
    r.expect("UNKNOWN", 3)
        .expect_text(&format!(
            "this GKLM does not offer the {what} (GET /SKLM/rest/v1/ckms/"
        ))
        .expect_text(": HTTP 40")
        .expect_text(", though the login there worked)");
    match mode {
        "running" => r.expect_text("is something other than GKLM"),
        "restore" => r.expect_text("may lack the Restore is Running service; --mode running works"),
        _ => r.expect_text(
            "GKLM before 4.2 lacks backups/need, backups/result and the backup list: use --mode running",
        ),
    };
    for wrong in ["--prefix", "no GKLM REST API", "nothing serves this path"] {
        assert!(!r.stdout.contains(wrong), "{wrong}: {}", r.stdout);
    }
}

#[test]
fn a_request_this_gklm_lacks_is_named_as_such_in_every_mode() {
    for &Mode {
        name: mode,
        needs: args,
        what,
        ..
    } in every_mode()
    {
        for behavior in [websphere_404(), Behavior::json(405, "")] {
            for prefix in [&["--prefix", "/SKLM"][..], &[][..]] {
                let sim = Simulator::start();
                sim.set_status_behavior(behavior.clone());
                let ws = Workspace::new();
                // A fresh login, then the cached session on the next run.
                for _ in 0..2 {
                    let r = check(&sim, &ws, mode, args, prefix);
                    says_not_offered(&r, what, mode);
                }
                // The run never went on to probe /GKLM for a request that
                // /SKLM, where the login worked, lacks.
                assert!(
                    sim.requests().iter().all(|q| !q.path.starts_with("/GKLM")),
                    "{:?}",
                    sim.requests()
                );
            }
        }
    }
}

#[test]
fn a_cached_session_at_a_prefix_that_vanished_still_finds_the_new_one() {
    // GKLM moved from /SKLM to /GKLM (an upgrade to 5.x): the remembered
    // prefix now answers 404 to everything, login included.
    let sim = Simulator::start();
    let ws = Workspace::new();
    check(&sim, &ws, "running", &[], &[]).expect("OK", 0);
    sim.configure(|c| c.prefixes = vec!["/GKLM".into()]);
    let r = check(&sim, &ws, "running", &[], &["-v"]);
    r.expect("OK", 0);
    assert!(!r.first_line().contains("does not offer"), "{}", r.stdout);
}

#[test]
fn a_404_on_the_login_still_points_at_the_prefix() {
    for &Mode {
        name: mode,
        needs: args,
        ..
    } in every_mode()
    {
        let sim = Simulator::with(Config::serving(&["/GKLM"]));
        let ws = Workspace::new();
        let r = check(&sim, &ws, mode, args, &["--prefix", "/SKLM"]);
        r.expect("UNKNOWN", 3)
            .expect_text("login got HTTP 404")
            .expect_text("check --prefix");
        let r = run(login_command(&Simulator::with(Config::serving(&[])), &ws)
            .args(["--mode", mode])
            .args(args));
        r.expect("UNKNOWN", 3).expect_text("no GKLM REST API found");
    }
}

fn says_not_permitted(r: &Run, what: &str) {
    r.expect("UNKNOWN", 3)
        .expect_text(&format!(
            "GKLM rejected the session it had just issued when asked the {what} (HTTP 401: CTGKM6004E"
        ))
        .expect_text(&format!(
            "the user {USER} may lack the permission for this request: check its role in GKLM"
        ));
    assert!(!r.stdout.contains("supply a fresh one"), "{}", r.stdout);
}

const NOT_AUTHENTICATED: &str = r#"{"code":"CTGKM6004E","message":"CTGKM6004E User is not authenticated or has already logged out"}"#;

#[test]
fn a_session_refused_right_after_login_points_at_the_users_role_in_every_mode() {
    for &Mode {
        name: mode,
        needs: args,
        what,
        ..
    } in every_mode()
    {
        let sim = Simulator::start();
        let ws = Workspace::new();
        // Without a cached session: log in, asked, refused.
        sim.set_status_behavior(Behavior::json(401, NOT_AUTHENTICATED));
        says_not_permitted(&check(&sim, &ws, mode, args, &[]), what);
        // With a cached session that worked before: refused, a fresh login,
        // refused again.
        sim.set_status_behavior(Behavior::Normal);
        let ok = check(&sim, &ws, mode, args, &[]);
        assert_ne!(ok.code, 3, "{}", ok.stdout);
        sim.set_status_behavior(Behavior::json(401, NOT_AUTHENTICATED));
        says_not_permitted(&check(&sim, &ws, mode, args, &[]), what);
        assert!(sim.count("POST", "/login") >= 3);
    }
}

#[test]
fn a_session_id_from_elsewhere_that_is_refused_is_still_called_expired() {
    for &Mode {
        name: mode,
        needs: args,
        ..
    } in every_mode()
    {
        let sim = Simulator::start();
        let ws = Workspace::new();
        let r = run(target_command(&sim, &ws)
            .args(["--mode", mode])
            .args(args)
            .env("GKLM_AUTH_ID", "expired-session-id"));
        r.expect("UNKNOWN", 3)
            .expect_text("rejected the session id (HTTP 401: CTGKM6004E")
            .expect_text("supply a fresh one or use -u");
    }
}

#[test]
fn a_404_with_a_session_id_from_elsewhere_names_both_possible_causes() {
    for &Mode {
        name: mode,
        needs: args,
        ..
    } in every_mode()
    {
        let sim = Simulator::start();
        sim.set_status_behavior(websphere_404());
        let ws = Workspace::new();
        let r = run(target_command(&sim, &ws)
            .args(["--prefix", "/SKLM", "--mode", mode])
            .args(args)
            .env("GKLM_AUTH_ID", sim.issue_session()));
        r.expect("UNKNOWN", 3)
            .expect_text("check --prefix")
            .expect_text("or this GKLM lacks this request");
    }
}
