//! Distinguished names as Keyturn's directory has them (RFC 4514, the part it needs): an account under a
//! scope under the base, `uid=EMAIL,ou=SCOPE,dc=keyturn`. Attribute types compare without case, values
//! after their escapes are undone; a value's case matters only where the attribute says so (never here:
//! emails are matched after `Email::parse`, scopes and the base without case).

use std::fmt;

use keyturn_protocol::Scope;

/// One `type=value` pair: the type lower-cased, the value unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rdn {
    pub attr: String,
    pub value: String,
}

/// A parsed DN, most specific first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dn(pub Vec<Rdn>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a distinguished name (e.g. dc=keyturn or dc=example,dc=com)")]
pub struct NotADn(pub String);

impl Dn {
    /// Parses `text`; the empty string is the empty DN (the root DSE, or an anonymous bind).
    pub fn parse(text: &str) -> Result<Self, NotADn> {
        let err = || NotADn(text.to_owned());
        if text.trim().is_empty() {
            return Ok(Dn(Vec::new()));
        }
        split_unescaped(text, ',')
            .into_iter()
            .map(|rdn| {
                let (attr, value) = rdn.split_once('=').ok_or_else(err)?;
                let attr = attr.trim();
                let valid_attr =
                    !attr.is_empty() && attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                if !valid_attr {
                    return Err(err());
                }
                Ok(Rdn {
                    attr: attr.to_ascii_lowercase(),
                    value: unescape(value).ok_or_else(err)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Dn)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `self` is `other` or above it (`dc=keyturn` is above every account's DN).
    pub fn contains(&self, other: &Dn) -> bool {
        self.0.len() <= other.0.len()
            && self
                .0
                .iter()
                .rev()
                .zip(other.0.iter().rev())
                .all(|(a, b)| a.attr == b.attr && a.value.to_lowercase() == b.value.to_lowercase())
    }

    /// Whether the two name the same entry.
    pub fn same_as(&self, other: &Dn) -> bool {
        self.0.len() == other.0.len() && self.contains(other)
    }

    /// The email and scope of an account's DN under `base`: `uid=EMAIL,ou=SCOPE,BASE`. The email is as
    /// written, for `account::app_sign_in` to parse like any sign-in's.
    pub fn account_under(&self, base: &Dn) -> Option<(&str, Scope)> {
        let [uid, ou, rest @ ..] = self.0.as_slice() else {
            return None;
        };
        let under_base = Dn(rest.to_vec()).same_as(base);
        if !under_base || uid.attr != "uid" || ou.attr != "ou" {
            return None;
        }
        let scope = Scope::parse(&ou.value.to_lowercase()).ok()?;
        Some((uid.value.as_str(), scope))
    }

    /// The DN of an account's entry under `base`.
    pub fn of_account(email: &str, scope: Scope, base: &Dn) -> Dn {
        let mut rdns = vec![
            Rdn {
                attr: "uid".into(),
                value: email.into(),
            },
            Rdn {
                attr: "ou".into(),
                value: scope.as_str().into(),
            },
        ];
        rdns.extend(base.0.iter().cloned());
        Dn(rdns)
    }
}

impl fmt::Display for Dn {
    /// The string form, with RFC 4514's escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rdn) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", rdn.attr, escape(&rdn.value))?;
        }
        Ok(())
    }
}

/// Splits at each `sep` not escaped by a backslash.
fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == sep => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A value with its escapes undone: `\,` and the other specials, and `\HH` bytes (UTF-8 together). Spaces
/// around it not escaped are dropped. `None` for a dangling backslash, a backslash before anything else, bad
/// hex, invalid UTF-8 or a quoted (LDAPv2) value.
fn unescape(value: &str) -> Option<String> {
    let value = value.trim_start_matches(' ');
    // A trailing space kept only if escaped: trim the unescaped ones.
    let mut end = value.len();
    while end > 0 && value.as_bytes()[end - 1] == b' ' && !(end >= 2 && value.as_bytes()[end - 2] == b'\\') {
        end -= 1;
    }
    let value = &value[..end];
    if value.starts_with('"') {
        return None;
    }
    let mut bytes = Vec::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let next = chars.next()?;
        if next.is_ascii_hexdigit() {
            let low = chars.next()?;
            let byte = u8::from_str_radix(&format!("{next}{low}"), 16).ok()?;
            bytes.push(byte);
        } else if matches!(next, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' | ' ' | '#') {
            bytes.push(next as u8);
        } else {
            return None;
        }
    }
    String::from_utf8(bytes).ok()
}

/// RFC 4514 §2.4: the specials escaped, and a leading `#` or space and a trailing space.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn base() -> Dn {
        Dn::parse("dc=keyturn").unwrap()
    }

