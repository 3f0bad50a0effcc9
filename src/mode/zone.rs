//! `--time-zone`: the zone in which a time GKLM writes without one is
//! read. A fixed offset (`+01:00`, `UTC`), or an IANA name (`Europe/Berlin`)
//! read once from the system's zone database (TZif files, RFC 8536), with
//! its summer time. Pure but for `Zone::named`, which reads the file.

use std::path::{Path, PathBuf};

/// A zone: how far local time is ahead of UTC, at each instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// As the user gave it, for messages.
    pub name: String,
    /// The offset before the first transition, in seconds east of UTC.
    initial: i64,
    /// Each change: from this UTC instant on, this offset.
    transitions: Vec<(i64, i64)>,
    /// Whether the last offset holds for ever (no summer time rule after
    /// the last transition); otherwise later times are not read.
    settled: bool,
}

/// The most of a TZif file read: the largest in tzdata is about 4 KiB.
const TZIF_LIMIT: u64 = 256 << 10;

impl Zone {
    /// Read `--time-zone`'s value, or say why it is not a zone.
    pub fn parse(text: &str) -> Result<Zone, String> {
        if let Some(offset) = fixed_offset(text) {
            return Ok(Zone::fixed(text, offset));
        }
        Zone::named(text, &zone_dir())
    }

    fn fixed(name: &str, offset: i64) -> Zone {
        Zone {
            name: name.into(),
            initial: offset,
            transitions: Vec::new(),
            settled: true,
        }
    }

    /// An IANA name, from the zone database in `dir`.
    fn named(name: &str, dir: &Path) -> Result<Zone, String> {
        let plausible = !name.is_empty()
            && name.len() <= 64
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
            });
        let refuse = |why: String| {
            format!(
                "invalid --time-zone '{}': {why}",
                name.escape_debug()
                    .to_string()
                    .chars()
                    .take(64)
                    .collect::<String>()
            )
        };
        if !plausible {
            return Err(refuse(
                "expected an offset such as +01:00, UTC, or a zone name such as Europe/Berlin"
                    .into(),
            ));
        }
        let path = dir.join(name);
        let bytes = read_bounded(&path).map_err(|e| refuse(format!("{}: {e}", path.display())))?;
        let mut zone = from_tzif(&bytes)
            .ok_or_else(|| refuse(format!("{} is not a zone file", path.display())))?;
        zone.name = name.into();
        Ok(zone)
    }

    /// The offset in effect at a UTC instant, if the zone data reach it.
    fn offset_at(&self, utc: i64) -> Option<i64> {
        let after = self.transitions.partition_point(|&(at, _)| at <= utc);
        if after == self.transitions.len() && !self.settled {
            return None;
        }
        Some(match after {
            0 => self.initial,
            n => self.transitions[n - 1].1,
        })
    }

    /// The UTC instant of a local time in this zone. A time that occurs
    /// twice (the hour summer time ends) is the earlier one: a backup read
    /// as older can only warn sooner. A time that never occurs is None.
    pub fn to_utc(&self, local: i64) -> Option<i64> {
        let mut offsets: Vec<i64> = std::iter::once(self.initial)
            .chain(self.transitions.iter().map(|&(_, o)| o))
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        offsets
            .into_iter()
            .filter_map(|o| {
                let utc = local.checked_sub(o)?;
                (self.offset_at(utc) == Some(o)).then_some(utc)
            })
            .min()
    }
}

/// `UTC`, `GMT`, `Z`, `+01:00`, `-0800`, `+01`, `UTC+01:00`.
pub fn fixed_offset(text: &str) -> Option<i64> {
    let rest = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(text);
    if rest.is_empty() && rest.len() != text.len() {
        return Some(0);
    }
    if rest == "Z" && text == "Z" {
        return Some(0);
    }
    numeric_offset(rest)
}

/// `+01:00`, `-0800` or `+05` as seconds east of UTC.
pub fn numeric_offset(text: &str) -> Option<i64> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &text[1..];
    let (h, m) = match body.len() {
        2 => (body, "00"),
        4 => (body.get(..2)?, body.get(2..)?),
        5 if body.as_bytes()[2] == b':' => (body.get(..2)?, body.get(3..)?),
        _ => return None,
    };
    if !h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// `TZDIR`, as the C library reads it, else the system's database.
fn zone_dir() -> PathBuf {
    std::env::var_os("TZDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("/usr/share/zoneinfo"), PathBuf::from)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such zone".to_string(),
        _ => e.to_string(),
    })?;
    if !file.metadata().map_err(|e| e.to_string())?.is_file() {
        return Err("not a zone file".into());
    }
    let mut bytes = Vec::new();
    file.take(TZIF_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > TZIF_LIMIT {
        return Err("too large for a zone file".into());
    }
    Ok(bytes)
}

