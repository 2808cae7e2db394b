//! Properties of the parsers that stand between the wire and the rest of the code, over generated inputs:
//! none panics, what they accept keeps its rules, and parsing what they produce gives the same value.

use keyturn_protocol::{AppPassword, Email, Label, Verifier, VerifierParams, MAX_EMAIL_BYTES, MAX_LABEL_CHARS};
use proptest::prelude::*;
use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::UnicodeNormalization;

/// Small argon2 costs: the parser's checks do not depend on the size.
const FAST: VerifierParams = VerifierParams {
    m_cost: 64,
    t_cost: 1,
    p_cost: 1,
};

proptest! {
    #[test]
    fn an_accepted_label_keeps_every_rule_and_parses_to_itself(input in "\\PC{0,80}|[\\s\\S]{0,80}") {
        if let Ok(label) = Label::parse(&input) {
            let text = label.as_str();
            prop_assert_eq!(text, text.trim());
            prop_assert!(text.nfc().eq(text.chars()), "NFC");
            let count = text.chars().count();
            prop_assert!((1..=MAX_LABEL_CHARS).contains(&count));
            prop_assert!(text.chars().all(|c| !matches!(
                get_general_category(c),
                GeneralCategory::Control
                    | GeneralCategory::Format
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
                    | GeneralCategory::PrivateUse
                    | GeneralCategory::Unassigned
            )));
            prop_assert_eq!(Label::parse(text), Ok(label.clone()));
        }
    }

    #[test]
    fn an_accepted_email_is_normalised_and_parses_to_itself(input in "[\\s\\S]{0,300}|[a-zA-Z.@ ]{0,40}") {
        if let Ok(email) = Email::parse(&input) {
            let text = email.as_str();
            prop_assert_eq!(text, text.trim());
            prop_assert_eq!(text.to_lowercase(), text);
            prop_assert!(text.len() <= MAX_EMAIL_BYTES);
            prop_assert_eq!(text.matches('@').count(), 1);
            let (local, domain) = text.split_once('@').unwrap();
            prop_assert!(!local.is_empty() && !domain.is_empty());
            prop_assert_eq!(Email::parse(text), Ok(email.clone()));
        }
    }

    #[test]
    fn a_verifier_is_accepted_only_with_exactly_the_servers_parameters(
        m in 1u32..200, t in 1u32..4, p in 1u32..3,
        salt in "[A-Za-z0-9+/]{0,40}", hash in "[A-Za-z0-9+/]{0,60}",
    ) {
        let phc = format!("$argon2id$v=19$m={m},t={t},p={p}${salt}${hash}");
        if let Ok(verifier) = Verifier::parse(&phc, FAST) {
            prop_assert_eq!(verifier.params(), Some(FAST));
            prop_assert!(salt.len() >= 22, "a salt of at least 16 bytes");
            prop_assert_eq!(hash.len(), 43, "a 32-byte hash");
        }
    }

    #[test]
    fn arbitrary_text_is_never_a_verifier(input in "[\\s\\S]{0,200}") {
        prop_assert!(Verifier::parse(&input, FAST).is_err());
    }

    #[test]
    fn a_password_parses_back_from_how_a_person_types_it(
        upper in proptest::collection::vec(any::<bool>(), 16),
        separators in proptest::collection::vec("[ -]{0,2}", 16),
    ) {
        let password = AppPassword::generate();
        let typed: String = password
            .expose()
            .chars()
            .zip(upper.iter().zip(&separators))
            .map(|(c, (up, sep))| format!("{sep}{}", if *up { c.to_ascii_uppercase() } else { c }))
            .collect();
        let from_typed = AppPassword::parse(&typed).unwrap();
        prop_assert_eq!(from_typed.expose(), password.expose());
        let from_grouped = AppPassword::parse(&password.grouped()).unwrap();
        prop_assert_eq!(from_grouped.expose(), password.expose());
    }

    #[test]
    fn only_sixteen_letters_are_a_password(input in "[\\s\\S]{0,40}") {
        if let Ok(password) = AppPassword::parse(&input) {
            let letters = password.expose();
            prop_assert_eq!(letters.len(), 16);
            prop_assert!(letters.chars().all(|c| c.is_ascii_lowercase()));
            let kept: String = input.chars().filter(|c| c.is_ascii_alphabetic()).collect();
            prop_assert_eq!(kept.to_ascii_lowercase(), letters);
        }
    }
}
