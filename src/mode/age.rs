//! `--mode age`: how old is the newest backup? `GET .../ckms/backups`
//! (optionally `backupDirectory=DIR`). IBM documents the entries' fields but
//! neither the body's shape nor the format of `timestamp`, so both are read
//! liberally, and what cannot be read is quoted rather than guessed.

use serde_json::{Value, json};

use crate::gklm::api::{Endpoint, brief, message_ids};
use crate::gklm::json::{Body, List, ListEntry, ListShape};
use crate::gklm::transport::BodyLimit;
use crate::mode::kind::{Answer, History, Kind, ModeOptions, Question};
use crate::mode::reader::{self, Code, Every, Vocabulary};
use crate::mode::threshold::Thresholds;
use crate::mode::threshold::{check_order, human_duration};
use crate::mode::timestamp::{self, Unread};
use crate::mode::zone::Zone;
use crate::output::report::{Metric, Report};
use crate::output::state::State;

pub const KIND: Kind = Kind {
    name: "age",
    fields: &["backup_age", "backups", "newest_backup"],
    options: &[
        "--warning-time",
        "--critical-time",
        "--backup-dir",
        "--time-zone",
    ],
    vocabulary: &VOCABULARY,
    build,
};

/// An age needs a limit: without one, every list would be OK.
fn build(options: &ModeOptions) -> Result<Box<dyn Question>, String> {
    let thresholds = options.thresholds.clone();
    if !thresholds.any_time() {
        return Err(
            "--mode age needs --warning-time or --critical-time (for example --critical-time 2d)"
                .into(),
        );
    }
    check_order(
        None,
        None,
        thresholds.warning_time,
        thresholds.critical_time,
    )
    .map_err(|e| e.to_string())?;
    Ok(Box::new(Age {
        thresholds,
        backup_dir: options.backup_dir.clone(),
        time_zone: options.time_zone.clone(),
    }))
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Age {
    /// `--warning-time` / `--critical-time` on the newest backup's age.
    pub thresholds: Thresholds,
    /// `--backup-dir`: GKLM's `backupDirectory` parameter.
    pub backup_dir: Option<String>,
    /// `--time-zone`: where a time written without a zone is read.
    pub time_zone: Option<Zone>,
}

/// The backups GKLM listed, as far as their times could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub backups: usize,
    /// The creation times that could be read (Unix seconds).
    pub times: Vec<u64>,
    /// The raw time of the first entry whose time could not be read.
    pub unreadable: Option<String>,
    /// The newest entry whose status says it is no finished backup.
    pub unfinished: Option<Doubtful>,
    /// The newest entry whose status the check cannot classify.
    pub unclassified: Option<Doubtful>,
}

/// An entry that is not counted as a backup, with its time and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doubtful {
    pub time: u64,
    pub status: String,
}

/// What an entry's `status` says of the backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Finished {
    Yes,
    /// A failure or a backup not yet done: never the newest backup.
    No,
    /// A status the check cannot classify.
    Unsure,
}

/// Words of a status that report a failure or an unfinished backup.
const UNFINISHED_WORDS: &[&str] = &[
    "fail",
    "failed",
    "failure",
    "error",
    "errors",
    "running",
    "progress",
    "inprogress",
    "in_progress",
    "incomplete",
    "pending",
    "started",
    "starting",
    "aborted",
    "cancelled",
    "canceled",
    "partial",
    "corrupt",
    "corrupted",
    "invalid",
    "missing",
    "notfound",
    "not_found",
    "unfinished",
];

/// Words of a status that say the backup is there and done (IBM: `status`
/// says "whether the specified backup file was found").
const FINISHED_WORDS: &[&str] = &[
    "found",
    "complete",
    "completed",
    "success",
    "successful",
    "succeeded",
    "ok",
    "done",
    "finished",
    "available",
    "exists",
    "valid",
    "true",
    "backup",
    "file",
    "is",
    "was",
    "the",
];

