//! The state file of one target: where it is, the lock around changing it,
//! the atomic write, and the checks that refuse a file that is not ours. It
//! must never follow a link, never use or overwrite another user's or
//! another target's file, and never lose a failed write silently; what the
//! file holds and how runs merge into it is [`super::record`]'s.
//!
//! Safety rules, each for a reason:
//! - one lock file per target, held only around merging and writing, never
//!   across the exchange with GKLM, so one slow answer blocks no other check;
//!   the merge re-reads the file under the lock (`Locked::load`), so it
//!   applies this run's observation to what is there now;
//! - read without the lock: the file is only ever replaced by a rename, so
//!   a reader sees the old or the new file whole; and a file that must be
//!   refused is refused before a lock file is created beside it;
//! - written to a temporary file, fsynced and renamed over the old one, so a
//!   killed run leaves the old or the new file, never a partial one;
//! - never follows a symlink and never uses a file owned by another user,
//!   so a file planted in a shared directory cannot be turned against us;
//! - a file `decode` refuses (damaged, foreign-version) counts
//!   as no history and is replaced, so one bad file cannot fail every later
//!   run;
//! - a file that records another target is never used and never overwritten,
//!   so one target's session id can never be sent to another host, nor one
//!   target's streak continue another's;
//! - a failed write leaves no temporary file, and the caller learns of it:
//!   history that cannot be kept must never freeze silently.

use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::record::{Refusal, Saved, encode, history, salvaged_session};

/// The packaged state directory; creating it is the package's job.
pub const DEFAULT_DIR: &str = "/var/lib/check_gklm_backup";

/// A state file is a few hundred bytes; a larger one is not ours.
const MAX_SIZE: u64 = 64 * 1024;

/// What `HistoryFile::load` found.
#[derive(Debug)]
pub struct Loaded {
    pub saved: Saved,
    /// Why the file's content was ignored, if it was.
    pub note: Option<String>,
    /// The file's text, None when there was no file.
    pub raw: Option<String>,
}

/// Where the state file lives, as the user configured it.
#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    /// `--state-file PATH`.
    File(PathBuf),
    /// A directory given by the environment; one file per target inside.
    Dir(PathBuf),
    /// Neither: the packaged directory if it is ours, else a private one
    /// under /var/tmp.
    Default,
}

impl Location {
    /// `--state-file`, else the first directory the environment names
    /// (`MP_STATE_PATH`, then the legacy `NAGIOS_PLUGIN_STATE_DIRECTORY`),
    /// else the default.
    pub fn choose(file: Option<PathBuf>, env_dirs: &[Option<PathBuf>]) -> Location {
        if let Some(file) = file {
            return Location::File(file);
        }
        env_dirs
            .iter()
            .flatten()
            .find(|dir| !dir.as_os_str().is_empty())
            .map_or(Location::Default, |dir| Location::Dir(dir.clone()))
    }
}

/// Why the state file cannot be used; each says what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub enum HistoryError {
    Io {
        path: PathBuf,
        action: &'static str,
        error: String,
    },
    Unsafe {
        path: PathBuf,
        why: String,
    },
    LockTimeout {
        path: PathBuf,
    },
    /// The file records another target.
    Foreign {
        path: PathBuf,
        recorded: String,
        ours: String,
    },
}

impl std::error::Error for HistoryError {}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryError::Io {
                path,
                action,
                error,
            } => {
                write!(
                    f,
                    "cannot {action} state file {}: {error}; fix its permissions or choose another with --state-file or MP_STATE_PATH",
                    path.display()
                )
            }
            HistoryError::Unsafe { path, why } => {
                write!(f, "refusing to use state file {}: {why}", path.display())
            }
            HistoryError::LockTimeout { path } => {
                write!(
                    f,
                    "another check of this target held the lock {} for the whole timeout",
                    path.display()
                )
            }
            HistoryError::Foreign {
                path,
                recorded,
                ours,
            } => write!(
                f,
                "state file {} belongs to target '{recorded}', not to '{ours}'; give each target its own --state-file",
                path.display()
            ),
        }
    }
}

fn io_error(path: &Path, action: &'static str, error: io::Error) -> HistoryError {
    HistoryError::Io {
        path: path.to_path_buf(),
        action,
        error: error.to_string(),
    }
}

