//! Reading the times GKLM writes in forms IBM does not document, and writing
//! one back in RFC 3339. Pure calendar arithmetic on Unix seconds (UTC).

use serde_json::Value;

use crate::mode::zone::{Zone, fixed_offset, numeric_offset};

/// Why a time was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unread {
    /// No form the check knows.
    Form,
    /// A local time without a zone, and no `--time-zone`.
    NoZone,
    /// A zone abbreviation that names several zones (`CST`, `IST`).
    Abbreviation(String),
    /// A local time that `--time-zone` skips, or that its data do not reach.
    NotInZone(String),
}

impl Unread {
    /// Why, for a message; empty when the form alone says it.
    pub fn why(&self) -> String {
        match self {
            Unread::Form => String::new(),
            Unread::NoZone => " (a time without a zone: give --time-zone)".into(),
            // The quoted time names the abbreviation already, and the line
            // has no room to spare.
            Unread::Abbreviation(_) => String::new(),
            Unread::NotInZone(z) => format!(" (no such local time in --time-zone {z})"),
        }
    }
}

/// Seconds since the Unix epoch from a JSON value: a number or numeric
/// string of epoch seconds or milliseconds, an RFC 3339 / ISO 8601 text,
/// or Java's `Date.toString()` (`Tue Dec 01 10:00:00 UTC 2026`). A time
/// without a zone is read in `zone`; without one, it is not read.
pub fn read(value: &Value, zone: Option<&Zone>) -> Result<u64, Unread> {
    let local = match value {
        Value::Number(n) => return n.as_f64().and_then(from_epoch).ok_or(Unread::Form),
        Value::String(s) => {
            let s = s.trim();
            match s.parse::<f64>() {
                Ok(n) if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
                    return from_epoch(n).ok_or(Unread::Form);
                }
                _ => iso8601_parts(s)
                    .or_else(|| java_parts(s))
                    .ok_or(Unread::Form)?,
            }
        }
        _ => return Err(Unread::Form),
    };
    let utc = match (local.zone, zone) {
        (Some(Written::Offset(offset)), _) => local.seconds - offset,
        (Some(Written::Abbreviation(z)), _) => return Err(Unread::Abbreviation(z)),
        (None, Some(zone)) => zone
            .to_utc(local.seconds)
            .ok_or_else(|| Unread::NotInZone(zone.name.clone()))?,
        (None, None) => return Err(Unread::NoZone),
    };
    u64::try_from(utc).map_err(|_| Unread::Form)
}

/// [`read`] without `--time-zone`, for a time that must carry its zone.
pub fn from_json(value: &Value) -> Option<u64> {
    read(value, None).ok()
}

/// A time as written: local seconds (as if UTC) and the zone, if any.
struct Local {
    seconds: i64,
    zone: Option<Written>,
}

enum Written {
    Offset(i64),
    Abbreviation(String),
}

/// `Tue Dec 01 10:00:00 UTC 2026`, `... GMT+01:00 2026`, or without the
/// zone; the weekday must be the date's.
fn java_parts(text: &str) -> Option<Local> {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let words: Vec<&str> = text.split_whitespace().collect();
    let (weekday, month, day, time, zone, year) = match words.as_slice() {
        [w, m, d, t, z, y] => (*w, *m, *d, *t, Some(*z), *y),
        [w, m, d, t, y] => (*w, *m, *d, *t, None, *y),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let number = |t: &str, digits: usize| -> Option<i64> {
        (t.len() == digits && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok())?
    };
    let (day, year) = (number(day, 2)?, number(year, 4)?);
    let mut hms = time.split(':');
    let (h, m, sec) = (
        number(hms.next()?, 2)?,
        number(hms.next()?, 2)?,
        number(hms.next()?, 2)?,
    );
    if hms.next().is_some() {
        return None;
    }
    let seconds = civil_to_unix(year, month, day, h, m, sec)?;
    if DAYS[seconds.div_euclid(86_400).rem_euclid(7) as usize] != weekday {
        return None;
    }
    let zone = match zone {
        None => None,
        Some(z) => Some(match fixed_offset(z) {
            Some(offset) => Written::Offset(offset),
            None if z.bytes().all(|b| b.is_ascii_uppercase()) && (2..=5).contains(&z.len()) => {
                Written::Abbreviation(z.to_string())
            }
            None => return None,
        }),
    };
    Some(Local { seconds, zone })
}

/// Epoch seconds or, from 10^11 on (year 5138 in seconds), milliseconds.
fn from_epoch(n: f64) -> Option<u64> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let secs = if n >= 1e11 { n / 1000.0 } else { n };
    (secs < 1e11).then_some(secs as u64)
}

/// `2016-01-23T14:42:20Z`, `2016-01-23 14:42:20.123+01:00`, `...-0800`.
pub fn from_iso8601(text: &str) -> Option<u64> {
    match iso8601_parts(text)? {
        Local {
            seconds,
            zone: Some(Written::Offset(offset)),
        } => u64::try_from(seconds - offset).ok(),
        _ => None,
    }
}

/// An ISO 8601 time, with its zone or without.
fn iso8601_parts(text: &str) -> Option<Local> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix(['.', ',']) {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let zone = match rest {
        "" => None,
        _ => Some(Written::Offset(zone_offset(rest)?)),
    };
    let seconds = civil_to_unix(year, month, day, hour, minute, second)?;
    Some(Local { seconds, zone })
}

/// `Z`, `+01:00`, `+0100` or `+01` as seconds east of UTC.
fn zone_offset(zone: &str) -> Option<i64> {
    if zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    numeric_offset(zone)
}

