//! Combining marks: how many one character may carry.
//!
//! A combining mark (Unicode general category Mark: `Mn`, `Mc`, `Me`) draws on the
//! character before it. A few on one character are how many scripts are written (two on
//! a Vietnamese vowel before composition, a vowel sign and a tone mark on a Thai
//! consonant, a virama and a vowel sign in Devanagari); dozens stacked on one letter
//! ("Zalgo" text) spill over the lines around the name in a console and make it read as
//! something else. The rule ([`first_pile`]): no character carries more than
//! [`MAX_MARKS`] marks in a row, and a text does not start with a mark, which has no
//! character of its own to sit on and so draws on whatever a console shows before it.
//!
//! The rule reads a text in Unicode NFC (see [`crate::rules::name`]): composition turns
//! `e` + U+0301 into `é`, so the marks counted are those left over, the same for every
//! spelling of a name. Which characters are marks comes from `unicode-normalization`'s
//! table of the general category, not from a table of our own.

use std::fmt;
use unicode_normalization::char::is_combining_mark;

/// The most combining marks one character may carry.
pub const MAX_MARKS: usize = 4;

/// Where a text breaks the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pile {
    /// The text starts with this combining mark.
    Leading(char),
    /// A character carries more than [`MAX_MARKS`] marks.
    TooMany {
        /// The character's position in the text, counting from 1 (Unicode scalar values).
        at: usize,
        /// The character.
        base: char,
        /// How many marks it carries.
        marks: usize,
    },
}

impl fmt::Display for Pile {
    /// Completes "`parameter` must not ...".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Pile::Leading(c) => write!(f, "start with a combining mark (U+{:04X})", c as u32),
            Pile::TooMany { at, base, marks } => write!(
                f,
                "have more than {MAX_MARKS} combining marks on one character \
                 ({marks} on character {at}, U+{:04X})",
                base as u32
            ),
        }
    }
}

/// Whether `c` is a combining mark: general category `Mn`, `Mc` or `Me`.
pub fn is_mark(c: char) -> bool {
    is_combining_mark(c)
}

