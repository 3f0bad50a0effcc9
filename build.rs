//! Tells `check_gklm_backup -V` which commit it was built from: from git in
//! a checkout, else from CHECK_GKLM_BACKUP_COMMIT (a source tarball's
//! .cargo/config.toml sets it), else nothing. No clock is read, so a rebuild
//! of one commit gives the same binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CHECK_GKLM_BACKUP_COMMIT");
    // git first: a stray CHECK_GKLM_BACKUP_COMMIT in the environment (cargo
    // test passes this script's own output on to the tests it runs) must not
    // name another commit than the one checked out.
    let commit = commit_from_git().or_else(|| {
        std::env::var("CHECK_GKLM_BACKUP_COMMIT")
            .ok()
            .filter(|c| !c.is_empty())
    });
    if let Some(commit) = commit {
        println!("cargo:rustc-env=CHECK_GKLM_BACKUP_COMMIT={commit}");
    }
}

/// The checked-out commit, when this crate is the top of a git work tree
/// (not a tarball unpacked inside some other repository). Rebuilt when HEAD
/// moves: HEAD itself, the branch's ref file, packed-refs.
fn commit_from_git() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let git_path = |name: &str| {
        git(&["rev-parse", "--path-format=absolute", "--git-path", name]).map(PathBuf::from)
    };
    // A file that does not exist would make cargo rerun this every time.
    let watch = |path: &Path| {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    };
    watch(&git_path("HEAD")?);
    watch(&git_path("packed-refs")?);
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        let file = git_path(&branch)?;
        // A branch only in packed-refs: its directory shows when the file
        // appears on the next commit.
        watch(if file.exists() { &file } else { file.parent()? });
    }
    git(&["rev-parse", "--short=12", "HEAD"])
}
