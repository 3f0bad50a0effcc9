//! The record kept between runs, the rule for what the next run remembers
//! (`Saved::after_run`) and its JSON form. Pure: it never touches the file
//! system and never reads the clock (time comes in as `now`); where the file
//! is and how it is kept safe is [`super::file`]'s.
//!
//! Rules, each for a reason:
//! - a run's observation is applied to the record as the file holds it now,
//!   not as this run first read it, so concurrent runs lose no increment;
//! - a run that read no answer from GKLM neither extends nor breaks a
//!   streak, and keeps the prefix it remembered: a network failure proves
//!   nothing about either;
//! - any doubt about a file (damaged, of an unknown version, a streak whose
//!   fields disagree or that no run could have written) makes `decode`
//!   fail, so a misread history is never acted on;
//! - a file written "in the future" is a clock that went back: its times
//!   move back as far, so no streak or session is lost to a clock step;
//! - a remembered prefix or session that could not be one is dropped, not
//!   trusted, so a hand-edited file cannot steer a request;
//! - a session the record does not keep is handed back as an orphan, to be
//!   logged out, so sessions do not pile up in GKLM.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::gklm::credentials::plausible_session_id;
use crate::gklm::target::Prefix;
use crate::history::sighting::{Count, Observed, Sighting};
use crate::output::secret::Secret;

/// 3, the first released format, keeps per mode the shared sighting and a
/// count per service. Versions 1 and 2 were never released and are damage.
pub const FORMAT_VERSION: u64 = 3;

/// A time this far after the file's `updated` is still the skew of two
/// runs' clocks; beyond it, damage.
const FUTURE_SLACK_SECS: u64 = 300;

/// No streak of this check is older than ten years: an older `since` (0,
/// say) is damage, not a streak 56 years long that fires --critical-time.
const LONGEST_STREAK_SECS: u64 = 10 * 365 * 86_400;

/// At most this many checks per second of a streak, per service (a run
/// costs milliseconds, even twenty at once): a count beyond it is damage.
const CHECKS_PER_SECOND: u64 = 1000;

/// Everything kept between runs for one target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Saved {
    /// Each counted condition, by mode name (`running`, `needed`,
    /// `restore`).
    pub streaks: BTreeMap<String, Sighting>,
    pub prefix: Option<String>,
    pub session: Option<Secret>,
    /// How far the clock went back since the file was written, when more
    /// than a skew: its times were moved back as far (never written).
    pub clock_back: Option<u64>,
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
    /// What this run saw of each condition its modes count, for each mode
    /// whose answer was read and that counts one.
    pub observations: Vec<Observation>,
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

/// The state after a run, this run's streaks in it (by mode), and a
/// session of this run that the file does not keep (to be logged out).
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    pub saved: Saved,
    pub observed: BTreeMap<&'static str, Observed>,
    pub orphaned: Option<Secret>,
}

