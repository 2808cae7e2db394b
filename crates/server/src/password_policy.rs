//! Which primary passwords are accepted: at least [`MIN_PRIMARY_PASSWORD_CHARS`] characters, and not easy to
//! guess, as zxcvbn judges it (score 3 of 4 or better, counting the account's own email as a known word).

use keyturn_protocol::limits::primary_password_is_long_enough;
use keyturn_protocol::{Email, MIN_PRIMARY_PASSWORD_CHARS};

/// The least zxcvbn score accepted: "safely unguessable: moderate protection from offline slow-hash attacks".
const MIN_SCORE: u8 = 3;

/// Why a password was refused, in a sentence for its owner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeakPassword(pub String);

pub fn check(password: &str, email: &Email) -> Result<(), WeakPassword> {
    if !primary_password_is_long_enough(password) {
        return Err(WeakPassword(format!(
            "The new password must be at least {MIN_PRIMARY_PASSWORD_CHARS} characters."
        )));
    }
    let name = email.as_str().split('@').next().unwrap_or_default();
    let entropy = zxcvbn::zxcvbn(password, &[name, email.as_str()]);
    if u8::from(entropy.score()) >= MIN_SCORE {
        return Ok(());
    }
    let feedback = entropy.feedback();
    let warning = feedback.and_then(|f| f.warning()).map(|w| w.to_string());
    let suggestion = feedback.and_then(|f| f.suggestions().first()).map(|s| s.to_string());
    let reason = [warning, suggestion]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Err(WeakPassword(if reason.is_empty() {
        "This password is too easy to guess. Add more words or characters.".to_owned()
    } else {
        format!("This password is too easy to guess. {reason}")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann() -> Email {
        Email::parse("ann.example@example.com").unwrap()
    }

    #[test]
    fn short_passwords_are_refused_for_their_length() {
        assert!(check("elevenchars", &ann())
            .unwrap_err()
            .0
            .contains("at least 12 characters"));
    }

    #[test]
    fn common_and_guessable_passwords_are_refused_with_a_reason() {
        for guessable in ["password1234", "qwertyuiop123", "aaaaaaaaaaaa", "ann.example2024"] {
            let refused = check(guessable, &ann());
            assert!(refused.is_err(), "{guessable} was accepted");
            assert!(refused
                .unwrap_err()
                .0
                .starts_with("This password is too easy to guess."));
        }
    }

    #[test]
    fn a_long_unusual_passphrase_is_accepted() {
        assert_eq!(check("plum kettle orbit gravel nine", &ann()), Ok(()));
    }
}
