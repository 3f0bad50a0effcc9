//! Text that came from elsewhere (GKLM, a proxy, a library's error), made fit
//! for one line of plugin output: the one home of these rules, used by the
//! printer and by the parts that quote such text. Scrubbing secrets is not
//! done here but before (`secret`), since it must precede any reshaping.

/// Make server-controlled text safe for a plugin line: no `|` (it would start
/// forged performance data), no line breaks or other control characters, no
/// terminal escape sequences, no invisible format characters (bidirectional
/// overrides would reorder what a pager shows); runs of white space become
/// one space. Only complete escape sequences are removed (see `escape`):
/// text after a stray `ESC [` is never eaten.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        if c == '\u{1b}' {
            at += match escape(&text[at..]) {
                Escape::Whole(len) => len,
                Escape::Introducer(len) => len,
                Escape::Lone => {
                    push_blank(&mut out);
                    1
                }
            };
            continue;
        }
        at += c.len_utf8();
        match c {
            '|' => out.push('/'),
            c if is_invisible_format(c) => {}
            c if c.is_control() || c.is_whitespace() => push_blank(&mut out),
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// What `clean` drops without a trace: invisible format characters and
/// terminal escape sequences (a lone ESC stays: `clean` makes it a blank).
/// Secrets are looked for in text without them, so a zero-width space or
/// an escape sequence inside an echoed password cannot hide it from the
/// scrubber and be dropped afterwards, joining it again.
pub fn strip_hidden(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        if c == '\u{1b}'
            && let Escape::Whole(len) | Escape::Introducer(len) = escape(&text[at..])
        {
            at += len;
            continue;
        }
        at += c.len_utf8();
        if !is_invisible_format(c) {
            out.push(c);
        }
    }
    out
}

fn push_blank(out: &mut String) {
    if !out.ends_with(' ') {
        out.push(' ');
    }
}

/// What to drop of text that starts with ESC.
#[derive(Debug, PartialEq, Eq)]
enum Escape {
    /// A complete sequence, or a CSI cut off by the end of the text (its
    /// parameters are no text): drop this many bytes.
    Whole(usize),
    /// A sequence broken by a character that cannot continue it: drop only
    /// the introducer (`ESC [`, `ESC ]`), keep what follows as text.
    Introducer(usize),
    /// ESC followed by nothing it introduces: a control character.
    Lone,
}

/// Recognise a terminal escape sequence at the start of `text` (an ESC):
/// - CSI `ESC [`, parameter bytes `0-9:;<=>?`, intermediate bytes `!"#$%&'()*+,-./`,
///   a final byte `@`..`~`. A space is not taken as an intermediate byte
///   (real sequences use it only in a few cursor and font settings): in
///   server text `ESC [ ` is a stray introducer before a word;
/// - OSC `ESC ]`, printable text, then BEL or ST (`ESC \`).
fn escape(text: &str) -> Escape {
    let bytes = text.as_bytes();
    match bytes.get(1) {
        Some(b'[') => {
            let body = &bytes[2..];
            let params = body
                .iter()
                .take_while(|b| (0x30..=0x3f).contains(*b))
                .count();
            let inter = body[params..]
                .iter()
                .take_while(|b| (0x21..=0x2f).contains(*b))
                .count();
            match body.get(params + inter) {
                Some(0x40..=0x7e) => Escape::Whole(2 + params + inter + 1),
                None => Escape::Whole(bytes.len()),
                Some(_) => Escape::Introducer(2),
            }
        }
        Some(b']') => {
            let body = &text[2..];
            for (i, c) in body.char_indices() {
                match c {
                    '\u{7}' => return Escape::Whole(2 + i + 1),
                    '\u{1b}' if body[i + 1..].starts_with('\\') => return Escape::Whole(2 + i + 2),
                    c if c.is_control() => return Escape::Introducer(2),
                    _ => {}
                }
            }
            // Never terminated: its text stays, only the introducer goes.
            Escape::Introducer(2)
        }
        _ => Escape::Lone,
    }
}