/// A TZif file of version 2 or later: its 64-bit block and footer.
pub fn from_tzif(bytes: &[u8]) -> Option<Zone> {
    let header = Header::read(bytes)?;
    if header.version < b'2' {
        return None;
    }
    let second = bytes.get(header.v1_len(4)..)?;
    let header = Header::read(second)?;
    let data = second.get(44..)?;
    let (times, data) = split(data, header.timecnt * 8)?;
    let (indices, data) = split(data, header.timecnt)?;
    let (types, data) = split(data, header.typecnt * 6)?;
    let rest =
        data.get(header.charcnt + header.leapcnt * 12 + header.isstdcnt + header.isutcnt..)?;
    let offset_of = |index: usize| -> Option<i64> {
        let t = types.get(index * 6..index * 6 + 4)?;
        Some(i64::from(i32::from_be_bytes(t.try_into().ok()?)))
    };
    let mut transitions = Vec::with_capacity(header.timecnt);
    for (i, &index) in indices.iter().enumerate() {
        let at = i64::from_be_bytes(times.get(i * 8..i * 8 + 8)?.try_into().ok()?);
        transitions.push((at, offset_of(usize::from(index))?));
    }
    // RFC 8536: before the first transition, the first type applies.
    let initial = offset_of(0)?;
    // The footer is a POSIX TZ string: without ',' it has no summer rule.
    let footer = rest.strip_prefix(b"\n")?;
    let footer = &footer[..footer.iter().position(|&b| b == b'\n')?];
    let settled = !footer.contains(&b',');
    Some(Zone {
        name: String::new(),
        initial,
        transitions,
        settled,
    })
}

struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

impl Header {
    fn read(bytes: &[u8]) -> Option<Header> {
        if bytes.get(..4)? != b"TZif" {
            return None;
        }
        let count = |i: usize| -> Option<usize> {
            let b = bytes.get(20 + i * 4..24 + i * 4)?;
            usize::try_from(u32::from_be_bytes(b.try_into().ok()?)).ok()
        };
        let header = Header {
            version: *bytes.get(4)?,
            isutcnt: count(0)?,
            isstdcnt: count(1)?,
            leapcnt: count(2)?,
            timecnt: count(3)?,
            typecnt: count(4)?,
            charcnt: count(5)?,
        };
        (header.typecnt > 0).then_some(header)
    }

    /// The length of the header and data block with `time` bytes per time.
    fn v1_len(&self, time: usize) -> usize {
        44 + self.timecnt * time
            + self.timecnt
            + self.typecnt * 6
            + self.charcnt
            + self.leapcnt * (time + 4)
            + self.isstdcnt
            + self.isutcnt
    }
}

fn split(data: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    (at <= data.len()).then(|| data.split_at(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_offsets_in_every_published_spelling() {
        for (text, offset) in [
            ("UTC", 0),
            ("GMT", 0),
            ("Z", 0),
            ("+01:00", 3600),
            ("-0800", -8 * 3600),
            ("+05", 5 * 3600),
            ("UTC+01:00", 3600),
            ("GMT-03:30", -(3 * 3600 + 1800)),
        ] {
            assert_eq!(fixed_offset(text), Some(offset), "{text}");
        }
        for text in ["", "+1", "+24:00", "UTC+", "CST", "+01:60", "ZZ"] {
            assert_eq!(fixed_offset(text), None, "{text}");
        }
    }

    /// 2026-03-29 01:00 UTC and 2026-10-25 01:00 UTC: Berlin's summer time.
    const SPRING: i64 = 1_774_746_000;
    const AUTUMN: i64 = 1_792_890_000;

    fn system(name: &str) -> Option<Zone> {
        let dir = Path::new("/usr/share/zoneinfo");
        if !dir.join(name).is_file() {
            eprintln!("skipped: no {name} in the system's zone database (tzdata)");
            assert!(std::env::var_os("CI").is_none(), "CI needs tzdata");
            return None;
        }
        Some(Zone::named(name, dir).unwrap())
    }

    #[test]
    fn an_iana_zone_reads_local_times_with_its_summer_time() {
        let Some(berlin) = system("Europe/Berlin") else {
            return;
        };
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(berlin.to_utc(SPRING - 7200 + 3600), Some(SPRING - 7200));
        assert_eq!(berlin.to_utc(SPRING + 3600 + 7200), Some(SPRING + 3600));
        // 02:30 on the spring day never happens.
        assert_eq!(berlin.to_utc(SPRING + 3600 + 1800), None);
        // 02:30 on the autumn day happens twice: the earlier is taken.
        let twice = AUTUMN + 3600 + 1800;
        assert_eq!(berlin.to_utc(twice), Some(twice - 7200));
        let Some(utc) = system("UTC") else { return };
        assert_eq!(utc.to_utc(SPRING), Some(SPRING));
    }

    #[test]
    fn a_name_that_is_no_zone_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Bogus"), b"not a zone").unwrap();
        std::fs::create_dir(dir.path().join("Area")).unwrap();
        for (name, why) in [
            ("Bogus", "is not a zone file"),
            ("Nowhere/City", "no such zone"),
            ("Area", "not a zone file"),
            ("../etc/passwd", "expected an offset"),
            ("/etc/passwd", "expected an offset"),
            ("Europe//Berlin", "expected an offset"),
            ("Eu rope", "expected an offset"),
        ] {
            let err = Zone::named(name, dir.path()).unwrap_err();
            assert!(
                err.starts_with("invalid --time-zone '") && err.contains(why),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn a_truncated_zone_file_is_no_zone() {
        let Some(_) = system("Europe/Berlin") else {
            return;
        };
        let bytes = std::fs::read("/usr/share/zoneinfo/Europe/Berlin").unwrap();
        assert!(from_tzif(&bytes).is_some());
        for cut in [0, 10, 44, 100, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(from_tzif(&bytes[..cut]), None, "cut at {cut}");
        }
    }
}
