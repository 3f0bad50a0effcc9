//! The per-target state: what earlier runs saw, the GKLM path prefix that
//! worked and the cached session id, kept as plain JSON. [`sighting`] is
//! what is kept of a streak and how one more run changes it; [`record`] owns
//! what is kept and the rule for what the next run remembers, pure;
//! [`file`](mod@file) owns the file around it: where it is, the lock, the
//! atomic write and the checks that refuse a file that is not ours. The
//! module must never let one target's file serve another, never act on a
//! history it doubts, and never let history that cannot be kept freeze
//! silently.

pub mod file;
pub mod record;
pub mod sighting;

pub use file::{
    DEFAULT_DIR, HistoryError, HistoryFile, Loaded, Location, Locked, default_dir, euid, file_name,
    private_fallback_dir,
};
pub use record::{FORMAT_VERSION, Learnt, Merged, Observation, Saved, decode};
