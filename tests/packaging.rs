//! The packages: the .deb builds, installs with dpkg, puts every file where
//! it says and the installed binary runs; the man page matches --help; the
//! RPM spec parses, and the .rpm builds, installs into a scratch root with
//! rpm and runs.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::util::engine::*;
use crate::util::*;

mod release;

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
    if require("dpkg-deb", "the_deb_builds_installs", "dpkg").is_none()
        || require("dpkg-shlibdeps", "the_deb_builds_installs", "dpkg-dev").is_none()
    {
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
    // -V adds the commit, which a man page cannot know.
    let version = run(command(&ws).arg("--version")).stdout;
    let name_and_version = format!("check_gklm_backup {}", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&name_and_version), "{version}");
    assert!(
        man.contains(&format!("\"{name_and_version}\"")),
        "man page header names another version than {name_and_version}"
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

const RPM_FILES: &[&str] = &[
    "/usr/lib64/nagios/plugins/check_gklm_backup",
    "/usr/share/man/man1/check_gklm_backup.1.gz",
    "/usr/share/icinga2/include/plugins-contrib.d/gklm_backup.conf",
    "/usr/lib/tmpfiles.d/check_gklm_backup.conf",
    "/usr/share/doc/check_gklm_backup/README.md",
    "/usr/share/doc/check_gklm_backup/examples/nagios/check_gklm_backup.cfg",
    "/usr/share/doc/check_gklm_backup/examples/zabbix/template_gklm_backup.yaml",
    "/var/lib/check_gklm_backup",
];

/// `rpm` with these arguments; its stdout, after asserting it succeeded.
fn rpm_output(rpm: &Path, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(rpm).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "rpm {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Install the .rpm into a fresh scratch root whose only user database is
/// `passwd`/`group` (rpm resolves %attr owners there), without dependencies:
/// the root has no glibc or OpenSSL packages to satisfy them. Its one
/// scriptlet is Lua, which rpm runs itself: the root needs no shell.
fn install_rpm_into_scratch_root(
    rpm: &Path,
    package: &Path,
    users: Option<(&str, &str)>,
) -> Workspace {
    let root = Workspace::new();
    if let Some((passwd, group)) = users {
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/passwd"), passwd).unwrap();
        std::fs::write(root.path().join("etc/group"), group).unwrap();
    }
    let install = Command::new(rpm)
        .args(["-i", "--nodeps", "--root"])
        .arg(root.path())
        .arg(package)
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "rpm -i failed: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    root
}

#[test]
fn the_rpm_builds_holds_every_file_installs_into_a_scratch_root_and_runs() {
    if require_engine("rpmbuild", "the_rpm_builds", "rpm").is_none() {
        return;
    }
    let rpm = require("rpm", "the_rpm_builds", "rpm").unwrap();
    let ws = Workspace::new();
    let build = Command::new("bash")
        .arg(repo().join("packaging/rpm/build.sh"))
        .args(["--binary", BIN, "--out"])
        .arg(ws.path())
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "packaging/rpm/build.sh failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let stdout = String::from_utf8_lossy(&build.stdout);
    let package = std::path::PathBuf::from(stdout.lines().last().unwrap().trim());
    let version = env!("CARGO_PKG_VERSION");
    let arch = first_line_of(Command::new(&rpm).args(["--eval", "%{_arch}"]));
    let file_name = format!("check_gklm_backup-{version}-1.{arch}.rpm");
    assert_eq!(package, ws.path().join(&file_name), "{stdout}");

    // The README's RHEL line installs exactly this file and names the script.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let dnf_line = readme
        .lines()
        .find(|l| l.contains("dnf install"))
        .expect("README has a dnf install line");
    assert!(
        dnf_line.contains(&format!("/{file_name}")) && dnf_line.contains("packaging/rpm/build.sh"),
        "README names another file or no build command: {dnf_line}"
    );

    let fields = rpm_output(
        &rpm,
        &[
            "-qp".as_ref(),
            "--queryformat".as_ref(),
            "%{NAME} %{VERSION} %{RELEASE} %{ARCH}\n".as_ref(),
            package.as_os_str(),
        ],
    );
    assert_eq!(
        fields.trim(),
        format!("check_gklm_backup {version} 1 {arch}")
    );
    let listing = rpm_output(&rpm, &["-qlp".as_ref(), package.as_os_str()]);
    let listed: BTreeSet<&str> = listing.lines().collect();
    for file in RPM_FILES {
        assert!(
            listed.contains(file),
            "{file} missing from the package:\n{listing}"
        );
    }
    assert!(
        !listing.contains("/usr/lib/nagios/"),
        "Debian's plugin directory in an RPM:\n{listing}"
    );
    // --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
    let dump = rpm_output(
        &rpm,
        &["-qp".as_ref(), "--dump".as_ref(), package.as_os_str()],
    );
    let entry = |path: &str| -> Vec<String> {
        dump.lines()
            .map(|l| l.split(' ').map(str::to_string).collect::<Vec<_>>())
            .find(|f| f[0] == path)
            .unwrap_or_else(|| panic!("{path} not in --dump:\n{dump}"))
    };
    let state = entry("/var/lib/check_gklm_backup");
    assert_eq!(
        (state[4].as_str(), state[5].as_str(), state[6].as_str()),
        ("040700", "nagios", "nagios"),
        "state directory: {state:?}"
    );
    let plugin = entry("/usr/lib64/nagios/plugins/check_gklm_backup");
    assert_eq!(
        (plugin[4].as_str(), plugin[5].as_str()),
        ("0100755", "root"),
        "plugin: {plugin:?}"
    );
    let scripts = rpm_output(
        &rpm,
        &["-qp".as_ref(), "--scripts".as_ref(), package.as_os_str()],
    );
    // One scriptlet, in the Lua rpm runs itself: no shell in a chroot.
    let headers: Vec<&str> = scripts
        .lines()
        .filter(|l| l.contains("scriptlet"))
        .collect();
    assert_eq!(
        headers,
        ["postinstall scriptlet (using <lua>):"],
        "{scripts}"
    );
    let requires = rpm_output(&rpm, &["-qpR".as_ref(), package.as_os_str()]);
    assert!(
        requires.contains("libssl.so.3") && requires.contains("libc.so.6"),
        "the binary's libraries are required:\n{requires}"
    );

    if !running_as_root() {
        say("SKIPPED installing the .rpm: rpm -i sets owners, which needs root (CI runs as root)");
        return;
    }
    // A root that knows nagios: rpm gives it the state directory.
    let root = install_rpm_into_scratch_root(
        &rpm,
        &package,
        Some((
            "root:x:0:0::/root:/bin/sh\nnagios:x:4242:4243::/var/spool/nagios:/sbin/nologin\n",
            "root:x:0:\nnagios:x:4243:\n",
        )),
    );
    let inside = |path: &str| root.path().join(path.trim_start_matches('/'));
    for file in RPM_FILES {
        assert!(inside(file).exists(), "{file} not installed");
    }
    let state_dir = std::fs::metadata(inside("/var/lib/check_gklm_backup")).unwrap();
    assert!(state_dir.is_dir());
    assert_eq!(
        (
            state_dir.permissions().mode() & 0o7777,
            state_dir.uid(),
            state_dir.gid()
        ),
        (0o700, 4242, 4243),
        "state directory belongs to the root's nagios user"
    );
    let installed = inside("/usr/lib64/nagios/plugins/check_gklm_backup");
    assert_eq!(
        std::fs::metadata(&installed).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let r = run(Command::new(&installed).arg("-V"));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout
            .starts_with(&format!("check_gklm_backup {version}")),
        "{r:?}"
    );
    let queried = rpm_output(
        &rpm,
        &[
            "-q".as_ref(),
            "--root".as_ref(),
            root.path().as_os_str(),
            "check_gklm_backup".as_ref(),
        ],
    );
    assert_eq!(
        queried.trim(),
        format!("check_gklm_backup-{version}-1.{arch}")
    );

    // An upgrade keeps a state directory the admin gave to icinga, and
    // never follows a symlink there.
    let state_dir = inside("/var/lib/check_gklm_backup");
    std::os::unix::fs::chown(&state_dir, Some(4244), Some(4245)).unwrap();
    std::fs::set_permissions(&state_dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    let upgrade = |root: &Path| {
        rpm_output(
            &rpm,
            &[
                "-U".as_ref(),
                "--replacepkgs".as_ref(),
                "--nodeps".as_ref(),
                "--root".as_ref(),
                root.as_os_str(),
                package.as_os_str(),
            ],
        )
    };
    upgrade(root.path());
    assert_eq!(
        owner_and_mode(&state_dir),
        (4244, 4245, 0o750),
        "after rpm -U"
    );
    std::fs::remove_dir(&state_dir).unwrap();
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::chown(&elsewhere, Some(4244), Some(4245)).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("/elsewhere", &state_dir).unwrap();
    upgrade(root.path());
    assert!(
        std::fs::symlink_metadata(&state_dir)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        owner_and_mode(&elsewhere),
        (4244, 4245, 0o755),
        "through a symlink"
    );

    // A root without nagios: the directory stays root's (the check then
    // falls back to /var/tmp), as the spec says; the install still works.
    let bare = install_rpm_into_scratch_root(&rpm, &package, None);
    let state_dir = std::fs::metadata(bare.path().join("var/lib/check_gklm_backup")).unwrap();
    assert_eq!(
        (state_dir.permissions().mode() & 0o7777, state_dir.uid()),
        (0o700, 0)
    );
}

/// The owner and mode of `path`, not following a symlink.
fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    let m = std::fs::symlink_metadata(path).unwrap();
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

/// A scratch root with the host's users, so that `nagios` resolves in it.
fn scratch_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::create_dir_all(root.path().join("var/lib")).unwrap();
    for db in ["passwd", "group"] {
        std::fs::copy(Path::new("/etc").join(db), root.path().join("etc").join(db)).unwrap();
    }
    root
}

/// Each way the packages touch the state directory at install, upgrade or
/// boot, run over `root`: the .deb's postinst, and systemd-tmpfiles with
/// the .deb's and the .rpm's tmpfiles.d line.
fn set_up_state_dir(root: &Path) -> Vec<String> {
    let spec = std::fs::read_to_string("packaging/rpm/check_gklm_backup.spec").unwrap();
    let rpm_line = spec
        .lines()
        .find(|l| l.starts_with("d %{statedir} "))
        .expect("the spec's tmpfiles.d line")
        .replace("%{statedir}", "/var/lib/check_gklm_backup");
    let rpm_conf = root.join("rpm-tmpfiles.conf");
    std::fs::write(&rpm_conf, format!("{rpm_line}\n")).unwrap();
    let mut ran = Vec::new();
    let postinst = Command::new("sh")
        .args(["packaging/deb/postinst", "configure", "0.1.0"])
        .env("DPKG_ROOT", root)
        .output()
        .unwrap();
    assert!(postinst.status.success(), "{postinst:?}");
    ran.push("postinst".to_string());
    let Some(tmpfiles) = require("systemd-tmpfiles", "packaging: state directory", "systemd")
    else {
        return ran;
    };
    // systemd-tmpfiles takes a configuration by absolute path only.
    let deb_conf = root.join("deb-tmpfiles.conf");
    std::fs::copy("packaging/deb/tmpfiles.conf", &deb_conf).unwrap();
    for conf in [deb_conf, rpm_conf] {
        let name = conf.file_name().unwrap().to_string_lossy().to_string();
        let out = Command::new(&tmpfiles)
            .arg("--create")
            .arg(format!("--root={}", root.display()))
            .arg(&conf)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {out:?}");
        ran.push(name);
    }
    ran
}

#[test]
fn an_upgrade_keeps_the_state_directory_the_admin_chose() {
    if !require_root(
        "an_upgrade_keeps_the_state_directory_the_admin_chose",
        "chown",
    ) {
        return;
    }
    // Given to another user (icinga, say) with another mode.
    let root = scratch_root();
    let dir = root.path().join("var/lib/check_gklm_backup");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(4242), Some(4243)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    for step in set_up_state_dir(root.path()) {
        assert_eq!(owner_and_mode(&dir), (4242, 4243, 0o750), "after {step}");
    }
    // A symlink there is never followed, and stays.
    let root = scratch_root();
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::chown(&elsewhere, Some(4242), Some(4243)).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = root.path().join("var/lib/check_gklm_backup");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    set_up_state_dir(root.path());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(owner_and_mode(&elsewhere), (4242, 4243, 0o755));
    // Missing: created, private to the monitoring user where there is one.
    let root = scratch_root();
    let dir = root.path().join("var/lib/check_gklm_backup");
    let nagios = Command::new("id").args(["-u", "nagios"]).output().unwrap();
    let uid = match nagios.status.success() {
        true => String::from_utf8_lossy(&nagios.stdout)
            .trim()
            .parse()
            .unwrap(),
        false => 0,
    };
    set_up_state_dir(root.path());
    let (owner, _, mode) = owner_and_mode(&dir);
    assert_eq!((owner, mode), (uid, 0o700));
}
