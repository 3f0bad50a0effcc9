//! Secrets (password, session id) and the scrub that keeps them out of
//! anything printed.
//!
//! The check never formats a secret itself. What it must still guard
//! against is a server that echoes one back, in an error body, a status
//! text or a header. So:
//! - server text is scrubbed where it enters ([`scrub_server_text`]), before
//!   anything cuts, reflows or escapes it: a secret cut in half by a length
//!   limit can no longer be recognised, and its first characters would show;
//! - every printed line is scrubbed again ([`redact`]) as the last line of
//!   defence, before it is cleaned and cut;
//! - a secret is recognised in the forms the text may have taken on the
//!   way, character by character and mixed: literally, JSON-escaped (`\"`,
//!   `\\`, `\/`, `\u0041`), percent-encoded (`%41`, `%c3%a9`, `+`) and as an
//!   HTML character reference (`&amp;`, `&#38;`, `&#x26;`), and with its
//!   white space reflowed (any run of blanks, or of `\n`-style escapes, for
//!   any run of white space in the secret); base64 and the like are not;
//! - a session id is also recognised upper- or lower-cased, with its
//!   hyphens removed (or others added), and by its first `PREFIX_MASKED` or
//!   more characters: servers and proxies log ids normalised or shortened,
//!   and a shortened id still narrows down a live session. Passwords are not
//!   matched that loosely: a pass phrase's first words may well be GKLM's
//!   own text;
//! - a secret shorter than `MIN_MASKED` characters cannot be masked in
//!   place (masking every `ab` would wreck the text and still hint at the
//!   secret), so any server text that holds it is withheld whole.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::Mutex;

/// Every secret value this process has seen, longest first, so that a
/// secret that contains another is masked whole.
static KNOWN: Mutex<Vec<Known>> = Mutex::new(Vec::new());

/// How loosely a secret is recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A password: as it is (and in the forms every secret may take).
    Exact,
    /// A session id: also in any case, without hyphens, or shortened.
    SessionId,
}

struct Known {
    value: String,
    kind: Kind,
}

/// A session id shortened to this many characters (hyphens not counted),
/// or more, is still recognised.
const PREFIX_MASKED: usize = 8;

/// Secrets shorter than this (in characters, ignoring white space around
/// them) withhold the whole server text that holds them.
const MIN_MASKED: usize = 4;

const MASK: &str = "****";

/// What is shown instead of server text that holds a secret too short to
/// mask.
pub const WITHHELD: &str =
    "(server text withheld: it holds the password or session id, which is too short to mask)";

