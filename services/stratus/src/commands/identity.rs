//! `stratus tenants|keys|users`: the operator's identity commands (and a
//! tenant's price plan and budget: `tenants plan`, `tenants budget`). They
//! open the same store and server secret as `serve` on the same home (or
//! `--store` / `--auth-secret`), so a key made here works on a running
//! server at once, and a revocation here takes effect there within a
//! second (its key cache lifetime). With `--url` they work through a
//! running gateway's admin API instead ([`super::admin_api`]).
//!
//! Both ways give the same JSON objects (the API's), so one piece of code
//! prints each answer, as a table or with `--json`.

use std::io::{BufRead, Write};
use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use stratus_gateway::Store;
use stratus_gateway::auth::secret::SECRET_FILE;
use stratus_gateway::auth::{Auth, AuthError, KeySpec, Role, Scopes, ServerSecret};
use stratus_gateway::billing::{
    Billing, BillingConfig, BillingError, Catalog, Nanos, api as billing_api,
};
use stratus_gateway::limits::LimitSpec;
use stratus_gateway::limits::admin as limits_admin;
use stratus_gateway::tenants::{self, CreatedKeyView, KeyView};

use super::admin_api::{AdminApi, text};
use crate::cli::{
    IdentityArgs, KeysAction, KeysArgs, LimitFlags, TenantsAction, TenantsArgs, UsersAction,
    UsersArgs,
};
use crate::error::CliError;

/// The environment variable `users create` and `users set-password` read
/// the password from.
pub const PASSWORD_ENV: &str = "STRATUS_USER_PASSWORD";

/// Where the identity commands read and write.
enum Backend {
    /// The server's store, with its secret.
    Store(Auth),
    /// A running gateway's admin API (`--url`).
    Api(AdminApi),
}

impl Backend {
    /// The id of the tenant called `name`.
    async fn tenant_id(&self, name: &str) -> Result<String, CliError> {
        Ok(match self {
            Backend::Store(auth) => tenants::tenant_named(auth, name).await?.id,
            Backend::Api(api) => text(&api.tenant_named(name).await?["id"]),
        })
    }
}

async fn open(args: &IdentityArgs) -> Result<Backend, CliError> {
    if let Some(url) = &args.url {
        if args.init {
            return Err(CliError::Usage(
                "--init creates a local home; with --url the server's is used".into(),
            ));
        }
        return Ok(Backend::Api(AdminApi::from_env(url)?));
    }
    let home = &args.home;
    let url = args
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", home.join("stratus.db").display()));
    if args.init {
        std::fs::create_dir_all(home).map_err(|source| CliError::CreateDir {
            path: home.clone(),
            source,
        })?;
    } else {
        refuse_a_new_home(home, args.auth_secret.is_some(), &url)?;
    }
    let secret = server_secret(args.auth_secret.as_deref(), home)?;
    let store = Store::open(&url).await?;
    Ok(Backend::Store(Auth::new(store, &secret)))
}

/// The API's JSON of what the store answered.
fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, CliError> {
    serde_json::to_value(value).map_err(|e| CliError::Output(e.into()))
}

/// The `data` items of `rows` as the API shows them.
fn to_items<T: serde::Serialize>(rows: &[T]) -> Result<Vec<Value>, CliError> {
    rows.iter().map(to_json).collect()
}

/// A JSON number of Unix seconds as [`time`] shows it.
fn time_of(value: &Value) -> String {
    time(value.as_i64())
}

/// A key's scopes (a JSON list of names) as `speech,language`.
fn scopes_of(value: &Value) -> String {
    value
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// A JSON string, or `-`.
fn or_dash(value: &Value) -> String {
    value.as_str().map_or_else(|| "-".to_owned(), str::to_owned)
}

/// Without `--init`, the secret file (unless a secret is configured) and
/// an SQLite store must already be there: a command that created them
/// would print keys signed with a secret no server has, into a store no
/// server reads.
fn refuse_a_new_home(home: &Path, secret_configured: bool, url: &str) -> Result<(), CliError> {
    let absolute = std::path::absolute(home).unwrap_or_else(|_| home.to_path_buf());
    if !secret_configured && !home.join(SECRET_FILE).is_file() {
        return Err(CliError::NoHome {
            path: absolute,
            missing: format!("{SECRET_FILE} (the server's secret)"),
        });
    }
    if let Some(file) = sqlite_file(url)
        && !file.is_file()
    {
        return Err(CliError::NoHome {
            path: absolute,
            missing: format!("store at {}", file.display()),
        });
    }
    Ok(())
}

/// The file an `sqlite://` store URL names (None for other databases and
/// for in-memory SQLite).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

/// The configured server secret, or the one kept under `home`.
pub fn server_secret(configured: Option<&str>, home: &Path) -> Result<ServerSecret, CliError> {
    ServerSecret::configured_or_file(configured, home).map_err(|e| CliError::Auth(e.into()))
}

fn out(text: &str) -> Result<(), CliError> {
    writeln!(std::io::stdout().lock(), "{text}").map_err(CliError::Output)
}

fn json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    out(&serde_json::to_string_pretty(value).map_err(|e| CliError::Output(e.into()))?)
}

