//! What an app-specific password may reach: [`Scope`], and [`Scopes`], the non-empty set one password carries.
//!
//! A password made without naming any reaches all four, as every password did before scopes existed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One thing a third-party app may reach with an app-specific password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Mail,
    Calendars,
    Contacts,
    Files,
}

impl Scope {
    /// Every scope, in the order lists and checkboxes show them.
    pub const ALL: [Scope; 4] = [Scope::Mail, Scope::Calendars, Scope::Contacts, Scope::Files];

    /// The scope as it travels and is stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Mail => "mail",
            Scope::Calendars => "calendars",
            Scope::Contacts => "contacts",
            Scope::Files => "files",
        }
    }

    /// The scope in the words the app shows.
    pub const fn name(self) -> &'static str {
        match self {
            Scope::Mail => "Mail",
            Scope::Calendars => "Calendars",
            Scope::Contacts => "Contacts",
            Scope::Files => "Files",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ScopesError> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or(ScopesError::Unknown)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScopesError {
    #[error("Choose at least one thing this password may reach.")]
    Empty,
    #[error("An app-specific password may reach mail, calendars, contacts or files.")]
    Unknown,
}

/// A set of scopes, non-empty whenever a server made it. On the wire, a JSON array of their names in
/// [`Scope::ALL`]'s order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// What a password made without naming scopes reaches.
    pub const EVERYTHING: Scopes = Scopes(0b1111);

    /// The scopes named, each at most once in effect; empty or an unknown name is refused.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, ScopesError> {
        let mut bits = 0;
        for name in names {
            bits |= Scope::parse(name.as_ref())?.bit();
        }
        if bits == 0 {
            return Err(ScopesError::Empty);
        }
        Ok(Self(bits))
    }

    /// None of the four: only a set read from a newer server's answer, naming scopes this build does not know.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |scope| self.contains(*scope))
    }

    /// As the database keeps it: the names joined with commas ("mail,calendars").
    pub fn to_stored(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(",")
    }

    /// What [`Scopes::to_stored`] wrote.
    pub fn from_stored(stored: &str) -> Result<Self, ScopesError> {
        Self::parse(&stored.split(',').collect::<Vec<_>>())
    }
}

impl Default for Scopes {
    fn default() -> Self {
        Self::EVERYTHING
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// "mail, calendars"
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iter().map(Scope::as_str).collect::<Vec<_>>().join(", "))
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Scope::as_str))
    }
}

/// For answers from a newer server: names this build does not know are left out, never widened into more. A
/// password that reaches only things this build does not know reads as reaching none of the four (see
/// [`Scopes::is_empty`]), so nothing reading it grants more than the server said.
impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let bits = names
            .iter()
            .filter_map(|name| Scope::parse(name).ok())
            .fold(0, |bits, scope| bits | scope.bit());
        Ok(Self(bits))
    }
}

#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
    use utoipa::openapi::RefOr;

    use super::{Scope, Scopes};

    impl utoipa::PartialSchema for Scopes {
        fn schema() -> RefOr<Schema> {
            let item = ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .enum_values(Some(Scope::ALL.iter().map(|s| s.as_str())));
            ArrayBuilder::new()
                .items(item)
                .min_items(Some(1))
                .unique_items(true)
                .description(Some("What the password may reach: a non-empty subset of the four."))
                .into()
        }
    }

    impl utoipa::ToSchema for Scopes {}
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_parse_in_any_order_and_come_back_in_the_documented_order() {
        let scopes = Scopes::parse(&["files", "mail", "mail"]).unwrap();
        assert_eq!(
            serde_json::to_value(scopes).unwrap(),
            serde_json::json!(["mail", "files"])
        );
        assert_eq!(scopes.to_stored(), "mail,files");
        assert_eq!(Scopes::from_stored("mail,files").unwrap(), scopes);
        assert!(scopes.contains(Scope::Mail) && !scopes.contains(Scope::Calendars));
    }

    #[test]
    fn empty_or_unknown_is_refused() {
        assert_eq!(Scopes::parse::<&str>(&[]), Err(ScopesError::Empty));
        assert_eq!(Scopes::parse(&["mail", "printer"]), Err(ScopesError::Unknown));
        assert_eq!(Scopes::parse(&["Mail"]), Err(ScopesError::Unknown));
    }

    #[test]
    fn everything_is_all_four() {
        assert_eq!(Scopes::EVERYTHING.iter().collect::<Vec<_>>(), Scope::ALL);
        assert_eq!(Scopes::EVERYTHING.to_stored(), "mail,calendars,contacts,files");
    }

    #[test]
    fn an_answer_from_a_newer_server_keeps_the_scopes_this_build_knows_and_never_more() {
        let scopes: Scopes = serde_json::from_str(r#"["mail","printers"]"#).unwrap();
        assert_eq!(scopes, Scopes::parse(&["mail"]).unwrap());
        let unknown: Scopes = serde_json::from_str(r#"["printers"]"#).unwrap();
        assert!(unknown.is_empty());
        assert!(Scope::ALL.iter().all(|scope| !unknown.contains(*scope)));
        assert_eq!(serde_json::to_value(unknown).unwrap(), serde_json::json!([]));
    }

    proptest! {
        #[test]
        fn every_set_survives_storage_and_the_wire(bits in 1u8..16) {
            let scopes = Scopes(bits);
            prop_assert_eq!(Scopes::from_stored(&scopes.to_stored()).unwrap(), scopes);
            let json = serde_json::to_string(&scopes).unwrap();
            prop_assert_eq!(serde_json::from_str::<Scopes>(&json).unwrap(), scopes);
        }
    }
}
