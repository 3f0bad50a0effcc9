//! The packages as a packager and a security reviewer meet them: the build
//! scripts alone, run in fresh clones, build the release binary, the .deb
//! and the .rpm; two clones of one commit in two directories give the same
//! bytes; lintian and rpmlint find nothing; the dependencies are what the
//! tools found; one changelog feeds both packages; and an RPM builds offline
//! from the vendored source tarball.
//!
//! The clones are of HEAD: uncommitted changes are not in them (the test
//! says so when the working tree is dirty). The two release builds run once
//! per test process and every test here reads their result; the heavy
//! builds take turns (`HEAVY`), so the test run never compiles twice at
//! once. Nothing is written in the working tree: clones live in temporary
//! directories, the packages they made in `target/tmp`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::util::engine::*;
use crate::util::*;

/// What one clone's build scripts made, copied out of the clone.
struct Built {
    /// The binary cargo wrote in the clone's target directory.
    binary: PathBuf,
    deb: PathBuf,
    rpm: PathBuf,
}

/// Each clone's build on its own, so that one failing does not hide what
/// the other shows.
struct Release {
    /// `git rev-parse --short=12 HEAD`, which -V names.
    commit: String,
    /// The directory the clones were in (removed since).
    clones: PathBuf,
    /// Built with the default target directory.
    a: Result<Built, String>,
    /// Built in a longer path, with CARGO_TARGET_DIR set.
    b: Result<Built, String>,
}

impl Release {
    fn a(&self) -> &Built {
        self.a.as_ref().unwrap_or_else(|e| panic!("clone a: {e}"))
    }

    fn b(&self) -> &Built {
        self.b
            .as_ref()
            .unwrap_or_else(|e| panic!("clone b, with CARGO_TARGET_DIR: {e}"))
    }
}

static HEAVY: Mutex<()> = Mutex::new(());
static RELEASE: OnceLock<Result<Release, String>> = OnceLock::new();

/// One heavy build at a time; a test that failed while holding the lock
/// does not stop the others.
fn heavy() -> MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The tools the release builds need, and a git checkout to clone.
fn can_build_release(test: &str) -> bool {
    can_build(
        test,
        &[
            ("git", "git"),
            ("dpkg-deb", "dpkg"),
            ("dpkg-shlibdeps", "dpkg-dev"),
            ("rpmbuild", "rpm"),
        ],
    )
}

/// These tools, as (tool, Debian package), and a git checkout.
fn can_build(test: &str, tools: &[(&str, &str)]) -> bool {
    if tools
        .iter()
        .any(|(tool, package)| require(tool, test, package).is_none())
    {
        return false;
    }
    if git(&repo(), &["rev-parse", "HEAD"]).is_err() {
        missing(test, "the tests do not run in a git checkout to clone");
        return false;
    }
    true
}

/// The release builds, made by the first test that asks.
fn release(test: &str) -> Option<&'static Release> {
    if !can_build_release(test) {
        return None;
    }
    match RELEASE.get_or_init(|| {
        let _turn = heavy();
        build_release()
    }) {
        Ok(release) => Some(release),
        Err(e) => panic!("{e}"),
    }
}

fn build_release() -> Result<Release, String> {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("packaging-release");
    let _ = std::fs::remove_dir_all(&out);
    let head = git(&repo(), &["rev-parse", "HEAD"])?;
    if !git(&repo(), &["status", "--porcelain"])?.is_empty() {
        say(&format!(
            "NOTE: the working tree has uncommitted changes; the clones build HEAD {head} without them"
        ));
    }
    let clones = tempfile::tempdir().map_err(|e| e.to_string())?;
    let a = clones.path().join("a/check_gklm_backup");
    let b = clones.path().join("b/a/longer/path/check_gklm_backup");
    for dir in [&a, &b] {
        clone(&head, dir)?;
    }
    let started = std::time::Instant::now();
    let built_a = build_clone(&a, None, &out.join("a"));
    let built_b = build_clone(&b, Some(&b.join("elsewhere")), &out.join("b"));
    say(&format!(
        "built two clones of {head} in {:?}",
        started.elapsed()
    ));
    Ok(Release {
        commit: head[..12].to_string(),
        clones: clones.path().to_path_buf(),
        a: built_a,
        b: built_b,
    })
}

