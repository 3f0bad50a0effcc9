//! Local files the check reads (the password file, the session-id file,
//! `--cacert`) are read only up to 64 KiB: `/dev/zero` or a file given by
//! mistake is UNKNOWN at once, with a message that names the file, and
//! nothing is sent.

use std::path::PathBuf;
use std::time::Duration;

use crate::util::*;

const LIMIT: usize = 64 * 1024;

/// The files a check can be handed instead of a small one.
fn too_large(ws: &Workspace) -> Vec<PathBuf> {
    vec![
        PathBuf::from("/dev/zero"),
        ws.secret_file("big", &"x".repeat(LIMIT + 1)),
    ]
}

fn refused_at_once(r: &Run, flag: &str, path: &std::path::Path, sim: &Simulator) {
    r.expect("UNKNOWN", 3).expect_text(&format!(
        "{flag} {} is larger than 64 KiB; is it the right file?",
        path.display()
    ));
    assert!(r.elapsed < Duration::from_secs(2), "took {:?}", r.elapsed);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn a_password_file_over_64_kib_is_refused_at_once() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for path in too_large(&ws) {
        let r = run(login_with(&sim, &ws, &path).args(["-t", "5"]));
        refused_at_once(&r, "--password-file", &path, &sim);
    }
}

#[test]
fn a_session_id_file_over_64_kib_is_refused_at_once() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for path in too_large(&ws) {
        let r = run(target_command(&sim, &ws)
            .arg("--auth-id-file")
            .arg(&path)
            .args(["-t", "5"]));
        refused_at_once(&r, "--auth-id-file", &path, &sim);
    }
}

#[test]
fn a_cacert_file_over_64_kib_is_refused_at_once() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    for path in too_large(&ws) {
        let r = run(untrusted_command(&sim, &ws)
            .arg("--cacert")
            .arg(&path)
            .args(["-u", USER, "--password-file"])
            .arg(ws.password_file())
            .args(["-t", "5"]));
        refused_at_once(&r, "--cacert file", &path, &sim);
    }
}

#[test]
fn a_file_of_exactly_64_kib_is_still_read() {
    let sim = Simulator::start();
    let ws = Workspace::new();
    let password = ws.secret_file("exact", &format!("{}\n", "x".repeat(LIMIT - 1)));
    let r = run(&mut login_with(&sim, &ws, &password));
    r.expect("UNKNOWN", 3)
        .expect_text("GKLM rejected the login (HTTP 401: CTGKM6003E");
    // A CA file padded to exactly the limit still holds its certificate.
    let mut pem = std::fs::read_to_string(sim.ca_pem()).unwrap();
    pem.push_str(&"#".repeat(LIMIT - pem.len() - 1));
    pem.push('\n');
    let ca = ws.secret_file("ca.pem", &pem);
    let r = run(untrusted_command(&sim, &ws)
        .arg("--cacert")
        .arg(&ca)
        .args(["-u", USER, "--password-file"])
        .arg(ws.password_file()));
    r.expect("OK", 0);
}
