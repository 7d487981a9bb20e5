//! Characters that render as nothing or reorder text, and where an emoji sequence makes
//! some of them fine.
//!
//! A name made of a zero-width space, or one that differs from another only by a BOM or
//! a bidirectional override, looks like something it is not in a console or a log. The
//! rule ([`first_hidden`]): no control character, line or paragraph separator,
//! bidirectional control, Unicode `Default_Ignorable_Code_Point`, braille blank (U+2800)
//! or interlinear annotation control (U+FFF9 to U+FFFB), except three kinds of
//! default-ignorable characters inside a well-formed emoji sequence:
//!
//! - the zero-width joiner U+200D between two emoji, each possibly followed by a skin tone
//!   (U+1F3FB to U+1F3FF) and a variation selector (a family, a rainbow flag);
//! - one variation selector U+FE0E or U+FE0F right after an emoji, a skin tone, or a keycap
//!   base `0`-`9`, `#`, `*` (a red heart, a keycap);
//! - tag characters U+E0020 to U+E007E right after U+1F3F4 (black flag), ended by
//!   U+E007F (the flags of England, Scotland, Wales).
//!
//! "Emoji" here is a simple rule rather than Unicode's emoji data: a character of the
//! pictograph blocks (U+1F000 to U+1FAFF, and U+1FC00 to U+1FFFD kept for future ones), or
//! of the older symbol blocks where emoji also live (arrows, technical symbols, geometric
//! shapes, miscellaneous symbols, dingbats, supplemental arrows, miscellaneous symbols and
//! arrows) and ©, ®, ‼, ⁉, ™, ℹ, Ⓜ, 〰, 〽, ㊗, ㊙. Every one of them is visible, so joining
//! them hides nothing.

use std::fmt;

/// Why a character of a text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenKind {
    /// A control character (C0, DEL, C1) or a line or paragraph separator.
    Control,
    /// A bidirectional control: reorders the text around it.
    Bidi,
    /// Renders as nothing or as a blank.
    Invisible,
    /// A joiner, variation selector or tag character outside a well-formed emoji sequence.
    OutsideEmoji,
}

/// A refused character of a text and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hidden {
    /// The character.
    pub c: char,
    /// Why it is refused.
    pub kind: HiddenKind,
}

impl fmt::Display for Hidden {
    /// Completes "`parameter` must not contain ...", naming the code point.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.c as u32;
        match self.kind {
            HiddenKind::Control => write!(f, "control characters or line breaks (U+{code:04X})"),
            HiddenKind::Bidi => write!(f, "bidirectional controls (U+{code:04X})"),
            HiddenKind::Invisible => write!(f, "invisible characters (U+{code:04X})"),
            HiddenKind::OutsideEmoji => write!(f, "U+{code:04X} outside an emoji sequence"),
        }
    }
}

/// The zero-width joiner.
const ZWJ: char = '\u{200D}';
/// The black flag, the base of the tag sequences.
const BLACK_FLAG: char = '\u{1F3F4}';
/// The tag that ends a tag sequence.
const CANCEL_TAG: char = '\u{E007F}';

/// Whether `c` is a bidirectional control: the Arabic letter mark, the left-to-right and
/// right-to-left marks, embeddings, overrides and isolates.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` has Unicode's `Default_Ignorable_Code_Point` property
/// (DerivedCoreProperties.txt): characters a renderer shows as nothing when it does not
/// support them, and many it shows as nothing when it does.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Whether `c` is refused wherever it appears, emoji sequences aside: a control, a line
/// or paragraph separator, a default-ignorable character, the braille blank or an
/// interlinear annotation control.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{2800}' | '\u{FFF9}'..='\u{FFFB}'
        )
        || is_default_ignorable(c)
}

/// Whether `c` counts as an emoji for the sequences above (see the module's rule).
pub fn is_pictograph(c: char) -> bool {
    matches!(c,
        '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2190}'..='\u{21FF}' | '\u{2300}'..='\u{23FF}' | '\u{24C2}'
        | '\u{25A0}'..='\u{25FF}' | '\u{2600}'..='\u{27BF}' | '\u{2900}'..='\u{297F}'
        | '\u{2B00}'..='\u{2BFF}' | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{1F000}'..='\u{1FAFF}' | '\u{1FC00}'..='\u{1FFFD}')
}

fn is_skin_tone(c: char) -> bool {
    matches!(c, '\u{1F3FB}'..='\u{1F3FF}')
}

fn is_emoji_selector(c: char) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}')
}

