//! Text that came from elsewhere (GKLM, a proxy, a library's error), made fit
//! for one line of plugin output: the one home of these rules, used by the
//! printer and by the parts that quote such text. Scrubbing secrets is not
//! done here but before (`secret`), since it must precede any reshaping.

/// Make server-controlled text safe for a plugin line: no `|` (it would start
/// forged performance data), no line breaks or other control characters, no
/// terminal escape sequences, no invisible format characters (bidirectional
/// overrides would reorder what a pager shows); runs of white space become
/// one space.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // CSI sequence: ESC [ parameters final-byte. Drop it whole.
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                for p in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&p) {
                        break;
                    }
                }
            }
            '|' => out.push('/'),
            c if is_invisible_format(c) => {}
            c if c.is_control() || c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    out.trim().to_string()
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
}