/// The state file of one target: where it is, and whether the user named
/// it. Reading needs no lock; changing it does (`lock`).
#[derive(Debug)]
pub struct HistoryFile {
    path: PathBuf,
    /// Named by the user (`--state-file`), not one of ours in a directory.
    named: bool,
}

/// The state file, locked for a read-modify-write. The lock is released
/// when this is dropped (or the process ends, however it ends).
#[derive(Debug)]
pub struct Locked<'a> {
    file: &'a HistoryFile,
    _lock: File,
}

impl HistoryFile {
    /// Where the state file for `target` is.
    pub fn locate(location: &Location, target: &str) -> HistoryFile {
        let name = file_name(target);
        let (path, named) = match location {
            Location::File(path) => (path.clone(), true),
            Location::Dir(dir) => (dir.join(&name), false),
            Location::Default => (default_dir().join(&name), false),
        };
        HistoryFile { path, named }
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn lock_path(&self) -> PathBuf {
        sibling(&self.path, ".lock")
    }

    /// Read the saved state without the lock (see `load`). Makes the
    /// directory if needed, and refuses a planted lock file now, before
    /// anything is sent to GKLM.
    pub fn read(&self, now: u64, target: &str) -> Result<Loaded, HistoryError> {
        prepare_dir(&self.dir())?;
        let lock_path = self.lock_path();
        if let Ok(meta) = fs::symlink_metadata(&lock_path) {
            check_own(&lock_path, &meta)?;
        }
        self.load(now, target)
    }

    /// Lock the file for a read-modify-write, waiting at most until
    /// `deadline` for a concurrent run of the same target.
    pub fn lock(&self, deadline: Instant) -> Result<Locked<'_>, HistoryError> {
        let lock = self.take_lock(deadline)?;
        Ok(Locked {
            file: self,
            _lock: lock,
        })
    }

    fn take_lock(&self, deadline: Instant) -> Result<File, HistoryError> {
        prepare_dir(&self.dir())?;
        let lock_path = self.lock_path();
        let lock = open_own_file(
            &lock_path,
            OpenOptions::new().read(true).write(true).create(true),
        )?;
        private(&lock, &lock_path)?;
        wait_for_lock(&lock, &lock_path, deadline)?;
        Ok(lock)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the saved state. A file that is unusable (damaged, of an unknown
    /// version) is treated as empty and will be replaced:
    /// `note` says so. A file of another target is an error.
    pub fn load(&self, now: u64, target: &str) -> Result<Loaded, HistoryError> {
        let Some(raw) = read_own_file(&self.path)? else {
            return Ok(Loaded {
                saved: Saved::default(),
                note: None,
                raw: None,
            });
        };
        let (saved, note) = match history(&raw, now, target, self.named) {
            Ok(Ok(saved)) => (saved, None),
            Ok(Err(why)) => {
                let note = format!(
                    "ignored state file {}: {why}; it will be replaced",
                    self.path.display()
                );
                let saved = Saved {
                    session: salvaged_session(&raw, target),
                    ..Saved::default()
                };
                (saved, Some(note))
            }
            Err(refusal) => return Err(self.refused(refusal, target)),
        };
        Ok(Loaded {
            saved,
            note,
            raw: Some(raw),
        })
    }

    /// The error for a refused file, naming it.
    fn refused(&self, refusal: Refusal, target: &str) -> HistoryError {
        let path = self.path.clone();
        match refusal {
            Refusal::Foreign(recorded) => HistoryError::Foreign {
                path,
                recorded,
                ours: target.to_string(),
            },
            Refusal::NotState => HistoryError::Unsafe {
                path,
                why: "it holds something other than this check's state; give --state-file a path of its own".into(),
            },
        }
    }

    /// Replace the file atomically: temporary file, fsync, rename, fsync dir.
    /// Returns the text written. Only the lock holder may (`Locked::save`).
    fn save(&self, saved: &Saved, target: &str, now: u64) -> Result<String, HistoryError> {
        let text = encode(saved, target, now);
        let tmp = sibling(&self.path, ".tmp");
        // Only the lock holder writes, so a fixed temporary name is safe; a
        // leftover from a killed run is removed, never followed.
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(io_error(&tmp, "remove stale temporary", e));
            }
            _ => {}
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io_error(&tmp, "create", e))?;
        if let Err(e) = private(&file, &tmp) {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(&self.path, "write", e))
            .and_then(|()| {
                fs::rename(&tmp, &self.path).map_err(|e| io_error(&self.path, "replace", e))
            });
        drop(file);
        if let Err(e) = written {
            // A full disk must not also keep a partial file lying about.
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Makes the rename itself durable; failure here loses nothing
            // that was not already at risk, so it is not an error.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(text)
    }
}

impl Locked<'_> {
    /// The file as it is now, under the lock (see `HistoryFile::load`).
    pub fn load(&self, now: u64, target: &str) -> Result<Loaded, HistoryError> {
        self.file.load(now, target)
    }

