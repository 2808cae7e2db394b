//! Which app-specific passwords this process has verified, so a chatty mail client costs one argon2 run.
//!
//! An entry is id → HMAC(process key, password). Only the same password produces the same HMAC, so a hit
//! proves the password without argon2. The key is random per process and never leaves memory. A hit still
//! needs the row to be active, read fresh on every sign-in: the cache can make a sign-in cheaper, never
//! let a revoked password in. Revoking evicts the entry; past the capacity the least useful entries go.

use hmac::{Hmac, Mac};
use keyturn_protocol::{AppPassword, AppPasswordId};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Entries kept at most: 100k passwords take about 10 MB.
pub const CAPACITY: usize = 100_000;

/// HMAC of one password under the process key.
#[derive(Clone)]
pub struct Proof([u8; 32]);

pub struct VerifiedCache {
    key: Zeroizing<[u8; 32]>,
    entries: quick_cache::sync::Cache<AppPasswordId, Proof>,
    lookups: Family<LookupLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    /// `hit` (no argon2 run) or `miss`.
    result: &'static str,
}

impl VerifiedCache {
    pub fn new(capacity: usize) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        Self {
            key,
            entries: quick_cache::sync::Cache::new(capacity),
            lookups: Family::default(),
        }
    }

    pub fn proof(&self, password: &AppPassword) -> Proof {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.key.as_ref()) else {
            return Proof([0; 32]);
        };
        mac.update(password.expose().as_bytes());
        Proof(mac.finalize().into_bytes().into())
    }

    /// Whether `id` was verified with the password `proof` was made from.
    pub fn hit(&self, id: &AppPasswordId, proof: &Proof) -> bool {
        let hit = self
            .entries
            .get(id)
            .is_some_and(|known| bool::from(known.0.ct_eq(&proof.0)));
        let result = if hit { "hit" } else { "miss" };
        self.lookups.get_or_create(&LookupLabels { result }).inc();
        hit
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "verified_cache_lookups",
            "App sign-ins looked up in the verified-password cache, by result",
            self.lookups.clone(),
        );
    }

    pub fn insert(&self, id: AppPasswordId, proof: Proof) {
        self.entries.insert(id, proof);
    }

    /// A revoked password leaves the cache at once (the row check would refuse it anyway).
    pub fn evict<'a>(&self, ids: impl IntoIterator<Item = &'a AppPasswordId>) {
        for id in ids {
            self.entries.remove(id);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_needs_the_same_password_and_id() {
        let cache = VerifiedCache::new(10);
        let (right, wrong) = (AppPassword::generate(), AppPassword::generate());
        let id = AppPasswordId::new("a");
        cache.insert(id.clone(), cache.proof(&right));
        assert!(cache.hit(&id, &cache.proof(&right)));
        assert!(!cache.hit(&id, &cache.proof(&wrong)));
        assert!(!cache.hit(&AppPasswordId::new("b"), &cache.proof(&right)));
    }

    #[test]
    fn an_evicted_password_is_no_longer_a_hit() {
        let cache = VerifiedCache::new(10);
        let password = AppPassword::generate();
        let id = AppPasswordId::new("a");
        cache.insert(id.clone(), cache.proof(&password));
        cache.evict([&id]);
        assert!(!cache.hit(&id, &cache.proof(&password)));
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = VerifiedCache::new(100);
        let password = AppPassword::generate();
        for i in 0..1_000 {
            cache.insert(AppPasswordId::new(i.to_string()), cache.proof(&password));
        }
        assert!(cache.len() <= 100, "{}", cache.len());
        assert!(cache.len() > 0);
    }
}
