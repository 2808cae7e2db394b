//! The app-specific password itself.

use rand::rngs::OsRng;
use rand::Rng;
use zeroize::{Zeroize, Zeroizing};

/// Letters in one password: 26^16 ≈ 2^75.
pub const LETTERS: usize = 16;

/// One app-specific password: 16 lowercase ASCII letters.
///
/// It is zeroized on drop and has no `Debug`, `Display` or `Serialize`, so it cannot reach a log by accident;
/// the only ways out are [`AppPassword::grouped`] (for the one-time reveal) and [`AppPassword::expose`].
pub struct AppPassword(Zeroizing<String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppPasswordError {
    #[error("an app-specific password has {LETTERS} letters")]
    WrongLength,
    #[error("an app-specific password has only the letters a to z")]
    NotALetter,
}

impl AppPassword {
    /// A new password from the operating system's CSPRNG. `gen_range` samples without modulo bias.
    pub fn generate() -> Self {
        let mut letters = Zeroizing::new(String::with_capacity(LETTERS));
        for _ in 0..LETTERS {
            letters.push(char::from(OsRng.gen_range(b'a'..=b'z')));
        }
        Self(letters)
    }

    /// Accepts what a person types or pastes: any case, with or without hyphens and spaces.
    pub fn parse(input: &str) -> Result<Self, AppPasswordError> {
        let normalized = normalize(input);
        if !normalized.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(AppPasswordError::NotALetter);
        }
        if normalized.len() != LETTERS {
            return Err(AppPasswordError::WrongLength);
        }
        Ok(Self(normalized))
    }

    /// The 16 letters, as stored and hashed.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `xxxx-xxxx-xxxx-xxxx`, as shown once to the user.
    pub fn grouped(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(LETTERS + 3));
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }
}

/// Lower-case, hyphens and white space dropped. Used everywhere a password is typed.
pub fn normalize(input: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(input.len()));
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        for lower in c.to_lowercase() {
            out.push(lower);
        }
    }
    out
}

impl Clone for AppPassword {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl Drop for AppPassword {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_password_is_sixteen_lowercase_letters() {
        let p = AppPassword::generate();
        assert_eq!(p.expose().len(), 16);
        assert!(p.expose().chars().all(|c| c.is_ascii_lowercase()));
    }

    #[test]
    fn the_grouped_form_is_four_groups_of_four() {
        let p = AppPassword::parse("abcdefghijklmnop").unwrap();
        assert_eq!(&*p.grouped(), "abcd-efgh-ijkl-mnop");
    }

    #[test]
    fn any_case_hyphens_and_spaces_are_accepted() {
        let p = AppPassword::parse(" ABCD-efgh IJKL-mnop ").unwrap();
        assert_eq!(p.expose(), "abcdefghijklmnop");
    }

    #[test]
    fn a_short_or_non_letter_password_is_rejected() {
        assert_eq!(AppPassword::parse("abcd").err(), Some(AppPasswordError::WrongLength));
        assert_eq!(
            AppPassword::parse("abcdefghijklmno1").err(),
            Some(AppPasswordError::NotALetter)
        );
        assert_eq!(
            AppPassword::parse("abcdefghijklmnoé").err(),
            Some(AppPasswordError::NotALetter)
        );
    }

    #[test]
    fn two_passwords_differ() {
        assert_ne!(AppPassword::generate().expose(), AppPassword::generate().expose());
    }

    #[test]
    fn letters_are_uniform() {
        // 26 * 4000 letters; each bucket's expected count is 4000 with sd ≈ 62. A modulo-biased or
        // range-truncated generator lands far outside ±400.
        let mut counts = [0u32; 26];
        for _ in 0..(26 * 4000 / LETTERS) {
            for c in AppPassword::generate().expose().bytes() {
                counts[usize::from(c - b'a')] += 1;
            }
        }
        for (i, n) in counts.iter().enumerate() {
            assert!(
                (3600..=4400).contains(n),
                "letter {} drawn {n} times",
                char::from(b'a' + i as u8)
            );
        }
    }
}