    pub fn save(&self, saved: &Saved, target: &str, now: u64) -> Result<String, HistoryError> {
        self.file.save(saved, target, now)
    }
}

/// 0600 whatever the umask: `mode(0o600)` at creation only takes bits
/// away, so a umask of 0277 would leave a file its next run cannot write.
fn private(file: &File, path: &Path) -> Result<(), HistoryError> {
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|e| io_error(path, "set the permissions of", e))
}

/// `name.json` -> `name.json.lock`, `.name.json.tmp`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if suffix == ".tmp" {
        format!(".{name}{suffix}")
    } else {
        format!("{name}{suffix}")
    };
    path.with_file_name(name)
}

fn wait_for_lock(lock: &File, path: &Path, deadline: Instant) -> Result<(), HistoryError> {
    let mut pause = Duration::from_millis(2);
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(HistoryError::LockTimeout {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_error(path, "lock", e)),
        }
    }
}

/// One file per target: readable name parts plus a hash of the exact key, so
/// that two targets differing only in characters replaced here never share.
pub fn file_name(target: &str) -> String {
    let readable: String = target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!(
        "gklm_backup_{readable}_{:016x}.json",
        fnv1a(target.as_bytes())
    )
}

/// FNV-1a: tiny, and stable across Rust releases (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The packaged directory when it belongs to the user running the check (the
/// package gives it to the monitoring user), else a private fallback. Root
/// running the check by hand thus never leaves root-owned files that would
/// lock the monitoring user out of the packaged directory.
pub fn default_dir() -> PathBuf {
    let packaged = Path::new(DEFAULT_DIR);
    match fs::symlink_metadata(packaged) {
        Ok(meta) if meta.is_dir() && meta.uid() == euid() => packaged.to_path_buf(),
        _ => private_fallback_dir(),
    }
}

/// `/var/tmp/check_gklm_backup-UID`: per effective user, so a directory first
/// made by root never locks out the monitoring user.
pub fn private_fallback_dir() -> PathBuf {
    PathBuf::from(format!("/var/tmp/check_gklm_backup-{}", euid()))
}

/// Create the directory (0700) if needed. Inside a world-writable parent such
/// as /var/tmp, anyone could have made it first: it must then be a real
/// directory of our own that nobody else can write to.
fn prepare_dir(dir: &Path) -> Result<(), HistoryError> {
    let existed = fs::symlink_metadata(dir).is_ok();
    match DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) => return Err(io_error(dir, "create directory of", e)),
    }
    if !existed {
        // As for files: the umask may have taken the owner's own bits.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_error(dir, "set the permissions of directory of", e))?;
    }
    let shared_parent = dir
        .parent()
        .and_then(|p| fs::metadata(p).ok())
        .is_some_and(|m| m.mode() & 0o002 != 0);
    if !shared_parent {
        return Ok(());
    }
    let meta = fs::symlink_metadata(dir).map_err(|e| io_error(dir, "inspect directory of", e))?;
    let why = if meta.file_type().is_symlink() {
        Some("its directory is a symlink in a world-writable directory".to_string())
    } else if meta.uid() != euid() {
        Some(format!(
            "its directory is owned by uid {}, not by uid {} running the check",
            meta.uid(),
            euid()
        ))
    } else if meta.mode() & 0o022 != 0 {
        Some("its directory in a world-writable directory is writable by others".to_string())
    } else {
        None
    };
    match why {
        Some(why) => Err(HistoryError::Unsafe {
            path: dir.to_path_buf(),
            why,
        }),
        None => Ok(()),
    }
}