/// A value that must never be printed. `Debug` and `Display` show `****`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        remember(&value, Kind::Exact);
        Secret(value)
    }

    /// A session id: recognised in its looser forms too.
    pub fn session_id(value: String) -> Secret {
        remember(&value, Kind::SessionId);
        Secret(value)
    }

    /// This secret is (also) used as a session id, wherever it came from
    /// (a login, `--auth-id-file`, the state file).
    pub fn mark_session_id(&self) {
        remember(&self.0, Kind::SessionId);
    }

    /// The raw value, for the one place that must send it to GKLM.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn remember(value: &str, kind: Kind) {
    if pattern(value, Kind::Exact).is_empty() {
        return; // nothing but white space: nothing to recognise
    }
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    match known.iter_mut().find(|k| k.value == value) {
        // Once a session id, always one.
        Some(k) if kind == Kind::SessionId => k.kind = kind,
        Some(_) => {}
        None => {
            let at = known.partition_point(|k| k.value.len() >= value.len());
            known.insert(
                at,
                Known {
                    value: value.to_string(),
                    kind,
                },
            );
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Text that came from the server, made safe to keep and later cut:
/// [`WITHHELD`] if it holds a secret too short to mask, else every secret
/// masked. Call it before anything shortens or reshapes the text.
pub fn scrub_server_text(text: &str) -> String {
    Scrubber::new().server_text(text).into_owned()
}

/// Replace every known secret long enough to mask, in any of the forms
/// described in the module comment, with `****`.
pub fn redact(text: &str) -> String {
    Scrubber::new().redact(text).into_owned()
}

/// The secrets known now, made ready to be looked for: built once for a
/// whole answer, then used for each of its texts (a backup list holds tens
/// of thousands).
pub struct Scrubber {
    /// Too short to mask: the text that holds one is withheld.
    short: Vec<Matcher>,
    /// Longest first, so that a secret that contains another is masked whole.
    maskable: Vec<Matcher>,
    /// The bytes any of them can start at: one look over a text tells
    /// whether it holds none of them, the common case.
    starts: [bool; 256],
    /// For a byte of `starts`, the bytes after it that a match can go on
    /// with (a bit each), worked out when the byte is first met: a path
    /// holds many digits, an id's first character, but seldom its first two.
    pairs: RefCell<Vec<Option<[u64; 4]>>>,
}

impl Scrubber {
    pub fn new() -> Scrubber {
        let known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
        let (maskable, short): (Vec<Matcher>, Vec<Matcher>) = known
            .iter()
            .map(Matcher::of)
            .partition(|m: &Matcher| maskable(&m.units));
        let mut starts = [false; 256];
        for m in short.iter().chain(&maskable) {
            for (any, one) in starts.iter_mut().zip(m.starts) {
                *any |= one;
            }
        }
        Scrubber {
            short,
            maskable,
            starts,
            pairs: RefCell::new(vec![None; 256]),
        }
    }

    /// Whether some secret may occur in `text`: false is certain.
    fn may_hold_one(&self, text: &str) -> bool {
        let matchers = || self.short.iter().chain(&self.maskable);
        for m in matchers() {
            m.runs.borrow_mut().clear();
        }
        let bytes = text.as_bytes();
        let mut at = 0;
        while let Some(skip) = bytes[at..]
            .iter()
            .position(|&b| self.starts[usize::from(b)])
        {
            at += skip;
            let b = usize::from(bytes[at]);
            let goes_on = bytes
                .get(at + 1)
                .is_none_or(|&next| self.may_go_on(bytes[at], next));
            if goes_on && matchers().any(|m| m.starts[b] && match_end(text, at, m).is_some()) {
                return true;
            }
            at += 1;
        }
        false
    }

    /// Whether some secret's match can start at `first` followed by `next`.
    fn may_go_on(&self, first: u8, next: u8) -> bool {
        let mut pairs = self.pairs.borrow_mut();
        let row = pairs[usize::from(first)].get_or_insert_with(|| {
            let mut row = [0u64; 4];
            for b in 0..=255u8 {
                let any = self
                    .short
                    .iter()
                    .chain(&self.maskable)
                    .any(|m| m.may_start_with(first, b));
                row[usize::from(b / 64)] |= u64::from(any) << (b % 64);
            }
            row
        });
        row[usize::from(next / 64)] >> (next % 64) & 1 == 1
    }

    /// [`scrub_server_text`] with these secrets; borrowed when nothing
    /// had to change.
    pub fn server_text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        // What the printer would drop later cannot split a secret now.
        let text = strip_hidden(text);
        if !self.may_hold_one(&text) {
            return text;
        }
        for m in &self.short {
            if m.first_match(&text).is_some() {
                // Owned: whoever keeps only changed texts must see this one.
                return Cow::Owned(WITHHELD.to_string());
            }
        }
        self.masked(text)
    }

    /// Every text in `value` scrubbed as [`Scrubber::server_text`], in
    /// place and without recursion; a text with nothing to scrub is left
    /// as it is, after one look.
    pub fn json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        let mut pending = vec![value];
        while let Some(v) = pending.pop() {
            match v {
                Value::String(s) => {
                    if let Cow::Owned(scrubbed) = self.server_text(s) {
                        *s = scrubbed;
                    }
                }
                Value::Array(items) => pending.extend(items.iter_mut()),
                Value::Object(map) => pending.extend(map.values_mut()),
                _ => {}
            }
        }
    }

    /// [`redact`] with these secrets.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let text = strip_hidden(text);
        if !self.may_hold_one(&text) {
            return text;
        }
        self.masked(text)
    }

    fn masked<'t>(&self, text: Cow<'t, str>) -> Cow<'t, str> {
        self.maskable
            .iter()
            .fold(text, |text, m| match mask(&text, m) {
                Some(masked) => Cow::Owned(masked),
                None => text,
            })
    }
}

impl Default for Scrubber {
    fn default() -> Scrubber {
        Scrubber::new()
    }
}