/// Unix seconds as a UTC time a person reads (`2026-12-07 16:30Z`);
/// `--json` keeps the numbers.
fn time(unix: Option<i64>) -> String {
    unix.map_or_else(
        || "-".into(),
        |t| {
            let iso = stratus_gateway::metering::time::format_rfc3339(t.saturating_mul(1000));
            // `YYYY-MM-DDTHH:MM:SS.mmmZ` → `YYYY-MM-DD HH:MMZ`.
            match (iso.get(..10), iso.get(11..16)) {
                (Some(day), Some(minute)) => format!("{day} {minute}Z"),
                _ => iso,
            }
        },
    )
}

/// `rows` under `header` in columns as wide as their widest cell, so
/// long names and scope lists never push a row out of line.
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push('\n');
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

pub async fn tenants(args: TenantsArgs) -> Result<(), CliError> {
    let backend = open(&args.identity).await?;
    match args.action {
        TenantsAction::Create { name } => {
            let id = match &backend {
                Backend::Store(auth) => tenants::create_tenant(auth, &name).await?.id,
                Backend::Api(api) => text(
                    &api.call(
                        Method::POST,
                        "/v1/admin/tenants",
                        Some(json!({ "name": name })),
                    )
                    .await?["id"],
                ),
            };
            out(&id)
        }
        TenantsAction::List { json: as_json } => {
            let rows = match &backend {
                Backend::Store(auth) => {
                    to_items(&auth.store().list_tenants().await.map_err(AuthError::from)?)?
                }
                Backend::Api(api) => api.list("/v1/admin/tenants").await?,
            };
            if as_json {
                return json(&rows);
            }
            let cells: Vec<[String; 3]> = rows
                .iter()
                .map(|row| {
                    [
                        text(&row["id"]),
                        text(&row["name"]),
                        time_of(&row["created_at"]),
                    ]
                })
                .collect();
            out(&table(["ID", "NAME", "CREATED"], &cells))
        }
        TenantsAction::Limits { name, set } => {
            let tenant_id = backend.tenant_id(&name).await?;
            limits(&backend, &tenant_id, None, set).await
        }
        TenantsAction::Plan {
            tenant,
            set,
            default,
            price_catalog,
        } => {
            let tenant_id = backend.tenant_id(&tenant).await?;
            let plan = match &backend {
                Backend::Store(auth) => {
                    let billing = billing_on(auth.store(), price_catalog.as_deref())?;
                    if set.is_some() || default {
                        billing_api::set_tenant_plan(&billing, &tenant_id, set.as_deref())
                            .await
                            .map_err(|e| CliError::Usage(e.to_string()))?;
                    }
                    billing
                        .terms(&tenant_id)
                        .await
                        .map_err(|e| CliError::Usage(e.to_string()))?
                        .plan
                }
                Backend::Api(api) => {
                    let path = format!("/v1/admin/tenants/{tenant_id}/plan");
                    let answer = if set.is_some() || default {
                        api.call(Method::PUT, &path, Some(json!({ "plan": set })))
                            .await?
                    } else {
                        api.get(&path).await?
                    };
                    text(&answer["plan"])
                }
            };
            out(&plan)
        }
        TenantsAction::Budget {
            tenant,
            soft,
            hard,
            price_catalog,
            json: as_json,
        } => {
            let tenant_id = backend.tenant_id(&tenant).await?;
            let view = match &backend {
                Backend::Store(auth) => {
                    budget_in_store(auth, &tenant_id, soft, hard, price_catalog.as_deref()).await?
                }
                Backend::Api(api) => {
                    let path = format!("/v1/admin/tenants/{tenant_id}/budget");
                    let current = api.get(&path).await?;
                    if soft.is_none() && hard.is_none() {
                        current
                    } else {
                        // A flag not given keeps the tenant's own setting.
                        let pick = |flag: &Option<String>, own: &Value| match flag.as_deref() {
                            Some("none") => Value::Null,
                            Some(amount) => Value::String(amount.to_owned()),
                            None => own.clone(),
                        };
                        let body = json!({
                            "soft_limit": pick(&soft, &current["soft_limit"]),
                            "hard_limit": pick(&hard, &current["hard_limit"]),
                        });
                        api.call(Method::PUT, &path, Some(body)).await?;
                        api.get(&path).await?
                    }
                }
            };
            if as_json {
                return json(&view);
            }
            let amount = |v: &Value| v.as_str().unwrap_or("none").to_owned();
            out(&format!(
                "plan {}  month {}  currency {}\nsoft limit {}  hard limit {}\nspent {}  reserved {}",
                text(&view["plan"]),
                text(&view["month"]),
                text(&view["currency"]),
                amount(&view["soft_limit"]),
                amount(&view["hard_limit"]),
                text(&view["spent"]),
                text(&view["reserved"]),
            ))
        }
    }
}

