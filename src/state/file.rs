//! The state file: what earlier runs saw, the GKLM path prefix that worked and
//! the cached session id, kept per target as plain JSON.
//!
//! Safety rules, each for a reason:
//! - one lock file per target, held only around merging and writing, never
//!   across the exchange with GKLM, so one slow answer blocks no other check;
//!   the merge re-reads the file under the lock and applies this run's
//!   observation to what is there now, so concurrent runs lose no increment;
//! - read without the lock: the file is only ever replaced by a rename, so
//!   a reader sees the old or the new file whole; and a file that must be
//!   refused is refused before a lock file is created beside it;
//! - written to a temporary file, fsynced and renamed over the old one, so a
//!   killed run leaves the old or the new file, never a partial one;
//! - never follows a symlink and never uses a file owned by another user,
//!   so a file planted in a shared directory cannot be turned against us;
//! - a damaged, foreign-version or future-dated file counts as no history and
//!   is replaced, so one bad file cannot fail every later run;
//! - a file that records another target is never used and never overwritten,
//!   so one target's session id can never be sent to another host, nor one
//!   target's streak continue another's;
//! - a failed write leaves no temporary file, and the caller learns of it:
//!   history that cannot be kept must never freeze silently.
//!
//! The rule for what the next run remembers is `Saved::after_run`.

use std::collections::BTreeMap;
use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::evaluate::{Count, Observed, Sighting};
use crate::gklm::plausible_session_id;
use crate::secret::Secret;
use crate::target::Prefix;

/// 3 keeps per mode the shared sighting and a count per service; 2 (one
/// count per mode) and 1 (running only) are still read, their count left
/// for the first service that counts.
pub const FORMAT_VERSION: u64 = 3;

/// The packaged state directory; creating it is the package's job.
pub const DEFAULT_DIR: &str = "/var/lib/check_gklm_backup";

/// A file claiming to be written further in the future than this is damaged
/// (leaves room for a small clock step backwards).
const FUTURE_SLACK_SECS: u64 = 300;

/// A state file is a few hundred bytes; a larger one is not ours.
const MAX_SIZE: u64 = 64 * 1024;

/// Everything kept between runs for one target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Saved {
    /// Each counted condition, by mode name (`running`, `needed`).
    pub streaks: BTreeMap<String, Sighting>,
    pub prefix: Option<String>,
    pub session: Option<Secret>,
}

/// What one run learnt that the next may use.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Learnt {
    /// The prefix at which GKLM answered, if it answered.
    pub prefix: Option<String>,
    /// The session id still valid after the run, if it is to be cached.
    pub session: Option<Secret>,
    /// The session the file held when this run read it.
    pub started_with: Option<Secret>,
    /// What this run saw of its mode's condition, when GKLM's answer was
    /// read and the mode counts one.
    pub observation: Option<Observation>,
}

/// One service's observation of the condition its mode counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub mode: &'static str,
    /// The service's key: `--state-key`, else its thresholds and max-gap.
    pub service: String,
    pub seen: bool,
    pub max_gap: u64,
}

/// The state after a run, this run's streak in it, and a session of this
/// run that the file does not keep (to be logged out).
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    pub saved: Saved,
    pub observed: Option<Observed>,
    pub orphaned: Option<Secret>,
}

impl Saved {
    /// What the next run remembers, `self` being the file as it is now
    /// (other runs may have changed it since this one read it): the prefix
    /// that answered (else the one remembered, since a network failure
    /// proves nothing about it); this run's observation applied to its
    /// mode's sighting, only when this run read an answer, so a failed run
    /// neither extends nor breaks it; every other streak untouched; and the
    /// session by `merge_session`.
    pub fn after_run(&self, learnt: &Learnt, now: u64) -> Merged {
        let mut streaks = self.streaks.clone();
        let observed = learnt.observation.as_ref().map(|o| {
            let (sighting, observed) =
                Sighting::observe(self.streaks.get(o.mode), &o.service, o.seen, now, o.max_gap);
            // An ended streak is no entry, as in the file: so an unchanged
            // history compares equal and costs no write.
            match sighting {
                Some(sighting) => streaks.insert(o.mode.to_string(), sighting),
                None => streaks.remove(o.mode),
            };
            observed
        });
        let (session, orphaned) = merge_session(
            self.session.as_ref(),
            learnt.started_with.as_ref(),
            learnt.session.as_ref(),
        );
        Merged {
            saved: Saved {
                streaks,
                prefix: learnt.prefix.clone().or_else(|| self.prefix.clone()),
                session,
            },
            observed,
            orphaned,
        }
    }
}