/// Text without what printing drops; most server text has none of it.
fn strip_hidden(text: &str) -> Cow<'_, str> {
    // No ESC and nothing but ASCII: no escape sequence, no invisible format
    // character, so nothing to drop.
    if text.is_ascii() && !text.as_bytes().contains(&0x1b) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(crate::output::text::strip_hidden(text))
    }
}

/// A secret as it is looked for: its units, and how loosely.
struct Matcher {
    units: Vec<Unit>,
    kind: Kind,
    /// Characters matched before each unit (blanks do not count).
    done: Vec<usize>,
    /// The bytes a match can start at: an ASCII byte that a form of the
    /// first character starts with, or the first byte of any other
    /// character. Every other byte is passed over at the cost of one
    /// look-up, which keeps a long backup list cheap.
    starts: [bool; 256],
    /// The runs of blanks already walked in this text, start to end: many
    /// starts can reach one long run (`\u0020` a megabyte long), and each
    /// walking it again would cost time quadratic in the text. Emptied for
    /// each new text.
    runs: std::cell::RefCell<std::collections::BTreeMap<usize, usize>>,
}

impl Matcher {
    fn of(known: &Known) -> Matcher {
        let units = pattern(&known.value, known.kind);
        let done = std::iter::once(0)
            .chain(units.iter().scan(0, |n, u| {
                *n += usize::from(matches!(u, Unit::Char(_)));
                Some(*n)
            }))
            .collect();
        let mut m = Matcher {
            units,
            kind: known.kind,
            done,
            starts: [false; 256],
            runs: Default::default(),
        };
        if let Some(&Unit::Char(first)) = m.units.first() {
            for b in 0..=255u8 {
                // An escape starts with one of these (`+`, a space, cannot
                // be a secret's first character); any other form of an
                // ASCII character is the character itself. A byte from 0x80
                // to 0xBF continues a character and starts none.
                m.starts[usize::from(b)] = match b {
                    0..0x80 => b"\\%&".contains(&b) || m.accepts(first, char::from(b)),
                    0x80..0xC0 => false,
                    _ => true,
                };
            }
        }
        m
    }

    /// Whether a match can start at byte `b0` followed by `b1`. Plain
    /// ASCII, where no escape starts, stands only for itself: most starts
    /// fail on it at once, on the first or the second character.
    fn may_start_with(&self, b0: u8, b1: u8) -> bool {
        let plain = |b: u8| (b.is_ascii() && !b"\\%+&".contains(&b)).then(|| char::from(b));
        let (Some(&Unit::Char(first)), true) = (self.units.first(), self.starts[usize::from(b0)])
        else {
            return false;
        };
        let (Some(found), Some(next)) = (plain(b0), plain(b1)) else {
            return true;
        };
        self.accepts(first, found)
            && match self.units.get(1) {
                Some(&Unit::Char(c)) => {
                    self.accepts(c, next) || (self.kind == Kind::SessionId && next == '-')
                }
                Some(Unit::Blank) => is_blank(next),
                None => true,
            }
    }

    fn accepts(&self, wanted: char, found: char) -> bool {
        if wanted == found || (wanted == '|' && found == '/') {
            return true;
        }
        if self.kind != Kind::SessionId {
            return false;
        }
        // Most text is ASCII; the full case mapping only for the rest.
        if wanted.is_ascii() && found.is_ascii() {
            wanted.eq_ignore_ascii_case(&found)
        } else {
            wanted.to_lowercase().eq(found.to_lowercase())
        }
    }

    /// Where the first match in `text` starts and ends.
    fn first_match(&self, text: &str) -> Option<(usize, usize)> {
        self.runs.borrow_mut().clear();
        self.first_match_from(text, 0)
    }

    /// The first match at or after byte `from`, in a text whose runs of
    /// blanks this matcher may already have walked.
    fn first_match_from(&self, text: &str, from: usize) -> Option<(usize, usize)> {
        let bytes = text.as_bytes();
        let mut at = from;
        while let Some(skip) = bytes
            .get(at..)?
            .iter()
            .position(|&b| self.starts[usize::from(b)])
        {
            at += skip;
            if let Some(end) = match_end(text, at, self) {
                return Some((at, end));
            }
            at += 1;
        }
        None
    }
}

/// One unit of a secret as it is looked for: a character, or a run of
/// white space (matched by any run of blanks).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Char(char),
    Blank,
}

