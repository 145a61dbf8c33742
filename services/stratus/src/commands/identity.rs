//! `stratus tenants|keys|users`: the operator's identity commands (and a
//! tenant's price plan and budget: `tenants plan`, `tenants budget`). They
//! open the same store and server secret as `serve` on the same home (or
//! `--store` / `--auth-secret`), so a key made here works on a running
//! server at once, and a revocation here takes effect there within a
//! second (its key cache lifetime).

use std::io::{BufRead, Write};
use std::path::Path;

use stratus_gateway::Store;
use stratus_gateway::auth::secret::SECRET_FILE;
use stratus_gateway::auth::{Auth, AuthError, KeySpec, Role, Scopes, ServerSecret};
use stratus_gateway::billing::{Billing, BillingConfig, Catalog, api as billing_api};
use stratus_gateway::limits::LimitSpec;
use stratus_gateway::limits::admin as limits_admin;
use stratus_gateway::tenants::{self, CreatedKeyView, KeyView};

use crate::cli::{
    IdentityArgs, KeysAction, KeysArgs, LimitFlags, TenantsAction, TenantsArgs, UsersAction,
    UsersArgs,
};
use crate::error::CliError;

/// The environment variable `users create` and `users set-password` read
/// the password from.
pub const PASSWORD_ENV: &str = "STRATUS_USER_PASSWORD";

async fn open(args: &IdentityArgs) -> Result<Auth, CliError> {
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
    Ok(Auth::new(store, &secret))
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
    let auth = open(&args.identity).await?;
    match args.action {
        TenantsAction::Create { name } => {
            let tenant = tenants::create_tenant(&auth, &name).await?;
            out(&tenant.id)
        }
        TenantsAction::List { json: as_json } => {
            let rows = auth.store().list_tenants().await.map_err(AuthError::from)?;
            if as_json {
                return json(&rows);
            }
            let cells: Vec<[String; 3]> = rows
                .into_iter()
                .map(|row| [row.id, row.name, time(Some(row.created_at))])
                .collect();
            out(&table(["ID", "NAME", "CREATED"], &cells))
        }
        TenantsAction::Limits { name, set } => {
            let tenant = tenants::tenant_named(&auth, &name).await?;
            limits(&auth, &tenant.id, None, set).await
        }
        TenantsAction::Plan {
            tenant,
            set,
            default,
            price_catalog,
        } => {
            let tenant = tenants::tenant_named(&auth, &tenant).await?;
            let billing = billing_on(auth.store(), price_catalog.as_deref())?;
            if set.is_some() || default {
                billing_api::set_tenant_plan(&billing, &tenant.id, set.as_deref())
                    .await
                    .map_err(|e| CliError::Usage(e.to_string()))?;
            }
            let terms = billing
                .terms(&tenant.id)
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?;
            out(&terms.plan)
        }
        TenantsAction::Budget {
            tenant,
            soft,
            hard,
            price_catalog,
            json: as_json,
        } => {
            let tenant = tenants::tenant_named(&auth, &tenant).await?;
            let billing = billing_on(auth.store(), price_catalog.as_deref())?;
            if soft.is_some() || hard.is_some() {
                let current = auth
                    .store()
                    .tenant_billing(&tenant.id)
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
                    &tenant.id,
                    pick(&soft, current.soft_limit_nanos).as_deref(),
                    pick(&hard, current.hard_limit_nanos).as_deref(),
                )
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?;
            }
            let view = billing
                .budget(&tenant.id)
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?;
            if as_json {
                return json(&view);
            }
            let amount = |n: Option<stratus_gateway::billing::Nanos>| {
                n.map_or_else(|| "none".to_owned(), |n| n.to_string())
            };
            out(&format!(
                "plan {}  month {}  currency {}\nsoft limit {}  hard limit {}\nspent {}  reserved {}",
                view.plan,
                view.month,
                view.currency,
                amount(view.soft_limit),
                amount(view.hard_limit),
                view.spent,
                view.reserved
            ))
        }
    }
}