fn is_tag_spec(c: char) -> bool {
    matches!(c, '\u{E0020}'..='\u{E007E}')
}

/// The first character of `text` that the rule refuses, if any.
pub fn first_hidden(text: &str) -> Option<Hidden> {
    let chars: Vec<char> = text.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut i = 0;
    while let Some(c) = at(i) {
        i += 1;
        if c == BLACK_FLAG && at(i).is_some_and(is_tag_spec) {
            let first_tag = i;
            while at(i).is_some_and(is_tag_spec) {
                i += 1;
            }
            if at(i) != Some(CANCEL_TAG) {
                return Some(refusal(chars[first_tag]));
            }
            i += 1;
        } else if is_pictograph(c) {
            // One emoji, then any emoji joined to it.
            loop {
                if at(i).is_some_and(is_skin_tone) {
                    i += 1;
                }
                if at(i).is_some_and(is_emoji_selector) {
                    i += 1;
                }
                if at(i) == Some(ZWJ) && at(i + 1).is_some_and(is_pictograph) {
                    i += 2;
                } else {
                    break;
                }
            }
        } else if matches!(c, '0'..='9' | '#' | '*') && at(i).is_some_and(is_emoji_selector) {
            i += 1;
        } else if is_hidden(c) {
            return Some(refusal(c));
        }
    }
    None
}