/// The secret without the white space around it, runs of white space
/// (and control characters, which printing turns into spaces) folded; a
/// session id without its hyphens.
fn pattern(secret: &str, kind: Kind) -> Vec<Unit> {
    let mut units = Vec::new();
    for c in secret.trim_matches(is_blank).chars() {
        if kind == Kind::SessionId && c == '-' {
            continue;
        }
        if is_blank(c) {
            if units.last() != Some(&Unit::Blank) {
                units.push(Unit::Blank);
            }
        } else {
            units.push(Unit::Char(c));
        }
    }
    units
}

fn maskable(pattern: &[Unit]) -> bool {
    pattern.len() >= MIN_MASKED
}

fn is_blank(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// The text with every match of `m` masked, or None if it has none.
fn mask(text: &str, m: &Matcher) -> Option<String> {
    m.runs.borrow_mut().clear();
    let mut out = String::new();
    let mut copied = 0;
    while let Some((start, end)) = m.first_match_from(text, copied) {
        out.push_str(&text[copied..start]);
        out.push_str(MASK);
        copied = end;
    }
    if out.is_empty() {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Where the longest match of the secret starting at byte `at` ends, if
/// there is one: the whole secret, or for a session id at least its first
/// `PREFIX_MASKED` characters.
///
/// A search over states (position in the text, units matched) with an
/// explicit stack and a visited set, never recursion: each state is
/// explored once, so a run of hyphens or blanks of any length costs time
/// linear in it and no stack (30,000 hyphens once overflowed the stack).
fn match_end(text: &str, at: usize, m: &Matcher) -> Option<usize> {
    let pat = &m.units;
    // Most positions fail on the first character: no allocation for them.
    let Some(&Unit::Char(first)) = pat.first() else {
        return None;
    };
    let session = m.kind == Kind::SessionId;
    // Plain ASCII, where no escape starts, stands only for itself: most
    // starts fail on it at once, on the first or the second character.
    let plain = |pos: usize| {
        text.as_bytes()
            .get(pos)
            .filter(|b| b.is_ascii() && !b"\\%+&".contains(b))
            .map(|&b| char::from(b))
    };
    let bytes = text.as_bytes();
    if plain(at).is_some_and(|found| !m.accepts(first, found))
        || bytes
            .get(at + 1)
            .is_some_and(|&next| !m.may_start_with(bytes[at], next))
    {
        return None;
    }
    // Nor, mostly, on the second: a digit of a time stamp is often an id's
    // first character, seldom its first two.
    let second_fits = |pos: usize| match pat.get(1) {
        None => true,
        Some(&Unit::Char(c)) => forms_at(text, pos)
            .into_iter()
            .flatten()
            .any(|(found, _)| m.accepts(c, found) || (session && found == '-')),
        Some(Unit::Blank) => forms_at(text, pos)
            .into_iter()
            .flatten()
            .any(|(found, _)| is_blank(found)),
    };
    if !forms_at(text, at)
        .into_iter()
        .flatten()
        .any(|(found, len)| m.accepts(first, found) && second_fits(at + len))
    {
        return None;
    }
    let done = &m.done;
    let mut best = None;
    let mut seen = std::collections::HashSet::new();
    let mut pending = vec![(at, 0usize)];
    while let Some((pos, i)) = pending.pop() {
        if !seen.insert((pos, i)) {
            continue;
        }
        let mut end = |e: usize| best = best.max(Some(e));
        if i == pat.len() {
            end(pos);
            continue;
        }
        if session && done[i] >= PREFIX_MASKED {
            end(pos);
        }
        match pat[i] {
            Unit::Char(c) => {
                for (found, len) in forms_at(text, pos).into_iter().flatten() {
                    if m.accepts(c, found) {
                        pending.push((pos + len, i + 1));
                    }
                }
            }
            Unit::Blank => {
                let stop = blank_run_end(text, pos, m);
                if stop > pos {
                    pending.push((stop, i + 1));
                }
            }
        }
        // A session id's hyphens may be anywhere in an echo, inside the id.
        if session && done[i] > 0 {
            for (found, len) in forms_at(text, pos).into_iter().flatten() {
                if found == '-' {
                    pending.push((pos + len, i));
                }
            }
        }
    }
    best
}

/// Where the run of blanks starting at `pos` ends (`pos` itself if none
/// starts there). Greedy is right: the unit after a blank is no blank.
/// A blank's form can only start where the walk of a run steps (no form
/// holds a byte that starts another blank), so a run entered at any such
/// point inside one already walked ends where that one ends.
fn blank_run_end(text: &str, pos: usize, m: &Matcher) -> usize {
    let longest_blank = |at: usize| {
        forms_at(text, at)
            .into_iter()
            .flatten()
            .filter(|&(found, _)| is_blank(found))
            .map(|(_, len)| len)
            .max()
    };
    let Some(first) = longest_blank(pos) else {
        return pos;
    };
    let known = m.runs.borrow().range(..=pos).next_back().map(|(_, &e)| e);
    if let Some(end) = known.filter(|&e| e > pos) {
        return end;
    }
    let mut stop = pos + first;
    while let Some(len) = longest_blank(stop) {
        stop += len;
    }
    m.runs.borrow_mut().insert(pos, stop);
    stop
}

/// The characters the text at byte `at` can stand for, with their length
/// in the text: the character itself, and what a JSON escape starting
/// there decodes to.
fn forms_at(text: &str, at: usize) -> [Option<(char, usize)>; 4] {
    let rest = &text[at..];
    let Some(literal) = rest.chars().next() else {
        return [None; 4];
    };
    let encoded = |f: fn(&str) -> Option<(char, usize)>| match literal {
        '\\' | '%' | '+' | '&' => f(rest),
        _ => None,
    };
    [
        Some((literal, literal.len_utf8())),
        encoded(json_escape),
        encoded(percent_escape),
        encoded(html_entity),
    ]
}

/// `%41`, `%c3%a9` (any hex case, UTF-8 bytes), or `+` for a space, as a
/// URL's query or a form encodes text.
fn percent_escape(text: &str) -> Option<(char, usize)> {
    if text.starts_with('+') {
        return Some((' ', 1));
    }
    let byte = |i: usize| -> Option<u8> {
        let hex = text.get(i * 3..i * 3 + 3)?.strip_prefix('%')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u8::from_str_radix(hex, 16).ok()
    };
    let first = byte(0)?;
    let len = match first {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let bytes: Option<Vec<u8>> = (0..len).map(byte).collect();
    let decoded = String::from_utf8(bytes?).ok()?;
    let c = decoded.chars().next()?;
    Some((c, len * 3))
}

/// An HTML character reference: `&amp;`, `&lt;`, `&gt;`, `&quot;`,
/// `&apos;`, `&nbsp;`, decimal `&#38;` or hex `&#x26;` (any case).
fn html_entity(text: &str) -> Option<(char, usize)> {
    let body = text.strip_prefix('&')?;
    let end = body.bytes().take(10).position(|b| b == b';')?;
    let name = &body[..end];
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => {
            let number = name.strip_prefix('#')?;
            let (digits, radix) = match number.strip_prefix(['x', 'X']) {
                Some(hex) => (hex, 16),
                None => (number, 10),
            };
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            let code = u32::from_str_radix(digits, radix).ok()?;
            char::from_u32(code)?
        }
    };
    Some((c, end + 2))
}

fn json_escape(text: &str) -> Option<(char, usize)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'\\') {
        return None;
    }
    let simple = match bytes.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'u' => return unicode_escape(text),
        _ => return None,
    };
    Some((simple, 2))
}

