//! A real file system the tests can freeze: a small ext4 image on a loop
//! device. While frozen (`fsfreeze`), every write to it waits in the
//! kernel, where no signal reaches, until it is thawed: a state file that
//! cannot be kept within `-t`, the way a hung mount or a snapshot holds it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::engine;

pub struct FrozenDisk {
    pub dir: PathBuf,
    frozen: bool,
}

impl FrozenDisk {
    /// Mount a fresh 8 MiB ext4 at `dir` (its image beside it), or say why
    /// not: skipped by hand without root or the tools, a failure under CI.
    pub fn mount(test: &str, dir: PathBuf) -> Option<FrozenDisk> {
        if !engine::require_root(test, "mount a loop file system") {
            return None;
        }
        let mkfs = engine::require("mkfs.ext4", test, "e2fsprogs")?;
        engine::require("fsfreeze", test, "util-linux")?;
        let image = dir.with_extension("img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(8 << 20))
            .expect("image file");
        std::fs::create_dir_all(&dir).unwrap();
        must(Command::new(mkfs).args(["-q", "-F"]).arg(&image));
        must(
            Command::new("mount")
                .args(["-o", "loop,noatime"])
                .arg(&image)
                .arg(&dir),
        );
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        Some(FrozenDisk { dir, frozen: false })
    }

    pub fn freeze(&mut self) {
        must(Command::new("fsfreeze").arg("-f").arg(&self.dir));
        self.frozen = true;
    }

    pub fn thaw(&mut self) {
        if self.frozen {
            must(Command::new("fsfreeze").arg("-u").arg(&self.dir));
            self.frozen = false;
        }
    }
}

impl Drop for FrozenDisk {
    fn drop(&mut self) {
        // Never leave a frozen file system behind: it would hold every
        // writer, and its unmount, for good.
        if self.frozen {
            let _ = Command::new("fsfreeze").arg("-u").arg(&self.dir).status();
        }
        // The loop device goes with the last unmount (mount sets autoclear).
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Whether process `pid` is waiting in the kernel uninterruptibly ('D'),
/// as a writer to a frozen file system does.
pub fn waits_in_the_kernel(pid: u32) -> bool {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"));
    // "pid (comm) S ...": the state follows the last ')'.
    stat.ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('D'))
        })
        .unwrap_or(false)
}

fn must(cmd: &mut Command) {
    let out = cmd.output().expect("run a disk tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