/// `git -C dir ARGS`, its trimmed stdout.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A fresh clone of the repository the tests run in, at `commit`.
fn clone(commit: &str, dir: &Path) -> Result<(), String> {
    let out = Command::new("git")
        .args(["clone", "--quiet", "--no-checkout"])
        .arg(repo())
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "git clone: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    git(dir, &["checkout", "--quiet", "--detach", commit]).map(drop)
}

/// Run one of a clone's build scripts the way a packager would, in a clean
/// environment as far as the build is concerned; the path it printed last.
fn build_script(
    clone: &Path,
    script: &str,
    args: &[&std::ffi::OsStr],
    target_dir: Option<&Path>,
) -> Result<PathBuf, String> {
    let mut cmd = Command::new("bash");
    cmd.arg(clone.join(script))
        .args(args)
        .current_dir(clone)
        .env_remove("SOURCE_DATE_EPOCH")
        // cargo test hands build.rs's output to the tests it runs.
        .env_remove("CHECK_GKLM_BACKUP_COMMIT")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    if let Some(dir) = target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    last_line(script, &out)
}

fn last_line(what: &str, out: &Output) -> Result<PathBuf, String> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}\n{}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 4000),
            stdout
        ));
    }
    Ok(PathBuf::from(stdout.lines().last().unwrap_or("").trim()))
}

