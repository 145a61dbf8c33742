//! The ablation harness of `loadtest/gateway-overhead.sh`: the Stratus
//! gateway assembled as `stratus gateway` assembles it (the same
//! `stratus_gateway::router`, its whole middleware stack, the same pool and
//! edge defaults, info-level logs, billing with the built-in catalog,
//! metering and limits on), with a switch for each of billing, metering and
//! limits, so each part's cost is a row of the table. The product rows of
//! the benchmark run `stratus gateway` itself; this binary never stands in
//! for it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use stratus_gateway::{EdgeConfig, GatewayState, PoolConfig, Store, Upstream, Upstreams};
use stratus_kit::health::Readiness;
use stratus_kit::telemetry::LogFormat;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:18080")]
    listen: SocketAddr,
    /// Language replicas (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    language_url: Vec<String>,
    /// Folder for the gateway's SQLite store.
    #[arg(long)]
    home: PathBuf,
    #[arg(long, default_value = "info")]
    log: String,
    /// Per-key and per-tenant limits on (default) or off: run both to see
    /// what the limits check adds (`STRATUS_BENCH_ARGS="--limits false"`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    limits: bool,
    /// Metering (usage events through the write-ahead log) on (default) or
    /// off: `gateway-overhead.sh` runs a second gateway with `--metering
    /// false` when `COMPARE_METERING=1`, to show what metering adds.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    metering: bool,
    /// `fdatasync` the usage log on every group commit, or (default, as
    /// `stratus gateway`) only write it — safe against a killed process,
    /// not a power loss: `STRATUS_BENCH_ARGS="--usage-wal-sync true"`.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    usage_wal_sync: bool,
    /// Billing (budget holds, the ledger's sync) on (default) or off.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    billing: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    stratus_kit::telemetry::init(LogFormat::Text, &args.log, None, "bench-gateway")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        std::fs::create_dir_all(&args.home)?;
        let store = Store::open(&format!(
            "sqlite://{}",
            args.home.join("stratus.db").display()
        ))
        .await?;
        // The gateway as `stratus gateway` runs it: real API-key
        // authentication (a `language` key written to HOME/bench-key for the
        // load generator) and metering with its write-ahead log.
        let secret =
            stratus_gateway::auth::ServerSecret::new("bench-gateway-secret-bench-gateway-secret")?;
        let auth = stratus_gateway::Auth::new(store.clone(), &secret);
        let tenant = match stratus_gateway::tenants::create_tenant(&auth, "bench").await {
            Ok(row) => row,
            Err(_) => stratus_gateway::tenants::tenant_named(&auth, "bench").await?,
        };
        let key = auth
            .create_key(
                &tenant.id,
                stratus_gateway::auth::KeySpec {
                    scopes: stratus_gateway::auth::Scopes::parse("language")?,
                    ..Default::default()
                },
            )
            .await?;
        std::fs::write(args.home.join("bench-key"), &key.secret)?;
        let meter = if args.metering {
            Some(
                stratus_gateway::metering::Meter::start(
                    store.clone(),
                    stratus_gateway::metering::MeteringConfig {
                        wal_sync: args.usage_wal_sync,
                        ..stratus_gateway::metering::MeteringConfig::new(args.home.join("wal"))
                    },
                )
                .await?,
            )
        } else {
            None
        };
        // Limits on, as a deployment runs them, set high enough never to
        // refuse: the benchmark measures auth + limits + metering. Every
        // request checks the key's and the tenant's request and token
        // buckets and holds a concurrency slot until its body ends.
        let limits = if !args.limits {
            stratus_gateway::limits::Limits::disabled()
        } else {
            stratus_gateway::limits::Limits::new(
            store.clone(),
            stratus_gateway::limits::LimitsConfig {
                default_key: "requests_per_minute=100000000,tokens_per_minute=100000000,concurrent_requests=100000".parse()?,
                default_tenant: "requests_per_minute=100000000,tokens_per_minute=100000000,concurrent_requests=100000".parse()?,
                backend: stratus_gateway::limits::BackendConfig::InProcess,
            },
        )
        .await?
        };
        let upstreams = Upstreams {
            speech: None,
            language: Some(Upstream::replicas(
                "language",
                &args.language_url,
                PoolConfig::default(),
            )?),
        };
        let billing = args.billing.then(|| {
            stratus_gateway::billing::Billing::start(
                store.clone(),
                stratus_gateway::billing::BillingConfig::new(
                    stratus_gateway::billing::Catalog::builtin(),
                ),
            )
        });
        let app = stratus_gateway::router(
            GatewayState {
                upstreams: upstreams.into(),
                store,
                auth,
                internal_token: stratus_kit::context::InternalToken::generate()?,
                metering: meter,
                billing,
                edge: EdgeConfig::default(),
                limits,
            },
            Readiness::default(),
        );
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        stratus_kit::server::serve(listener, app, stratus_kit::server::shutdown_signal()).await?;
        Ok(())
    })
}
