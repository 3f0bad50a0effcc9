//! What a target's history keeps of a condition a streak mode counts (a
//! backup running, a backup needed, a restore in progress): when it was
//! first and last seen, each service's count, and the rule by which one
//! more observation continues, restarts or ends a streak. Pure: the clock
//! is an argument.

use std::collections::BTreeMap;

use crate::mode::threshold::human_duration;

/// Consecutive checks that saw a condition, when the first of them ran and
/// when the last one did (Unix seconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Streak {
    pub checks: u64,
    pub since: Option<u64>,
    pub last: Option<u64>,
}

/// A streak after one more observation, and why it started again if it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub streak: Streak,
    /// Set when a pause longer than `--max-gap` ended the earlier streak.
    pub restarted_after: Option<Restart>,
    /// How far the clock went back since the last write, when the streak
    /// went on across it: said on the first line, since the time between
    /// the two checks is not known.
    pub clock_back: Option<u64>,
    /// Other services' counts dropped to keep `MAX_COUNTS`: said at -v,
    /// since a service that finds its count gone starts again at 1.
    pub dropped: Vec<String>,
}

/// A streak that started again because nobody had seen the condition for
/// longer than `--max-gap`: said on the first line, since a streak that
/// restarts at every check would otherwise never alert, silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    /// Seconds since the last observation of the earlier streak.
    pub gap: u64,
    pub max_gap: u64,
}

impl std::fmt::Display for Restart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "counting restarted: last check {} ago, --max-gap {}",
            human_duration(self.gap),
            human_duration(self.max_gap)
        )
    }
}

/// Service counts kept per condition: a service whose thresholds change
/// leaves its old count behind, so the oldest are dropped beyond this.
pub const MAX_COUNTS: usize = 16;

/// What a target's state keeps about one condition a mode counts (a backup
/// running, a backup needed). When it was first and last seen is a fact
/// about GKLM, shared by every service that asks; how many consecutive
/// checks saw it belongs to each service (`counts`, by service key), so
/// that a service with `-w 3` and one with `--critical-time 4h` never count
/// each other's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sighting {
    /// First observation of the condition in this streak (Unix seconds).
    pub since: u64,
    /// Latest observation by any service.
    pub last: u64,
    pub counts: BTreeMap<String, Count>,
}

/// One service's consecutive checks that saw the condition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub checks: u64,
    /// This service's latest observation.
    pub last: u64,
}

impl Sighting {
    /// Every time `by` seconds earlier: a file written before the clock
    /// went back, in this clock's terms.
    pub fn moved_back(mut self, by: u64) -> Sighting {
        self.since = self.since.saturating_sub(by);
        self.last = self.last.saturating_sub(by);
        for count in self.counts.values_mut() {
            count.last = count.last.saturating_sub(by);
        }
        self
    }

    /// The sighting once `service` observed at `now` whether the condition
    /// holds (None: it ended), and that service's streak. `current` is what
    /// the state file holds now, which other runs may have advanced since
    /// this run began: the count goes on from there, the earlier `since`
    /// stays and `last` is the later one.
    ///
    /// A pause longer than `max_gap` since anyone last saw the condition
    /// means nobody can tell it held throughout: the streak starts again,
    /// for every service. A pause longer than `max_gap` since this service
    /// last counted restarts its count only.
    pub fn observe(
        current: Option<&Sighting>,
        service: &str,
        seen: bool,
        now: u64,
        max_gap: u64,
    ) -> (Option<Sighting>, Observed) {
        if !seen {
            // A run with a later clock already saw it again: this older
            // "not seen" must not end that newer streak.
            let kept = current.filter(|c| c.last > now).cloned();
            let ended = Observed {
                streak: Streak::default(),
                restarted_after: None,
                clock_back: None,
                dropped: Vec::new(),
            };
            return (kept, ended);
        }
        let shared_gap = current.map(|c| now.saturating_sub(c.last));
        let continued = current.filter(|c| now.saturating_sub(c.last) <= max_gap);
        let mut sighting = match continued {
            Some(c) => Sighting {
                since: c.since.min(now),
                last: c.last.max(now),
                ..c.clone()
            },
            None => Sighting {
                since: now,
                last: now,
                ..Sighting::default()
            },
        };
        let mine = sighting.counts.remove(service);
        let own_gap = mine.map(|m| now.saturating_sub(m.last));
        let count = match mine {
            Some(m) if now.saturating_sub(m.last) <= max_gap => Count {
                checks: m.checks.saturating_add(1),
                last: m.last.max(now),
            },
            _ => Count {
                checks: 1,
                last: now,
            },
        };
        let restart_gap = match (continued, shared_gap, own_gap) {
            (None, Some(gap), _) => Some(gap),
            (Some(_), _, Some(gap)) if gap > max_gap => Some(gap),
            _ => None,
        };
        sighting.counts.insert(service.to_string(), count);
        let dropped = sighting.drop_oldest_counts(service);
        let observed = Observed {
            streak: Streak {
                checks: count.checks,
                since: Some(sighting.since),
                last: Some(now),
            },
            restarted_after: restart_gap.map(|gap| Restart { gap, max_gap }),
            clock_back: None,
            dropped,
        };
        (Some(sighting), observed)
    }

