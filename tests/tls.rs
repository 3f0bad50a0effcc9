//! Which server certificates the check accepts: an IP address is verified
//! against the certificate's IP addresses, IPv6 as well as IPv4.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::*;

/// `-H HOST -p PORT --cacert CA -u monitor`, bounded by `-t 5`.
fn check_at(sim: &Simulator, ws: &Workspace, host: &str) -> Run {
    run(command(ws)
        .args(["-H", host, "-p", &sim.port().to_string(), "-t", "5"])
        .arg("--cacert")
        .arg(sim.ca_pem())
        .args(["-u", USER, "--password-file"])
        .arg(ws.password_file()))
}

#[test]
fn an_ipv6_address_is_verified_against_the_certificate_ip_with_or_without_brackets() {
    let sim = Simulator::start_v6(Config::default(), Cert::IpAddresses);
    for host in ["::1", "[::1]"] {
        let ws = Workspace::new();
        check_at(&sim, &ws, host)
            .expect("OK", 0)
            .expect_text("CTGKM3291I");
    }
    assert_eq!(sim.count("GET", "/backups/isrunning"), 2);
}

#[test]
fn an_ipv6_address_the_certificate_does_not_name_is_refused() {
    // Names localhost and 127.0.0.1, not ::1.
    let sim = Simulator::start_v6(Config::default(), Cert::Good);
    let ws = Workspace::new();
    check_at(&sim, &ws, "::1")
        .expect("CRITICAL", 2)
        .expect_text("TLS failed")
        .expect_text("mismatch");
    assert_eq!(
        sim.count("POST", "/login"),
        0,
        "no request after a failed handshake"
    );
}

#[test]
fn an_ipv4_address_is_verified_against_the_certificate_ip() {
    let sim = Simulator::start_with(Config::default(), Cert::IpAddresses);
    let ws = Workspace::new();
    check_at(&sim, &ws, "127.0.0.1").expect("OK", 0);
}

/// The binary with `args`, run in a private mount namespace in which the
/// system's certificate directory `/etc/ssl/certs` holds only the CAs in
/// `store` (a hashed directory). None, with a SKIPPED note, where mount
/// namespaces are not available (not root, or a container that forbids
/// them); under CI that fails instead.
fn with_system_store(store: &Path, ws: &Workspace, args: &[&OsStr]) -> Option<Command> {
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount --bind /tmp /etc/ssl/certs"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        let why =
            "cannot mount over /etc/ssl/certs in a private namespace (needs root and unshare -m)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED system store test: {why}");
        return None;
    }
    let mut cmd = Command::new("unshare");
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .env("MP_STATE_PATH", ws.state_dir())
        .stdin(Stdio::null())
        .args([
            "-m",
            "sh",
            "-c",
            r#"mount --bind "$0" /etc/ssl/certs && exec "$@""#,
        ])
        .arg(store)
        .arg(BIN)
        .args(args);
    Some(cmd)
}

/// `-H localhost` at the simulator, logging in, with `extra` options.
fn login_args(sim: &Simulator, ws: &Workspace, extra: &[&OsStr]) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-H", "localhost", "-p", &sim.port().to_string(), "-t", "5"]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(["-u", USER, "--password-file"].map(OsString::from));
    args.push(ws.password_file().into_os_string());
    args.extend(extra.iter().map(|a| a.to_os_string()));
    args
}

fn run_in_store(store: &Path, sim: &Simulator, extra: &[&OsStr]) -> Option<Run> {
    let ws = Workspace::new();
    let args = login_args(sim, &ws, extra);
    let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
    Some(run(&mut with_system_store(store, &ws, &args)?))
}

#[test]
fn cacert_trusts_its_ca_and_not_the_system_store() {
    // The server's CA is in the system store; `other` is a CA that did not
    // sign it.
    let sim = Simulator::start();
    let other = Simulator::start();
    let cacert = OsStr::new("--cacert");
    let Some(system_only) = run_in_store(&sim.ca_dir(), &sim, &[]) else {
        return;
    };
    // The store is real: without --cacert the system store is what trusts.
    system_only.expect("OK", 0);
    // The system store trusts the server, --cacert names another CA:
    // refused, as curl --cacert would.
    run_in_store(&sim.ca_dir(), &sim, &[cacert, other.ca_pem().as_os_str()])
        .unwrap()
        .expect("CRITICAL", 2)
        .expect_text("TLS failed")
        .expect_text("unable to get local issuer certificate");
    // --cacert names the server's CA, the system store does not hold it.
    run_in_store(&other.ca_dir(), &sim, &[cacert, sim.ca_pem().as_os_str()])
        .unwrap()
        .expect("OK", 0);
}