/// The end of a long text, where an error usually is.
fn tail(text: &str, bytes: usize) -> &str {
    let mut start = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The first `bytes` of a long text.
fn head(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn build_clone(clone: &Path, target_dir: Option<&Path>, out: &Path) -> Result<Built, String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let to = [std::ffi::OsStr::new("--out"), out.as_os_str()];
    let deb = build_script(clone, "packaging/deb/build.sh", &to, target_dir)?;
    let rpm = build_script(clone, "packaging/rpm/build.sh", &to, target_dir)?;
    let built = target_dir
        .map_or_else(|| clone.join("target"), Path::to_path_buf)
        .join("release/check_gklm_backup");
    let binary = out.join("check_gklm_backup");
    std::fs::copy(&built, &binary).map_err(|e| format!("no binary at {}: {e}", built.display()))?;
    Ok(Built { binary, deb, rpm })
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One file of a .deb, as bytes.
fn file_in_deb(deb: &Path, path: &str) -> Vec<u8> {
    let mut tar = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Command::new("tar")
        .args(["-xO", &format!(".{path}")])
        .stdin(tar.stdout.take().unwrap())
        .output()
        .unwrap();
    let _ = tar.wait();
    assert!(out.status.success(), "{path} not in {}", deb.display());
    out.stdout
}

fn deb_field(deb: &Path, field: &str) -> String {
    output(Command::new("dpkg-deb").arg("-f").arg(deb).arg(field))
        .trim()
        .to_string()
}

fn rpm_query(rpm: &Path, format: &str) -> String {
    output(
        Command::new("rpm")
            .args(["-qp", "--queryformat", format])
            .arg(rpm),
    )
}

#[test]
fn two_clones_of_one_commit_build_the_same_binary_deb_and_rpm() {
    let Some(release) = release("two_clones_build_the_same_bytes") else {
        return;
    };
    let mut differ = Vec::new();
    for (what, a, b) in [
        ("binary", &release.a().binary, &release.b().binary),
        (".deb", &release.a().deb, &release.b().deb),
        (".rpm", &release.a().rpm, &release.b().rpm),
    ] {
        if std::fs::read(a).unwrap() != std::fs::read(b).unwrap() {
            differ.push(format!(
                "{what}: {} and {}\n{}",
                a.display(),
                b.display(),
                diffoscope(a, b)
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "two clones of commit {} built different bytes:\n{}",
        release.commit,
        differ.join("\n")
    );
}

/// The clones share a cargo home, so their binaries would agree even if it
/// were written into them; a builder with another home would not.
#[test]
fn the_binary_names_no_directory_of_the_machine_that_built_it() {
    let Some(release) = release("the_binary_names_no_directory_of_the_machine_that_built_it")
    else {
        return;
    };
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap();
    let binary = std::fs::read(&release.a().binary).unwrap();
    for dir in [&cargo_home, &release.clones] {
        let needle = dir.to_string_lossy();
        assert!(
            !binary.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "the release binary names {needle}"
        );
    }
}

/// What diffoscope says about two files, cut short; or why it cannot say.
fn diffoscope(a: &Path, b: &Path) -> String {
    match Command::new("diffoscope").arg(a).arg(b).output() {
        Ok(out) => head(&String::from_utf8_lossy(&out.stdout), 6000).to_string(),
        Err(_) => "(apt-get install diffoscope to see where they differ)".to_string(),
    }
}

#[test]
fn the_packages_hold_the_binary_built_in_cargo_target_dir() {
    let Some(release) = release("the_packages_hold_the_binary_built_in_cargo_target_dir") else {
        return;
    };
    // Clone b set CARGO_TARGET_DIR; its binary is the one cargo wrote there.
    let built = std::fs::read(&release.b().binary).unwrap();
    let in_deb = file_in_deb(
        &release.b().deb,
        "/usr/lib/nagios/plugins/check_gklm_backup",
    );
    assert!(
        in_deb == built,
        "the .deb holds another binary than CARGO_TARGET_DIR's"
    );
    let digest = output(Command::new("sha256sum").arg(&release.b().binary));
    let digest = digest.split(' ').next().unwrap();
    let dump = output(
        Command::new("rpm")
            .arg("-qp")
            .arg("--dump")
            .arg(&release.b().rpm),
    );
    let in_rpm = dump
        .lines()
        .find(|l| l.starts_with("/usr/lib64/nagios/plugins/check_gklm_backup "))
        .unwrap_or_else(|| panic!("no plugin in the .rpm:\n{dump}"));
    assert_eq!(
        in_rpm.split(' ').nth(3),
        Some(digest),
        "the .rpm holds another binary than CARGO_TARGET_DIR's: {in_rpm}"
    );
    let version = run(Command::new(&release.b().binary).arg("-V"));
    assert_eq!(
        version.stdout.trim(),
        format!(
            "check_gklm_backup {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            release.commit
        ),
        "-V names the version and the commit built"
    );
}

#[test]
fn lintian_finds_no_error_or_warning_in_the_deb() {
    let test = "lintian_finds_no_error_or_warning_in_the_deb";
    let Some(lintian) = require_engine("lintian", test, "lintian") else {
        return;
    };
    let Some(release) = release(test) else {
        return;
    };
    // lintian leaves its ELF cache files (mldbm-elf-*) in TMPDIR.
    let tmp = Workspace::new();
    let out = Command::new(lintian)
        .args(["--tag-display-limit", "0"])
        .arg(&release.a().deb)
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("E: ") || l.starts_with("W: "))
        .collect();
    assert!(
        bad.is_empty() && out.status.success(),
        "lintian: {bad:#?}\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rpmlint_finds_no_error_in_the_rpm_but_the_missing_signature() {
    let test = "rpmlint_finds_no_error_in_the_rpm";
    let Some(rpmlint) = require_engine("rpmlint", test, "rpmlint") else {
        return;
    };
    let Some(release) = release(test) else {
        return;
    };
    let out = Command::new(rpmlint)
        .arg("-c")
        .arg(repo().join("packaging/rpm/rpmlint.toml"))
        .arg(&release.a().rpm)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    // Packages are signed by whoever publishes them, after the build.
    let bad: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(": E: ") || l.contains(": W: "))
        .filter(|l| !l.ends_with(": E: no-signature"))
        .collect();
    assert!(bad.is_empty(), "rpmlint: {bad:#?}\n{report}");
    assert!(report.contains("1 packages"), "{report}");
}

#[test]
fn the_dependencies_are_the_libraries_the_binary_links() {
    let test = "the_dependencies_are_the_libraries_the_binary_links";
    if require("readelf", test, "binutils").is_none() {
        return;
    }
    let Some(release) = release(test) else {
        return;
    };
    let depends = deb_field(&release.a().deb, "Depends");
    let packages: Vec<&str> = depends
        .split(", ")
        .map(|d| d.split([' ', ':']).next().unwrap())
        .collect();
    assert!(
        packages.contains(&"libc6") && packages.contains(&"libssl3"),
        "{depends}"
    );
    // Every library the binary needs comes from a package the .deb depends
    // on: a hard-coded list forgets one (libgcc_s, for the unwinder).
    let dynamic = output(Command::new("readelf").arg("-d").arg(&release.a().binary));
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1)?.split(']').next())
        .collect();
    assert!(needed.contains(&"libssl.so.3"), "{dynamic}");
    for soname in &needed {
        let owners = output(Command::new("dpkg").args(["-S", &format!("*/{soname}")]));
        assert!(
            owners
                .lines()
                .filter_map(|l| l.split(':').next())
                .any(|owner| packages.contains(&owner)),
            "{soname} comes from {owners}, which Depends: {depends} does not name"
        );
    }

    let requires = output(Command::new("rpm").arg("-qpR").arg(&release.a().rpm));
    for soname in &needed {
        assert!(
            requires.contains(&format!("{soname}()")),
            "the .rpm does not require {soname}:\n{requires}"
        );
    }
    assert!(
        !requires.contains("openssl-libs"),
        "a package name, not the library, is required:\n{requires}"
    );
}

#[test]
fn one_changelog_feeds_both_packages_and_agrees_with_cargo_toml() {
    let Some(release) = release("one_changelog_feeds_both_packages") else {
        return;
    };
    let changelog = std::fs::read_to_string(repo().join("packaging/changelog")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let first = changelog.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("check-gklm-backup ({version}) ")),
        "packaging/changelog's top entry is not Cargo.toml's {version}: {first}"
    );
    let trailer = changelog
        .lines()
        .find_map(|l| l.strip_prefix(" -- "))
        .expect("a changelog trailer");
    let (maintainer, date) = trailer.split_once(">  ").expect("maintainer and date");
    let maintainer = format!("{maintainer}>");

    // The .deb: the changelog itself, and its maintainer.
    let gz = file_in_deb(
        &release.a().deb,
        "/usr/share/doc/check-gklm-backup/changelog.gz",
    );
    let mut gunzip = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    gunzip.stdin.take().unwrap().write_all(&gz).unwrap();
    let packaged = gunzip.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&packaged.stdout), changelog);
    assert_eq!(deb_field(&release.a().deb, "Maintainer"), maintainer);
    assert_eq!(deb_field(&release.a().deb, "Version"), version);

    // The .rpm: one entry per Debian entry, the top one with the same date,
    // maintainer and version; the packager is that maintainer.
    let rpm_log = output(
        Command::new("rpm")
            .args(["-qp", "--changelog"])
            .arg(&release.a().rpm),
    );
    // "Fri, 27 Nov 2026 12:00:00 +0000" is "Fri Nov 27 2026" in RPM.
    let parts: Vec<&str> = date.split([',', ' ']).filter(|p| !p.is_empty()).collect();
    let rpm_date = format!("{} {} {} {}", parts[0], parts[2], parts[1], parts[3]);
    assert_eq!(
        rpm_log.lines().next().unwrap(),
        format!("* {rpm_date} {maintainer} - {version}-1"),
        "{rpm_log}"
    );
    assert_eq!(
        rpm_log.lines().filter(|l| l.starts_with("* ")).count(),
        changelog.lines().filter(|l| l.starts_with(" -- ")).count(),
        "{rpm_log}"
    );
    assert_eq!(
        rpm_query(&release.a().rpm, "%{VERSION} %{PACKAGER}"),
        format!("{version} {maintainer}")
    );
}