/// `tenants budget` on the store: set what was asked, then the budget.
async fn budget_in_store(
    auth: &Auth,
    tenant_id: &str,
    soft: Option<String>,
    hard: Option<String>,
    price_catalog: Option<&Path>,
) -> Result<Value, CliError> {
    let billing = billing_on(auth.store(), price_catalog)?;
    if soft.is_some() || hard.is_some() {
        let current = auth
            .store()
            .tenant_billing(tenant_id)
            .await
            .map_err(AuthError::from)?
            .unwrap_or_default();
        // A flag not given keeps the tenant's own setting.
        let pick = |flag: &Option<String>, own: Option<i64>| match flag.as_deref() {
            Some("none") => None,
            Some(text) => Some(text.to_owned()),
            None => own.map(|n| stratus_gateway::billing::Nanos(n).to_string()),
        };
        billing_api::set_tenant_budget(
            &billing,
            tenant_id,
            pick(&soft, current.soft_limit_nanos).as_deref(),
            pick(&hard, current.hard_limit_nanos).as_deref(),
        )
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    let view = billing
        .budget(tenant_id)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    to_json(&view)
}

/// `tenants limits` / `keys limits`: show, or change the given fields.
async fn limits(
    backend: &Backend,
    tenant_id: &str,
    key_id: Option<&str>,
    flags: LimitFlags,
) -> Result<(), CliError> {
    let asked = LimitSpec {
        requests_per_minute: flags.requests_per_minute,
        tokens_per_minute: flags.tokens_per_minute,
        audio_seconds_per_minute: flags.audio_seconds_per_minute,
        concurrent_requests: flags.concurrent_requests,
    };
    let changing = !asked.is_empty() || flags.clear;
    let view = match backend {
        Backend::Store(auth) => {
            let store = auth.store();
            let current = limits_admin::view(store, tenant_id, key_id).await?;
            let view = if changing {
                let spec = asked.or(if flags.clear {
                    LimitSpec::default()
                } else {
                    current.spec()
                });
                if spec.is_empty() {
                    limits_admin::clear(store, None, tenant_id, key_id).await?;
                    limits_admin::view(store, tenant_id, key_id).await?
                } else {
                    limits_admin::set(store, None, tenant_id, key_id, spec).await?
                }
            } else {
                current
            };
            to_json(&view)?
        }
        Backend::Api(api) => {
            let path = match key_id {
                None => format!("/v1/admin/tenants/{tenant_id}/limits"),
                Some(key_id) => format!("/v1/admin/tenants/{tenant_id}/keys/{key_id}/limits"),
            };
            let current = api.get(&path).await?;
            if changing {
                let spec = asked.or(if flags.clear {
                    LimitSpec::default()
                } else {
                    spec_of(&current)
                });
                if spec.is_empty() {
                    api.call(Method::DELETE, &path, None).await?;
                    api.get(&path).await?
                } else {
                    api.call(Method::PUT, &path, Some(to_json(&spec)?)).await?
                }
            } else {
                current
            }
        }
    };
    if flags.json {
        return json(&view);
    }
    let shown = |v: &Value| {
        v.as_u64()
            .map_or_else(|| "default".to_owned(), |v| v.to_string())
    };
    out(&format!(
        "requests_per_minute      {}\ntokens_per_minute        {}\naudio_seconds_per_minute {}\nconcurrent_requests      {}",
        shown(&view["requests_per_minute"]),
        shown(&view["tokens_per_minute"]),
        shown(&view["audio_seconds_per_minute"]),
        shown(&view["concurrent_requests"]),
    ))
}

/// The limits an API answer says were set.
fn spec_of(view: &Value) -> LimitSpec {
    LimitSpec {
        requests_per_minute: view["requests_per_minute"].as_u64(),
        tokens_per_minute: view["tokens_per_minute"].as_u64(),
        audio_seconds_per_minute: view["audio_seconds_per_minute"].as_u64(),
        concurrent_requests: view["concurrent_requests"].as_u64(),
    }
}

/// Billing on the server's store with the server's catalog (no
/// background work: the server's sweeper does that).
fn billing_on(store: &Store, catalog: Option<&Path>) -> Result<Billing, CliError> {
    let catalog = match catalog {
        Some(path) => Catalog::load(path).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Catalog::builtin(),
    };
    Ok(Billing::new(store.clone(), BillingConfig::new(catalog)))
}

pub async fn keys(args: KeysArgs) -> Result<(), CliError> {
    let backend = open(&args.identity).await?;
    match args.action {
        KeysAction::Create {
            tenant,
            scopes,
            expires_in,
            name,
        } => {
            let tenant_id = backend.tenant_id(&tenant).await?;
            let scopes =
                Scopes::parse(&scopes).map_err(|e| CliError::Usage(format!("--scopes: {e}")))?;
            let created = match &backend {
                Backend::Store(auth) => {
                    let created = auth
                        .create_key(
                            &tenant_id,
                            KeySpec {
                                name,
                                scopes,
                                expires_in_days: expires_in,
                            },
                        )
                        .await?;
                    to_json(&CreatedKeyView::from(created))?
                }
                Backend::Api(api) => {
                    let scopes: Vec<String> =
                        scopes.to_string().split(',').map(str::to_owned).collect();
                    api.call(
                        Method::POST,
                        &format!("/v1/admin/tenants/{tenant_id}/keys"),
                        Some(json!({ "scopes": scopes, "name": name, "expires_in_days": expires_in })),
                    )
                    .await?
                }
            };
            tracing::info!(id = %text(&created["id"]), %tenant, scopes = %scopes_of(&created["scopes"]), "key created");
            out(&text(&created["secret"]))
        }
        KeysAction::List {
            tenant,
            json: as_json,
        } => {
            let tenant_id = backend.tenant_id(&tenant).await?;
            let views = match &backend {
                Backend::Store(auth) => {
                    let rows = auth
                        .store()
                        .list_keys(&tenant_id)
                        .await
                        .map_err(AuthError::from)?;
                    let views: Vec<KeyView> = rows.into_iter().map(KeyView::from).collect();
                    to_items(&views)?
                }
                Backend::Api(api) => {
                    api.list(&format!("/v1/admin/tenants/{tenant_id}/keys"))
                        .await?
                }
            };
            if as_json {
                return json(&views);
            }
            let cells: Vec<[String; 6]> = views
                .iter()
                .map(|key| {
                    [
                        text(&key["id"]),
                        or_dash(&key["name"]),
                        scopes_of(&key["scopes"]),
                        time_of(&key["expires_at"]),
                        time_of(&key["revoked_at"]),
                        time_of(&key["last_used_at"]),
                    ]
                })
                .collect();
            out(&table(
                ["ID", "NAME", "SCOPES", "EXPIRES", "REVOKED", "LAST USED"],
                &cells,
            ))
        }
        KeysAction::Revoke { id } => {
            match &backend {
                Backend::Store(auth) => {
                    let tenant_id = key_tenant_in_store(auth, &id).await?;
                    auth.revoke_key(&tenant_id, &id).await?;
                }
                Backend::Api(api) => {
                    let tenant_id = api.key_tenant(&id).await?;
                    api.call(
                        Method::DELETE,
                        &format!("/v1/admin/tenants/{tenant_id}/keys/{id}"),
                        None,
                    )
                    .await?;
                }
            }
            out(&format!("{id}: revoked"))
        }
        KeysAction::Limits { id, set } => {
            let tenant_id = match &backend {
                Backend::Store(auth) => key_tenant_in_store(auth, &id).await?,
                Backend::Api(api) => api.key_tenant(&id).await?,
            };
            limits(&backend, &tenant_id, Some(&id), set).await
        }
        KeysAction::Budget {
            id,
            hard,
            price_catalog,
            json: as_json,
        } => {
            let view = match &backend {
                Backend::Store(auth) => {
                    let tenant_id = key_tenant_in_store(auth, &id).await?;
                    let billing = billing_on(auth.store(), price_catalog.as_deref())?;
                    let usage = |e: BillingError| CliError::Usage(e.to_string());
                    if let Some(hard) = &hard {
                        let limit = key_limit(hard)?;
                        billing
                            .set_key_budget(&tenant_id, &id, limit)
                            .await
                            .map_err(usage)?;
                    }
                    let view = billing.key_budget(&tenant_id, &id).await.map_err(usage)?;
                    to_json(&view)?
                }
                Backend::Api(api) => {
                    let tenant_id = api.key_tenant(&id).await?;
                    let path = format!("/v1/admin/tenants/{tenant_id}/keys/{id}/budget");
                    match &hard {
                        Some(hard) => {
                            let limit = key_limit(hard)?.map(|n| n.to_string());
                            api.call(Method::PUT, &path, Some(json!({ "hard_limit": limit })))
                                .await?
                        }
                        None => api.get(&path).await?,
                    }
                }
            };
            if as_json {
                return json(&view);
            }
            let amount = |v: &Value| v.as_str().unwrap_or("none").to_owned();
            out(&format!(
                "key {}  month {}  currency {}\nhard limit {}  spent {}  reserved {}",
                text(&view["key_id"]),
                text(&view["month"]),
                text(&view["currency"]),
                amount(&view["hard_limit"]),
                text(&view["spent"]),
                text(&view["reserved"]),
            ))
        }
    }
}

/// `--hard` of `keys budget`: an amount, or `none`.
fn key_limit(text: &str) -> Result<Option<Nanos>, CliError> {
    if text == "none" {
        return Ok(None);
    }
    billing_api::parse_amount(text, "--hard")
        .map(Some)
        .map_err(|e| CliError::Usage(e.to_string()))
}

/// The tenant that holds the key `id`, in the store.
async fn key_tenant_in_store(auth: &Auth, id: &str) -> Result<String, CliError> {
    let row = auth
        .store()
        .key_by_id(id)
        .await
        .map_err(AuthError::from)?
        .ok_or_else(|| CliError::Auth(AuthError::NotFound(format!("no API key `{id}`"))))?;
    Ok(row.tenant_id)
}

/// A password from STRATUS_USER_PASSWORD or the first line of stdin.
fn read_password() -> Result<String, CliError> {
    let password = match std::env::var(PASSWORD_ENV) {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(CliError::Output)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.is_empty() {
        return Err(CliError::Usage(format!(
            "no password: set {PASSWORD_ENV} or pipe it on stdin"
        )));
    }
    Ok(password)
}

fn parse_role(role: &str) -> Result<Role, CliError> {
    role.parse()
        .map_err(|e| CliError::Usage(format!("--role: {e}")))
}

pub async fn users(args: UsersArgs) -> Result<(), CliError> {
    let backend = open(&args.identity).await?;
    match args.action {
        UsersAction::Create {
            tenant,
            email,
            role,
        } => {
            let role = parse_role(&role)?;
            let tenant_id = backend.tenant_id(&tenant).await?;
            let password = read_password()?;
            let id = match &backend {
                Backend::Store(auth) => {
                    tenants::create_user(auth, &tenant_id, &email, password, role)
                        .await?
                        .id
                }
                Backend::Api(api) => text(
                    &api.call(
                        Method::POST,
                        &format!("/v1/admin/tenants/{tenant_id}/users"),
                        Some(
                            json!({ "email": email, "password": password, "role": role.as_str() }),
                        ),
                    )
                    .await?["id"],
                ),
            };
            out(&id)
        }
        UsersAction::List {
            tenant,
            json: as_json,
        } => {
            let tenant_id = backend.tenant_id(&tenant).await?;
            let views = match &backend {
                Backend::Store(auth) => {
                    let rows = auth
                        .store()
                        .list_users(&tenant_id)
                        .await
                        .map_err(AuthError::from)?;
                    let views: Vec<tenants::UserView> =
                        rows.into_iter().map(tenants::UserView::from).collect();
                    to_items(&views)?
                }
                Backend::Api(api) => {
                    api.list(&format!("/v1/admin/tenants/{tenant_id}/users"))
                        .await?
                }
            };
            if as_json {
                return json(&views);
            }
            let cells: Vec<[String; 5]> = views
                .iter()
                .map(|user| {
                    let status = if user["disabled_at"].is_null() {
                        "active"
                    } else {
                        "disabled"
                    };
                    [
                        text(&user["id"]),
                        text(&user["email"]),
                        text(&user["role"]),
                        status.into(),
                        time_of(&user["created_at"]),
                    ]
                })
                .collect();
            out(&table(["ID", "EMAIL", "ROLE", "STATUS", "CREATED"], &cells))
        }
        UsersAction::Disable { email } => {
            let email = change_user(&backend, &email, UserChange::Disabled(true)).await?;
            out(&format!("disabled {email}; its sessions ended"))
        }
        UsersAction::Enable { email } => {
            let email = change_user(&backend, &email, UserChange::Disabled(false)).await?;
            out(&format!("enabled {email}"))
        }
        UsersAction::Delete { email } => {
            let email = change_user(&backend, &email, UserChange::Delete).await?;
            out(&format!("deleted {email}"))
        }
        UsersAction::SetRole { email, role } => {
            let role = parse_role(&role)?;
            let email = change_user(&backend, &email, UserChange::Role(role)).await?;
            out(&format!("{email} is now {}", role.as_str()))
        }
        UsersAction::SetPassword { email } => {
            let password = read_password()?;
            let email = change_user(&backend, &email, UserChange::Password(password)).await?;
            out(&format!("new password set for {email}; its sessions ended"))
        }
    }
}

/// What `users disable|enable|delete|set-role|set-password` change.
enum UserChange {
    Disabled(bool),
    Role(Role),
    Password(String),
    Delete,
}

/// Make `change` to the user with `email`; the user's email as stored.
async fn change_user(
    backend: &Backend,
    email: &str,
    change: UserChange,
) -> Result<String, CliError> {
    match backend {
        Backend::Store(auth) => {
            let user = tenants::user_by_email(auth, email).await?;
            let (tenant, id) = (&user.tenant_id, &user.id);
            match change {
                UserChange::Disabled(disabled) => {
                    tenants::set_user_disabled(auth, tenant, id, disabled).await?;
                }
                UserChange::Role(role) => tenants::set_user_role(auth, tenant, id, role).await?,
                UserChange::Password(password) => {
                    tenants::set_user_password(auth, tenant, id, password).await?;
                }
                UserChange::Delete => tenants::delete_user(auth, tenant, id).await?,
            }
            Ok(user.email)
        }
        Backend::Api(api) => {
            let user = api.user_by_email(email).await?;
            let path = format!(
                "/v1/admin/tenants/{}/users/{}",
                text(&user["tenant_id"]),
                text(&user["id"])
            );
            let (method, body) = match change {
                UserChange::Disabled(disabled) => {
                    (Method::PATCH, Some(json!({ "disabled": disabled })))
                }
                UserChange::Role(role) => (Method::PATCH, Some(json!({ "role": role.as_str() }))),
                UserChange::Password(password) => {
                    (Method::PATCH, Some(json!({ "password": password })))
                }
                UserChange::Delete => (Method::DELETE, None),
            };
            api.call(method, &path, body).await?;
            Ok(text(&user["email"]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_minutes() {
        assert_eq!(time(Some(1_764_300_000)), "2025-11-28 03:20Z");
        assert_eq!(time(None), "-");
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let rows = [
            ["key_1".to_owned(), "speech,language,usage:read".to_owned()],
            ["key_22".to_owned(), "-".to_owned()],
        ];
        let text = table(["ID", "SCOPES"], &rows);
        assert_eq!(
            text,
            "ID      SCOPES\nkey_1   speech,language,usage:read\nkey_22  -"
        );
    }
}