/// Characters that change or hide what a reader sees without being seen
/// themselves: Unicode's format characters (category Cf: bidirectional
/// controls, zero-width characters, the byte order mark, invisible
/// operators and annotation marks), the other default-ignorable code points
/// (Hangul fillers, variation selectors, the combining grapheme joiner,
/// tag characters), private-use characters and noncharacters.
fn is_invisible_format(c: char) -> bool {
    let n = u32::from(c);
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{e000}'..='\u{f8ff}'
            | '\u{fdd0}'..='\u{fdef}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
            | '\u{f0000}'..
    ) || n & 0xfffe == 0xfffe
}

/// Cut to at most `max` bytes on a character boundary, marking the cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_cannot_forge_lines_or_perfdata() {
        let hostile = "a|b=1\nCRITICAL - x\r\t\u{1b}[31mred\u{1b}[0m\u{7f}\u{85}end";
        assert_eq!(clean(hostile), "a/b=1 CRITICAL - x red end");
    }

    #[test]
    fn invisible_format_characters_are_removed() {
        let text = "\u{202e}gnp.exe\u{202c} ok\u{2066}\u{200b}\u{feff}\u{e0041}!";
        assert_eq!(clean(text), "gnp.exe ok!");
    }

    #[test]
    fn every_kind_of_invisible_character_is_removed() {
        let hidden = "\u{34f}\u{115f}\u{1160}\u{3164}\u{ffa0}\u{fe0f}\u{e0100}\u{17b4}\u{8e2}\u{13430}\u{1bca0}\u{110bd}\u{e000}\u{10fffd}\u{fffe}\u{1ffff}\u{fdd0}";
        assert_eq!(clean(&format!("a{hidden}b")), "ab");
        // Visible text of every script stays.
        assert_eq!(
            clean("Gr\u{fc}\u{df}e \u{8a9e} \u{5d0} \u{1f600}"),
            "Gr\u{fc}\u{df}e \u{8a9e} \u{5d0} \u{1f600}"
        );
    }

    #[test]
    fn cuts_are_in_bytes_on_a_character_boundary() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "...");
        assert_eq!(shorten("\u{e9}\u{e9}\u{e9}\u{e9}", 6), "\u{e9}...");
    }

    #[test]
    fn only_complete_escape_sequences_are_removed() {
        for (given, shown) in [
            // CSI, complete: with parameters, none, intermediates.
            ("a\u{1b}[31mred\u{1b}[0m b", "ared b"),
            ("a\u{1b}[Kb", "ab"),
            ("a\u{1b}[?25lb", "ab"),
            ("a\u{1b}[1;2\"qb", "ab"),
            // CSI, broken: the text after the introducer stays.
            ("abc\u{1b}[ def", "abc def"),
            ("abc\u{1b}[12 def", "abc12 def"),
            ("abc\u{1b}[\u{e9}t\u{e9}", "abc\u{e9}t\u{e9}"),
            ("abc\u{1b}[\nnext", "abc next"),
            // CSI cut off by the end of the text: dropped, text before kept.
            ("abc\u{1b}[", "abc"),
            ("abc\u{1b}[12;3", "abc"),
            // OSC with BEL, with ST, and unterminated.
            ("a\u{1b}]0;title\u{7}b", "ab"),
            (
                "a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\ b",
                "alink b",
            ),
            ("a\u{1b}]0;title", "a0;title"),
            ("a\u{1b}]0;title\nnext", "a0;title next"),
            // A lone ESC, and one at the end.
            ("a\u{1b}b", "a b"),
            ("a\u{1b}", "a"),
            ("\u{1b}", ""),
            ("a\u{1b}\u{1b}[mb", "a b"),
        ] {
            assert_eq!(clean(given), shown, "{given:?}");
        }
    }
}