/// `tenants limits` / `keys limits`: show, or change the given fields.
async fn limits(
    auth: &Auth,
    tenant_id: &str,
    key_id: Option<&str>,
    flags: LimitFlags,
) -> Result<(), CliError> {
    let store = auth.store();
    let current = limits_admin::view(store, tenant_id, key_id).await?;
    let asked = LimitSpec {
        requests_per_minute: flags.requests_per_minute,
        tokens_per_minute: flags.tokens_per_minute,
        audio_seconds_per_minute: flags.audio_seconds_per_minute,
        concurrent_requests: flags.concurrent_requests,
    };
    let view = if asked.is_empty() && !flags.clear {
        current
    } else {
        let base = if flags.clear {
            LimitSpec::default()
        } else {
            current.spec()
        };
        let spec = asked.or(base);
        if spec.is_empty() {
            limits_admin::clear(store, None, tenant_id, key_id).await?;
            limits_admin::view(store, tenant_id, key_id).await?
        } else {
            limits_admin::set(store, None, tenant_id, key_id, spec).await?
        }
    };
    if flags.json {
        return json(&view);
    }
    let shown = |v: Option<u64>| v.map_or_else(|| "default".to_owned(), |v| v.to_string());
    out(&format!(
        "requests_per_minute      {}\ntokens_per_minute        {}\naudio_seconds_per_minute {}\nconcurrent_requests      {}",
        shown(view.requests_per_minute),
        shown(view.tokens_per_minute),
        shown(view.audio_seconds_per_minute),
        shown(view.concurrent_requests),
    ))
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
    let auth = open(&args.identity).await?;
    match args.action {
        KeysAction::Create {
            tenant,
            scopes,
            expires_in,
            name,
        } => {
            let tenant = tenants::tenant_named(&auth, &tenant).await?;
            let scopes =
                Scopes::parse(&scopes).map_err(|e| CliError::Usage(format!("--scopes: {e}")))?;
            let created = auth
                .create_key(
                    &tenant.id,
                    KeySpec {
                        name,
                        scopes,
                        expires_in_days: expires_in,
                    },
                )
                .await?;
            let view = CreatedKeyView::from(created);
            tracing::info!(id = %view.key.id, tenant = %tenant.name, scopes = %view.key.scopes, "key created");
            out(&view.secret)
        }
        KeysAction::List {
            tenant,
            json: as_json,
        } => {
            let tenant = tenants::tenant_named(&auth, &tenant).await?;
            let rows = auth
                .store()
                .list_keys(&tenant.id)
                .await
                .map_err(AuthError::from)?;
            let views: Vec<KeyView> = rows.into_iter().map(KeyView::from).collect();
            if as_json {
                return json(&views);
            }
            let cells: Vec<[String; 6]> = views
                .into_iter()
                .map(|key| {
                    [
                        key.id,
                        key.name.unwrap_or_else(|| "-".into()),
                        key.scopes.to_string(),
                        time(key.expires_at),
                        time(key.revoked_at),
                        time(key.last_used_at),
                    ]
                })
                .collect();
            out(&table(
                ["ID", "NAME", "SCOPES", "EXPIRES", "REVOKED", "LAST USED"],
                &cells,
            ))
        }
        KeysAction::Revoke { id } => {
            let row = auth
                .store()
                .key_by_id(&id)
                .await
                .map_err(AuthError::from)?
                .ok_or_else(|| CliError::Auth(AuthError::NotFound(format!("no API key `{id}`"))))?;
            auth.revoke_key(&row.tenant_id, &id).await?;
            out(&format!("{id}: revoked"))
        }
        KeysAction::Limits { id, set } => {
            let row = auth
                .store()
                .key_by_id(&id)
                .await
                .map_err(AuthError::from)?
                .ok_or_else(|| CliError::Auth(AuthError::NotFound(format!("no API key `{id}`"))))?;
            limits(&auth, &row.tenant_id, Some(&id), set).await
        }
    }
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
    let auth = open(&args.identity).await?;
    match args.action {
        UsersAction::Create {
            tenant,
            email,
            role,
        } => {
            let role = parse_role(&role)?;
            let tenant = tenants::tenant_named(&auth, &tenant).await?;
            let password = read_password()?;
            let user = tenants::create_user(&auth, &tenant.id, &email, password, role).await?;
            out(&user.id)
        }
        UsersAction::List {
            tenant,
            json: as_json,
        } => {
            let tenant = tenants::tenant_named(&auth, &tenant).await?;
            let rows = auth
                .store()
                .list_users(&tenant.id)
                .await
                .map_err(AuthError::from)?;
            let views: Vec<tenants::UserView> =
                rows.into_iter().map(tenants::UserView::from).collect();
            if as_json {
                return json(&views);
            }
            let cells: Vec<[String; 5]> = views
                .into_iter()
                .map(|user| {
                    let status = if user.disabled_at.is_some() {
                        "disabled"
                    } else {
                        "active"
                    };
                    [
                        user.id,
                        user.email,
                        user.role,
                        status.into(),
                        time(Some(user.created_at)),
                    ]
                })
                .collect();
            out(&table(["ID", "EMAIL", "ROLE", "STATUS", "CREATED"], &cells))
        }
        UsersAction::Disable { email } => {
            let user = tenants::user_by_email(&auth, &email).await?;
            tenants::set_user_disabled(&auth, &user.tenant_id, &user.id, true).await?;
            out(&format!("disabled {}; its sessions ended", user.email))
        }
        UsersAction::Enable { email } => {
            let user = tenants::user_by_email(&auth, &email).await?;
            tenants::set_user_disabled(&auth, &user.tenant_id, &user.id, false).await?;
            out(&format!("enabled {}", user.email))
        }
        UsersAction::Delete { email } => {
            let user = tenants::user_by_email(&auth, &email).await?;
            tenants::delete_user(&auth, &user.tenant_id, &user.id).await?;
            out(&format!("deleted {}", user.email))
        }
        UsersAction::SetRole { email, role } => {
            let role = parse_role(&role)?;
            let user = tenants::user_by_email(&auth, &email).await?;
            tenants::set_user_role(&auth, &user.tenant_id, &user.id, role).await?;
            out(&format!("{} is now {}", user.email, role.as_str()))
        }
        UsersAction::SetPassword { email } => {
            let user = tenants::user_by_email(&auth, &email).await?;
            let password = read_password()?;
            tenants::set_user_password(&auth, &user.tenant_id, &user.id, password).await?;
            out(&format!(
                "new password set for {}; its sessions ended",
                user.email
            ))
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
