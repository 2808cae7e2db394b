//! The entries this directory has: the root DSE, and each account's own entry as its bind sees it.

use ldap3_proto::proto::LdapFilter;
use ldap3_proto::{LdapPartialAttribute, LdapSearchResultEntry};

use super::Dn;
use crate::account::AppSignedIn;

/// The root DSE: the naming context, the protocol version, the one extension.
pub(super) fn root_dse(base: &Dn, whoami_oid: &str) -> LdapSearchResultEntry {
    LdapSearchResultEntry {
        dn: String::new(),
        attributes: vec![
            attribute("objectClass", &["top"]),
            attribute("namingContexts", &[&base.to_string()]),
            attribute("supportedLDAPVersion", &["3"]),
            attribute("supportedExtension", &[whoami_oid]),
            attribute("vendorName", &["Keyturn"]),
        ],
    }
}

/// An account's entry: its email as `uid`, `mail` and `cn`.
pub(super) fn account(dn: &Dn, signed_in: &AppSignedIn) -> LdapSearchResultEntry {
    let email = signed_in.email.as_str();
    LdapSearchResultEntry {
        dn: dn.to_string(),
        attributes: vec![
            attribute(
                "objectClass",
                &["top", "person", "organizationalPerson", "inetOrgPerson"],
            ),
            attribute("uid", &[email]),
            attribute("mail", &[email]),
            attribute("cn", &[email]),
            attribute("sn", &[email]),
        ],
    }
}

/// `entry` if it matches `filter`, with only the attributes asked for (all for none, `*` or `+`; none for
/// `1.1`).
pub(super) fn matching(
    mut entry: LdapSearchResultEntry,
    filter: &LdapFilter,
    wanted: &[String],
) -> Option<LdapSearchResultEntry> {
    if !matches(&entry, filter) {
        return None;
    }
    // `*` all user attributes, `+` all operational ones (how `ldapsearch` asks for the root DSE's).
    let all = wanted.is_empty() || wanted.iter().any(|a| a == "*" || a == "+");
    if !all {
        entry
            .attributes
            .retain(|attr| wanted.iter().any(|w| w.eq_ignore_ascii_case(&attr.atype)));
    }
    Some(entry)
}

/// RFC 4511 §4.5.1.7, for what these entries hold: presence, equality without case, and the boolean
/// combinations; any other test (substrings, ordering, extensible) matches nothing.
fn matches(entry: &LdapSearchResultEntry, filter: &LdapFilter) -> bool {
    fn values<'a>(entry: &'a LdapSearchResultEntry, name: &'a str) -> impl Iterator<Item = &'a Vec<u8>> {
        entry
            .attributes
            .iter()
            .filter(move |a| a.atype.eq_ignore_ascii_case(name))
            .flat_map(|a| a.vals.iter())
    }
    match filter {
        LdapFilter::And(all) => all.iter().all(|f| matches(entry, f)),
        LdapFilter::Or(any) => any.iter().any(|f| matches(entry, f)),
        LdapFilter::Not(inner) => !matches(entry, inner),
        LdapFilter::Present(name) => values(entry, name).next().is_some(),
        LdapFilter::Equality(name, value) | LdapFilter::Approx(name, value) => {
            values(entry, name).any(|v| String::from_utf8_lossy(v).to_lowercase() == value.to_lowercase())
        }
        _ => false,
    }
}

fn attribute(name: &str, values: &[&str]) -> LdapPartialAttribute {
    LdapPartialAttribute {
        atype: name.to_owned(),
        vals: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use ldap3_proto::parse_ldap_filter_str;

    use super::*;

    fn root() -> LdapSearchResultEntry {
        root_dse(&Dn::parse("dc=keyturn").unwrap(), "1.3.6.1.4.1.4203.1.11.3")
    }

    #[test]
    fn filters_match_what_the_entry_holds() {
        let matching_filter = |text: &str| matches(&root(), &parse_ldap_filter_str(text).unwrap());
        assert!(matching_filter("(objectClass=*)"));
        assert!(matching_filter("(&(objectclass=TOP)(supportedLDAPVersion=3))"));
        assert!(matching_filter("(|(cn=x)(vendorName=keyturn))"));
        assert!(!matching_filter("(!(objectClass=top))"));
        assert!(!matching_filter("(cn=*)"));
        assert!(!matching_filter("(vendorName=Key*)"), "substrings match nothing");
    }

    #[test]
    fn only_the_attributes_asked_for() {
        let all = parse_ldap_filter_str("(objectClass=*)").unwrap();
        let entry = matching(root(), &all, &["namingcontexts".to_owned()]).unwrap();
        assert_eq!(entry.attributes.len(), 1);
        assert_eq!(entry.attributes[0].vals, vec![b"dc=keyturn".to_vec()]);
        assert_eq!(matching(root(), &all, &[]).unwrap().attributes.len(), 5);
        assert!(matching(root(), &all, &["1.1".to_owned()])
            .unwrap()
            .attributes
            .is_empty());
    }
}