/// Classify an entry's `status`: absent, an I id or a finished word is a
/// backup; an E or W id, or a word of failure or progress, is not.
fn finished(status: Option<&Value>) -> Finished {
    match status {
        None | Some(Value::Null) | Some(Value::Bool(true)) => Finished::Yes,
        Some(Value::String(s)) if s.trim().is_empty() => Finished::Yes,
        Some(Value::Bool(false)) => Finished::No,
        Some(Value::String(s)) => {
            let ids = message_ids(s);
            if ids
                .iter()
                .any(|id| matches!(reader::severity(id), Some('E' | 'W')))
            {
                return Finished::No;
            }
            // Words in any case; walked again rather than collected, as
            // a list holds tens of thousands of statuses.
            let words = || {
                s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
            };
            let among = |w: &str, list: &[&str]| list.iter().any(|l| w.eq_ignore_ascii_case(l));
            let negated = words()
                .zip(words().skip(1))
                .any(|(a, b)| a.eq_ignore_ascii_case("not") && b.eq_ignore_ascii_case("found"));
            if negated || words().any(|w| among(w, UNFINISHED_WORDS)) {
                return Finished::No;
            }
            let all_known = words().all(|w| among(w, FINISHED_WORDS) || among(w, &ids));
            if !ids.is_empty() || (all_known && words().next().is_some()) {
                Finished::Yes
            } else {
                Finished::Unsure
            }
        }
        Some(_) => Finished::Unsure,
    }
}

/// GKLM does not prune its backup list: a year of hourly backups is about
/// 2.2 MB of JSON. 8 MiB holds some 32,000 realistic entries (90 years of
/// daily backups, 3.5 of hourly ones) and still bounds memory: the list is
/// read whole, then reduced to times.
const LIST_LIMIT: BodyLimit = BodyLimit {
    bytes: 8 << 20,
    advice: "the backup list is too long to read; narrow it with --backup-dir, or prune old backups in GKLM",
};

/// How far in the future a backup's time may lie (clocks disagree a
/// little); beyond it, the time is not believed: a bogus future date would
/// otherwise make the newest backup "0s old" and hide a stale one.
const FUTURE_SLACK_SECS: u64 = 3600;

impl Listing {
    /// The newest believable time, and a time too far in the future, if any.
    fn newest(&self, now: u64) -> (Option<u64>, Option<u64>) {
        let limit = now.saturating_add(FUTURE_SLACK_SECS);
        let believable = self.times.iter().copied().filter(|&t| t <= limit).max();
        let future = self.times.iter().copied().filter(|&t| t > limit).max();
        (believable, future)
    }
}

impl Question for Age {
    fn kind(&self) -> &'static Kind {
        &KIND
    }

    fn endpoint(&self) -> Endpoint {
        self.endpoint()
    }

    fn read<'a>(&'a self, body: &Body, every: Every) -> Result<Box<dyn Answer + 'a>, String> {
        let listing = read_in(body, self.time_zone.as_ref(), every)?;
        Ok(Box::new(Listed {
            mode: self,
            listing,
        }))
    }
}

/// A listing, with the settings that judge it.
struct Listed<'a> {
    mode: &'a Age,
    listing: Listing,
}

impl Answer for Listed<'_> {
    fn judge(&self, _: History, now: u64) -> Report {
        self.mode.judge(&self.listing, now)
    }
}

impl Age {
    pub fn endpoint(&self) -> Endpoint {
        let mut endpoint = Endpoint::get("backups", "backup list request");
        endpoint.limit = LIST_LIMIT;
        endpoint.list = Some(&LIST_SHAPE);
        if let Some(dir) = &self.backup_dir {
            endpoint.query.push(("backupDirectory", dir.clone()));
        }
        endpoint
    }