    #[test]
    fn an_account_dn_names_its_email_and_scope() {
        let dn = Dn::parse("uid=alice@example.com,ou=mail,dc=keyturn").unwrap();
        assert_eq!(dn.account_under(&base()), Some(("alice@example.com", Scope::Mail)));
        let spaced = Dn::parse(" UID = Alice@Example.com , OU=Calendars,DC=Keyturn").unwrap();
        assert_eq!(
            spaced.account_under(&base()),
            Some(("Alice@Example.com", Scope::Calendars))
        );
    }

    #[test]
    fn escapes_are_undone() {
        let dn = Dn::parse(r"uid=a\+b\2Cc@example.com,ou=files,dc=keyturn").unwrap();
        assert_eq!(dn.account_under(&base()), Some(("a+b,c@example.com", Scope::Files)));
        let dn = Dn::parse(r"uid=j\C3\BCrgen@example.com,ou=mail,dc=keyturn").unwrap();
        assert_eq!(dn.account_under(&base()), Some(("jürgen@example.com", Scope::Mail)));
    }

    #[test]
    fn anything_else_is_no_account() {
        for text in [
            "",
            "dc=keyturn",
            "ou=mail,dc=keyturn",
            "uid=a@example.com,dc=keyturn",
            "uid=a@example.com,ou=mail,dc=other",
            "uid=a@example.com,ou=printers,dc=keyturn",
            "cn=a@example.com,ou=mail,dc=keyturn",
            "uid=a@example.com,ou=mail,dc=keyturn,dc=com",
            "ou=mail,uid=a@example.com,dc=keyturn",
        ] {
            let dn = Dn::parse(text).unwrap();
            assert_eq!(dn.account_under(&base()), None, "{text}");
        }
        for text in ["uid", "uid=a\\", "uid=\\zz", "=x", "uid=\"quoted\"", "u id=x"] {
            assert!(Dn::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn the_base_contains_its_accounts_and_nothing_else() {
        let account = Dn::parse("uid=a@example.com,ou=mail,dc=keyturn").unwrap();
        assert!(base().contains(&account));
        assert!(Dn::parse("ou=mail,dc=keyturn").unwrap().contains(&account));
        assert!(!Dn::parse("ou=files,dc=keyturn").unwrap().contains(&account));
        assert!(Dn(Vec::new()).contains(&account), "the root is above everything");
        assert!(account.same_as(&Dn::parse("UID=A@example.com, ou=MAIL, dc=KEYTURN").unwrap()));
    }

    proptest! {
        #[test]
        fn a_written_account_dn_reads_back(local in "[a-z0-9+,;=#\"<>\\\\ .-]{1,20}", scope in 0usize..4) {
            let email = format!("{}@example.com", local.trim());
            prop_assume!(!local.trim().is_empty());
            let scope = Scope::ALL[scope];
            let written = Dn::of_account(&email, scope, &base()).to_string();
            let read = Dn::parse(&written).unwrap();
            prop_assert_eq!(read.account_under(&base()), Some((email.as_str(), scope)));
        }

        #[test]
        fn any_text_parses_or_fails_without_panicking(text in "\\PC{0,80}") {
            if let Ok(dn) = Dn::parse(&text) {
                let _ = dn.account_under(&base());
            }
        }
    }
}