#[test]
fn the_man_page_passes_mandoc_lint() {
    let Some(mandoc) = require("mandoc", "the_man_page_passes_mandoc_lint", "mandoc") else {
        return;
    };
    let out = Command::new(mandoc)
        .args(["-T", "lint", "-W", "warning"])
        .arg(repo().join("packaging/man/check_gklm_backup.1"))
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "mandoc -T lint -W warning:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `unshare -n` (a network namespace of the test's own, with no interface
/// up) when this process may make one.
fn without_network() -> Option<Command> {
    let works = Command::new("unshare")
        .args(["-n", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then(|| {
        let mut cmd = Command::new("unshare");
        cmd.arg("-n");
        cmd
    })
}

#[test]
fn an_rpm_builds_offline_from_the_vendored_source_tarball() {
    let test = "an_rpm_builds_offline_from_the_vendored_source_tarball";
    if !can_build(test, &[("git", "git"), ("rpmbuild", "rpm")]) {
        return;
    }
    let _turn = heavy();
    let ws = Workspace::new();
    let script = repo().join("packaging/rpm/build.sh");
    // What git archive will take, as -V will name it.
    let commit = git(&repo(), &["rev-parse", "--short=12", "HEAD"]).unwrap();
    // The tarball and SRPM: cargo vendor needs the registry (crates for
    // every platform in Cargo.lock, not only the ones built here).
    let out = Command::new("bash")
        .arg(&script)
        .args(["--srpm", "--out"])
        .arg(ws.path())
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CHECK_GKLM_BACKUP_COMMIT")
        .output()
        .unwrap();
    let srpm = last_line("build.sh --srpm", &out).unwrap_or_else(|e| panic!("{e}"));
    let printed = String::from_utf8_lossy(&out.stdout);
    let version = env!("CARGO_PKG_VERSION");
    let tarball_name = format!("check_gklm_backup-{version}.tar.gz");
    let tarball = ws.path().join(&tarball_name);
    assert!(
        printed.contains(&format!("{}\n", tarball.display())),
        "{printed}"
    );
    let in_srpm = output(Command::new("rpm").arg("-qpl").arg(&srpm));
    assert_eq!(
        in_srpm.lines().collect::<Vec<_>>(),
        [tarball_name.as_str(), "check_gklm_backup.spec"],
        "the SRPM holds the tarball and the spec"
    );
    let listing = output(Command::new("tar").arg("-tzf").arg(&tarball));
    let top = format!("check_gklm_backup-{version}/");
    for path in [
        ".cargo/config.toml",
        "Cargo.lock",
        "build.rs",
        "packaging/changelog",
        "vendor/attohttpc/Cargo.toml",
        "vendor-crates/serde_json/Cargo.toml",
    ] {
        assert!(
            listing.lines().any(|l| l == format!("{top}{path}")),
            "{path} is not in the tarball"
        );
    }
    assert!(
        !listing.contains("vendor-crates/attohttpc/"),
        "the patched attohttpc comes from vendor/, not the registry"
    );

    // The RPM from the SRPM with nothing cargo could download from: no
    // registry cache, offline, and no network at all where that is allowed.
    let cargo_home = Workspace::new();
    let mut cmd = match without_network() {
        Some(cmd) => cmd,
        None => {
            say(
                "NOTE: unshare -n is not allowed here; the rebuild runs offline but with the network present",
            );
            Command::new("env")
        }
    };
    let started = std::time::Instant::now();
    let out = cmd
        .arg("bash")
        .arg(&script)
        .arg("--rebuild")
        .arg(&srpm)
        .arg("--out")
        .arg(ws.path())
        .env("CARGO_HOME", cargo_home.path())
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CHECK_GKLM_BACKUP_COMMIT")
        .output()
        .unwrap();
    let rpm = last_line("build.sh --rebuild", &out).unwrap_or_else(|e| panic!("{e}"));
    say(&format!(
        "rebuilt the SRPM offline in {:?}",
        started.elapsed()
    ));
    assert!(
        std::fs::read_dir(cargo_home.path())
            .unwrap()
            .next()
            .is_none(),
        "the build used the empty CARGO_HOME"
    );

    if !running_as_root() {
        say(
            "SKIPPED installing the offline .rpm: rpm -i sets owners, which needs root (CI runs as root)",
        );
        return;
    }
    let root = super::install_rpm_into_scratch_root(Path::new("rpm"), &rpm, None);
    let installed = root
        .path()
        .join("usr/lib64/nagios/plugins/check_gklm_backup");
    let r = run(Command::new(&installed).arg("-V"));
    assert_eq!(
        r.stdout.trim(),
        format!("check_gklm_backup {version} (commit {commit})"),
        "{r:?}"
    );
}