    pub fn judge(&self, listing: &Listing, now: u64) -> Report {
        let count = Metric::count("backups", "Backups GKLM lists.", listing.backups as u64);
        let mut report = Report {
            metrics: vec![count],
            fields: vec![("backups", json!(listing.backups))],
            ..Report::default()
        };
        let (newest, future) = listing.newest(now);
        let future = future.map(|t| format!("{}, in the future", timestamp::to_rfc3339(t)));
        let unreadable = future.or_else(|| listing.unreadable.clone());
        let limit = now.saturating_add(FUTURE_SLACK_SECS);
        // Entries newer than the newest backup that are not counted as one.
        let newer = |d: &Option<Doubtful>| {
            d.clone()
                .filter(|d| d.time <= limit && newest.is_none_or(|n| d.time > n))
        };
        let (skipped, unsure) = (newer(&listing.unfinished), newer(&listing.unclassified));
        let Some(newest) = newest else {
            if let Some(raw) = &unreadable {
                let listed = match listing.backups {
                    1 => "1 backup listed".to_string(),
                    n => format!("{n} backups listed"),
                };
                report.state = State::Unknown;
                report.summary =
                    format!("{listed}, but no creation time could be read (for example {raw})");
                report.error = Some(report.summary.clone());
            } else if let Some(d) = unsure {
                report.state = State::Unknown;
                report.summary = format!(
                    "no backup found{} but an entry of {} whose status {} the check cannot classify",
                    self.where_(),
                    timestamp::to_rfc3339(d.time),
                    d.status
                );
                report.error = Some(report.summary.clone());
            } else {
                report.state = State::Critical;
                report.summary = format!("no backup found{}", self.where_());
                if let Some(d) = skipped {
                    report.summary.push_str(&skipped_text(&d));
                }
            }
            return report;
        };
        let age = now.saturating_sub(newest);
        let (state, crossed) = self.thresholds.judge(0, age);
        let stamp = timestamp::to_rfc3339(newest);
        let plural = if listing.backups == 1 { "" } else { "s" };
        let mut summary = format!(
            "newest backup is {} old ({stamp}, {} backup{plural}{})",
            human_duration(age),
            listing.backups,
            self.where_()
        );
        for reason in crossed {
            summary.push_str(", ");
            summary.push_str(&reason);
        }
        if let Some(d) = &skipped {
            summary.push_str(&skipped_text(d));
        }
        report.state = state;
        report.summary = summary;
        // An entry the check cannot classify matters where, taken as the
        // newest backup, it would change the verdict.
        if let Some(d) = unsure {
            let (would, _) = self.thresholds.judge(0, now.saturating_sub(d.time));
            let quoted = format!(
                "; an entry of {} has status {}, which the check cannot classify",
                timestamp::to_rfc3339(d.time),
                d.status
            );
            report.summary.push_str(&quoted);
            if would != state {
                report.state = State::Unknown;
                report.summary.push_str(", and it would change the verdict");
                report.error = Some(report.summary.clone());
            }
        }
        // An unreadable entry could be newer than the newest readable one:
        // that can only make the age smaller, so it matters when not OK.
        if let (Some(raw), false) = (&unreadable, report.state == State::Ok) {
            report.state = State::Unknown;
            report.summary = format!(
                "{} but one backup's time cannot be read ({raw}), and it may be newer",
                report.summary
            );
            report.error = Some(report.summary.clone());
        }
        report.metrics.insert(
            0,
            Metric::timed(
                "backup_age",
                "Age of the newest backup in seconds.",
                age,
                &self.thresholds,
            ),
        );
        report.fields.push(("backup_age", json!(age)));
        report.fields.push(("newest_backup", json!(stamp)));
        report
    }

    fn where_(&self) -> String {
        self.backup_dir
            .as_deref()
            .map(|d| format!(" in {d}"))
            .unwrap_or_default()
    }
}

/// `; the newest entry (...) is no finished backup: status "Failed"`.
fn skipped_text(d: &Doubtful) -> String {
    format!(
        "; a newer entry ({}) is no finished backup: status {}",
        timestamp::to_rfc3339(d.time),
        d.status
    )
}

/// The keys that can name the list inside an object: IBM documents the
/// entries, not the wrapper, so both spellings seen in GKLM's REST
/// answers' style (`backups` like the path, `backupList` like the
/// service) are read, in any case, as the login's `UserAuthId` is. No
/// other key is ever taken for the backups, whatever list it holds.
const LIST_KEYS: [&str; 2] = ["backups", "backuplist"];

/// The list answer's own members: no id answers it, a `code` may only
/// say it worked, and the list itself is the mode's to read.
static VOCABULARY: Vocabulary = Vocabulary {
    question: "the backup list",
    ids: &[],
    code: Code::Succeeded(&[0, 200]),
    failures: &[],
    words: None,
    default: Some(0),
    data: &LIST_KEYS,
    expected: "\"0\" or \"200\"",
    means: |_| "a list".into(),
};

/// The fields of one backup entry: an object carrying one is an entry
/// (IBM's pages say "JSON object" for the list), a list of one.
const ENTRY_FIELDS: [&str; 2] = ["backupFilePath", "timestamp"];

/// Where the list is, and the members of an entry this mode reads
/// (`finished`, `entry_time`): only these are kept of each entry.
static LIST_SHAPE: ListShape = ListShape {
    keys: &LIST_KEYS,
    kept: &["status", "backupFilePath", "timestamp"],
};

