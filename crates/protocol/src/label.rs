//! The name a user gives one app-specific password ("Thunderbird on laptop").

use std::fmt;

use caseless::Caseless;
use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::UnicodeNormalization;

use crate::MAX_LABEL_CHARS;

/// A label that is trimmed, NFC-normalised, 1–60 characters and free of control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label(String);

#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("Enter a label.")]
    Empty,
    #[error("A label can be at most {MAX_LABEL_CHARS} characters.")]
    TooLong,
    #[error("A label cannot contain control characters such as tabs or line breaks.")]
    ControlCharacter,
    /// Text-direction overrides, zero-width characters and the like make one label look like another.
    #[error("A label cannot contain invisible or formatting characters, or characters Unicode has not assigned.")]
    InvisibleCharacter,
}

/// Letters and symbols that draw nothing, or blank space that is not a space: the Hangul fillers (choseong,
/// jungseong, the filler and its half-width form) and the blank braille pattern. Unicode files them as letters
/// and symbols, so no general category catches them, and they make "Mail\u{3164}" look like "Mail".
const FILLERS: [char; 5] = ['\u{115F}', '\u{1160}', '\u{3164}', '\u{FFA0}', '\u{2800}'];

/// Unicode's `Default_Ignorable_Code_Point` ranges (DerivedCoreProperties.txt): characters a renderer draws
/// as nothing, among them marks no general category flags (variation selectors U+FE00–FE0F, the combining
/// grapheme joiner U+034F, the Mongolian free variation selectors, the Khmer inherent vowels).
const DEFAULT_IGNORABLE: [(char, char); 17] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// Whether `c` hides or disguises text: a format character (text-direction overrides and isolates, zero-width
/// characters, the byte-order mark), private use, unassigned, a default-ignorable character, or one of the
/// fillers. Labels refuse them; the server drops them from the client names it stores.
pub fn is_invisible(c: char) -> bool {
    FILLERS.contains(&c)
        || DEFAULT_IGNORABLE
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&c))
        || matches!(
            get_general_category(c),
            GeneralCategory::Format | GeneralCategory::PrivateUse | GeneralCategory::Unassigned
        )
}

impl Label {
    pub fn parse(input: &str) -> Result<Self, LabelError> {
        let label: String = input.trim().nfc().collect();
        if label.is_empty() {
            return Err(LabelError::Empty);
        }
        for c in label.chars() {
            match get_general_category(c) {
                GeneralCategory::Control | GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
                    return Err(LabelError::ControlCharacter);
                }
                _ if is_invisible(c) => return Err(LabelError::InvisibleCharacter),
                _ => {}
            }
        }
        if label.chars().count() > MAX_LABEL_CHARS {
            return Err(LabelError::TooLong);
        }
        Ok(Self(label))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Labels are unique per account regardless of case and of compatibility forms: "Ｍａｉｌ" (full-width)
    /// and "mail" are the same label, and so are "Straße" and "STRASSE". The key is Unicode's compatibility
    /// caseless form (§3.13, D146: NFD, case fold, NFKD, case fold), composed: full case folding, which
    /// lower-casing is not (it keeps "ß" apart from "ss").
    pub fn uniqueness_key(&self) -> String {
        self.0
            .chars()
            .nfd()
            .default_case_fold()
            .nfkd()
            .default_case_fold()
            .nfkc()
            .collect()
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_trimmed() {
        assert_eq!(Label::parse("  Mail on laptop \n").unwrap().as_str(), "Mail on laptop");
    }

    #[test]
    fn a_label_of_only_spaces_is_rejected() {
        assert_eq!(Label::parse("   "), Err(LabelError::Empty));
    }

    #[test]
    fn sixty_characters_pass_and_sixty_one_fail() {
        assert!(Label::parse(&"é".repeat(60)).is_ok());
        assert_eq!(Label::parse(&"a".repeat(61)), Err(LabelError::TooLong));
    }

    #[test]
    fn a_label_is_nfc_normalised_before_counting() {
        // 60 × (e + combining acute) is 120 chars decomposed, 60 composed.
        let decomposed = "e\u{301}".repeat(60);
        let label = Label::parse(&decomposed).unwrap();
        assert_eq!(label.as_str(), "é".repeat(60));
    }

    #[test]
    fn control_characters_inside_are_rejected() {
        assert_eq!(Label::parse("Mail\tclient"), Err(LabelError::ControlCharacter));
        assert_eq!(Label::parse("Mail\u{7}"), Err(LabelError::ControlCharacter));
    }

    #[test]
    fn characters_that_hide_or_disguise_text_are_rejected() {
        for sneaky in [
            "Mail\u{202E}kcatta", // right-to-left override (Cf)
            "Ma\u{200B}il",       // zero-width space (Cf)
            "Mail\u{2066}",       // left-to-right isolate (Cf)
            "\u{FEFF}Mail",       // byte-order mark (Cf)
            "Mail \u{E000}",      // private use (Co)
            "Mail \u{0378}",      // unassigned (Cn)
            "Mail\u{3164}",       // Hangul filler (Lo)
            "\u{115F}Mail",       // Hangul choseong filler (Lo)
            "Ma\u{1160}il",       // Hangul jungseong filler (Lo)
            "Mail \u{FFA0}",      // half-width Hangul filler (Lo)
            "Mail\u{2800}",       // braille pattern blank (So)
            "\u{3164}",           // nothing visible at all
            "Mail\u{FE0F}",       // variation selector (Mn, default-ignorable)
            "Ma\u{034F}il",       // combining grapheme joiner (Mn, default-ignorable)
            "Mail\u{180B}",       // Mongolian free variation selector (Mn, default-ignorable)
            "Mail\u{17B4}",       // Khmer inherent vowel (Mn, default-ignorable)
        ] {
            assert_eq!(Label::parse(sneaky), Err(LabelError::InvisibleCharacter), "{sneaky:?}");
        }
        for breaking in ["Mail\u{2028}client", "Mail\u{2029}client"] {
            assert_eq!(
                Label::parse(breaking),
                Err(LabelError::ControlCharacter),
                "{breaking:?}"
            );
        }
        assert!(Label::parse("Thunderbird · Büro 2 ✉").is_ok(), "ordinary text passes");
    }

    #[test]
    fn full_width_and_ordinary_letters_are_the_same_label() {
        let wide = Label::parse("Ｍａｉｌ").unwrap();
        assert_eq!(wide.uniqueness_key(), Label::parse("mail").unwrap().uniqueness_key());
        assert_eq!(wide.as_str(), "Ｍａｉｌ", "the label is shown as typed");
    }

    #[test]
    fn uniqueness_ignores_case() {
        let a = Label::parse("Thunderbird").unwrap();
        let b = Label::parse("THUNDERBIRD").unwrap();
        assert_eq!(a.uniqueness_key(), b.uniqueness_key());
    }

    #[test]
    fn uniqueness_folds_case_fully_not_only_to_lower_case() {
        let key = |s: &str| Label::parse(s).unwrap().uniqueness_key();
        assert_eq!(key("Straße"), key("STRASSE"), "ß folds to ss");
        assert_eq!(key("ΣΊΣΥΦΟΣ"), key("σίσυφος"), "final sigma");
        assert_eq!(key("ﬁles"), key("FILES"), "the fi ligature");
        assert_eq!(key("Ｓｔｒａßｅ"), key("strasse"), "full-width and folded at once");
        assert_ne!(key("Strasse"), key("Strase"));
    }
}
