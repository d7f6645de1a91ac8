//! `AppState`: everything a handler needs, built once at start and shared.
use std::sync::Arc;

use crate::auth::{JwtKeys, PasswordParams};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::CertSigner;
use crate::keys::KeyService;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub keys: KeyService,
    pub clock: SharedClock,
    pub jwt: Arc<JwtKeys>,
    pub password_params: PasswordParams,
    /// Bounds concurrent Argon2 work so a login flood cannot exhaust memory.
    pub hasher: crate::auth::hashpool::HashPool,
    pub throttle: Arc<crate::auth::throttle::LoginThrottle>,
    pub signer: Arc<CertSigner>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Outbound messages to Meta's Graph API.
    pub graph: crate::messaging::GraphClient,
    /// Webhook bodies are stored by a few workers that commit them in groups.
    pub ingestor: crate::webhook::ingest::Ingestor,
}
