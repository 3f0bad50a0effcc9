//! The packages: the .deb builds, installs with dpkg, puts every file where
//! it says and the installed binary runs; the man page matches --help; the
//! RPM spec parses and installs into the RHEL plugin directory.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::util::engine::*;
use crate::util::*;

const DEB_FILES: &[&str] = &[
    "/usr/lib/nagios/plugins/check_gklm_backup",
    "/usr/share/man/man1/check_gklm_backup.1.gz",
    "/usr/share/icinga2/include/plugins-contrib.d/gklm_backup.conf",
    "/usr/lib/tmpfiles.d/check-gklm-backup.conf",
    "/usr/share/doc/check-gklm-backup/README.md",
    "/usr/share/doc/check-gklm-backup/copyright",
    "/usr/share/doc/check-gklm-backup/examples/nagios/check_gklm_backup.cfg",
    "/usr/share/doc/check-gklm-backup/examples/nagios/example-service.cfg",
    "/usr/share/doc/check-gklm-backup/examples/icinga2/gklm_backup.conf",
    "/usr/share/doc/check-gklm-backup/examples/icinga2/example-services.conf",
    "/usr/share/doc/check-gklm-backup/examples/zabbix/userparameter_gklm_backup.conf",
    "/usr/share/doc/check-gklm-backup/examples/zabbix/template_gklm_backup.yaml",
    "/usr/share/doc/check-gklm-backup/examples/cron/check_gklm_backup.cron",
];

fn build_deb(out: &Path) -> std::path::PathBuf {
    let build = Command::new("bash")
        .arg(repo().join("packaging/deb/build.sh"))
        .args(["--binary", BIN, "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "build.sh failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let stdout = String::from_utf8_lossy(&build.stdout);
    std::path::PathBuf::from(stdout.lines().last().unwrap().trim())
}

#[test]
fn the_deb_builds_installs_puts_every_file_in_place_and_runs() {
    if require("dpkg-deb", "the_deb_builds_installs", "dpkg").is_none() {
        return;
    }
    let ws = Workspace::new();
    let deb = build_deb(ws.path());
    assert!(
        deb.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("check-gklm-backup_0."),
        "{}",
        deb.display()
    );
    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for file in DEB_FILES {
        assert!(
            listing.contains(&format!(".{file}")),
            "{file} missing from the package:\n{listing}"
        );
    }
    let fields = Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .args(["Package", "Depends"])
        .output()
        .unwrap();
    let fields = String::from_utf8_lossy(&fields.stdout);
    assert!(
        fields.contains("Package: check-gklm-backup") && fields.contains("libssl3"),
        "{fields}"
    );

    if !running_as_root() {
        say("SKIPPED installing the .deb: dpkg -i needs root (CI runs as root)");
        return;
    }
    let install = Command::new("dpkg").arg("-i").arg(&deb).output().unwrap();
    assert!(
        install.status.success(),
        "dpkg -i failed: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    say(&format!("installed {}", deb.display()));
    for file in DEB_FILES {
        assert!(Path::new(file).is_file(), "{file} not installed");
    }
    let plugin = Path::new("/usr/lib/nagios/plugins/check_gklm_backup");
    assert_eq!(
        std::fs::metadata(plugin).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let version = run(Command::new(plugin).arg("--version"));
    assert_eq!(version.code, 3);
    assert!(
        version.stdout.starts_with("check_gklm_backup 0."),
        "{}",
        version.stdout
    );
    let state_dir =
        std::fs::metadata("/var/lib/check_gklm_backup").expect("state directory created");
    assert!(state_dir.is_dir());
    assert_eq!(state_dir.permissions().mode() & 0o777, 0o700);
    let nagios_uid = Command::new("id")
        .args(["-u", "nagios"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(uid) = nagios_uid {
        let uid: u32 = String::from_utf8_lossy(&uid.stdout).trim().parse().unwrap();
        assert_eq!(
            state_dir.uid(),
            uid,
            "state directory belongs to the monitoring user"
        );
        installed_plugin_runs_as_nagios_against_the_simulator(uid);
    }
    let purge = Command::new("dpkg")
        .args(["--purge", "check-gklm-backup"])
        .output()
        .unwrap();
    assert!(
        purge.status.success(),
        "{}",
        String::from_utf8_lossy(&purge.stderr)
    );
    assert!(!plugin.exists() && !Path::new("/var/lib/check_gklm_backup").exists());
}

/// The installed binary, run as the monitoring user with no state option,
/// keeps its state in the packaged directory.
fn installed_plugin_runs_as_nagios_against_the_simulator(uid: u32) {
    let sim = Simulator::start();
    let ws = Workspace::new();
    std::fs::set_permissions(ws.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let password = ws.password_file();
    std::os::unix::fs::chown(&password, Some(uid), None).unwrap();
    let ca = ws.path().join("ca.pem");
    std::fs::copy(sim.ca_pem(), &ca).unwrap();
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).unwrap();
    let installed = Path::new("/usr/lib/nagios/plugins/check_gklm_backup");
    let r = run(&mut login_as(uid, installed, &sim, &password, &ca));
    r.expect("OK", 0);
    assert!(
        r.stdout
            .contains("state file: /var/lib/check_gklm_backup/gklm_backup_localhost_"),
        "{}",
        r.stdout
    );
}

/// Long options named in a text: `--word` or `--word-word`.
fn long_options(text: &str) -> BTreeSet<String> {
    let text = text.replace("\\-", "-");
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices("--") {
        let start = i + 2;
        let end = bytes[start..]
            .iter()
            .position(|b| !(b.is_ascii_lowercase() || *b == b'-'))
            .map_or(bytes.len(), |p| start + p);
        let name = text[start..end].trim_end_matches('-');
        if name.len() > 1 && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            found.insert(format!("--{name}"));
        }
    }
    found
}

#[test]
fn the_man_page_documents_exactly_the_options_of_help() {
    let ws = Workspace::new();
    let help = run(command(&ws).arg("--help")).stdout;
    let man = std::fs::read_to_string(repo().join("packaging/man/check_gklm_backup.1")).unwrap();
    let (in_help, in_man) = (long_options(&help), long_options(&man));
    assert!(in_help.len() >= 20, "{in_help:?}");
    assert_eq!(in_help, in_man, "help and man page disagree");
    for short in [
        "-H", "-p", "-l", "-u", "-k", "-w", "-c", "-t", "-v", "-h", "-V",
    ] {
        assert!(help.contains(&format!("{short}, --")), "help lacks {short}");
        assert!(
            man.contains(&format!(".BR \\{short} \", \"")),
            "man page lacks {short}"
        );
    }
    let version = run(command(&ws).arg("--version")).stdout;
    assert!(
        man.contains(&format!("\"{}\"", version.trim())),
        "man page header names another version than {version}"
    );
}

#[test]
fn the_rpm_spec_parses_and_uses_the_rhel_plugin_directory() {
    let Some(rpmspec) = require("rpmspec", "the_rpm_spec_parses", "rpm") else {
        return;
    };
    let spec = repo().join("packaging/rpm/check_gklm_backup.spec");
    let out = Command::new(rpmspec)
        .args(["-P", "--define", "_libdir /usr/lib64"])
        .arg(&spec)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "rpmspec failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("/usr/lib64/nagios/plugins/check_gklm_backup"),
        "{text}"
    );
    assert!(text.contains("/var/lib/check_gklm_backup"), "{text}");
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        text.contains(&format!("Version:        {version}")),
        "spec version differs from Cargo.toml {version}"
    );
}