/// The session the file keeps, and this run's session if the file does not
/// keep it. Unchanged since this run read it: this run's (a rejected or
/// logged-out one is dropped). Replaced by another run meanwhile: that one
/// stays, since runs may already be using it, and a session this run
/// logged in for itself is an orphan, to be logged out so that sessions do
/// not pile up in GKLM. Dropped meanwhile: this run's, if it has one.
fn merge_session(
    in_file: Option<&Secret>,
    started_with: Option<&Secret>,
    learnt: Option<&Secret>,
) -> (Option<Secret>, Option<Secret>) {
    match in_file {
        Some(theirs) if in_file != started_with => {
            let ours = learnt.filter(|s| Some(*s) != started_with && *s != theirs);
            (Some(theirs.clone()), ours.cloned())
        }
        _ => (learnt.cloned(), None),
    }
}

/// What `StateFile::load` found.
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
pub enum StateError {
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

impl std::error::Error for StateError {}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Io {
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
            StateError::Unsafe { path, why } => {
                write!(f, "refusing to use state file {}: {why}", path.display())
            }
            StateError::LockTimeout { path } => {
                write!(
                    f,
                    "another check of this target held the lock {} for the whole timeout",
                    path.display()
                )
            }
            StateError::Foreign {
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

fn io_error(path: &Path, action: &'static str, error: io::Error) -> StateError {
    StateError::Io {
        path: path.to_path_buf(),
        action,
        error: error.to_string(),
    }
}

/// The state file of one target: where it is, and whether the user named
/// it. Reading needs no lock; changing it does (`lock`).
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    /// Named by the user (`--state-file`), not one of ours in a directory.
    named: bool,
}

/// The state file, locked for a read-modify-write. The lock is released
/// when this is dropped (or the process ends, however it ends).
#[derive(Debug)]
pub struct Locked<'a> {
    file: &'a StateFile,
    _lock: File,
}

impl StateFile {
    /// Where the state file for `target` is.
    pub fn locate(location: &Location, target: &str) -> StateFile {
        let name = file_name(target);
        let (path, named) = match location {
            Location::File(path) => (path.clone(), true),
            Location::Dir(dir) => (dir.join(&name), false),
            Location::Default => (default_dir().join(&name), false),
        };
        StateFile { path, named }
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
    pub fn read(&self, now: u64, target: &str) -> Result<Loaded, StateError> {
        prepare_dir(&self.dir())?;
        let lock_path = self.lock_path();
        if let Ok(meta) = fs::symlink_metadata(&lock_path) {
            check_own(&lock_path, &meta)?;
        }
        self.load(now, target)
    }

    /// Lock the file for a read-modify-write, waiting at most until
    /// `deadline` for a concurrent run of the same target.
    pub fn lock(&self, deadline: Instant) -> Result<Locked<'_>, StateError> {
        let lock = self.take_lock(deadline)?;
        Ok(Locked {
            file: self,
            _lock: lock,
        })
    }