impl Saved {
    /// What the next run remembers, `self` being the file as it is now
    /// (other runs may have changed it since this one read it): the prefix
    /// that answered (else the one remembered, since a network failure
    /// proves nothing about it); each observation applied to its mode's
    /// sighting, only for a mode whose answer this run read, so a failed
    /// question neither extends nor breaks it; every other streak
    /// untouched; and the session by `merge_session`.
    pub fn after_run(&self, learnt: &Learnt, now: u64) -> Merged {
        let mut streaks = self.streaks.clone();
        let observed = learnt.observations.iter().map(|o| {
            let (sighting, observed) =
                Sighting::observe(self.streaks.get(o.mode), &o.service, o.seen, now, o.max_gap);
            // An ended streak is no entry, as in the file: so an unchanged
            // history compares equal and costs no write.
            match sighting {
                Some(sighting) => streaks.insert(o.mode.to_string(), sighting),
                None => streaks.remove(o.mode),
            };
            // A streak that went on across the clock's step says so.
            let went_on = observed.streak.checks > 1 && observed.restarted_after.is_none();
            let observed = Observed {
                clock_back: self.clock_back.filter(|_| went_on),
                ..observed
            };
            (o.mode, observed)
        });
        let observed = observed.collect();
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
                clock_back: self.clock_back,
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

/// The file's text for `saved`, recording `target` and the time of writing.
pub(super) fn encode(saved: &Saved, target: &str, now: u64) -> String {
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
            let value = json!({ "since": s.since, "last": s.last, "services": services });
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
    // Versions 1 and 2 were never released (0.1.0 writes 3): damage.
    if version != Some(FORMAT_VERSION) {
        return Err(match version {
            Some(v) => format!("unknown format version {v}"),
            None => "no format version".into(),
        });
    }
    let updated = map
        .get("updated")
        .and_then(Value::as_u64)
        .ok_or("no 'updated' time")?;
    // Written "in the future": the clock went back (NTP, a VM resumed, a
    // snapshot restored). Time is a fact, not a reason to forget: every
    // time moves back as far, so counts, durations and the session stay.
    let shift = updated.saturating_sub(now);
    let clock_back = (shift > FUTURE_SLACK_SECS).then_some(shift);
    let now = updated.max(now);
    let target = map
        .get("target")
        .and_then(Value::as_str)
        .ok_or("no 'target'")?
        .to_string();
    let mut streaks = BTreeMap::new();
    for (mode, fields) in objects(map, "streaks")? {
        let sighting =
            decode_sighting(fields, now).map_err(|why| format!("streak '{mode}': {why}"))?;
        streaks.insert(mode.clone(), sighting);
    }
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
    let streaks = streaks
        .into_iter()
        .map(|(mode, s)| (mode, s.moved_back(shift)))
        .collect();
    Ok((
        target,
        Saved {
            streaks,
            prefix,
            session,
            clock_back,
        },
    ))
}

/// Why the text of a file must be neither used nor replaced.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// It records another target, whose owner would lose it.
    Foreign(String),
    /// The user named a file that holds something else entirely (a
    /// password file given as --state-file by mistake, say).
    NotState,
}

/// What an existing file's `text` gives this run of `target`: the record,
/// or why it counts as no history and will be replaced; `named` when the
/// user named the file. A file of another target is refused whether it is
/// usable or not; so is a named file that is not a state file at all.
/// Damaged files of ours, empty files and files in our own directory are
/// replaced.
pub(super) fn history(
    text: &str,
    now: u64,
    target: &str,
    named: bool,
) -> Result<Result<Saved, String>, Refusal> {
    match decode(text, now) {
        Ok((recorded, _)) if recorded != target => Err(Refusal::Foreign(recorded)),
        Ok((_, saved)) => Ok(Ok(saved)),
        Err(why) => replaceable(text, target, named).map(|()| Err(why)),
    }
}

/// The session a damaged file of `target` still holds: its history is
/// lost, but a session dropped without a logout would stay live in GKLM,
/// so it is kept (only where the file names this target, so that no file
/// can send a session to another host).
pub(super) fn salvaged_session(text: &str, target: &str) -> Option<Secret> {
    let value = serde_json::from_str::<Value>(text).ok()?;
    let map = value.as_object()?;
    if map.get("target").and_then(Value::as_str) != Some(target) {
        return None;
    }
    map.get("session")
        .and_then(Value::as_str)
        .filter(|s| plausible_session_id(s))
        .map(|s| Secret::new(s.to_string()))
}

/// Whether a file `decode` refused may be replaced (see `history`).
fn replaceable(text: &str, target: &str, named: bool) -> Result<(), Refusal> {
    let value = serde_json::from_str::<Value>(text).ok();
    let object = value.as_ref().and_then(Value::as_object);
    if let Some(recorded) = object.and_then(|m| m.get("target")).and_then(Value::as_str)
        && recorded != target
    {
        return Err(Refusal::Foreign(recorded.to_string()));
    }
    let looks_ours = object.is_some_and(|m| m.contains_key("version"));
    if named && !looks_ours && !text.trim().is_empty() {
        return Err(Refusal::NotState);
    }
    Ok(())
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

fn time(map: &serde_json::Map<String, Value>, name: &str, now: u64) -> Result<u64, String> {
    let t = match map.get(name) {
        None | Some(Value::Null) => return Err(format!("no '{name}'")),
        Some(v) => v.as_u64().ok_or(format!("'{name}' is not a time"))?,
    };
    if t > now.saturating_add(FUTURE_SLACK_SECS) {
        return Err(format!("'{name}' is in the future"));
    }
    Ok(t)
}

/// A sighting: `since`, `last` and a count per service.
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
    let sighting = Sighting {
        since: time(map, "since", now)?,
        last: time(map, "last", now)?,
        counts,
    };
    plausible(&sighting, now)?;
    Ok(sighting)
}

/// A sighting whose fields could all have been written by runs of this
/// check up to `now`: `since` at most ten years back and not after `last`;
/// no count's `last` before `since`; no more checks than the streak's
/// length allows.
fn plausible(s: &Sighting, now: u64) -> Result<(), String> {
    if s.since < now.saturating_sub(LONGEST_STREAK_SECS) {
        return Err(format!(
            "'since' {} is more than ten years ago: no streak is that long",
            s.since
        ));
    }
    if s.since > s.last {
        return Err(format!("'since' {} is after 'last' {}", s.since, s.last));
    }
    for (key, c) in &s.counts {
        let name = format!("service '{key}'");
        if c.last < s.since {
            return Err(format!(
                "{name}: 'last' {} is before the streak's 'since' {}",
                c.last, s.since
            ));
        }
        let reachable = (c.last - s.since)
            .saturating_add(1)
            .saturating_mul(CHECKS_PER_SECOND);
        if c.checks > reachable {
            return Err(format!(
                "{name}: 'checks' {} is more than runs between 'since' and 'last' could count",
                c.checks
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const TARGET: &str = "h:9443 auto monitor";

    const A: &str = "warning=3 max_gap=86400";
    const B: &str = "critical_time=14400 max_gap=86400";

    /// A sighting with these services' counts.
    fn sighting(since: u64, last: u64, counts: &[(&str, u64, u64)]) -> Sighting {
        Sighting {
            since,
            last,
            counts: counts
                .iter()
                .map(|&(key, checks, last)| (key.to_string(), Count { checks, last }))
                .collect(),
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
                ("needed".to_string(), sighting(1900, 1900, &[(B, 1, 1900)])),
            ]),
            prefix: Some("/GKLM".into()),
            session: Some(Secret::new("sess-roundtrip".into())),
            clock_back: None,
        };
        let text = encode(&saved, TARGET, 2000);
        assert_eq!(decode(&text, 2000).unwrap(), (TARGET.to_string(), saved));
    }

    #[test]
    fn versions_1_and_2_were_never_released_and_are_damage() {
        for text in [
            r#"{"version":1,"target":"t","updated":1600,"running_checks":3,"running_since":1000}"#,
            r#"{"version":2,"target":"t","updated":1600,"streaks":{"running":{"checks":3,"since":1000,"last":1500}}}"#,
        ] {
            let err = decode(text, 2000).unwrap_err();
            assert!(err.starts_with("unknown format version "), "{text}: {err}");
            assert!(matches!(history(text, 2000, "t", false), Ok(Err(_))));
        }
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

    /// A version 3 file of one streak, service A, written at `updated`.
    fn v3(updated: u64, since: u64, last: u64, checks: &str, count_last: u64) -> String {
        format!(
            r#"{{"version":3,"target":"{TARGET}","updated":{updated},"streaks":{{"running":{{"since":{since},"last":{last},"services":{{"{A}":{{"checks":{checks},"last":{count_last}}}}}}}}},"session":"sess-1"}}"#
        )
    }

    fn seen_by_a() -> Learnt {
        Learnt {
            observations: vec![Observation {
                mode: "running",
                service: A.into(),
                seen: true,
                max_gap: 86_400,
            }],
            ..Learnt::default()
        }
    }

    #[test]
    fn a_clock_that_went_back_keeps_every_streak_count_duration_and_session() {
        let day = 86_400;
        let (updated, since) = (100 * day, 99 * day);
        let text = v3(updated, since, updated, "7", updated);
        for back in [301, 360, 2 * day, 30 * day] {
            let now = updated - back;
            let (_, saved) = decode(&text, now).unwrap();
            assert_eq!(saved.clock_back, Some(back), "{back}");
            assert_eq!(saved.session, Some(Secret::new("sess-1".into())));
            let s = &saved.streaks["running"];
            assert_eq!((s.since, s.last), (since - back, now), "{back}");
            assert_eq!(
                s.counts[A],
                Count {
                    checks: 7,
                    last: now
                }
            );
            // A run that read an answer goes on counting, and says why the
            // time between the checks is not known.
            let merged = saved.after_run(&seen_by_a(), now);
            let observed = &merged.observed["running"];
            assert_eq!(observed.streak.checks, 8);
            assert_eq!(observed.streak.seconds(now), day);
            assert_eq!(observed.clock_back, Some(back));
            // A run that learnt nothing changes nothing: no write.
            let idle = saved.after_run(&Learnt::default(), now);
            assert_eq!(idle.saved, saved, "{back}");
        }
        // A skew of a few minutes is no step of the clock.
        let (_, saved) = decode(&text, updated - 300).unwrap();
        assert_eq!(saved.clock_back, None);
        let merged = saved.after_run(&seen_by_a(), updated - 300);
        assert_eq!(merged.observed["running"].clock_back, None);
    }

    #[test]
    fn damaged_values_are_damage_like_a_damaged_file() {
        let day = 86_400;
        let now = 20_000 * day;
        for (text, why) in [
            (
                v3(now, now - day, now, "18446744073709551615", now),
                "'checks' 18446744073709551615 is more than",
            ),
            (
                v3(now, now - 10, now, "20000", now),
                "'checks' 20000 is more than",
            ),
            (
                v3(now, 0, now, "3", now),
                "'since' 0 is more than ten years ago",
            ),
            (
                v3(now, now, now - day, "1", now - day),
                "'since' 1728000000 is after 'last' 1727913600",
            ),
            (
                v3(now, now - day, now, "1", now - 2 * day),
                "is before the streak's 'since'",
            ),
            (v3(now, now - day, now + 3600, "1", now), "in the future"),
        ] {
            let err = decode(&text, now).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
            // The same handling as any damaged file: no history, replaced.
            assert!(matches!(history(&text, now, TARGET, false), Ok(Err(_))));
        }
        // A thousand checks a second is the most any streak can count.
        assert!(decode(&v3(now, now - 9, now, "10000", now), now).is_ok());
    }

    #[test]
    fn a_damaged_file_of_this_target_still_hands_back_its_session() {
        let damaged = |target: &str, session: &str| {
            format!(r#"{{"version":3,"target":"{target}","updated":"x","session":"{session}"}}"#)
        };
        assert!(decode(&damaged(TARGET, "sess-1"), 100).is_err());
        assert_eq!(
            salvaged_session(&damaged(TARGET, "sess-1"), TARGET),
            Some(Secret::new("sess-1".into()))
        );
        assert_eq!(
            salvaged_session(&damaged("other:9443", "sess-1"), TARGET),
            None
        );
        assert_eq!(salvaged_session(&damaged(TARGET, "a b"), TARGET), None);
        assert_eq!(salvaged_session("{\"version\":", TARGET), None);
    }

    #[test]
    fn doubtful_files_are_rejected() {
        let ok = r#"{"version":3,"target":"t","updated":100,"streaks":{}}"#;
        assert!(decode(ok, 100).is_ok());
        for (text, why) in [
            ("", "JSON"),
            ("{\"version\":3", "JSON"),
            ("[]", "object"),
            (
                r#"{"version":4,"target":"t","updated":1,"streaks":{}}"#,
                "version 4",
            ),
            (
                r#"{"target":"t","updated":1,"streaks":{}}"#,
                "no format version",
            ),
            (r#"{"version":3,"updated":1,"streaks":{}}"#, "target"),
            (r#"{"version":3,"target":"t","updated":1}"#, "streaks"),
        ] {
            let err = decode(text, 100).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn a_version_written_as_a_float_is_that_version_or_damage() {
        let v3 = r#"{"version":3.0,"target":"t","updated":1,"streaks":{}}"#;
        assert_eq!(decode(v3, 100).unwrap().0, "t");
        for (version, why) in [
            ("2.5", "2.5 is not a whole number"),
            ("\"3\"", "\"3\" is not a whole number"),
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
        let text = r#"{"version":3,"target":"t","updated":1,"streaks":{},"prefix":"/../x","session":"a b"}"#;
        let (_, saved) = decode(text, 100).unwrap();
        assert_eq!((saved.prefix, saved.session), (None, None));
    }

    #[test]
    fn a_file_of_another_target_is_refused_usable_or_damaged() {
        let other = encode(&before(), "other:9443 auto u", 100);
        let damaged = r#"{"version":9,"target":"other:9443 auto u"}"#;
        for text in [other.as_str(), damaged] {
            for named in [false, true] {
                assert_eq!(
                    history(text, 100, TARGET, named),
                    Err(Refusal::Foreign("other:9443 auto u".into())),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn a_file_of_ours_is_the_history_and_a_damaged_one_is_replaced() {
        let ours = encode(&before(), TARGET, 100);
        assert_eq!(history(&ours, 100, TARGET, true), Ok(Ok(before())));
        let damaged = format!(r#"{{"version":9,"target":"{TARGET}"}}"#);
        for (text, named, why) in [
            (damaged.as_str(), true, "unknown format version 9"),
            ("", true, "not valid JSON"),
            (" \n", true, "not valid JSON"),
            (r#"{"version":2,"#, false, "not valid JSON"),
        ] {
            let ignored = history(text, 100, TARGET, named).unwrap().unwrap_err();
            assert!(ignored.contains(why), "{text}: {ignored}");
        }
    }

    #[test]
    fn a_named_file_of_something_else_is_kept_but_one_in_our_directory_replaced() {
        // A truncated file cannot be told from something else: named, it is
        // kept and the user asked.
        for text in [
            "hunter2\n",
            r#"{"password":"x"}"#,
            "[1,2]",
            r#"{"version":2,"#,
        ] {
            assert_eq!(
                history(text, 100, TARGET, true),
                Err(Refusal::NotState),
                "{text}"
            );
            assert!(
                history(text, 100, TARGET, false).unwrap().is_err(),
                "{text}"
            );
        }
    }

    /// A record with two streaks, a prefix and a session.
    pub(in crate::history) fn before() -> Saved {
        Saved {
            streaks: BTreeMap::from([
                ("running".to_string(), sighting(10, 20, &[(A, 2, 20)])),
                ("needed".to_string(), sighting(1, 20, &[(B, 5, 20)])),
            ]),
            prefix: Some("/SKLM".into()),
            session: Some(Secret::new("old-session-1".into())),
            clock_back: None,
        }
    }

    fn secret(id: &str) -> Option<Secret> {
        Some(Secret::new(id.into()))
    }

    fn observation(mode: &'static str, service: &str, seen: bool) -> Vec<Observation> {
        vec![Observation {
            mode,
            service: service.into(),
            seen,
            max_gap: 86_400,
        }]
    }

    #[test]
    fn an_answer_updates_only_its_modes_streak() {
        let next = before().after_run(
            &Learnt {
                prefix: Some("/GKLM".into()),
                session: secret("new-session-2"),
                started_with: secret("old-session-1"),
                observations: observation("running", A, false),
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
            observations: observation("running", A, true),
            ..Learnt::default()
        };
        let next = before().after_run(&learnt, 18);
        assert_eq!(next.observed["running"].streak.checks, 3);
        assert_eq!(
            next.saved.streaks["running"],
            sighting(10, 20, &[(A, 3, 20)]),
            "since kept, last the later"
        );
        let next = next.saved.after_run(
            &Learnt {
                observations: observation("running", B, true),
                ..learnt
            },
            25,
        );
        assert_eq!(next.observed["running"].streak.checks, 1, "B's own count");
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
}
