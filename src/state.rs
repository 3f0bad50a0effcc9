//! The state file: what earlier runs saw, the GKLM path prefix that worked and
//! the cached session id, kept per target as plain JSON.
//!
//! Safety rules, each for a reason:
//! - one lock file per target, held for the whole run, so concurrent runs
//!   cannot lose an increment or race each other into GKLM logins;
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

use crate::evaluate::Streak;
use crate::gklm::plausible_session_id;
use crate::secret::Secret;
use crate::target::Prefix;

/// 2 keeps one streak per mode; 1 (running only) is still read.
pub const FORMAT_VERSION: u64 = 2;

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
    /// Each mode's streak, by mode name.
    pub streaks: BTreeMap<String, Streak>,
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
    /// The mode and its streak after this run's observation, when GKLM's
    /// answer was read.
    pub streak: Option<(&'static str, Streak)>,
}

impl Saved {
    /// What the next run remembers: the prefix that answered (else the one
    /// remembered before, since a network failure proves nothing about
    /// it); the session that is still valid, and no other (a rejected or
    /// logged-out one is dropped); a mode's streak only when this run read
    /// an answer, so a failed run neither extends nor breaks it; every
    /// other mode's streak untouched.
    pub fn after_run(&self, learnt: Learnt) -> Saved {
        let mut streaks = self.streaks.clone();
        match learnt.streak {
            // An ended streak is no entry, as in the file: so an unchanged
            // history compares equal and costs no write.
            Some((mode, streak)) if streak.checks == 0 => {
                streaks.remove(mode);
            }
            Some((mode, streak)) => {
                streaks.insert(mode.to_string(), streak);
            }
            None => {}
        }
        Saved {
            streaks,
            prefix: learnt.prefix.or_else(|| self.prefix.clone()),
            session: learnt.session,
        }
    }

    pub fn streak(&self, mode: &str) -> Streak {
        self.streaks.get(mode).copied().unwrap_or_default()
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

/// An open, locked state file. The lock is released when this is dropped
/// (or the process ends, however it ends).
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    /// Named by the user (`--state-file`), not one of ours in a directory.
    named: bool,
    _lock: File,
}

impl StateFile {
    /// Find the state file for `target` and lock it, waiting at most until
    /// `deadline` for a concurrent run of the same target.
    pub fn open(
        location: &Location,
        target: &str,
        deadline: Instant,
    ) -> Result<StateFile, StateError> {
        let name = file_name(target);
        match location {
            Location::File(path) => Self::open_at(path.clone(), true, deadline),
            Location::Dir(dir) => Self::open_at(dir.join(&name), false, deadline),
            Location::Default => Self::open_at(default_dir().join(&name), false, deadline),
        }
    }

