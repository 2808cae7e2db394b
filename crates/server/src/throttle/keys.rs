//! What the throttle counts under: an account by a hash of its email, an address by itself or its /64, and
//! the three counts an attempt goes into.

use std::net::IpAddr;

use keyturn_protocol::Email;
use sha2::{Digest, Sha256};

use super::Scope;

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
    BackOff(Scope, AccountKey, AddressKey),
    DailyCap(Scope, AccountKey),
    Window(Scope, AddressKey),
}

impl Key {
    /// The key as the database keeps it: the scope, the count, the account's hash, the address.
    pub(super) fn stored(&self) -> String {
        match self {
            Self::BackOff(scope, account, address) => {
                format!("{}/back-off/{}/{}", scope.label(), hex::encode(account.0), address.0)
            }
            Self::DailyCap(scope, account) => format!("{}/day/{}", scope.label(), hex::encode(account.0)),
            Self::Window(scope, address) => format!("{}/window/{}", scope.label(), address.0),
        }
    }

    /// Which of `keys` a stored key is.
    pub(super) fn from_stored(keys: &[Key], stored: &str) -> Option<Key> {
        keys.iter().copied().find(|key| key.stored() == stored)
    }
}

/// The counts an attempt goes into.
pub(super) fn keys(scope: Scope, email: Option<&Email>, ip: IpAddr) -> Vec<Key> {
    let address = AddressKey::of(ip);
    let mut keys = vec![Key::Window(scope, address)];
    if let Some(email) = email {
        let account = AccountKey::of(email);
        keys.push(Key::BackOff(scope, account, address));
        keys.push(Key::DailyCap(scope, account));
    }
    keys
}
