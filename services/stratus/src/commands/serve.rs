//! `serve` (all in one process), `gateway`, `speech` and `language`.
//!
//! Each binds its socket first, so `/healthz` answers at once, then pulls
//! missing models and loads them in the background; `/readyz` turns ready
//! when every model is loaded (and, for the gateway, the store and every
//! upstream are ready).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use stratus_gateway::auth::AuthConfig;
use stratus_gateway::auth::client::WebConfig;
use stratus_gateway::auth::throttle::LoginConfig;
use stratus_gateway::billing::{AlertWebhook, Billing, BillingConfig, Catalog};
use stratus_gateway::limits::{BackendConfig, LimitSpec, Limits, LimitsConfig, RedisFailure};
use stratus_gateway::metering::{ExportConfig, Meter, MeteringConfig};
use stratus_gateway::routing::HealthPolicy;
use stratus_gateway::tenants::AdminKeyImport;
use stratus_gateway::{Auth, EdgeConfig, GatewayState, PoolConfig, Store, Upstream, Upstreams};
use stratus_kit::context::InternalToken;
use stratus_kit::db::DbPool;
use stratus_kit::destination::DestinationPolicy;
use stratus_kit::health::Readiness;
use stratus_kit::server::{MinRate, ServerConfig};
use stratus_language::{LanguageConfig, LanguageService, RedactionKey};
use stratus_models::catalog::{ServiceKind, Task};
use stratus_models::speech::SpeechEngine;
use stratus_models::store::ModelStore;
use stratus_speech::jobs::{JobConfig, JobStore, JobWorkers, Jobs, webhook::WebhookSecret};
use stratus_speech::{SpeechConfig, SpeechService};
use tokio::net::TcpListener;

use crate::cli::{
    AuthArgs, BillingArgs, ConnectionArgs, EdgeArgs, GatewayArgs, HomeArgs, InternalTokenArgs,
    JobArgs, LimitArgs, MeteringArgs, ModelArgs, RedisFailureArg, ServeArgs, ServiceArgs,
    SpeechArgs, SpeechLimitArgs, WebhookPolicyArgs,
};
use crate::commands::identity::server_secret;
use crate::commands::open_store;
use crate::error::CliError;

/// How often completed jobs are looked for and metered: how late a job's
/// audio may show in usage and spend.
const JOB_USAGE_INTERVAL: Duration = Duration::from_secs(5);

/// The services models are loaded into.
#[derive(Clone)]
struct Targets {
    speech: Option<SpeechService>,
    language: Option<LanguageService>,
}

pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let cpu = cpu_tier(&args.model)?;
    let models = model_store(&args.home, &args.model)?;
    let names = wanted_models(&models, &args.model, None)?;
    let language = LanguageService::new(language_config(&args.model)?, cpu.readiness());
    let store = Store::open(&store_url(&args.store, &args.home)).await?;
    tracing::info!(backend = store.backend(), instance = %store.instance_id().await?, "store ready");
    // Jobs live in the gateway's database, through the same pool.
    let pool = match &store {
        Store::Sqlite(pool) => DbPool::Sqlite(pool.clone()),
        Store::Postgres(pool) => DbPool::Postgres(pool.clone()),
    };
    let job_store = JobStore::with_pool(pool).await?;
    let jobs = Jobs::new(job_store.clone(), job_config(&args.jobs, &args.webhooks)?)?;
    let speech = SpeechService::new(
        speech_config(&args.model, &args.speech_limits)?,
        cpu.readiness(),
    )
    .with_jobs(jobs.clone());
    // Kept until the server stops; dropping them stops the workers.
    let _job_workers = JobWorkers::spawn(speech.clone(), jobs);
    let auth = open_auth(&store, &args.auth, &args.home).await?;
    // One process: a fresh token per start that only it knows.
    let internal_token = InternalToken::generate()?;
    let upstreams = Upstreams {
        speech: Some(Upstream::InProcess {
            service: "speech",
            router: speech.router_with_context(Some(internal_token.clone())),
        }),
        language: Some(Upstream::InProcess {
            service: "language",
            router: language.router_with_context(Some(internal_token.clone())),
        }),
    };
    let meter = start_meter(&store, &args.metering, &args.home).await?;
    let billing = start_billing(&store, &args.billing, &args.edge, &args.webhooks)?;
    // Completed jobs' audio is metered from the job store (exactly once).
    let job_usage = stratus_gateway::billing::jobs::spawn(
        store.clone(),
        job_store,
        Some(billing.clone()),
        JOB_USAGE_INTERVAL,
    );
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: upstreams.into(),
            store: store.clone(),
            metering: Some(meter.clone()),
            billing: Some(billing.clone()),
            edge: edge_config(&args.edge),
            limits: open_limits(&store, &args.limits).await?,
            auth,
            internal_token,
        },
        cpu.readiness(),
    );
    serve_metrics(args.edge.metrics_listen, &args.connection).await?;
    let listener = bind(args.listen).await?;
    provision_in_background(
        models,
        names,
        Targets {
            speech: Some(speech),
            language: Some(language),
        },
    );
    let served = run_server(listener, app, &args.connection).await;
    job_usage.abort();
    stop_meter(&meter).await;
    // Leases of budget go back to the store for the other gateways.
    billing.shutdown().await;
    served
}