/// The creation stamp in a backup file name, `..._20160123144220-0800_...`:
/// fourteen digits (yyyyMMddHHmmss) and an RFC 822 zone offset.
pub fn from_file_name(path: &str) -> Option<u64> {
    let b = path.as_bytes();
    (0..b.len().saturating_sub(18)).rev().find_map(|i| {
        let stamp = path.get(i..i + 14)?;
        let zone = path.get(i + 14..i + 19)?;
        let starts_run = i == 0 || !b[i - 1].is_ascii_digit();
        if !starts_run || !stamp.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if !matches!(zone.as_bytes()[0], b'+' | b'-')
            || !zone[1..].bytes().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let iso = format!(
            "{}-{}-{}T{}:{}:{}{}",
            &stamp[0..4],
            &stamp[4..6],
            &stamp[6..8],
            &stamp[8..10],
            &stamp[10..12],
            &stamp[12..14],
            zone
        );
        from_iso8601(&iso)
    })
}

/// `2016-01-23T22:42:20Z`.
pub fn to_rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = unix_days_to_civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), after checking that the date and time exist.
fn civil_to_unix(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let valid = (1..=12).contains(&m)
        && d >= 1
        && d <= month_days[(m - 1) as usize]
        && hh <= 23
        && mm <= 59
        && ss <= 60;
    if !valid {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss.min(59))
}

fn unix_days_to_civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // 2016-01-23T22:42:20Z
    const T: u64 = 1_453_588_940;

    #[test]
    fn epoch_seconds_and_milliseconds_as_number_or_text() {
        assert_eq!(from_json(&json!(T)), Some(T));
        assert_eq!(from_json(&json!(T * 1000)), Some(T));
        assert_eq!(from_json(&json!(T.to_string())), Some(T));
        assert_eq!(from_json(&json!(format!("{}", T * 1000 + 123))), Some(T));
        assert_eq!(from_json(&json!(-5)), None);
        assert_eq!(from_json(&json!(null)), None);
    }

    #[test]
    fn iso8601_with_zone() {
        for text in [
            "2016-01-23T22:42:20Z",
            "2016-01-23t22:42:20z",
            "2016-01-23 22:42:20.5Z",
            "2016-01-23T14:42:20-08:00",
            "2016-01-23T14:42:20.123-0800",
            "2016-01-23T23:42:20+01",
        ] {
            assert_eq!(from_json(&json!(text)), Some(T), "{text}");
        }
        for text in [
            "2016-01-23T22:42:20",
            "2016-02-30T00:00:00Z",
            "2016-01-23T24:00:00Z",
            "Sat Jan 23 14:42:20 PST 2016",
            "2016-01-23T22:42:20+1:00",
            "",
        ] {
            assert_eq!(from_iso8601(text), None, "{text}");
        }
    }

    #[test]
    fn java_date_to_string_with_an_unambiguous_zone() {
        for text in [
            "Sat Jan 23 22:42:20 UTC 2016",
            "Sat Jan 23 22:42:20 GMT 2016",
            "Sat Jan 23 23:42:20 GMT+01:00 2016",
            "Sat Jan 23 14:42:20 -0800 2016",
        ] {
            assert_eq!(read(&json!(text), None), Ok(T), "{text}");
        }
        for zone in ["PST", "CST", "IST", "CEST"] {
            let text = format!("Sat Jan 23 14:42:20 {zone} 2016");
            assert_eq!(
                read(&json!(text), None),
                Err(Unread::Abbreviation(zone.into()))
            );
        }
        for text in [
            "Sun Jan 23 22:42:20 UTC 2016",
            "Sat Jan 32 22:42:20 UTC 2016",
            "Sat Jan 23 22:42 UTC 2016",
            "Sat Jnu 23 22:42:20 UTC 2016",
            "Sat Jan 23 22:42:20 utc+x 2016",
        ] {
            assert_eq!(read(&json!(text), None), Err(Unread::Form), "{text}");
        }
    }

    #[test]
    fn a_time_without_a_zone_is_read_only_in_the_time_zone_given() {
        let berlin = Zone::parse("+01:00").unwrap();
        for text in [
            "2016-01-23 23:42:20",
            "2016-01-23T23:42:20",
            "2016-01-23T23:42:20.250",
            "Sat Jan 23 23:42:20 2016",
        ] {
            assert_eq!(read(&json!(text), None), Err(Unread::NoZone), "{text}");
            assert!(Unread::NoZone.why().contains("--time-zone"));
            assert_eq!(read(&json!(text), Some(&berlin)), Ok(T), "{text}");
        }
        // A time that carries its zone ignores --time-zone.
        assert_eq!(read(&json!("2016-01-23T22:42:20Z"), Some(&berlin)), Ok(T));
    }

    #[test]
    fn file_name_stamp() {
        assert_eq!(
            from_file_name("/opt/IBM/backups/sklm_v2.7.0.0_20160123144220-0800_backup.jar"),
            Some(T)
        );
        assert_eq!(
            from_file_name("gklm_v5.0.0.0_20160123224220+0000_backup.jar"),
            Some(T)
        );
        assert_eq!(from_file_name("backup.jar"), None);
        assert_eq!(
            from_file_name("x_120160123144220-0800_y"),
            None,
            "15 digits"
        );
    }

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(to_rfc3339(T), "2016-01-23T22:42:20Z");
        assert_eq!(to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(to_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        for t in [0, T, 4_102_444_800, 951_782_400] {
            assert_eq!(from_iso8601(&to_rfc3339(t)), Some(t));
        }
    }
}
