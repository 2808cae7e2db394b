//! Who and what requests name: an account's [`Email`] and an app-specific password's [`AppPasswordId`].

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::MAX_EMAIL_BYTES;

/// An email address as accounts are keyed: trimmed, NFC, lower-case, at most 254 bytes, one `@` between a
/// non-empty local part and a non-empty domain. Addresses that differ only in case or surrounding space are
/// the same account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = "email"))]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address.")]
    Empty,
    #[error("An email address has one @ between a name and a domain.")]
    NotOneAt,
    #[error("An email address can be at most {MAX_EMAIL_BYTES} bytes.")]
    TooLong,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email: String = input.trim().nfc().collect::<String>().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > MAX_EMAIL_BYTES {
            return Err(EmailError::TooLong);
        }
        match email.split_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => {
                Ok(Self(email))
            }
            _ => Err(EmailError::NotOneAt),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The opaque id of one app-specific password. Ids are made by the server; anything else is just a string
/// that names no password.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
pub struct AppPasswordId(String);

impl AppPasswordId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppPasswordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ann@Example.COM \n").unwrap().as_str(),
            "ann@example.com"
        );
    }

    #[test]
    fn an_email_is_nfc_normalised() {
        let decomposed = Email::parse("Jose\u{301}@example.com").unwrap();
        assert_eq!(decomposed, Email::parse("jos\u{e9}@example.com").unwrap());
    }

    #[test]
    fn an_email_needs_exactly_one_at_between_two_parts() {
        for bad in ["ann", "ann@", "@example.com", "ann@b@example.com"] {
            assert_eq!(Email::parse(bad), Err(EmailError::NotOneAt), "{bad}");
        }
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
    }

    #[test]
    fn an_email_of_254_bytes_passes_and_255_fails() {
        let domain = "@example.com";
        let ok = format!("{}{domain}", "a".repeat(MAX_EMAIL_BYTES - domain.len()));
        assert!(Email::parse(&ok).is_ok());
        let long = format!("a{ok}");
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn an_email_deserializes_only_when_valid() {
        let email: Email = serde_json::from_str("\"Ann@Example.com\"").unwrap();
        assert_eq!(email.as_str(), "ann@example.com");
        assert!(serde_json::from_str::<Email>("\"nobody\"").is_err());
    }
}