/// The first place where `text` breaks the rule, if any: a leading mark, or the first
/// character with more than [`MAX_MARKS`] marks after it (all of them counted).
pub fn first_pile(text: &str) -> Option<Pile> {
    let mut chars = text.chars().peekable();
    if let Some(&first) = chars.peek() {
        if is_mark(first) {
            return Some(Pile::Leading(first));
        }
    }
    let mut at = 0;
    while let Some(base) = chars.next() {
        at += 1;
        let mut marks = 0;
        while chars.next_if(|&c| is_mark(c)).is_some() {
            marks += 1;
        }
        if marks > MAX_MARKS {
            return Some(Pile::TooMany { at, base, marks });
        }
        at += marks;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn marks_are_the_general_category_mark() {
        for mark in [
            '\u{0301}', // combining acute (Mn)
            '\u{0363}', // combining latin small letter a (Mn)
            '\u{093F}', // Devanagari vowel sign i (Mc)
            '\u{0E49}', // Thai tone mai tho (Mn)
            '\u{20DD}', // combining enclosing circle (Me)
            '\u{0489}', // combining Cyrillic millions sign (Me)
            '\u{FE0F}', // variation selector 16 (Mn)
            '\u{20E3}', // combining enclosing keycap (Me)
        ] {
            assert!(is_mark(mark), "U+{:04X}", mark as u32);
        }
        for other in [
            'a',
            ' ',
            'é',
            '\u{200D}',
            '\u{1F3FB}',
            '\u{E0067}',
            '\u{02C6}',
            '\u{00B4}',
            '名',
        ] {
            assert!(!is_mark(other), "U+{:04X}", other as u32);
        }
    }

    #[test]
    fn four_marks_on_a_character_and_no_more() {
        assert_eq!(first_pile(""), None);
        assert_eq!(first_pile("Acme"), None);
        assert_eq!(first_pile("x\u{363}\u{364}\u{365}\u{366}"), None);
        assert_eq!(
            first_pile("ab x\u{363}\u{364}\u{365}\u{366}\u{367}y"),
            Some(Pile::TooMany {
                at: 4,
                base: 'x',
                marks: 5
            })
        );
        // Each character's marks are its own: four and four are fine.
        assert_eq!(
            first_pile("x\u{363}\u{364}\u{365}\u{366}y\u{363}\u{364}\u{365}\u{366}"),
            None
        );
        // Positions count the marks before: the second `x` is character 7.
        let e = first_pile("x\u{363}\u{364}\u{365}\u{366}y\u{0E49}x\u{20DD}\u{20DD}\u{20DD}\u{20DD}\u{20DD}\u{20DD}");
        assert_eq!(
            e,
            Some(Pile::TooMany {
                at: 8,
                base: 'x',
                marks: 6
            })
        );
        // On a space too: a mark drawn on a blank is still drawn.
        assert!(first_pile("a \u{301}\u{301}\u{301}\u{301}\u{301}").is_some());
        assert_eq!(first_pile("\u{301}cme"), Some(Pile::Leading('\u{301}')));
        // Scripts that stack marks stay within four.
        for word in [
            "ที่นี่",                 // Thai: consonant, vowel, tone
            "क्षत्रिय",             // Devanagari: virama, vowel signs
            "བསྒྲུབས",               // Tibetan: two subjoined letters and a vowel
            "Vie\u{323}\u{302}t", // Vietnamese before composition
            "1\u{FE0F}\u{20E3}",  // a keycap
        ] {
            assert_eq!(first_pile(word), None, "{word}");
        }
    }

    #[test]
    fn a_refusal_names_the_character_and_its_marks() {
        let pile = first_pile(&format!("Z{}", "\u{301}".repeat(99))).unwrap();
        assert_eq!(
            pile.to_string(),
            "have more than 4 combining marks on one character (99 on character 1, U+005A)"
        );
        assert_eq!(
            Pile::Leading('\u{20DD}').to_string(),
            "start with a combining mark (U+20DD)"
        );
    }

    /// Marks of each category and canonical class, and characters that are not marks
    /// though they look like accents or join emoji.
    fn piece() -> impl Strategy<Value = (char, bool)> {
        prop_oneof![
            prop::sample::select(vec![
                'a',
                'Z',
                ' ',
                '名',
                '\u{1F468}',
                '\u{200D}',
                '\u{02C6}',
                '\u{1F3FB}'
            ])
            .prop_map(|c| (c, false)),
            prop::sample::select(vec![
                '\u{301}', '\u{363}', '\u{93F}', '\u{E49}', '\u{20DD}', '\u{FE0F}', '\u{5B8}'
            ])
            .prop_map(|c| (c, true)),
        ]
    }

    /// Texts and the verdict worked out from the pieces: the first character followed by
    /// more than four marks, or a leading mark.
    fn text_and_verdict() -> impl Strategy<Value = (String, Option<Pile>)> {
        prop::collection::vec(piece(), 0..40).prop_map(|pieces| {
            let text: String = pieces.iter().map(|(c, _)| c).collect();
            let verdict = match pieces.first() {
                Some(&(c, true)) => Some(Pile::Leading(c)),
                _ => pieces.iter().enumerate().find_map(|(i, &(base, mark))| {
                    let run = pieces[i + 1..].iter().take_while(|(_, m)| *m).count();
                    (!mark && run > MAX_MARKS).then_some(Pile::TooMany {
                        at: i + 1,
                        base,
                        marks: run,
                    })
                }),
            };
            (text, verdict)
        })
    }

    #[test]
    fn the_mark_generator_reaches_both_sides() {
        crate::reach::assert_both_sides("mark piles", text_and_verdict(), 0.2, |(_, v)| {
            v.is_none()
        });
    }

    proptest! {
        /// The rule finds exactly the first leading mark or pile of more than four that
        /// the pieces hold, with its position and its count.
        #[test]
        fn piles_are_found_where_they_are((text, verdict) in text_and_verdict()) {
            prop_assert_eq!(first_pile(&text), verdict, "{:?}", text);
        }
    }
}