/// Read the list: a bare array of entries, an object holding one under a
/// list key, or one entry; times written without a zone are read in
/// `zone`. An object that reports an error is GKLM's error, never "no
/// backup found".
pub fn read_in(body: &Body, zone: Option<&Zone>, every: Every) -> Result<Listing, String> {
    let one;
    let list = match &body.json {
        // The answer was the list, taken out whole.
        Value::Array(_) => body
            .lists
            .iter()
            .find(|l| l.key.is_none())
            .ok_or("the list was not read as one")?,
        Value::Object(map) if is_entry(map) => {
            one = List::one(map, LIST_SHAPE.kept);
            &one
        }
        Value::Object(map) => {
            reader::decide_object(map, &VOCABULARY, every)?;
            the_list(map, &body.lists)?
        }
        other => return Err(format!("expected a list of backups, got {}", brief(other))),
    };
    // The entries to quote are only known at the end: quoted (and so
    // scrubbed) once, not for each entry that is newer than the last.
    let mut times = Vec::new();
    let mut unreadable = None;
    let (mut unfinished, mut unclassified) = (None, None);
    // Entries mostly repeat one status: classified once while it repeats.
    let mut last: Option<(Option<&Value>, Finished)> = None;
    for entry in list.entries() {
        let status = entry.get("status");
        let done = match last {
            Some((seen, done)) if seen == status => done,
            _ => last.insert((status, finished(status))).1,
        };
        let newer = |slot: &Option<(u64, ListEntry)>, time: u64| {
            slot.as_ref().is_none_or(|(seen, _)| *seen < time)
        };
        match (done, entry_time(entry, zone)) {
            (Finished::Yes, Ok(t)) => times.push(t),
            // An unfinished entry's time only matters to say it is skipped.
            (Finished::No, Err(_)) => {}
            (Finished::No, Ok(time)) if newer(&unfinished, time) => {
                unfinished = Some((time, entry));
            }
            (Finished::Unsure, Ok(time)) if newer(&unclassified, time) => {
                unclassified = Some((time, entry));
            }
            (Finished::No | Finished::Unsure, Ok(_)) => {}
            (_, Err(why)) => {
                unreadable.get_or_insert((entry, why));
            }
        }
    }
    let doubtful = |(time, entry): (u64, ListEntry)| Doubtful {
        time,
        status: entry.quote("status"),
    };
    Ok(Listing {
        backups: list.len(),
        times,
        unreadable: unreadable.map(|(entry, why)| unreadable_time(entry, &why)),
        unfinished: unfinished.map(doubtful),
        unclassified: unclassified.map(doubtful),
    })
}

/// An object carrying an entry's fields and no list is one entry.
fn is_entry(map: &serde_json::Map<String, Value>) -> bool {
    ENTRY_FIELDS.iter().any(|f| map.contains_key(*f))
        && !map
            .keys()
            .any(|k| LIST_KEYS.iter().any(|l| k.eq_ignore_ascii_case(l)))
}