pub async fn gateway(args: GatewayArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.home.home).map_err(|source| CliError::CreateDir {
        path: args.home.home.clone(),
        source,
    })?;
    let pool = pool_config(&args);
    let replicas = |service: &'static str, urls: &[String]| {
        if urls.is_empty() {
            return Ok(None);
        }
        Upstream::replicas(service, urls, pool.clone())
            .map(Some)
            .map_err(|e| CliError::Usage(e.to_string()))
    };
    let upstreams = Upstreams {
        speech: replicas("speech", &args.speech_url)?,
        language: replicas("language", &args.language_url)?,
    };
    let store = Store::open(&store_url(&args.store, &args.home)).await?;
    let meter = start_meter(&store, &args.metering, &args.home).await?;
    let auth = open_auth(&store, &args.auth, &args.home).await?;
    let internal_token = internal_token(&args.internal)?.map_or_else(
        || {
            tracing::warn!(
                "no --internal-token: upstream services will not believe the tenant context"
            );
            InternalToken::generate()
        },
        Ok,
    )?;
    let billing = start_billing(&store, &args.billing, &args.edge, &args.webhooks)?;
    // Speech replicas that keep their jobs in this store (a shared
    // PostgreSQL) have their completed jobs metered here.
    let pool = match &store {
        Store::Sqlite(pool) => DbPool::Sqlite(pool.clone()),
        Store::Postgres(pool) => DbPool::Postgres(pool.clone()),
    };
    let job_usage = stratus_gateway::billing::jobs::spawn(
        store.clone(),
        JobStore::with_pool(pool).await?,
        Some(billing.clone()),
        JOB_USAGE_INTERVAL,
    );
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: upstreams.into(),
            store: store.clone(),
            metering: Some(meter.clone()),
            billing: Some(billing.clone()),
            edge: edge_config(&args.edge),
            limits: open_limits(&store, &args.limits).await?,
            auth,
            internal_token,
        },
        Readiness::default(),
    );
    serve_metrics(args.edge.metrics_listen, &args.connection).await?;
    let served = run_server(bind(args.listen).await?, app, &args.connection).await;
    job_usage.abort();
    stop_meter(&meter).await;
    // Leases of budget go back to the store for the other gateways.
    billing.shutdown().await;
    served
}

/// Metering with its log under HOME/wal (replaying what a previous run
/// left there).
async fn start_meter(
    store: &Store,
    args: &MeteringArgs,
    home: &HomeArgs,
) -> Result<Meter, CliError> {
    let mut config = MeteringConfig::new(home.home.join("wal"));
    config.batch_size = args.usage_batch_size.max(1);
    config.flush_interval = Duration::from_millis(args.usage_flush_ms);
    config.wal_sync = args.usage_wal_sync;
    if let Some(url) = &args.usage_sink_url {
        let mut export = ExportConfig::new(url.clone());
        export.token = args.usage_sink_token.clone();
        config.export = Some(export);
    }
    Ok(Meter::start(store.clone(), config).await?)
}