/// Open a file that must be a plain file owned by us. The checks run on the
/// opened descriptor and the path together, so a symlink swapped in between
/// is noticed rather than followed into.
fn open_own_file(path: &Path, options: &mut OpenOptions) -> Result<File, HistoryError> {
    match open_checked(path, options)? {
        Opened::File(file) => Ok(file),
        Opened::Replaced => Err(replaced(path)),
    }
}

/// What `open_checked` found at the path.
enum Opened {
    File(File),
    /// Another file took the path between the open and the check.
    Replaced,
}

fn replaced(path: &Path) -> HistoryError {
    HistoryError::Unsafe {
        path: path.to_path_buf(),
        why: "it was replaced while being opened".into(),
    }
}

fn open_checked(path: &Path, options: &mut OpenOptions) -> Result<Opened, HistoryError> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        check_own(path, &meta)?;
    }
    let file = options
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(path, "open", e))?;
    let opened = file.metadata().map_err(|e| io_error(path, "inspect", e))?;
    let on_path = fs::symlink_metadata(path).map_err(|e| io_error(path, "inspect", e))?;
    check_own(path, &on_path)?;
    if (opened.dev(), opened.ino()) != (on_path.dev(), on_path.ino()) {
        return Ok(Opened::Replaced);
    }
    Ok(Opened::File(file))
}

fn check_own(path: &Path, meta: &fs::Metadata) -> Result<(), HistoryError> {
    let unsafe_because = |why: String| {
        Err(HistoryError::Unsafe {
            path: path.to_path_buf(),
            why,
        })
    };
    if meta.file_type().is_symlink() {
        return unsafe_because("it is a symlink (never followed); remove it".into());
    }
    if !meta.is_file() {
        return unsafe_because("it is not a regular file".into());
    }
    if meta.uid() != euid() {
        return unsafe_because(format!(
            "it is owned by uid {}, not by uid {} running the check; remove it or fix its owner",
            meta.uid(),
            euid()
        ));
    }
    Ok(())
}

/// How often a read opens the file again when another run's rename lands
/// between its open and its check; a file replaced more often than this
/// during one read is not another check at work.
const READ_ATTEMPTS: usize = 50;

/// The state file opened for reading. The read takes no lock, so another
/// run may rename its new file into place at any moment: that is how every
/// write lands, and the read simply opens the file again.
fn open_to_read(path: &Path) -> Result<File, HistoryError> {
    for _ in 0..READ_ATTEMPTS {
        if let Opened::File(file) = open_checked(path, OpenOptions::new().read(true))? {
            return Ok(file);
        }
    }
    Err(replaced(path))
}

fn read_own_file(path: &Path) -> Result<Option<String>, HistoryError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "inspect", e)),
        Ok(_) => {}
    }
    let file = open_to_read(path)?;
    // One read for a file of normal size, not a doubling series of small ones.
    let mut bytes = Vec::with_capacity(4096);
    file.take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, "read", e))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::record::tests::before;

    #[test]
    fn a_read_is_never_refused_for_another_runs_rename() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        fs::write(&path, "{}").unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let tmp = path.with_extension("tmp");
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    fs::write(&tmp, "{}").unwrap();
                    fs::rename(&tmp, &path).unwrap();
                }
            })
        };
        let refused = (0..20_000)
            .filter(|_| read_own_file(&path).is_err())
            .count();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert_eq!(refused, 0, "reads refused while another run renamed");
    }

    #[test]
    fn a_file_of_another_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::File(dir.path().join("s.json"));
        let deadline = Instant::now() + Duration::from_secs(5);
        let file = HistoryFile::locate(&location, "a:9443 auto u");
        let locked = file.lock(deadline).unwrap();
        locked.save(&before(), "a:9443 auto u", 100).unwrap();
        drop(locked);
        let err = file.load(100, "b:9443 auto u").unwrap_err();
        assert!(
            err.to_string()
                .contains("belongs to target 'a:9443 auto u'"),
            "{err}"
        );
        assert_eq!(file.read(100, "a:9443 auto u").unwrap().saved, before());
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        let a = file_name("gklm.example:9443 /SKLM monitor");
        assert!(
            a.starts_with("gklm_backup_gklm.example_9443__SKLM_monitor_"),
            "{a}"
        );
        assert!(a.ends_with(".json"));
        assert_ne!(a, file_name("gklm.example:9443 /SKLM monitor_"));
        assert!(!file_name("../../etc/passwd").contains('/'));
    }
}