/// The backup list an object holds under one of `LIST_KEYS` (taken out
/// into `lists`, an empty array left in its place). Two non-empty ones
/// would be a guess: refused.
fn the_list<'b>(
    map: &serde_json::Map<String, Value>,
    lists: &'b [List],
) -> Result<&'b List, String> {
    let named = map
        .iter()
        .find(|(key, _)| LIST_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k)));
    if let (Some((key, value)), true) = (named, lists.is_empty()) {
        return Err(format!(
            "'{key}' is {}, expected a list of backups",
            brief(value)
        ));
    }
    let mut filled: Vec<&List> = lists.iter().filter(|l| !l.is_empty()).collect();
    match (filled.as_slice(), lists.first()) {
        ([list], _) => Ok(list),
        ([], Some(empty)) => Ok(empty),
        ([], None) => Err(format!(
            "expected a list of backups (a bare array, or 'backups' or 'backupList' in an object), got an object holding none ({})",
            keys_of(map)
        )),
        _ => {
            // Sorted, as serde_json orders the members of an object.
            filled.sort_by(|a, b| a.key.cmp(&b.key));
            Err(format!(
                "the object holds several backup lists ({}); which one is meant is not documented",
                filled
                    .iter()
                    .map(|l| format!("'{}'", l.key.as_deref().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

/// The keys of an object, for a message: `keys 'a', 'b'` or `no keys`.
fn keys_of(map: &serde_json::Map<String, Value>) -> String {
    if map.is_empty() {
        return "no keys".into();
    }
    let mut keys: Vec<String> = map
        .keys()
        .take(5)
        .map(|k| format!("'{}'", truncate_key(k)))
        .collect();
    if map.len() > 5 {
        keys.push("...".into());
    }
    format!("keys {}", keys.join(", "))
}

/// A member's name for a message: scrubbed before it is cut, as all
/// server text (a cut secret is no longer recognised).
fn truncate_key(key: &str) -> String {
    crate::output::secret::scrub_server_text(key)
        .chars()
        .take(30)
        .collect()
}

/// An entry's creation time from `timestamp`, else from the stamp in
/// `backupFilePath`; otherwise why `timestamp` was not read, if it is there.
fn entry_time(entry: ListEntry, zone: Option<&Zone>) -> Result<u64, Option<Unread>> {
    let field = |name: &str| entry.get(name).filter(|v| !v.is_null());
    let stamped = field("timestamp").map(|t| timestamp::read(t, zone));
    if let Some(Ok(t)) = stamped {
        return Ok(t);
    }
    // A path that names a directory carries no time; a file's name may.
    let path = field("backupFilePath").and_then(Value::as_str);
    if let Some(t) = path.and_then(timestamp::from_file_name) {
        return Ok(t);
    }
    Err(stamped.and_then(Result::err))
}

/// The raw times of an entry whose time could not be read, for quoting.
fn unreadable_time(entry: ListEntry, why: &Option<Unread>) -> String {
    let quote = |name: &str| match entry.get(name) {
        Some(Value::Null) | None => "none".to_string(),
        Some(_) => entry.quote(name),
    };
    let why = why.as_ref().map(Unread::why).unwrap_or_default();
    format!(
        "timestamp {}{why}, backupFilePath {}",
        quote("timestamp"),
        quote("backupFilePath")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    /// `body` as GKLM would send it, read as the mode reads it.
    fn read(body: &Value) -> Result<Listing, String> {
        let body = crate::gklm::json::parse(body.to_string().as_bytes(), Some(&LIST_SHAPE))?;
        read_in(&body, None, &crate::mode::every_vocabulary())
    }
    // 2016-01-23T22:42:20Z
    const T: u64 = 1_453_588_940;

    fn age(w: Option<u64>, c: Option<u64>) -> Age {
        Age {
            thresholds: Thresholds {
                warning_time: w,
                critical_time: c,
                ..Thresholds::default()
            },
            backup_dir: None,
            time_zone: None,
        }
    }

    #[test]
    fn bare_arrays_and_wrapped_ones() {
        let entry = json!({"timestamp": T, "backupFilePath": "x.jar"});
        assert_eq!(read(&json!([entry])).unwrap().times, [T]);
        assert_eq!(
            read(&json!({"backups": [entry], "n": 1})).unwrap().times,
            [T]
        );
        assert_eq!(read(&json!([])).unwrap().backups, 0);
        assert!(read(&json!({"code": "0"})).is_err());
        let two = json!({"backups": [], "backupList": [{"timestamp": T}]});
        assert_eq!(read(&two).unwrap().times, [T], "the empty list is no rival");
        let both = json!({"backups": [{"timestamp": 1}], "BackupList": [{"timestamp": T}]});
        let err = read(&both).unwrap_err();
        assert!(
            err.contains("several backup lists ('BackupList', 'backups')"),
            "{err}"
        );
        assert!(read(&json!("x")).is_err());
    }

    #[test]
    fn only_a_backup_list_is_taken_for_the_backups() {
        let recent = json!([{"timestamp": T}]);
        for key in [
            "restoreHistory",
            "items",
            "data",
            "backup",
            "list",
            "history",
        ] {
            let body = json!({"code": "0", "backups": [], key: recent.clone()});
            let listing = read(&body).unwrap();
            assert_eq!((listing.backups, listing.times.len()), (0, 0), "{key}");
            let alone = json!({"code": "0", key: recent.clone()});
            let err = read(&alone).unwrap_err();
            assert!(err.contains("expected a list of backups"), "{key}: {err}");
        }
        for key in ["backups", "backupList", "BACKUPS", "BackupList"] {
            assert_eq!(
                read(&json!({ key: recent.clone() })).unwrap().times,
                [T],
                "{key}"
            );
        }
        let err = read(&json!({"backups": "none"})).unwrap_err();
        assert!(err.contains("'backups' is \"none\""), "{err}");
    }

    #[test]
    fn an_error_in_a_200_list_answer_is_gklms_error_not_no_backup() {
        for body in [
            json!({"code":"CTGKM0001E","message":"CTGKM0001E Failed to list backups","errors":[]}),
            json!({"code":"1","backups":[]}),
            json!({"code":"0","status":"CTGKM0002E No access","backups":[]}),
            json!({"backups":[],"errors":["directory not found"]}),
            json!({"code":404,"backups":[{"timestamp": T}]}),
        ] {
            let err = read(&body).unwrap_err();
            assert!(
                err.starts_with("GKLM reports an error: 'code' is"),
                "{body}: {err}"
            );
        }
        let err = read(
            &json!({"code":"CTGKM0001E","message":"CTGKM0001E Failed to list backups","errors":[]}),
        )
        .unwrap_err();
        assert!(err.contains("CTGKM0001E Failed to list backups"), "{err}");
        // A real, empty list stays "no backup found".
        let empty = read(&json!({"code": "0", "backups": []})).unwrap();
        assert_eq!(age(None, None).judge(&empty, T).state, State::Critical);
    }

    #[test]
    fn the_newest_readable_time_wins_from_any_form() {
        let listing = read(&json!([
            {"timestamp": (T - DAY).to_string()},
            {"timestamp": "2016-01-23T22:42:20Z"},
            {"timestamp": null, "backupFilePath": "/b/sklm_v2.7.0.0_20160122144220-0800_backup.jar"},
            {"timestamp": (T - 2 * DAY) * 1000},
        ]))
        .unwrap();
        assert_eq!(
            (listing.backups, listing.newest(T), listing.unreadable),
            (4, (Some(T), None), None)
        );
    }

    #[test]
    fn thresholds_apply_to_the_age() {
        let listing = Listing {
            backups: 3,
            times: vec![T - 86_400, T],
            unreadable: None,
            unfinished: None,
            unclassified: None,
        };
        let m = age(Some(DAY), Some(3 * DAY));
        assert_eq!(m.judge(&listing, T + DAY).state, State::Ok);
        let r = m.judge(&listing, T + DAY + 1);
        assert_eq!(r.state, State::Warning);
        assert_eq!(
            r.summary,
            "newest backup is 1d 0h 0m old (2016-01-23T22:42:20Z, 3 backups), --warning-time 1d 0h 0m crossed"
        );
        assert_eq!(m.judge(&listing, T + 4 * DAY).state, State::Critical);
        let perf: Vec<String> = r.metrics.iter().map(Metric::perfdata).collect();
        assert_eq!(
            perf,
            ["backup_age=86401s;86400;259200;0;", "backups=3;;;0;"]
        );
    }

    #[test]
    fn a_time_far_in_the_future_is_not_believed() {
        let listing = read(&json!([
            {"timestamp": "2016-01-23T22:42:20Z"},
            {"timestamp": "9999-12-31T23:59:59Z"},
            {"timestamp": 99_999_999_999u64},
        ]))
        .unwrap();
        let r = age(None, Some(2 * DAY)).judge(&listing, T + 3 * DAY);
        assert_eq!(r.state, State::Unknown, "{}", r.summary);
        assert!(
            r.summary.contains("9999-12-31T23:59:59Z, in the future"),
            "{}",
            r.summary
        );
        // A few minutes ahead is a clock that disagrees a little: believed.
        let ahead = read(&json!([{"timestamp": T + 600}])).unwrap();
        let r = age(None, Some(2 * DAY)).judge(&ahead, T);
        assert_eq!((r.state, r.fields[1].1.clone()), (State::Ok, json!(0)));
    }

    #[test]
    fn an_entry_that_failed_or_is_unfinished_is_never_the_newest_backup() {
        let m = age(Some(DAY), Some(3 * DAY));
        let now = T + 5 * DAY;
        for status in [
            json!("Failed"),
            json!("FAILED"),
            json!("In progress"),
            json!("in_progress"),
            json!("Backup running"),
            json!("CTGKM1313E Backup operation failed."),
            json!("CTGKM1314W Backup incomplete."),
            json!("error"),
            json!("not found"),
            json!(false),
        ] {
            let body = json!([
                {"timestamp": T, "status": "found"},
                {"timestamp": now - 60, "status": status},
            ]);
            let r = m.judge(&read(&body).unwrap(), now);
            assert_eq!(r.state, State::Critical, "{status}: {}", r.summary);
            assert!(
                r.summary.starts_with("newest backup is 5d 0h 0m old")
                    && r.summary.contains("is no finished backup: status")
                    && r.summary.contains(&status.to_string()),
                "{status}: {}",
                r.summary
            );
            let only = json!([{"timestamp": now - 60, "status": status}]);
            let r = m.judge(&read(&only).unwrap(), now);
            assert_eq!(r.state, State::Critical, "{status}");
            assert!(
                r.summary.starts_with("no backup found; a newer entry"),
                "{}",
                r.summary
            );
        }
        for status in [
            json!("found"),
            json!("Backup file found"),
            json!("COMPLETED"),
            json!("CTGKM1312I Backup operation succeeded."),
            json!(true),
            json!(null),
            json!(""),
        ] {
            let body = json!([{"timestamp": now - 60, "status": status}]);
            assert_eq!(
                m.judge(&read(&body).unwrap(), now).state,
                State::Ok,
                "{status}"
            );
        }
    }

    #[test]
    fn a_status_the_check_cannot_classify_is_unknown_only_where_it_changes_the_verdict() {
        let m = age(Some(DAY), Some(3 * DAY));
        let now = T + 5 * DAY;
        let body = json!([
            {"timestamp": T, "status": "found"},
            {"timestamp": now - 60, "status": "archiviert"},
        ]);
        let r = m.judge(&read(&body).unwrap(), now);
        assert_eq!(r.state, State::Unknown, "{}", r.summary);
        assert!(
            r.summary.contains(
                "\"archiviert\", which the check cannot classify, and it would change the verdict"
            ),
            "{}",
            r.summary
        );
        let recent = json!([
            {"timestamp": now - 120, "status": "found"},
            {"timestamp": now - 60, "status": 7},
        ]);
        let r = m.judge(&read(&recent).unwrap(), now);
        assert_eq!(r.state, State::Ok, "{}", r.summary);
        assert!(
            r.summary
                .contains("has status 7, which the check cannot classify"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn one_entry_as_an_object_is_a_list_of_one() {
        let path = "/opt/IBM/sklm/data/sklm_v4.2.1.0_20160123144220-0800_backup.jar";
        for body in [
            json!({"status": "found", "backupFilePath": path, "timestamp": T}),
            json!({"backupFilePath": path}),
            json!({"timestamp": T, "description": "nightly"}),
        ] {
            let listing = read(&body).unwrap();
            assert_eq!(
                (listing.backups, listing.times.as_slice()),
                (1, &[T][..]),
                "{body}"
            );
        }
    }

    #[test]
    fn no_backup_at_all_is_critical() {
        let r = age(Some(DAY), None).judge(&read(&json!([])).unwrap(), T);
        assert_eq!(
            (r.state, r.summary.as_str()),
            (State::Critical, "no backup found")
        );
    }

    #[test]
    fn an_unreadable_time_is_unknown_unless_a_readable_one_is_recent_enough() {
        let listing = read(&json!([
            {"timestamp": "Sat Jan 23 14:42:20 PST 2016", "backupFilePath": "b.jar"},
            {"timestamp": T},
        ]))
        .unwrap();
        let m = age(Some(DAY), None);
        assert_eq!(m.judge(&listing, T + 60).state, State::Ok);
        let r = m.judge(&listing, T + 2 * DAY);
        assert_eq!(r.state, State::Unknown);
        assert_eq!(r.error.as_deref(), Some(r.summary.as_str()));
        assert!(
            r.summary.contains("Sat Jan 23 14:42:20 PST 2016"),
            "{}",
            r.summary
        );
        let only_bad = read(&json!([{"timestamp": "yesterday"}])).unwrap();
        let r = m.judge(&only_bad, T);
        assert_eq!(r.state, State::Unknown);
        assert!(r.summary.contains("\"yesterday\""), "{}", r.summary);
    }

    #[test]
    fn a_member_named_like_a_long_secret_is_scrubbed_before_it_is_cut() {
        let password = "Tr0ub4dor&3 horse battery staple and more words";
        let _s = crate::output::secret::Secret::new(password.into());
        let err = read(&json!({ password: 1, "code": "0" })).unwrap_err();
        assert!(err.contains("'****'"), "{err}");
        assert!(!err.contains("Tr0ub"), "{err}");
    }
}