/// The price catalog (the file, or the built-in one) and budget
/// enforcement with its sweeper.
fn start_billing(
    store: &Store,
    args: &BillingArgs,
    edge: &EdgeArgs,
    webhooks: &WebhookPolicyArgs,
) -> Result<Billing, CliError> {
    let catalog = match &args.price_catalog {
        Some(path) => Catalog::load(path).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Catalog::builtin(),
    };
    let mut config = BillingConfig::new(catalog);
    // A reservation must outlive any request that holds it.
    config.reservation_ttl =
        Duration::from_secs(args.budget_reservation_ttl.max(edge.request_timeout + 60));
    config.reserve_audio_seconds = args.budget_reserve_audio_seconds;
    config.ledger.lease_requests = args.budget_lease_requests.max(1);
    config.ledger.sync_interval = Duration::from_millis(args.budget_sync_ms.max(10));
    config.max_request_body = edge.max_request_body;
    config.webhook = match (&args.budget_webhook_url, &args.budget_webhook_secret) {
        (Some(url), Some(secret)) => {
            // The operator's URL, but held to the tenants' policy: an alert
            // to this host or the metadata service is as much a forgery.
            let policy = webhook_policy(webhooks)?;
            policy.check_url(url).map_err(|e| {
                CliError::Usage(format!(
                    "--budget-webhook-url {e} (open it with --webhook-allow-hosts, --webhook-allow-private or --webhook-allow-http)"
                ))
            })?;
            Some(AlertWebhook {
                url: url.clone(),
                secret: WebhookSecret::new(secret),
                policy,
            })
        }
        (Some(_), None) => {
            return Err(CliError::Usage(
                "--budget-webhook-url needs --budget-webhook-secret (alerts are signed)".into(),
            ));
        }
        (None, _) => None,
    };
    Ok(Billing::start(store.clone(), config))
}

/// After the server stopped: store every recorded event before exiting
/// (what is not stored in time stays in the log for the next start).
async fn stop_meter(meter: &Meter) {
    if let Err(e) = meter.shutdown(Duration::from_secs(10)).await {
        tracing::warn!(error = %e, "usage events left in the log for the next start");
    }
}

