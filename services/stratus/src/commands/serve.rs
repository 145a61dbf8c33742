//! `serve` (all in one process), `gateway`, `speech` and `language`.
//!
//! Each binds its socket first, so `/healthz` answers at once, then pulls
//! missing models and loads them in the background; `/readyz` turns ready
//! when every model is loaded (and, for the gateway, the store and every
//! upstream are ready).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use stratus_gateway::{Auth, GatewayState, Store, Upstream, Upstreams};
use stratus_kit::context::InternalToken;
use stratus_kit::health::Readiness;
use stratus_language::{LanguageConfig, LanguageService, RedactionKey};
use stratus_models::catalog::{ServiceKind, Task};
use stratus_models::store::ModelStore;
use stratus_speech::{SpeechConfig, SpeechService};
use tokio::net::TcpListener;

use crate::cli::{
    AuthArgs, GatewayArgs, HomeArgs, InternalTokenArgs, ModelArgs, ServeArgs, ServiceArgs,
    SpeechLimitArgs,
};
use crate::commands::identity::server_secret;
use crate::commands::open_store;
use crate::error::CliError;

/// The services models are loaded into.
#[derive(Clone)]
struct Targets {
    speech: Option<SpeechService>,
    language: Option<LanguageService>,
}

pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let models = model_store(&args.home, &args.model)?;
    let names = wanted_models(&models, &args.model, None)?;
    let speech = SpeechService::new(
        speech_config(&args.model, &args.speech_limits)?,
        Readiness::default(),
    );
    let language = LanguageService::new(language_config(&args.model)?, Readiness::default());
    let store = Store::open(&store_url(&args.store, &args.home)).await?;
    tracing::info!(backend = store.backend(), instance = %store.instance_id().await?, "store ready");
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
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: upstreams.into(),
            store,
            auth,
            internal_token,
        },
        Readiness::default(),
    );
    let listener = bind(args.listen).await?;
    provision_in_background(
        models,
        names,
        Targets {
            speech: Some(speech),
            language: Some(language),
        },
    );
    run_server(listener, app).await
}

pub async fn gateway(args: GatewayArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.home.home).map_err(|source| CliError::CreateDir {
        path: args.home.home.clone(),
        source,
    })?;
    let client = reqwest_client(args.upstream_timeout)?;
    let upstreams = Upstreams {
        speech: args
            .speech_upstream
            .as_deref()
            .map(|url| Upstream::http("speech", url, client.clone())),
        language: args
            .language_upstream
            .as_deref()
            .map(|url| Upstream::http("language", url, client.clone())),
    };
    let store = Store::open(&store_url(&args.store, &args.home)).await?;
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
    let app = stratus_gateway::router(
        GatewayState {
            upstreams: upstreams.into(),
            store,
            auth,
            internal_token,
        },
        Readiness::default(),
    );
    run_server(bind(args.listen).await?, app).await
}

pub async fn speech(args: ServiceArgs) -> Result<(), CliError> {
    single_service(args, ServiceKind::Speech).await
}

pub async fn language(args: ServiceArgs) -> Result<(), CliError> {
    single_service(args, ServiceKind::Language).await
}

/// One service alone, as a replica behind a gateway.
async fn single_service(args: ServiceArgs, kind: ServiceKind) -> Result<(), CliError> {
    let models = model_store(&args.home, &args.model)?;
    let names = wanted_models(&models, &args.model, Some(kind))?;
    let (targets, app) = match kind {
        ServiceKind::Speech => {
            let service = SpeechService::new(
                speech_config(&args.model, &args.speech_limits)?,
                Readiness::default(),
            );
            let app = service.router_with_context(internal_token(&args.internal)?);
            let targets = Targets {
                speech: Some(service),
                language: None,
            };
            (targets, app)
        }
        ServiceKind::Language => {
            let service = LanguageService::new(language_config(&args.model)?, Readiness::default());
            let app = service.router_with_context(internal_token(&args.internal)?);
            let targets = Targets {
                speech: None,
                language: Some(service),
            };
            (targets, app)
        }
    };
    let listener = bind(args.listen).await?;
    provision_in_background(models, names, targets);
    run_server(listener, app).await
}

fn speech_config(args: &ModelArgs, limits: &SpeechLimitArgs) -> Result<SpeechConfig, CliError> {
    Ok(SpeechConfig {
        queue_capacity: args.queue_capacity,
        max_upload_bytes: limits.max_upload_bytes,
        max_audio_seconds: limits.max_audio_seconds,
        // Enough raw samples for the longest audio at 48 kHz stereo, so only
        // pathological files (many channels, huge rates) hit this first.
        max_decoded_samples: (limits.max_audio_seconds.max(0.0) * 96_000.0) as u64,
        device: stratus_models::device::open(&args.device)?,
    })
}

fn language_config(args: &ModelArgs) -> Result<LanguageConfig, CliError> {
    let mut config = LanguageConfig::new(args.queue_capacity);
    config.redaction_key = args
        .redaction_key
        .as_deref()
        .map(|key| RedactionKey::new(key.as_bytes()));
    config.device = stratus_models::device::open(&args.device)?;
    Ok(config)
}

/// Keys and sessions over `store`; on a fresh store, also the first admin
/// key, written to a 0600 file whose path (never the key) is logged.
async fn open_auth(store: &Store, args: &AuthArgs, home: &HomeArgs) -> Result<Auth, CliError> {
    std::fs::create_dir_all(&home.home).map_err(|source| CliError::CreateDir {
        path: home.home.clone(),
        source,
    })?;
    let secret = server_secret(args.auth_secret.as_deref(), &home.home)?;
    let auth = Auth::new(store.clone(), &secret);
    if let Some(path) = stratus_gateway::tenants::bootstrap_admin(&auth, &home.home).await? {
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

fn reqwest_client(timeout_secs: u64) -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(timeout_secs))
        .build()
        .map_err(|e| CliError::Usage(format!("HTTP client: {e}")))
}

/// The model store with `--model-dir` folders registered.
fn model_store(home: &HomeArgs, args: &ModelArgs) -> Result<ModelStore, CliError> {
    let mut store = open_store(home)?;
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
    let resolved = match store.resolve(name) {
        Ok(resolved) => Ok(resolved),
        Err(_) => {
            let task = store.catalog().get(name).map(|e| e.task);
            if let Some(readiness) = task.ok().and_then(|t| readiness_for(targets, t)) {
                readiness.starting(name, "pulling");
            }
            tracing::info!(model = name, "pulling");
            store.pull(name, false).and_then(|_| store.resolve(name))
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
        ServiceKind::Speech => targets
            .speech
            .as_ref()
            .map(|s| s.load(&resolved).map_err(|e| e.to_string())),
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

async fn run_server(listener: TcpListener, app: Router) -> Result<(), CliError> {
    let addr = listener.local_addr().map_err(CliError::Serve)?;
    tracing::info!("listening on http://{addr}");
    stratus_kit::server::serve(listener, app, stratus_kit::server::shutdown_signal())
        .await
        .map_err(CliError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}