    fn open_at(path: PathBuf, named: bool, deadline: Instant) -> Result<StateFile, StateError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        prepare_dir(&dir)?;
        let lock_path = sibling(&path, ".lock");
        let lock = open_own_file(
            &lock_path,
            OpenOptions::new().read(true).write(true).create(true),
        )?;
        private(&lock, &lock_path)?;
        wait_for_lock(&lock, &lock_path, deadline)?;
        Ok(StateFile {
            path,
            named,
            _lock: lock,
        })
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
    /// Returns the text written.
    pub fn save(&self, saved: &Saved, target: &str, now: u64) -> Result<String, StateError> {
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
    let streaks: serde_json::Map<String, Value> = saved
        .streaks
        .iter()
        .filter(|(_, streak)| streak.checks > 0)
        .map(|(mode, s)| {
            let value = json!({ "checks": s.checks, "since": s.since, "last": s.last });
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
    if !matches!(version, Some(1 | FORMAT_VERSION)) {
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
    let streaks = if version == Some(1) {
        // Version 1 kept only `running`; its last write was its last
        // observation.
        let streak = decode_streak(map, "running_checks", "running_since", Some(updated), now)?;
        BTreeMap::from([("running".to_string(), streak)])
    } else {
        let Some(Value::Object(modes)) = map.get("streaks") else {
            return Err("no 'streaks'".into());
        };
        let mut streaks = BTreeMap::new();
        for (mode, value) in modes {
            let fields = value
                .as_object()
                .ok_or(format!("streak '{mode}' is not an object"))?;
            let last = match fields.get("last") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64()
                        .ok_or(format!("streak '{mode}': 'last' is not a time"))?,
                ),
            };
            let streak = decode_streak(fields, "checks", "since", last, now)
                .map_err(|why| format!("streak '{mode}': {why}"))?;
            streaks.insert(mode.clone(), streak);
        }
        streaks
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

fn decode_streak(
    map: &serde_json::Map<String, Value>,
    checks: &str,
    since: &str,
    last: Option<u64>,
    now: u64,
) -> Result<Streak, String> {
    let count = map
        .get(checks)
        .and_then(Value::as_u64)
        .ok_or(format!("no '{checks}'"))?;
    let start = match map.get(since) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or(format!("'{since}' is not a time"))?),
    };
    let future = |t: Option<u64>| t.is_some_and(|t| t > now.saturating_add(FUTURE_SLACK_SECS));
    if future(start) || future(last) {
        return Err(format!("'{since}' is in the future"));
    }
    if (count > 0) != start.is_some() {
        return Err(format!("'{checks}' and '{since}' disagree"));
    }
    Ok(Streak {
        checks: count,
        since: start,
        last: last.filter(|_| count > 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "h:9443 auto monitor";

    fn streak(checks: u64, since: u64, last: u64) -> Streak {
        Streak {
            checks,
            since: Some(since),
            last: Some(last),
        }
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let saved = Saved {
            streaks: BTreeMap::from([
                ("running".to_string(), streak(3, 1000, 1600)),
                ("needed".to_string(), streak(1, 1900, 1900)),
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
        assert_eq!(saved.streak("running"), streak(3, 1000, 1600));
        assert_eq!(saved.prefix.as_deref(), Some("/SKLM"));
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
                r#"{"version":3,"target":"t","updated":1,"streaks":{}}"#,
                "version 3",
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
            ("3.0", "unknown format version 3"),
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
                ("running".to_string(), streak(2, 10, 20)),
                ("needed".to_string(), streak(5, 1, 20)),
            ]),
            prefix: Some("/SKLM".into()),
            session: Some(Secret::new("old-session-1".into())),
        }
    }

    #[test]
    fn an_answer_updates_only_its_modes_streak() {
        let next = before().after_run(Learnt {
            prefix: Some("/GKLM".into()),
            session: Some(Secret::new("new-session-2".into())),
            streak: Some(("running", Streak::default())),
        });
        assert_eq!(next.streak("running"), Streak::default());
        assert!(
            !next.streaks.contains_key("running"),
            "an ended streak is no entry"
        );
        assert_eq!(next.streak("needed"), streak(5, 1, 20));
        assert_eq!(next.prefix.as_deref(), Some("/GKLM"));
        assert_eq!(next.session.unwrap().expose(), "new-session-2");
    }

    #[test]
    fn a_failed_run_keeps_prefix_and_streaks_and_drops_the_session() {
        let next = before().after_run(Learnt::default());
        assert_eq!(next.streaks, before().streaks);
        assert_eq!(next.prefix.as_deref(), Some("/SKLM"));
        assert_eq!(next.session, None);
    }

    #[test]
    fn a_file_of_another_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::File(dir.path().join("s.json"));
        let deadline = Instant::now() + Duration::from_secs(5);
        let file = StateFile::open(&location, "a:9443 auto u", deadline).unwrap();
        file.save(&before(), "a:9443 auto u", 100).unwrap();
        let err = file.load(100, "b:9443 auto u").unwrap_err();
        assert!(
            err.to_string()
                .contains("belongs to target 'a:9443 auto u'"),
            "{err}"
        );
        assert_eq!(file.load(100, "a:9443 auto u").unwrap().saved, before());
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