/// The limiter: defaults from the flags, in-process or in Redis.
async fn open_limits(store: &Store, args: &LimitArgs) -> Result<Limits, CliError> {
    let spec = |flag: &str, text: &str| {
        text.parse::<LimitSpec>()
            .map_err(|e| CliError::Usage(format!("--{flag}: {e}")))
    };
    let backend = match &args.redis {
        None => BackendConfig::InProcess,
        Some(url) => BackendConfig::Redis {
            url: url.clone(),
            prefix: args.redis_prefix.clone(),
            on_failure: match args.limits_on_redis_failure {
                RedisFailureArg::Local => RedisFailure::Local,
                RedisFailureArg::Refuse => RedisFailure::Refuse,
            },
        },
    };
    let config = LimitsConfig {
        default_key: spec("default-key-limits", &args.default_key_limits)?,
        default_tenant: spec("default-tenant-limits", &args.default_tenant_limits)?,
        backend,
    };
    Limits::new(store.clone(), config)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// The edge's knobs from the flags.
fn edge_config(args: &EdgeArgs) -> EdgeConfig {
    EdgeConfig {
        max_in_flight: args.max_in_flight.max(1),
        max_in_flight_per_tenant: args.max_in_flight_per_tenant,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        max_request_body: args.max_request_body,
        max_scheduling_delay: (args.shed_scheduling_delay_ms > 0)
            .then(|| Duration::from_millis(args.shed_scheduling_delay_ms)),
    }
}

fn pool_config(args: &GatewayArgs) -> PoolConfig {
    let health_interval = Duration::from_millis(args.health_interval_ms.max(10));
    PoolConfig {
        connect_timeout: Duration::from_millis(args.upstream_connect_timeout_ms.max(1)),
        health_interval,
        health_timeout: health_interval.min(Duration::from_secs(5)),
        max_retries: args.upstream_retries,
        dns_refresh: (args.upstream_dns_refresh > 0)
            .then(|| Duration::from_secs(args.upstream_dns_refresh)),
        health: HealthPolicy {
            eject_after_failures: args.eject_after_failures.max(1),
            eject_backoff: Duration::from_millis(args.eject_backoff_ms),
            max_eject_backoff: Duration::from_secs(30),
        },
    }
}

/// `/metrics` on its own listener when `--metrics-listen` is set.
async fn serve_metrics(
    listen: Option<SocketAddr>,
    connection: &ConnectionArgs,
) -> Result<(), CliError> {
    let Some(addr) = listen else {
        return Ok(());
    };
    let listener = bind(addr).await?;
    tracing::info!("metrics on http://{addr}/metrics");
    let config = server_config(connection);
    // Describes the gateway's and the models' metrics; the jobs' too, for
    // the processes that work them.
    let router = stratus_gateway::observability::metrics::router();
    stratus_speech::jobs::metrics::describe();
    tokio::spawn(async move {
        if let Err(e) = stratus_kit::server::serve_with(
            listener,
            router,
            stratus_kit::server::shutdown_signal(),
            config,
        )
        .await
        {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    });
    Ok(())
}

pub async fn speech(args: SpeechArgs) -> Result<(), CliError> {
    let token = replica_token(&args.service, ServiceKind::Speech)?;
    let url = store_url(&args.store, &args.service.home);
    let store = JobStore::open(&url).await?;
    tracing::info!(backend = store.backend(), "job store ready");
    let jobs = Jobs::new(store, job_config(&args.jobs, &args.webhooks)?)?;
    single_service(args.service, ServiceKind::Speech, Some(jobs), token).await
}

pub async fn language(args: ServiceArgs) -> Result<(), CliError> {
    let token = replica_token(&args, ServiceKind::Language)?;
    single_service(args, ServiceKind::Language, None, token).await
}

/// A replica's internal token. Without one it serves anyone as tenant
/// `default` (jobs included), so it may listen only on loopback unless
/// `--allow-unauthenticated` says the network is trusted; either way it
/// says so loudly.
fn replica_token(args: &ServiceArgs, kind: ServiceKind) -> Result<Option<InternalToken>, CliError> {
    let token = internal_token(&args.internal)?;
    if token.is_none() {
        let service = match kind {
            ServiceKind::Speech => "speech",
            ServiceKind::Language => "language",
        };
        if !args.listen.ip().is_loopback() && !args.allow_unauthenticated {
            return Err(CliError::Usage(format!(
                "--listen {}: without --internal-token this {service} service would serve anyone who can reach it, unauthenticated, as tenant `default`; give it the gateway's --internal-token, listen on 127.0.0.1, or pass --allow-unauthenticated on a network where every client is trusted",
                args.listen
            )));
        }
        tracing::warn!(
            listen = %args.listen,
            "no --internal-token: this {service} service answers every client that can connect, unauthenticated, as tenant `default`; behind a gateway, give both the same --internal-token"
        );
    }
    Ok(token)
}

/// One service alone, as a replica behind a gateway; a speech service
/// works `jobs` too. With `token`, only requests carrying it are served
/// (health checks aside).
async fn single_service(
    args: ServiceArgs,
    kind: ServiceKind,
    jobs: Option<Jobs>,
    token: Option<InternalToken>,
) -> Result<(), CliError> {
    let mut job_workers = None;
    let cpu = cpu_tier(&args.model)?;
    let models = model_store(&args.home, &args.model)?;
    let names = wanted_models(&models, &args.model, Some(kind))?;
    let (targets, app) = match kind {
        ServiceKind::Speech => {
            let mut service = SpeechService::new(
                speech_config(&args.model, &args.speech_limits)?,
                cpu.readiness(),
            );
            if let Some(jobs) = jobs {
                service = service.with_jobs(jobs.clone());
                job_workers = Some(JobWorkers::spawn(service.clone(), jobs));
            }
            let app = service.router_with_context(token.clone());
            let targets = Targets {
                speech: Some(service),
                language: None,
            };
            (targets, app)
        }
        ServiceKind::Language => {
            let service = LanguageService::new(language_config(&args.model)?, cpu.readiness());
            let app = service.router_with_context(token.clone());
            let targets = Targets {
                speech: None,
                language: Some(service),
            };
            (targets, app)
        }
    };
    let listener = bind(args.listen).await?;
    serve_metrics(args.metrics_listen, &args.connection).await?;
    provision_in_background(models, names, targets);
    let served = run_server(listener, app, &args.connection).await;
    drop(job_workers);
    served
}

/// The CPU tier this process's model kernels run at (`--cpu-isa`), fixed
/// before any model loads.
struct CpuTier {
    detail: String,
}

impl CpuTier {
    /// A service's readiness, its `cpu` component saying the tier.
    fn readiness(&self) -> Readiness {
        let readiness = Readiness::default();
        readiness.ready_as("cpu", self.detail.clone());
        readiness
    }
}

/// Cap the malloc arenas, then fix the tier, log it and record it in
/// `/metrics`: what the process sets before any model loads.
fn cpu_tier(args: &ModelArgs) -> Result<CpuTier, CliError> {
    // Before any model thread allocates (see `--malloc-arenas`).
    if stratus_models::cpu::memory::limit_malloc_arenas(args.malloc_arenas) {
        tracing::info!(arenas = args.malloc_arenas, "malloc arenas capped");
    }
    let tier = stratus_models::cpu::select(args.cpu_isa.cap())?;
    let cpu = stratus_models::cpu::detected();
    tracing::info!(tier = %tier, cpu = %cpu.describe(), "model kernels run at this CPU tier");
    stratus_gateway::observability::metrics::record_cpu_tier(tier.isa().name(), cpu.best.name());
    Ok(CpuTier {
        detail: format!("kernels at {tier}; this CPU has {}", cpu.describe()),
    })
}

fn speech_config(args: &ModelArgs, limits: &SpeechLimitArgs) -> Result<SpeechConfig, CliError> {
    Ok(SpeechConfig {
        queue_capacity: args.queue_capacity,
        max_upload_bytes: limits.max_upload_bytes,
        max_audio_seconds: limits.max_audio_seconds,
        // Enough raw samples for the longest audio at 48 kHz stereo, so only
        // pathological files (many channels, huge rates) hit this first.
        max_decoded_samples: (limits.max_audio_seconds.max(0.0) * 96_000.0) as u64,
        audio_budget_seconds: limits.audio_budget_seconds,
        device: stratus_models::device::open(&args.device)?,
        vad: limits.vad,
        int8_decoder: limits.whisper_int8_decoder,
        amx_encoder: limits.whisper_amx_encoder,
        concurrency: usize::from(limits.speech_concurrency),
        engine: speech_engine("--speech-engine", &limits.speech_engine)?,
        model_engines: limits
            .model_engine
            .iter()
            .map(|pair| {
                let (name, engine) = pair.split_once('=').ok_or_else(|| {
                    CliError::Usage(format!("--model-engine {pair}: expected NAME=ENGINE"))
                })?;
                Ok((
                    name.trim().to_owned(),
                    speech_engine("--model-engine", engine)?,
                ))
            })
            .collect::<Result<_, CliError>>()?,
        whisper_cpp_threads: match limits.whisper_cpp_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        },
        whisper_cpp_gpu: limits.whisper_cpp_gpu,
    })
}

fn speech_engine(flag: &str, value: &str) -> Result<SpeechEngine, CliError> {
    value
        .trim()
        .parse()
        .map_err(|e| CliError::Usage(format!("{flag} {value}: {e}")))
}

fn job_config(args: &JobArgs, webhooks: &WebhookPolicyArgs) -> Result<JobConfig, CliError> {
    Ok(JobConfig {
        workers: args.job_workers.max(1),
        lease: Duration::from_secs(args.job_lease_seconds.max(3)),
        max_attempts: args.job_max_attempts.max(1),
        max_active_per_tenant: args.max_jobs_per_tenant,
        webhook_secret: args.webhook_secret.as_deref().map(WebhookSecret::new),
        webhook_timeout: Duration::from_secs(args.webhook_timeout_seconds.max(1)),
        webhook_attempts: args.webhook_attempts.max(1),
        webhook_policy: webhook_policy(webhooks)?,
        ..JobConfig::default()
    })
}

/// Where webhooks may go: https to public addresses, opened as far as the
/// operator said.
fn webhook_policy(args: &WebhookPolicyArgs) -> Result<DestinationPolicy, CliError> {
    DestinationPolicy::new()
        .allow_http(args.webhook_allow_http)
        .allow_private(args.webhook_allow_private)
        .allow_all(&args.webhook_allow_hosts)
        .map_err(|e| CliError::Usage(format!("--webhook-allow-hosts: {e}")))
}

fn language_config(args: &ModelArgs) -> Result<LanguageConfig, CliError> {
    let mut config = LanguageConfig::new(args.queue_capacity);
    config.redaction_key = args
        .redaction_key
        .as_deref()
        .map(|key| RedactionKey::new(key.as_bytes()));
    config.device = stratus_models::device::open(&args.device)?;
    config.batching.token_budget = args.embed_batch_tokens.max(1);
    config.batching.max_pending_tokens = args.embed_queue_tokens.max(1);
    config.batching.max_wait = Duration::from_millis(args.embed_batch_wait_ms);
    Ok(config)
}

/// How identity is enforced: sign-in throttling, trusted proxies and the
/// public URL, the per-tenant key cap.
fn auth_config(args: &AuthArgs) -> Result<AuthConfig, CliError> {
    let web = WebConfig::parse(&args.trusted_proxies, args.public_url.as_deref())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(AuthConfig {
        login: LoginConfig {
            attempts_per_client_minute: args.login_attempts_per_minute.max(1),
            failures_per_account: args.login_failures_per_account.max(1),
            concurrent_checks: args.login_concurrency.max(1),
        },
        web,
        max_keys_per_tenant: args.max_keys_per_tenant,
    })
}

/// Keys and sessions over `store`, and the deployment's admin key: the one
/// in `--admin-key-file`, or on a fresh store a generated one written to a
/// 0600 file whose path (never the key) is logged.
async fn open_auth(store: &Store, args: &AuthArgs, home: &HomeArgs) -> Result<Auth, CliError> {
    std::fs::create_dir_all(&home.home).map_err(|source| CliError::CreateDir {
        path: home.home.clone(),
        source,
    })?;
    let secret = server_secret(args.auth_secret.as_deref(), &home.home)?;
    let auth = Auth::with_config(store.clone(), &secret, auth_config(args)?);
    if let Some(path) = &args.admin_key_file {
        let key = std::fs::read_to_string(path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        let imported = stratus_gateway::tenants::import_admin_key(&auth, key.trim())
            .await
            .map_err(|source| CliError::AdminKey {
                path: path.clone(),
                source,
            })?;
        match imported {
            AdminKeyImport::Imported { id } => {
                tracing::info!(key_id = %id, path = %path.display(), "stored the configured admin API key");
            }
            AdminKeyImport::Present { id } => {
                tracing::debug!(key_id = %id, "the configured admin API key is known");
            }
            AdminKeyImport::Revoked { id } => tracing::warn!(
                key_id = %id,
                path = %path.display(),
                "the configured admin API key is revoked and authenticates nothing: put a new key in that file"
            ),
        }
    } else if let Some(path) = stratus_gateway::tenants::bootstrap_admin(&auth, &home.home).await? {
        tracing::info!(
            path = %path.display(),
            "first start: created an admin API key for the `system` tenant in this file; use it for /v1/admin/… and keep it safe"
        );
    }
    Ok(auth)
}

fn internal_token(args: &InternalTokenArgs) -> Result<Option<InternalToken>, CliError> {
    Ok(args
        .internal_token
        .as_deref()
        .map(InternalToken::new)
        .transpose()?)
}

fn store_url(store: &Option<String>, home: &HomeArgs) -> String {
    store
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", home.home.join("stratus.db").display()))
}

/// The model store with `--model-dir` folders registered.
fn model_store(home: &HomeArgs, args: &ModelArgs) -> Result<ModelStore, CliError> {
    let mut store = open_store(home)?.with_load_verification(args.verify_models.into());
    for spec in &args.model_dir {
        let (name, path) = spec
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--model-dir `{spec}`: expected NAME=PATH")))?;
        store.register_dir(name, std::path::Path::new(path))?;
    }
    Ok(store)
}

/// The models this process loads: `--models`, or the defaults of `service`
/// (all services when `None`) plus every registered folder. With
/// `--offline`, every one must already be installed.
fn wanted_models(
    store: &ModelStore,
    args: &ModelArgs,
    service: Option<ServiceKind>,
) -> Result<Vec<String>, CliError> {
    let names: Vec<String> = match &args.models {
        Some(names) => names.iter().filter(|n| !n.is_empty()).cloned().collect(),
        None => {
            let mut names: Vec<String> = store
                .catalog()
                .defaults()
                .filter(|m| service.is_none_or(|s| s == m.service))
                .map(|m| m.name.clone())
                .collect();
            for row in store.list() {
                let registered = row.source == Some(stratus_models::store::ModelSource::Registered);
                if registered
                    && !names.contains(&row.name)
                    && service.is_none_or(|s| s == service_of(row.task))
                {
                    names.push(row.name);
                }
            }
            names
        }
    };
    for name in &names {
        if store.catalog().get(name).is_err() && store.resolve(name).is_err() {
            return Err(CliError::Model(stratus_models::ModelError::UnknownModel {
                name: name.clone(),
            }));
        }
    }
    if args.offline {
        let missing: Vec<&String> = names.iter().filter(|n| !store.is_installed(n)).collect();
        if !missing.is_empty() {
            let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(CliError::Usage(format!(
                "--offline is set and these models are not installed: {}; run `stratus models pull {}` first (with the same --home)",
                list.join(", "),
                list.join(" ")
            )));
        }
    }
    Ok(names)
}

fn service_of(task: Task) -> ServiceKind {
    match task {
        Task::SpeechToText => ServiceKind::Speech,
        _ => ServiceKind::Language,
    }
}

/// Pull what is missing and load everything, off the async runtime; each
/// model's progress shows in its service's `/readyz`.
fn provision_in_background(store: ModelStore, names: Vec<String>, targets: Targets) {
    for name in &names {
        let task = store
            .catalog()
            .get(name)
            .map(|e| e.task)
            .or_else(|_| store.resolve(name).map(|r| r.task));
        if let Some(readiness) = task.ok().and_then(|task| readiness_for(&targets, task)) {
            readiness.starting(name, "waiting to be pulled and loaded");
        }
    }
    std::thread::spawn(move || {
        for name in names {
            provision_one(&store, &name, &targets);
        }
    });
}

fn readiness_for(targets: &Targets, task: Task) -> Option<&Readiness> {
    match service_of(task) {
        ServiceKind::Speech => targets.speech.as_ref().map(|s| &s.readiness),
        ServiceKind::Language => targets.language.as_ref().map(|s| &s.readiness),
    }
}

fn provision_one(store: &ModelStore, name: &str, targets: &Targets) {
    // Installed models are checked against their manifest before loading
    // (`--verify-models`); a model that is not installed is pulled (which
    // checks every package's digest) and checked the same way.
    let resolved = match store.resolve_for_load(name) {
        Ok(resolved) => Ok(resolved),
        Err(e) if store.is_installed(name) => Err(e),
        Err(_) => {
            let task = store.catalog().get(name).map(|e| e.task);
            if let Some(readiness) = task.ok().and_then(|t| readiness_for(targets, t)) {
                readiness.starting(name, "pulling");
            }
            tracing::info!(model = name, "pulling");
            store
                .pull(name, false)
                .and_then(|_| store.resolve_for_load(name))
        }
    };
    let resolved = match resolved {
        Ok(resolved) => resolved,
        Err(e) => {
            tracing::error!(model = name, error = %e, "model unavailable");
            if let Some(readiness) = store
                .catalog()
                .get(name)
                .ok()
                .and_then(|entry| readiness_for(targets, entry.task))
            {
                readiness.failed(name, e.to_string());
            }
            return;
        }
    };
    let started = match service_of(resolved.task) {
        ServiceKind::Speech => targets.speech.as_ref().map(|s| {
            // whisper.cpp's weights, converted on first start.
            if let Some(weights) = s.config.engine_of(name).ggml_weights() {
                if let Some(readiness) = readiness_for(targets, resolved.task) {
                    readiness.starting(name, "writing whisper.cpp weights");
                }
                store
                    .derive_ggml(name, weights)
                    .map_err(|e| e.to_string())?;
            }
            s.load(&resolved).map_err(|e| e.to_string())
        }),
        ServiceKind::Language => targets
            .language
            .as_ref()
            .map(|s| s.load(&resolved).map_err(|e| e.to_string())),
    };
    if let Some(Err(e)) = started {
        tracing::error!(model = name, error = %e, "model not loaded");
        if let Some(readiness) = readiness_for(targets, resolved.task) {
            readiness.failed(name, e);
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, CliError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| CliError::Listen { addr, source })
}

/// The server's patience with clients, from the flags.
fn server_config(args: &ConnectionArgs) -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_secs(args.header_read_timeout.max(1)),
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        min_body_rate: (args.min_body_rate_bytes > 0).then(|| MinRate {
            bytes: args.min_body_rate_bytes,
            window: Duration::from_secs(args.min_body_rate_window.max(1)),
        }),
    }
}

async fn run_server(
    listener: TcpListener,
    app: Router,
    connection: &ConnectionArgs,
) -> Result<(), CliError> {
    let addr = listener.local_addr().map_err(CliError::Serve)?;
    tracing::info!("listening on http://{addr}");
    stratus_kit::server::serve_with(
        listener,
        app,
        stratus_kit::server::shutdown_signal(),
        server_config(connection),
    )
    .await
    .map_err(CliError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}