    /// Keep at most `MAX_COUNTS`, dropping those observed longest ago
    /// (never `keep`'s), so the state file cannot grow without bound; of
    /// two seen last at the same time, the one with fewer checks goes
    /// first, the longer streak being worth more. Returns the keys dropped.
    fn drop_oldest_counts(&mut self, keep: &str) -> Vec<String> {
        let mut dropped = Vec::new();
        while self.counts.len() > MAX_COUNTS {
            let oldest = self
                .counts
                .iter()
                .filter(|(key, _)| key.as_str() != keep)
                .min_by_key(|(key, count)| (count.last, count.checks, *key))
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => {
                    self.counts.remove(&key);
                    dropped.push(key);
                }
                None => break,
            };
        }
        dropped
    }
}

impl Streak {
    /// Seconds since the first observation; 0 if the clock went back.
    pub fn seconds(&self, now: u64) -> u64 {
        self.since.map_or(0, |since| now.saturating_sub(since))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const DAY: u64 = 86_400;

    pub(crate) fn seen(streak: Streak) -> Observed {
        Observed {
            streak,
            restarted_after: None,
            clock_back: None,
            dropped: Vec::new(),
        }
    }

    pub(crate) const A: &str = "warning=3 max_gap=86400";
    pub(crate) const B: &str = "critical_time=14400 max_gap=86400";

    /// `service` observes at `now` what `sighting` holds (None: nothing yet).
    pub(crate) fn observe(
        sighting: &Option<Sighting>,
        service: &str,
        seen: bool,
        now: u64,
    ) -> (Option<Sighting>, Observed) {
        Sighting::observe(sighting.as_ref(), service, seen, now, DAY)
    }

    /// A run of observations by one service; the streak after each.
    pub(crate) fn observe_all(service: &str, times: &[u64]) -> (Option<Sighting>, Vec<Streak>) {
        let mut sighting = None;
        let mut streaks = Vec::new();
        for &now in times {
            let (next, observed) = observe(&sighting, service, true, now);
            sighting = next;
            streaks.push(observed.streak);
        }
        (sighting, streaks)
    }

    #[test]
    fn a_streak_counts_consecutive_observations() {
        let (sighting, streaks) = observe_all(A, &[100, 400]);
        let s = streaks[0];
        assert_eq!((s.checks, s.since, s.last), (1, Some(100), Some(100)));
        let s = streaks[1];
        assert_eq!((s.checks, s.since, s.last), (2, Some(100), Some(400)));
        assert_eq!(s.seconds(1183), 1083);
        assert_eq!(s.seconds(50), 0, "clock went back");
        let (ended, observed) = observe(&sighting, A, false, 500);
        assert_eq!((ended, observed.streak), (None, Streak::default()));
    }

    #[test]
    fn two_services_never_count_each_others_checks_but_share_since() {
        let mut sighting = None;
        let mut counts = Vec::new();
        for (i, service) in [A, B, A, B, A, B].into_iter().enumerate() {
            let now = 1000 + 300 * i as u64;
            let (next, observed) = observe(&sighting, service, true, now);
            sighting = next;
            assert_eq!(observed.streak.since, Some(1000), "shared since");
            counts.push(observed.streak.checks);
        }
        assert_eq!(counts, [1, 1, 2, 2, 3, 3]);
        // A service that starts while the backup already runs inherits the
        // time of the first sighting; its count starts at 1.
        let (_, late) = observe(&sighting, "late", true, 4000);
        assert_eq!((late.streak.checks, late.streak.since), (1, Some(1000)));
        // Whoever sees it end, ends it for all.
        let (ended, _) = observe(&sighting, B, false, 4100);
        assert_eq!(ended, None);
    }

    #[test]
    fn an_observation_applies_to_what_other_runs_saved_meanwhile() {
        // Run 1 read nothing, asked GKLM at 100, and meanwhile run 2 (clock
        // 105) saved its first observation: run 1 counts on from that.
        let (after_2, _) = observe(&None, A, true, 105);
        let (after_1, observed) = observe(&after_2, A, true, 100);
        let after_1 = after_1.unwrap();
        assert_eq!(observed.streak.checks, 2);
        assert_eq!(
            (after_1.since, after_1.last),
            (100, 105),
            "earlier since, later last"
        );
        assert_eq!(after_1.counts[A].last, 105);
        // An older "not seen" does not end a streak seen again later.
        let (kept, _) = observe(&Some(after_1.clone()), A, false, 104);
        assert_eq!(kept, Some(after_1));
    }

    #[test]
    fn a_gap_longer_than_the_limit_starts_the_streak_again() {
        let (sighting, _) = observe_all(A, &[0, 600]);
        let (restarted, month_later) = observe(&sighting, A, true, 600 + 30 * DAY);
        assert_eq!(month_later.streak.checks, 1);
        assert_eq!(month_later.streak.since, Some(600 + 30 * DAY));
        assert_eq!(
            month_later.restarted_after,
            Some(Restart {
                gap: 30 * DAY,
                max_gap: DAY
            })
        );
        assert_eq!(restarted.unwrap().counts.len(), 1, "old counts dropped");
        let (_, within) = observe(&sighting, A, true, 600 + DAY);
        assert_eq!((within.streak.checks, within.restarted_after), (3, None));
    }

    #[test]
    fn a_service_back_after_a_long_pause_restarts_its_count_not_the_since() {
        let (sighting, _) = observe_all(A, &[0, 600]);
        // B kept looking every 10 minutes; A paused for two days.
        let mut sighting = sighting;
        for now in (1200..=2 * DAY + 600).step_by(600) {
            sighting = observe(&sighting, B, true, now).0;
        }
        let (_, back) = observe(&sighting, A, true, 2 * DAY + 900);
        assert_eq!((back.streak.checks, back.streak.since), (1, Some(0)));
        assert_eq!(
            back.restarted_after,
            Some(Restart {
                gap: 2 * DAY + 300,
                max_gap: DAY
            })
        );
    }

    #[test]
    fn the_counts_kept_are_bounded_oldest_first() {
        let mut sighting = None;
        for i in 0..(MAX_COUNTS as u64 + 5) {
            sighting = observe(&sighting, &format!("service {i}"), true, 1000 + i).0;
        }
        let sighting = sighting.unwrap();
        assert_eq!(sighting.counts.len(), MAX_COUNTS);
        assert!(!sighting.counts.contains_key("service 0"));
        assert!(sighting.counts.contains_key("service 20"));
    }

    #[test]
    fn a_dropped_count_is_named_and_ties_keep_the_longer_streak() {
        let mut sighting = None;
        for i in 0..MAX_COUNTS as u64 {
            sighting = observe(&sighting, &format!("s{i:02}"), true, 1000).0;
        }
        // "s00" has counted twice, all others once, all last seen at 1000.
        sighting = observe(&sighting, "s00", true, 1000).0;
        let (sighting, observed) = observe(&sighting, "new", true, 1000);
        assert_eq!(observed.dropped, ["s01"]);
        let sighting = sighting.unwrap();
        assert!(sighting.counts.contains_key("s00"));
        assert!(!sighting.counts.contains_key("s01"));
        let (_, quiet) = observe(&Some(sighting), "new", true, 1001);
        assert!(quiet.dropped.is_empty());
    }
}
