//! What an operator watches, in the Prometheus text format: `GET /metrics` on `--metrics-listen` only, never
//! on the API's address (the figures are for the operator, not for the public).
//!
//! Each part keeps its own counters (the argon2 pool its runs and queue, the throttle its refusals, the
//! verified-password cache its hits); [`Metrics`] registers them and counts requests per route itself.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::credentials::Argon2Pool;
use crate::throttle::Throttle;
use crate::verified_cache::VerifiedCache;
use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// One of [`method_label`]'s few, never the client's own text: invented methods would make a series each.
    method: &'static str,
    /// The route's template (`/v1/app-passwords/{id}`), never the path itself: ids would make a series each.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LdapLabels {
    /// `bind`, `malformed` or `write`: a fixed few.
    op: &'static str,
    /// The LDAP result code answered (0 success, 49 invalid credentials, 51 busy …).
    result: i64,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    ldap: Family<LdapLabels, Counter>,
}

impl Metrics {
    pub fn new(argon2: &Argon2Pool, throttle: &Throttle, verified: &VerifiedCache) -> Self {
        let mut registry = Registry::with_prefix("keyturn");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by route and status",
            requests.clone(),
        );
        let latency: LatencyFamily = Family::new_with_constructor(|| {
            // 0.25 ms to about 4 s.
            Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route",
            latency.clone(),
        );
        let ldap = Family::<LdapLabels, Counter>::default();
        registry.register(
            "ldap_operations",
            "LDAP operations answered, by result code",
            ldap.clone(),
        );
        argon2.register(&mut registry);
        throttle.register(&mut registry);
        verified.register(&mut registry);
        Self {
            registry,
            requests,
            latency,
            ldap,
        }
    }

    /// Counts an LDAP operation answered with `result`.
    pub fn count_ldap(&self, op: &'static str, result: ldap3_proto::LdapResultCode) {
        self.ldap
            .get_or_create(&LdapLabels {
                op,
                result: result as i64,
            })
            .inc();
    }

    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Counts and times each request that matched a route.
pub async fn record_request(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(route) = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return next.run(request).await;
    };
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &app.metrics;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method,
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// The method as a label: the standard ones, and `other` for any a client makes up (`FOO1 /v1/config`
/// is routed, and answered 405), so the number of series stays bounded whatever clients send.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The operator's router: `GET /metrics`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .with_state(state)
}

async fn metrics(State(app): State<AppState>) -> Response {
    match app.metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
