//! What the throttle counts under: an account by a hash of its email, an address by itself or its /64, and
//! the three counts an attempt goes into.

use std::net::IpAddr;

use keyturn_protocol::Email;
use sha2::{Digest, Sha256};

use super::Kind;

/// An account as the throttle knows it: 128 bits of SHA-256 of the normalised email, never the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct AccountKey([u8; 16]);

impl AccountKey {
    fn of(email: &Email) -> Self {
        let digest = Sha256::new()
            .chain_update(b"keyturn-throttle-v1:")
            .chain_update(email.as_str())
            .finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        Self(key)
    }
}

/// A client address as counted: IPv4 as is, IPv6 by its /64 (one subscriber's usual allocation), an
/// IPv4-mapped IPv6 address as the IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct AddressKey(IpAddr);

impl AddressKey {
    fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Self(IpAddr::V6(prefix.into()))
            }
            v4 => Self(v4),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    BackOff(Kind, AccountKey, AddressKey),
    DailyCap(Kind, AccountKey),
    Window(Kind, AddressKey),
}

impl Key {
    /// The key as the database keeps it: the kind, the count, the account's hash, the address.
    pub(super) fn stored(&self) -> String {
        match self {
            Self::BackOff(kind, account, address) => {
                format!("{}/back-off/{}/{}", kind.label(), hex::encode(account.0), address.0)
            }
            Self::DailyCap(kind, account) => format!("{}/day/{}", kind.label(), hex::encode(account.0)),
            Self::Window(kind, address) => format!("{}/window/{}", kind.label(), address.0),
        }
    }

    /// Which of `keys` a stored key is.
    pub(super) fn from_stored(keys: &[Key], stored: &str) -> Option<Key> {
        keys.iter().copied().find(|key| key.stored() == stored)
    }
}

/// The counts an attempt goes into. Without an address (a bind relayed by a mail server, which does not say
/// whose it is), no window per address, and the account's back-off is its own (keyed by the unspecified
/// address): the relay is never counted as one client for all of its users.
pub(super) fn keys(kind: Kind, email: Option<&Email>, ip: Option<IpAddr>) -> Vec<Key> {
    let mut keys = Vec::with_capacity(3);
    if let Some(ip) = ip {
        keys.push(Key::Window(kind, AddressKey::of(ip)));
    }
    if let Some(email) = email {
        let account = AccountKey::of(email);
        let address = AddressKey::of(ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)));
        keys.push(Key::BackOff(kind, account, address));
        keys.push(Key::DailyCap(kind, account));
    }
    keys
}