    fn take_lock(&self, deadline: Instant) -> Result<File, StateError> {
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
    /// version, future-dated) is treated as empty and will be replaced:
    /// `note` says so. A file of another target is an error.
    pub fn load(&self, now: u64, target: &str) -> Result<Loaded, StateError> {
        let Some(raw) = read_own_file(&self.path)? else {
            return Ok(Loaded {
                saved: Saved::default(),
                note: None,
                raw: None,
            });
        };
        let (saved, note) = match decode(&raw, now) {
            Ok((recorded, _)) if recorded != target => {
                return Err(StateError::Foreign {
                    path: self.path.clone(),
                    recorded,
                    ours: target.to_string(),
                });
            }
            Ok((_, saved)) => (saved, None),
            Err(why) => {
                self.replaceable(&raw, target)?;
                let note = format!(
                    "ignored state file {}: {why}; it will be replaced",
                    self.path.display()
                );
                (Saved::default(), Some(note))
            }
        };
        Ok(Loaded {
            saved,
            note,
            raw: Some(raw),
        })
    }

    /// Whether a file that cannot be used may be replaced: not when it still
    /// names another target (its owner would lose it), and not when the
    /// user named a file that holds something else entirely (a password
    /// file given as --state-file by mistake, say). Damaged files of ours,
    /// empty files and files in our own directory are replaced.
    fn replaceable(&self, raw: &str, target: &str) -> Result<(), StateError> {
        let value = serde_json::from_str::<Value>(raw).ok();
        let object = value.as_ref().and_then(Value::as_object);
        if let Some(recorded) = object.and_then(|m| m.get("target")).and_then(Value::as_str)
            && recorded != target
        {
            return Err(StateError::Foreign {
                path: self.path.clone(),
                recorded: recorded.to_string(),
                ours: target.to_string(),
            });
        }
        let looks_ours = object.is_some_and(|m| m.contains_key("version"));
        if self.named && !looks_ours && !raw.trim().is_empty() {
            return Err(StateError::Unsafe {
                path: self.path.clone(),
                why: "it holds something other than this check's state; give --state-file a path of its own".into(),
            });
        }
        Ok(())
    }

    /// Replace the file atomically: temporary file, fsync, rename, fsync dir.
    /// Returns the text written. Only the lock holder may (`Locked::save`).
    fn save(&self, saved: &Saved, target: &str, now: u64) -> Result<String, StateError> {
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
    /// The file as it is now, under the lock (see `StateFile::load`).
    pub fn load(&self, now: u64, target: &str) -> Result<Loaded, StateError> {
        self.file.load(now, target)
    }

    pub fn save(&self, saved: &Saved, target: &str, now: u64) -> Result<String, StateError> {
        self.file.save(saved, target, now)
    }
}

/// 0600 whatever the umask: `mode(0o600)` at creation only takes bits
/// away, so a umask of 0277 would leave a file its next run cannot write.
fn private(file: &File, path: &Path) -> Result<(), StateError> {
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

fn wait_for_lock(lock: &File, path: &Path, deadline: Instant) -> Result<(), StateError> {
    let mut pause = Duration::from_millis(2);
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(StateError::LockTimeout {
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
fn prepare_dir(dir: &Path) -> Result<(), StateError> {
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
        Some(why) => Err(StateError::Unsafe {
            path: dir.to_path_buf(),
            why,
        }),
        None => Ok(()),
    }
}

/// Open a file that must be a plain file owned by us. The checks run on the
/// opened descriptor and the path together, so a symlink swapped in between
/// is noticed rather than followed into.
fn open_own_file(path: &Path, options: &mut OpenOptions) -> Result<File, StateError> {
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
        return Err(StateError::Unsafe {
            path: path.to_path_buf(),
            why: "it was replaced while being opened".into(),
        });
    }
    Ok(file)
}

fn check_own(path: &Path, meta: &fs::Metadata) -> Result<(), StateError> {
    let unsafe_because = |why: String| {
        Err(StateError::Unsafe {
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

fn read_own_file(path: &Path) -> Result<Option<String>, StateError> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "inspect", e)),
        Ok(_) => {}
    }
    let file = open_own_file(path, OpenOptions::new().read(true))?;
    // One read for a file of normal size, not a doubling series of small ones.
    let mut bytes = Vec::with_capacity(4096);
    file.take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, "read", e))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

fn encode(saved: &Saved, target: &str, now: u64) -> String {
    let count = |c: &Count| json!({ "checks": c.checks, "last": c.last });
    let streaks: serde_json::Map<String, Value> = saved
        .streaks
        .iter()
        .map(|(mode, s)| {
            let services: serde_json::Map<String, Value> = s
                .counts
                .iter()
                .map(|(key, c)| (key.clone(), count(c)))
                .collect();
            let mut value = json!({ "since": s.since, "last": s.last, "services": services });
            if let Some(c) = &s.unclaimed {
                value["unclaimed"] = count(c);
            }
            (mode.clone(), value)
        })
        .collect();
    let value = json!({
        "version": FORMAT_VERSION,
        "target": target,
        "updated": now,
        "streaks": streaks,
        "prefix": saved.prefix,
        "session": saved.session.as_ref().map(Secret::expose),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Parse a state file into the target it records and what it keeps; any
/// doubt about it is an error, so that the caller starts afresh rather than
/// acting on a misread history.
pub fn decode(text: &str, now: u64) -> Result<(String, Saved), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    let map = value.as_object().ok_or("not a JSON object")?;
    let version = format_version(map.get("version"))?;
    if !matches!(version, Some(1 | 2 | FORMAT_VERSION)) {
        return Err(match version {
            Some(v) => format!("unknown format version {v}"),
            None => "no format version".into(),
        });
    }
    let updated = map
        .get("updated")
        .and_then(Value::as_u64)
        .ok_or("no 'updated' time")?;
    if updated > now.saturating_add(FUTURE_SLACK_SECS) {
        return Err(format!(
            "written in the future (updated {updated}, now {now})"
        ));
    }
    let target = map
        .get("target")
        .and_then(Value::as_str)
        .ok_or("no 'target'")?
        .to_string();
    let streaks = match version {
        // Version 1 kept only `running`; its last write was its last
        // observation.
        Some(1) => {
            let streak =
                decode_old_streak(map, "running_checks", "running_since", Some(updated), now)?;
            streak
                .map(|s| ("running".to_string(), s))
                .into_iter()
                .collect()
        }
        Some(2) => {
            let mut streaks = BTreeMap::new();
            for (mode, fields) in objects(map, "streaks")? {
                let last = optional_time(fields, "last")
                    .map_err(|why| format!("streak '{mode}': {why}"))?;
                let streak = decode_old_streak(fields, "checks", "since", last, now)
                    .map_err(|why| format!("streak '{mode}': {why}"))?;
                if let Some(streak) = streak {
                    streaks.insert(mode.clone(), streak);
                }
            }
            streaks
        }
        _ => {
            let mut streaks = BTreeMap::new();
            for (mode, fields) in objects(map, "streaks")? {
                let sighting = decode_sighting(fields, now)
                    .map_err(|why| format!("streak '{mode}': {why}"))?;
                streaks.insert(mode.clone(), sighting);
            }
            streaks
        }
    };
    let text_field = |name: &str| {
        map.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let prefix = text_field("prefix").and_then(|p| Prefix::fixed(&p));
    let session = text_field("session")
        .filter(|s| plausible_session_id(s))
        .map(Secret::new);
    Ok((
        target,
        Saved {
            streaks,
            prefix,
            session,
        },
    ))
}

/// The format version as written: `2` or, from a hand edit or another JSON
/// writer, `2.0`. Anything else there is damage, not a missing version.
fn format_version(value: Option<&Value>) -> Result<Option<u64>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(v) = value.as_u64() {
        return Ok(Some(v));
    }
    match value.as_f64() {
        Some(v) if v.fract() == 0.0 && (0.0..=1e9).contains(&v) => Ok(Some(v as u64)),
        _ => Err(format!("format version {value} is not a whole number")),
    }
}

type Fields = serde_json::Map<String, Value>;

/// The members of the object `name`, each an object itself.
fn objects<'a>(map: &'a Fields, name: &str) -> Result<Vec<(&'a String, &'a Fields)>, String> {
    let Some(Value::Object(members)) = map.get(name) else {
        return Err(format!("no '{name}'"));
    };
    members
        .iter()
        .map(|(key, value)| match value {
            Value::Object(fields) => Ok((key, fields)),
            _ => Err(format!("'{key}' in '{name}' is not an object")),
        })
        .collect()
}

fn optional_time(map: &serde_json::Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or(format!("'{name}' is not a time")),
    }
}

fn time(map: &serde_json::Map<String, Value>, name: &str, now: u64) -> Result<u64, String> {
    let t = optional_time(map, name)?.ok_or(format!("no '{name}'"))?;
    if t > now.saturating_add(FUTURE_SLACK_SECS) {
        return Err(format!("'{name}' is in the future"));
    }
    Ok(t)
}

/// A version 3 sighting: `since`, `last`, a count per service and perhaps
/// the unclaimed count of an older file.
fn decode_sighting(map: &serde_json::Map<String, Value>, now: u64) -> Result<Sighting, String> {
    let count = |fields: &serde_json::Map<String, Value>| -> Result<Count, String> {
        let checks = fields
            .get("checks")
            .and_then(Value::as_u64)
            .filter(|&c| c > 0)
            .ok_or("no 'checks' above 0")?;
        Ok(Count {
            checks,
            last: time(fields, "last", now)?,
        })
    };
    let mut counts = BTreeMap::new();
    for (service, fields) in objects(map, "services")? {
        counts.insert(
            service.clone(),
            count(fields).map_err(|why| format!("service '{service}': {why}"))?,
        );
    }
    let unclaimed = match map.get("unclaimed") {
        None | Some(Value::Null) => None,
        Some(Value::Object(fields)) => {
            Some(count(fields).map_err(|why| format!("'unclaimed': {why}"))?)
        }
        Some(_) => return Err("'unclaimed' is not an object".into()),
    };
    Ok(Sighting {
        since: time(map, "since", now)?,
        last: time(map, "last", now)?,
        counts,
        unclaimed,
    })
}

/// A streak of version 1 or 2, one count per mode: its times become the
/// shared sighting, its count is left for the first service that counts
/// (with one service per mode, as most have, it simply goes on). None for
/// a streak that had ended.
fn decode_old_streak(
    map: &serde_json::Map<String, Value>,
    checks: &str,
    since: &str,
    last: Option<u64>,
    now: u64,
) -> Result<Option<Sighting>, String> {
    let count = map
        .get(checks)
        .and_then(Value::as_u64)
        .ok_or(format!("no '{checks}'"))?;
    let start = optional_time(map, since)?;
    let future = |t: Option<u64>| t.is_some_and(|t| t > now.saturating_add(FUTURE_SLACK_SECS));
    if future(start) || future(last) {
        return Err(format!("'{since}' is in the future"));
    }
    if (count > 0) != start.is_some() {
        return Err(format!("'{checks}' and '{since}' disagree"));
    }
    Ok(start.map(|start| {
        // A file without `last` knows only when the streak began.
        let last = last.unwrap_or(start).max(start);
        Sighting {
            since: start,
            last,
            counts: BTreeMap::new(),
            unclaimed: Some(Count {
                checks: count,
                last,
            }),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "h:9443 auto monitor";

    const A: &str = "-w 3 --max-gap 86400";
    const B: &str = "--critical-time 14400 --max-gap 86400";

    /// A sighting with these services' counts.
    fn sighting(since: u64, last: u64, counts: &[(&str, u64, u64)]) -> Sighting {
        Sighting {
            since,
            last,
            counts: counts
                .iter()
                .map(|&(key, checks, last)| (key.to_string(), Count { checks, last }))
                .collect(),
            unclaimed: None,
        }
    }

    /// What an older file's streak becomes: its count unclaimed.
    fn inherited(checks: u64, since: u64, last: u64) -> Sighting {
        Sighting {
            unclaimed: Some(Count { checks, last }),
            ..sighting(since, last, &[])
        }
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let saved = Saved {
            streaks: BTreeMap::from([
                (
                    "running".to_string(),
                    sighting(1000, 1600, &[(A, 3, 1600), (B, 2, 1300)]),
                ),
                ("needed".to_string(), inherited(1, 1900, 1900)),
            ]),
            prefix: Some("/GKLM".into()),
            session: Some(Secret::new("sess-roundtrip".into())),
        };
        let text = encode(&saved, TARGET, 2000);
        assert_eq!(decode(&text, 2000).unwrap(), (TARGET.to_string(), saved));
    }

    #[test]
    fn version_1_files_are_read_as_the_running_streak() {
        let v1 = r#"{"version":1,"target":"t","updated":1600,"running_checks":3,"running_since":1000,"prefix":"/SKLM"}"#;
        let (target, saved) = decode(v1, 2000).unwrap();
        assert_eq!(target, "t");
        assert_eq!(saved.streaks["running"], inherited(3, 1000, 1600));
        assert_eq!(saved.prefix.as_deref(), Some("/SKLM"));
    }

    #[test]
    fn version_2_streaks_become_the_shared_sighting_with_their_count_unclaimed() {
        let v2 = r#"{"version":2,"target":"t","updated":1600,"streaks":{
            "running":{"checks":3,"since":1000,"last":1500},
            "needed":{"checks":2,"since":900},
            "gone":{"checks":0,"since":null,"last":null}},"session":"sess-v2"}"#;
        let (_, saved) = decode(v2, 2000).unwrap();
        assert_eq!(
            saved.streaks,
            BTreeMap::from([
                ("running".to_string(), inherited(3, 1000, 1500)),
                ("needed".to_string(), inherited(2, 900, 900)),
            ])
        );
        assert_eq!(saved.session.unwrap().expose(), "sess-v2");
    }

    #[test]
    fn doubtful_version_3_files_are_rejected() {
        let ok = r#"{"version":3,"target":"t","updated":100,"streaks":{"running":{"since":1,"last":2,"services":{"k":{"checks":1,"last":2}}}}}"#;
        assert!(decode(ok, 100).is_ok());
        for (streak, why) in [
            (r#"{"last":2,"services":{}}"#, "no 'since'"),
            (r#"{"since":1,"last":2}"#, "no 'services'"),
            (
                r#"{"since":1,"last":99999,"services":{}}"#,
                "'last' is in the future",
            ),
            (
                r#"{"since":1,"last":2,"services":{"k":{"checks":0,"last":2}}}"#,
                "service 'k': no 'checks' above 0",
            ),
            (
                r#"{"since":1,"last":2,"services":{"k":{"checks":1}}}"#,
                "service 'k': no 'last'",
            ),
            (
                r#"{"since":1,"last":2,"services":{"k":3}}"#,
                "'k' in 'services' is not an object",
            ),
            (
                r#"{"since":1,"last":2,"services":{},"unclaimed":5}"#,
                "'unclaimed' is not an object",
            ),
            (
                r#"{"since":"x","last":2,"services":{}}"#,
                "'since' is not a time",
            ),
            (r#"7"#, "'running' in 'streaks' is not an object"),
        ] {
            let text = format!(
                r#"{{"version":3,"target":"t","updated":1,"streaks":{{"running":{streak}}}}}"#
            );
            let err = decode(&text, 100).expect_err(&text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn doubtful_files_are_rejected() {
        let ok = r#"{"version":2,"target":"t","updated":100,"streaks":{}}"#;
        assert!(decode(ok, 100).is_ok());
        for (text, why) in [
            ("", "JSON"),
            ("{\"version\":2", "JSON"),
            ("[]", "object"),
            (
                r#"{"version":4,"target":"t","updated":1,"streaks":{}}"#,
                "version 4",
            ),
            (
                r#"{"target":"t","updated":1,"streaks":{}}"#,
                "no format version",
            ),
            (r#"{"version":2,"updated":1,"streaks":{}}"#, "target"),
            (
                r#"{"version":2,"target":"t","updated":99999999,"streaks":{}}"#,
                "future",
            ),
            (r#"{"version":2,"target":"t","updated":1}"#, "streaks"),
            (
                r#"{"version":2,"target":"t","updated":1,"streaks":{"running":{"checks":-1}}}"#,
                "checks",
            ),
            (
                r#"{"version":2,"target":"t","updated":1,"streaks":{"running":{"checks":2,"since":null}}}"#,
                "disagree",
            ),
            (
                r#"{"version":2,"target":"t","updated":1,"streaks":{"x":{"checks":1,"since":1,"last":99999}}}"#,
                "future",
            ),
            (
                r#"{"version":1,"target":"t","updated":1,"running_checks":2,"running_since":null}"#,
                "disagree",
            ),
            (
                r#"{"version":2,"target":"t","updated":1,"streaks":{"x":{"checks":1,"since":1,"last":"x"}}}"#,
                "'last' is not a time",
            ),
        ] {
            let err = decode(text, 100).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn a_version_written_as_a_float_is_that_version_or_damage() {
        let v2 = r#"{"version":2.0,"target":"t","updated":1,"streaks":{}}"#;
        assert_eq!(decode(v2, 100).unwrap().0, "t");
        for (version, why) in [
            ("2.5", "2.5 is not a whole number"),
            ("\"2\"", "\"2\" is not a whole number"),
            ("-1", "-1 is not a whole number"),
            ("null", "null is not a whole number"),
            ("4.0", "unknown format version 4"),
        ] {
            let text =
                format!(r#"{{"version":{version},"target":"t","updated":1,"streaks":{{}}}}"#);
            let err = decode(&text, 100).expect_err(&text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn an_unusable_prefix_or_session_is_dropped_not_trusted() {
        let text = r#"{"version":2,"target":"t","updated":1,"streaks":{},"prefix":"/../x","session":"a b"}"#;
        let (_, saved) = decode(text, 100).unwrap();
        assert_eq!((saved.prefix, saved.session), (None, None));
    }

    fn before() -> Saved {
        Saved {
            streaks: BTreeMap::from([
                ("running".to_string(), sighting(10, 20, &[(A, 2, 20)])),
                ("needed".to_string(), sighting(1, 20, &[(B, 5, 20)])),
            ]),
            prefix: Some("/SKLM".into()),
            session: Some(Secret::new("old-session-1".into())),
        }
    }

    fn secret(id: &str) -> Option<Secret> {
        Some(Secret::new(id.into()))
    }

    fn observation(mode: &'static str, service: &str, seen: bool) -> Option<Observation> {
        Some(Observation {
            mode,
            service: service.into(),
            seen,
            max_gap: 86_400,
        })
    }

    #[test]
    fn an_answer_updates_only_its_modes_streak() {
        let next = before().after_run(
            &Learnt {
                prefix: Some("/GKLM".into()),
                session: secret("new-session-2"),
                started_with: secret("old-session-1"),
                observation: observation("running", A, false),
            },
            30,
        );
        assert!(
            !next.saved.streaks.contains_key("running"),
            "an ended streak is no entry"
        );
        assert_eq!(next.saved.streaks["needed"], before().streaks["needed"]);
        assert_eq!(next.saved.prefix.as_deref(), Some("/GKLM"));
        assert_eq!(next.saved.session.unwrap().expose(), "new-session-2");
        assert_eq!(next.orphaned, None);
    }

    #[test]
    fn an_observation_counts_on_from_what_the_file_holds_now() {
        // Read at 15 (count 1), asked GKLM; meanwhile runs of A and B
        // brought the file to what `before` holds.
        let learnt = Learnt {
            started_with: secret("old-session-1"),
            session: secret("old-session-1"),
            observation: observation("running", A, true),
            ..Learnt::default()
        };
        let next = before().after_run(&learnt, 18);
        assert_eq!(next.observed.unwrap().streak.checks, 3);
        assert_eq!(
            next.saved.streaks["running"],
            sighting(10, 20, &[(A, 3, 20)]),
            "since kept, last the later"
        );
        let next = next.saved.after_run(
            &Learnt {
                observation: observation("running", B, true),
                ..learnt
            },
            25,
        );
        assert_eq!(next.observed.unwrap().streak.checks, 1, "B's own count");
        assert_eq!(
            next.saved.streaks["running"],
            sighting(10, 25, &[(A, 3, 20), (B, 1, 25)])
        );
    }

    #[test]
    fn a_failed_run_keeps_prefix_and_streaks_and_drops_the_session() {
        let learnt = Learnt {
            started_with: secret("old-session-1"),
            ..Learnt::default()
        };
        let next = before().after_run(&learnt, 30);
        assert_eq!(next.saved.streaks, before().streaks);
        assert_eq!(next.saved.prefix.as_deref(), Some("/SKLM"));
        assert_eq!((next.saved.session, next.orphaned), (None, None));
    }

    #[test]
    fn two_runs_that_logged_in_at_once_keep_the_first_session_and_orphan_the_other() {
        // Both read no session and logged in; the first to merge stored its
        // own, so the second keeps that one and logs its own out.
        let file_now = Saved {
            session: secret("first-1"),
            ..before()
        };
        let learnt = Learnt {
            session: secret("second-2"),
            started_with: None,
            ..Learnt::default()
        };
        let next = file_now.after_run(&learnt, 30);
        assert_eq!(next.saved.session, secret("first-1"));
        assert_eq!(next.orphaned, secret("second-2"));
        // The cached session this run reused is never its to log out.
        let reused = Learnt {
            session: secret("old-session-1"),
            started_with: secret("old-session-1"),
            ..Learnt::default()
        };
        let next = file_now.after_run(&reused, 30);
        assert_eq!(
            (next.saved.session, next.orphaned),
            (secret("first-1"), None)
        );
        // A session another run dropped meanwhile is replaced by ours.
        let dropped = Saved {
            session: None,
            ..before()
        };
        let next = dropped.after_run(&reused, 30);
        assert_eq!(
            (next.saved.session, next.orphaned),
            (secret("old-session-1"), None)
        );
        // Unchanged meanwhile: a fresh login replaces the rejected one.
        let fresh = Learnt {
            session: secret("fresh-3"),
            started_with: secret("old-session-1"),
            ..Learnt::default()
        };
        let next = before().after_run(&fresh, 30);
        assert_eq!(
            (next.saved.session, next.orphaned),
            (secret("fresh-3"), None)
        );
    }

    #[test]
    fn a_file_of_another_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::File(dir.path().join("s.json"));
        let deadline = Instant::now() + Duration::from_secs(5);
        let file = StateFile::locate(&location, "a:9443 auto u");
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