/// `\uXXXX`, or a surrogate pair `\uD83D\uDE00`.
fn unicode_escape(text: &str) -> Option<(char, usize)> {
    let unit = |from: usize| {
        let hex = text.get(from..from + 6)?.strip_prefix("\\u")?;
        u32::from_str_radix(hex, 16).ok()
    };
    let first = unit(0)?;
    if (0xD800..0xDC00).contains(&first) {
        let second = unit(6).filter(|s| (0xDC00..0xE000).contains(s))?;
        let c = char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))?;
        return Some((c, 12));
    }
    Some((char::from_u32(first)?, 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(secret: &str, text: &str) -> String {
        masked_as(Kind::Exact, secret, text)
    }

    fn masked_as(kind: Kind, secret: &str, text: &str) -> String {
        let known = Known {
            value: secret.to_string(),
            kind,
        };
        mask(text, &Matcher::of(&known)).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn secrets_never_format_and_are_redacted() {
        let s = Secret::new("hunter2-xyz".into());
        assert_eq!(format!("{s} {s:?}"), "**** Secret(****)");
        assert_eq!(
            redact("login as hunter2-xyz failed"),
            "login as **** failed"
        );
        assert_eq!(s.expose(), "hunter2-xyz");
    }

    #[test]
    fn json_escaped_forms_are_recognised() {
        let secret = "a\"b\\c/d é";
        for text in [
            r#"x a\"b\\c/d é y"#,
            r#"x a\"b\\c\/d \u00e9 y"#,
            r#"x \u0061\u0022\u0062\u005c\u0063/d\u0020é y"#,
            "x a\"b\\c/d \u{e9} y",
        ] {
            assert_eq!(masked(secret, text), "x **** y", "{text}");
        }
        assert_eq!(masked("p😀ss", r"[p\ud83d\ude00ss]"), "[****]");
    }

    #[test]
    fn reflowed_white_space_is_recognised() {
        let secret = "correct  horse\tbattery";
        for text in [
            "<correct horse battery>",
            "<correct\n  horse\r\nbattery>",
            r"<correct\nhorse\t\tbattery>",
        ] {
            assert_eq!(masked(secret, text), "<****>", "{text}");
        }
        // White space inside a word is not a reflow of it.
        assert_eq!(
            masked(secret, "<correcthorse battery>"),
            "<correcthorse battery>"
        );
    }

    #[test]
    fn short_secrets_withhold_the_server_text_that_holds_them() {
        Secret::new("Zq".into());
        Secret::new("Vt8\"".into());
        assert_eq!(scrub_server_text("error: bad password Zq!"), WITHHELD);
        assert_eq!(scrub_server_text(r#"{"m":"Z\u0071"}"#), WITHHELD);
        assert_eq!(scrub_server_text(r#"{"m":"Vt8\" x"}"#), r#"{"m":"**** x"}"#);
        assert_eq!(scrub_server_text("nothing here"), "nothing here");
        // Our own text is only redacted: a short secret is left alone there.
        assert_eq!(redact("Zq"), "Zq");
    }

    #[test]
    fn a_secret_of_white_space_only_is_ignored() {
        assert!(pattern(" \t ", Kind::Exact).is_empty());
    }

    #[test]
    fn session_ids_are_recognised_in_any_case_without_hyphens_and_shortened() {
        let id = "0f8b3c2e-1234-4abc-9def-00112233aabb";
        for text in [
            "x 0f8b3c2e-1234-4abc-9def-00112233aabb y",
            "x 0F8B3C2E-1234-4ABC-9DEF-00112233AABB y",
            "x 0f8b3c2e12344abc9def00112233aabb y",
            "x 0F8B3C2E12344ABC9DEF00112233AABB y",
            "x 0f8b3c2e y",
            "x 0F8B3C2E y",
            "x 0f8b3c2e-12 y",
            "x 0f8b3c2e1234 y",
            "x 0f8b-3c2e-1234 y",
            r"x \u0030f8b3c2e y",
        ] {
            assert_eq!(masked_as(Kind::SessionId, id, text), "x **** y", "{text}");
        }
        // Seven characters are not enough, and the text after a shortened
        // id stays.
        assert_eq!(masked_as(Kind::SessionId, id, "x 0f8b3c2 y"), "x 0f8b3c2 y");
        assert_eq!(
            masked_as(Kind::SessionId, id, "x 0f8b3c2e-12zz y"),
            "x ****zz y"
        );
        // A password is matched only as it is.
        assert_eq!(masked(id, "x 0f8b3c2e y"), "x 0f8b3c2e y");
        assert_eq!(
            masked(id, "x 0F8B3C2E-1234-4ABC-9DEF-00112233AABB y"),
            "x 0F8B3C2E-1234-4ABC-9DEF-00112233AABB y"
        );
    }

    #[test]
    fn percent_encoded_and_html_escaped_forms_are_recognised() {
        let password = "Tr0ub4dor&3 horse";
        for text in [
            "x Tr0ub4dor&amp;3 horse y",
            "x Tr0ub4dor&#38;3 horse y",
            "x Tr0ub4dor&#x26;3&nbsp;horse y",
            "x Tr0ub4dor%263%20horse y",
            "x Tr0ub4dor%263+horse y",
            "x %54%72%30%75%62%34%64%6F%72%26%33%20%68%6F%72%73%65 y",
            "x %54%72%30%75%62%34%64%6f%72%26%33%20%68%6f%72%73%65 y",
            r"x Tr0ub4dor\u00263 horse y",
            "x Tr0ub4dor\\u00263 horse y",
        ] {
            assert_eq!(masked(password, text), "x **** y", "{text}");
        }
        assert_eq!(
            masked("caf\u{e9} au lait", "x caf%C3%A9%20au%20lait y"),
            "x **** y"
        );
        // Not an encoding: left alone.
        for text in [
            "x Tr0ub4dor%2g3 horse y",
            "x Tr0ub4dor&#x;3 horse y",
            "x Tr0ub4dor&#+38;3 horse y",
        ] {
            assert_eq!(masked(password, text), text, "{text}");
        }
        let id = "7f3c2a91-5b6d-4e8f-a0b1-c2d3e4f5a6b7";
        for text in [
            "x 7f3c2a91%2D5b6d%2d4e8f-a0b1-c2d3e4f5a6b7 y",
            "x 7f3c2a91&#45;5b6d&#x2D;4e8f-a0b1-c2d3e4f5a6b7 y",
            r"x \u0037f3c2a91-5b6d-4e8f-a0b1-c2d3e4f5a6b7 y",
            "x %37%66%33%63%32%61%39%31 y",
        ] {
            assert_eq!(masked_as(Kind::SessionId, id, text), "x **** y", "{text}");
        }
    }

    #[test]
    fn a_megabyte_of_escaped_blanks_after_a_prefix_costs_linear_time() {
        let (small, large) = on_a_small_stack(|| {
            let time = |n: usize| {
                let text = r"\u0020".repeat(n);
                let started = std::time::Instant::now();
                let out = masked("20 horses", &text);
                assert_eq!(out, text, "no horses: nothing masked");
                started.elapsed().as_secs_f64()
            };
            (time(10_000), time(100_000))
        });
        assert!(large < small * 40.0 + 0.05, "{small}s then {large}s");
        // A run walked once still masks every secret that ends it.
        let text = format!("{}20 \\n\\t horses", r"\u0020".repeat(50));
        assert!(masked("20 horses", &text).ends_with("****"), "{text}");
    }

    /// `f` on a thread with a small stack: a matcher that recursed per
    /// character would overflow it (and abort the test binary).
    fn on_a_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    const ID: &str = "7f3c2a91-5b6d-4e8f-a0b1-c2d3e4f5a6b7";

    #[test]
    fn a_megabyte_of_hyphens_after_the_ids_first_character_costs_no_stack() {
        let out = on_a_small_stack(|| {
            let text = format!("x 7{} 7f3c2a91 y", "-".repeat(1 << 20));
            masked_as(Kind::SessionId, ID, &text)
        });
        assert!(out.starts_with("x 7---"), "{}", &out[..20]);
        assert!(out.ends_with(" **** y"), "{}", &out[out.len() - 20..]);
        // Hyphens inside the id, however many, are still the id.
        let text = format!("<7f3c{}2a91>", "-".repeat(100_000));
        let out = on_a_small_stack(move || masked_as(Kind::SessionId, ID, &text));
        assert_eq!(out, "<****>");
    }

    #[test]
    fn a_megabyte_of_repeated_id_prefixes_is_masked_in_linear_time() {
        let out = on_a_small_stack(|| {
            let text = "7f3c2a9".repeat((1 << 20) / 7);
            masked_as(Kind::SessionId, ID, &text)
        });
        assert!(!out.contains("****"), "seven characters are no id");
        // Eight and more are: each prefix masked, the text kept linear.
        let (small, large) = on_a_small_stack(|| {
            let time = |n: usize| {
                let text = "7f3c2a91-".repeat(n);
                let started = std::time::Instant::now();
                let out = masked_as(Kind::SessionId, ID, &text);
                assert_eq!(out, "****".repeat(n), "{n}");
                started.elapsed().as_secs_f64()
            };
            (time(10_000), time(100_000))
        });
        // Ten times the text: about ten times the time, far from a hundred.
        assert!(large < small * 40.0 + 0.05, "{small}s then {large}s");
        let out = on_a_small_stack(|| {
            let text = format!("pw {}", "correct horse ".repeat(1 << 16));
            masked("correct horse battery", &text)
        });
        assert!(out.starts_with("pw correct horse"), "no false match");
    }
}
