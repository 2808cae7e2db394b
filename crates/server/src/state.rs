//! [`AppState`]: what every request handler shares.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use keyturn_protocol::wire::ServiceInfo;

use crate::connections::ConnectionLimits;
use keyturn_protocol::{AppPasswordId, Scope, Verifier, VerifierParams};

use crate::client_address::TrustedProxies;
use crate::clock::Clock;
use crate::credentials::{self, Argon2Limits, Argon2Pool};
use crate::metrics::Metrics;
use crate::store::{Backend, Store};
use crate::throttle::Throttle;
use crate::verified_cache::{self, VerifiedCache};

/// How many (password, scope) refusals `scope_refusals` remembers.
const SCOPE_REFUSALS_KEPT: usize = 10_000;

/// Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// How a server is configured beyond its database and clock: `serve`'s flags.
#[derive(Clone, Debug)]
pub struct Options {
    /// argon2id parameters for device verifiers and primary passwords.
    pub params: VerifierParams,
    pub argon2: Argon2Limits,
    pub trusted_proxies: TrustedProxies,
    /// How often expired sessions and old idempotency keys are deleted.
    pub purge_every: std::time::Duration,
    /// App-specific passwords only for accounts with two-factor authentication on.
    pub require_second_factor: bool,
    /// The operator's mail and calendar services, published at `/v1/config` for the reveal to name.
    pub services: Vec<ServiceInfo>,
    /// How many connections may be open, and how long a request's header and body may take.
    pub connections: ConnectionLimits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            params: VerifierParams::default(),
            argon2: Argon2Limits::default(),
            trusted_proxies: TrustedProxies::default(),
            purge_every: std::time::Duration::from_secs(3600),
            require_second_factor: false,
            services: Vec::new(),
            connections: ConnectionLimits::default(),
        }
    }
}

#[doc(hidden)]
pub struct Shared {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    /// argon2id parameters for device verifiers (advertised at `/v1/config`) and primary password hashes.
    pub(crate) params: VerifierParams,
    pub(crate) throttle: Throttle,
    /// App passwords already verified in this process, so a chatty mail client costs one argon2 run.
    pub(crate) verified: VerifiedCache,
    /// Verified against when an e-mail is unknown, so that costs the same time as a wrong password.
    pub(crate) dummy: Verifier,
    /// Every argon2 run of a request goes through here: bounded, and counted.
    pub(crate) argon2: Argon2Pool,
    /// Whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) purge_every: std::time::Duration,
    pub(crate) require_second_factor: bool,
    pub(crate) services: Vec<ServiceInfo>,
    pub(crate) connections: ConnectionLimits,
    /// Requests per route, and the counters of the parts above, for `GET /metrics`.
    pub(crate) metrics: Metrics,
    /// When each password's refusal for a scope (`None`: for asking none) was last audited
    /// (`account::app_sign_in`), for [`SCOPE_REFUSALS_KEPT`] pairs at most: the cold ones are forgotten first.
    pub(crate) scope_refusals: quick_cache::sync::Cache<(AppPasswordId, Option<Scope>), DateTime<Utc>>,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>, options: Options) -> anyhow::Result<Self> {
        let dummy = credentials::dummy_verifier(options.params)?;
        // Several instances share PostgreSQL, and throttle as one only if the counts are there too.
        let throttle = match store.backend() {
            Backend::Sqlite => Throttle::default(),
            Backend::Postgres => Throttle::in_database(store.clone()),
        };
        let verified = VerifiedCache::new(verified_cache::CAPACITY);
        let argon2 = Argon2Pool::new(options.argon2);
        let metrics = Metrics::new(&argon2, &throttle, &verified);
        Ok(Self(Arc::new(Shared {
            store,
            clock,
            params: options.params,
            throttle,
            verified,
            dummy,
            argon2,
            metrics,
            trusted_proxies: options.trusted_proxies,
            purge_every: options.purge_every,
            require_second_factor: options.require_second_factor,
            services: options.services,
            connections: options.connections,
            scope_refusals: quick_cache::sync::Cache::new(SCOPE_REFUSALS_KEPT),
        })))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn params(&self) -> VerifierParams {
        self.params
    }

    /// How many argon2 verifications requests have cost since start.
    pub fn argon2_verifications(&self) -> u64 {
        self.argon2.runs()
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