/// Why `c`, met outside any sequence that allows it, is refused.
fn refusal(c: char) -> Hidden {
    let kind = if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
        HiddenKind::Control
    } else if is_bidi_control(c) {
        HiddenKind::Bidi
    } else if c == ZWJ || is_emoji_selector(c) || matches!(c, '\u{E0020}'..='\u{E007F}') {
        HiddenKind::OutsideEmoji
    } else {
        HiddenKind::Invisible
    };
    Hidden { c, kind }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refused(text: &str) -> Option<(char, HiddenKind)> {
        first_hidden(text).map(|h| (h.c, h.kind))
    }

    #[test]
    fn invisible_characters_are_refused() {
        use HiddenKind::*;
        for (text, c, kind) in [
            ("\u{200B}", '\u{200B}', Invisible),
            ("a\u{FEFF}", '\u{FEFF}', Invisible),
            ("\u{3164}", '\u{3164}', Invisible),
            ("\u{2800}", '\u{2800}', Invisible),
            ("x\u{FFF9}y", '\u{FFF9}', Invisible),
            ("soft\u{00AD}hyphen", '\u{00AD}', Invisible),
            ("\u{115F}", '\u{115F}', Invisible),
            ("a\u{E0001}", '\u{E0001}', Invisible),
            ("\u{E0061}\u{E0062}", '\u{E0061}', OutsideEmoji),
            ("a\u{200D}b", '\u{200D}', OutsideEmoji),
            ("\u{1F468}\u{200D}", '\u{200D}', OutsideEmoji),
            ("a\u{FE0F}", '\u{FE0F}', OutsideEmoji),
            ("\u{2764}\u{FE00}", '\u{FE00}', Invisible),
            ("\u{1F3F4}\u{E0067}\u{E0062}", '\u{E0067}', OutsideEmoji),
            ("\u{1F3F4}\u{E007F}", '\u{E007F}', OutsideEmoji),
            ("evil\u{202E}gnp", '\u{202E}', Bidi),
            ("a\u{2066}b", '\u{2066}', Bidi),
            ("a\nb", '\n', Control),
            ("a\u{2028}b", '\u{2028}', Control),
            ("a\u{85}b", '\u{85}', Control),
        ] {
            assert_eq!(refused(text), Some((c, kind)), "{text:?}");
        }
    }

    #[test]
    fn emoji_sequences_are_fine() {
        for text in [
            "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", // family
            "\u{1F469}\u{1F3FD}\u{200D}\u{1F4BB}",         // technologist, skin tone
            "\u{2764}\u{FE0F}\u{200D}\u{1F525}",           // heart on fire
            "\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}",          // rainbow flag
            "\u{2764}\u{FE0F}",                            // red heart
            "\u{263A}\u{FE0E}",                            // text-style smiley
            "1\u{FE0F}\u{20E3}",                           // keycap 1
            "\u{1F1EF}\u{1F1F5}",                          // flag of Japan
            "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}", // England
            "Acme \u{1F980} Corp \u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} ok",
            "名前 Ünïcödé \u{3000}x",
        ] {
            assert_eq!(refused(text), None, "{text:?}");
        }
    }

    /// Text built from what the rule is about: ordinary letters and spaces, emoji, skin
    /// tones, keycap bases, joiners, selectors, tags, the black flag and invisible
    /// characters, in any order.
    fn piece() -> impl Strategy<Value = char> {
        prop_oneof![
            prop::sample::select(vec!['a', 'Z', ' ', 'é', '名', '1', '#']),
            prop::sample::select(vec![
                '\u{1F468}',
                '\u{2764}',
                '\u{1F3F3}',
                '\u{1F308}',
                '\u{00A9}'
            ]),
            prop::sample::select(vec!['\u{1F3FB}', '\u{1F3FF}']),
            Just(ZWJ),
            prop::sample::select(vec!['\u{FE0E}', '\u{FE0F}', '\u{FE00}']),
            Just(BLACK_FLAG),
            prop::sample::select(vec![
                '\u{E0020}',
                '\u{E0067}',
                '\u{E007E}',
                CANCEL_TAG,
                '\u{E0001}'
            ]),
            prop::sample::select(vec![
                '\u{200B}', '\u{FEFF}', '\u{3164}', '\u{2800}', '\u{202E}', '\u{0}'
            ]),
        ]
    }

    /// The lengths of every unit of the grammar that can start `chars`: an ordinary
    /// character, a keycap, a tag sequence, or emoji joined by joiners. Written as the
    /// grammar reads, with every alternative, to check the scanner's greedy reading.
    fn units(chars: &[char]) -> Vec<usize> {
        let mut out = Vec::new();
        let Some(&first) = chars.first() else {
            return out;
        };
        if !is_hidden(first) {
            out.push(1);
        }
        if matches!(first, '0'..='9' | '#' | '*')
            && chars.get(1).is_some_and(|&c| is_emoji_selector(c))
        {
            out.push(2);
        }
        if first == BLACK_FLAG {
            let tags = chars[1..].iter().take_while(|&&c| is_tag_spec(c)).count();
            if tags > 0 && chars.get(1 + tags) == Some(&CANCEL_TAG) {
                out.push(tags + 2);
            }
        }
        // emoji = P M? V? (ZWJ P M? V?)*: every way to read one.
        let mut ends = vec![];
        let mut starts = vec![0usize];
        while let Some(start) = starts.pop() {
            if !chars.get(start).is_some_and(|&c| is_pictograph(c)) {
                continue;
            }
            let mut options = vec![start + 1];
            if chars.get(start + 1).is_some_and(|&c| is_skin_tone(c)) {
                options.push(start + 2);
            }
            for end in options.clone() {
                if chars.get(end).is_some_and(|&c| is_emoji_selector(c)) {
                    options.push(end + 1);
                }
            }
            for end in options {
                ends.push(end);
                if chars.get(end) == Some(&ZWJ) {
                    starts.push(end + 1);
                }
            }
        }
        out.extend(ends);
        out
    }

    /// Whether `chars` is a sequence of units, trying every way to split it.
    fn grammar_accepts(chars: &[char]) -> bool {
        chars.is_empty()
            || units(chars)
                .into_iter()
                .any(|n| grammar_accepts(&chars[n..]))
    }

    proptest! {
        /// The scanner accepts exactly the texts the grammar accepts (joiners between two
        /// emoji, a selector after an emoji or keycap base, tags in a black flag's
        /// sequence, no other hidden character).
        #[test]
        fn the_scanner_reads_as_the_grammar(chars in prop::collection::vec(piece(), 0..12)) {
            let text: String = chars.iter().collect();
            prop_assert_eq!(first_hidden(&text).is_none(), grammar_accepts(&chars), "{:?}", text);
        }
    }
}
