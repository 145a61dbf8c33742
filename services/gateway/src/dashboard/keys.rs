//! The tenant's API keys:
//! - `GET /dashboard/keys` — every key (name, id, scopes, created, last
//!   used, expiry, revoked), for any signed-in user; owners also get the
//!   create form and a revoke button per key.
//! - `POST /dashboard/keys/create` — owners: make a key; the answer is the
//!   page with the whole key shown this once (never stored, never in a URL,
//!   never cached).
//! - `POST /dashboard/keys/{key_id}/revoke` — owners: revoke, then back to
//!   the list.
//! - `POST /dashboard/keys/{key_id}/budget` — owners: set or remove a key's
//!   own monthly budget (`hard_limit`, empty for none), then back to the
//!   list. Shown with each key's spend this month when billing is on.
//!
//! The same rules as `POST /v1/keys` (`crate::auth::Auth::create_own_key`):
//! a new key holds only scopes its maker holds, never `admin`; the tenant's
//! cap on working keys holds here too; another tenant's key id is "not
//! found".

use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use stratus_kit::ApiError;

use super::layout::{self, Banner, Level};
use super::{Session, Who};
use crate::GatewayState;
use crate::auth::{
    AuthError, CreatedKey, KeySpec, MAX_EXPIRES_IN_DAYS, MAX_KEY_NAME_CHARS, Principal, Role,
    Scope, Scopes,
};
use crate::billing::{Month, Nanos};
use crate::metering::event::now_ms;
use crate::store::identity::KeyRow;
use std::collections::BTreeMap;

/// This page.
pub const PATH: &str = "/dashboard/keys";
/// Most fields a create form may send (csrf, name, expiry, a few scopes).
const MAX_FIELDS: usize = 16;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    revoked: Option<String>,
}

/// What the page shows.
#[derive(Debug)]
pub struct View<'a> {
    pub keys: &'a [KeyRow],
    pub role: Role,
    /// Scopes the signed-in user may give a new key.
    pub grantable: Scopes,
    pub csrf: &'a str,
    /// A key just made: shown once.
    pub created: Option<&'a CreatedKey>,
    /// A message about the create form.
    pub form_error: Option<&'a str>,
    pub now: i64,
    /// This month's spend per key (priced as the invoice is) and the
    /// currency; `None` when billing is off or the role may not read bills.
    pub spend: Option<(&'a BTreeMap<Option<String>, Nanos>, &'a str)>,
    /// Keys' own monthly budgets (key id → hard limit), shown beside the
    /// spend.
    pub budgets: &'a BTreeMap<String, Nanos>,
}

fn status(key: &KeyRow, now: i64) -> (&'static str, String) {
    if let Some(at) = key.revoked_at {
        (
            "status-revoked",
            format!("Revoked {}", layout::datetime(at)),
        )
    } else if key.expires_at.is_some_and(|at| at <= now) {
        ("status-expired", "Expired".to_string())
    } else {
        ("status-active", "Active".to_string())
    }
}

/// The page's body.
pub fn render(view: &View<'_>) -> Markup {
    let owner = view.role == Role::Owner;
    html! {
        @if let Some(created) = view.created {
            section.card aria-labelledby="new-key-heading" {
                h2 #new-key-heading { "New key " code { (created.row.id) } }
                p { strong { "Copy this key now: it will not be shown again." } " Only a hash of it is stored." }
                // No copy button: a button that copies needs script, and
                // the dashboard runs none (the CSP has no `script-src`, so
                // nothing a page could be tricked into carrying runs —
                // least of all on the one page that shows a secret). A
                // hash-allowed inline script would open that door for one
                // convenience. Instead one click or tap on the key selects
                // all of it (`user-select: all` in the stylesheet; it is
                // focusable, so the keyboard reaches it too), then copy
                // (Ctrl+C, ⌘C or the phone's Copy).
                p.muted #new-secret-hint { "Click the key to select all of it, then copy." }
                output #new-secret .secret for="new-key-heading" tabindex="0"
                    aria-describedby="new-secret-hint" { (created.secret) }
            }
        }
        @if owner {
            section.card aria-labelledby="create-heading" {
                h2 #create-heading { "Create a key" }
                @if let Some(error) = view.form_error {
                    p.error role="alert" { (error) }
                }
                form method="post" action="/dashboard/keys/create" {
                    input type="hidden" name="csrf" value=(view.csrf);
                    label for="key-name" { "Name" }
                    input #key-name type="text" name="name" maxlength=(MAX_KEY_NAME_CHARS) autocomplete="off";
                    fieldset {
                        legend { "Scopes" }
                        @for scope in &view.grantable.0 {
                            label {
                                input type="checkbox" name="scope" value=(scope.as_str());
                                (scope.as_str())
                            }
                        }
                    }
                    label for="key-expiry" { "Expires after (days, empty for never)" }
                    input #key-expiry type="number" name="expires_in_days" min="1" max=(MAX_EXPIRES_IN_DAYS) inputmode="numeric";
                    p { button type="submit" { "Create key" } }
                }
            }
        } @else {
            p.muted { "Only owners of this organisation can create or revoke keys." }
        }
        h2 { "Keys" }
        @if let Some((spend, cur)) = view.spend {
            p.muted #key-spend-note {
                "Spend this month per key is priced as the invoice is. A key's own budget "
                "refuses that key's requests once its spend this month reaches it (429 "
                "insufficient_quota); the organisation's budget applies to every key as well."
                @if let Some(session) = spend.get(&None).filter(|n| n.0 != 0) {
                    " Requests made signed in to the dashboard (no key): "
                    (layout::money(*session, cur)) "."
                }
            }
        }
        @if view.keys.is_empty() {
            p.muted { "No keys yet." }
        } @else {
            div.table-wrap {
                table #keys {
                    caption.muted { (view.keys.len()) " keys, newest first" }
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "ID" }
                            th scope="col" { "Scopes" }
                            th scope="col" { "Created" }
                            th scope="col" { "Last used" }
                            th scope="col" { "Expires" }
                            th scope="col" { "Status" }
                            @if view.spend.is_some() {
                                th.num scope="col" { "Spent this month" }
                                th.num scope="col" { "Budget" }
                            }
                            @if owner { th scope="col" { span.muted { "Action" } } }
                        }
                    }
                    tbody {
                        @for key in view.keys {
                            @let (class, text) = status(key, view.now);
                            tr data-key-id=(key.id) {
                                td { (key.name.as_deref().unwrap_or("—")) }
                                td { code { (key.id) } }
                                td { (key.scopes.replace(',', ", ")) }
                                td { (layout::datetime(key.created_at)) }
                                td { (key.last_used_at.map_or_else(|| "never".to_string(), layout::datetime)) }
                                td { (key.expires_at.map_or_else(|| "never".to_string(), layout::datetime)) }
                                td class=(class) { (text) }
                                @if let Some((spend, cur)) = view.spend {
                                    @let budget = view.budgets.get(&key.id).copied();
                                    td.num.spent {
                                        (layout::money(spend.get(&Some(key.id.clone())).copied().unwrap_or(Nanos::ZERO), cur))
                                    }
                                    td.num.budget {
                                        @if owner && key.revoked_at.is_none() {
                                            form.inline method="post" action=(format!("{PATH}/{}/budget", key.id)) {
                                                input type="hidden" name="csrf" value=(view.csrf);
                                                input type="text" name="hard_limit" inputmode="decimal" size="8"
                                                    value=(budget.map(|b| b.to_string()).unwrap_or_default())
                                                    placeholder="none"
                                                    aria-label=(format!("Monthly budget of key {} in {cur}, empty for none", key.name.as_deref().unwrap_or(&key.id)));
                                                " "
                                                button type="submit" { "Set" }
                                            }
                                        } @else {
                                            @match budget {
                                                Some(limit) => (layout::money(limit, cur)),
                                                None => span.muted { "none" },
                                            }
                                        }
                                    }
                                }
                                @if owner {
                                    td {
                                        @if key.revoked_at.is_none() {
                                            form method="post" action=(format!("{PATH}/{}/revoke", key.id)) {
                                                input type="hidden" name="csrf" value=(view.csrf);
                                                button.danger type="submit" aria-label=(format!("Revoke key {}", key.name.as_deref().unwrap_or(&key.id))) { "Revoke" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Scopes a user of `role` may give a key: their own, except `admin`.
fn grantable(role: Role) -> Scopes {
    Scopes(
        role.scopes()
            .0
            .into_iter()
            .filter(|s| *s != Scope::Admin)
            .collect(),
    )
}

/// Render the page with the current list of keys.
async fn respond(
    state: &GatewayState,
    session: &Session,
    who: &Who,
    status: StatusCode,
    banners: &[Banner],
    created: Option<&CreatedKey>,
    form_error: Option<&str>,
) -> Response {
    let keys = match state.auth.store().list_keys(&session.tenant_id).await {
        Ok(keys) => keys,
        Err(e) => return super::unavailable(e),
    };
    // This month's spend per key: the invoice's pricing, split by key.
    // Billing not answering hides the column rather than the keys.
    let spend = match state.billing.as_ref() {
        Some(billing) if session.may(Scope::BillingRead) => {
            match billing
                .breakdown(&session.tenant_id, Month::of_ms(now_ms()))
                .await
            {
                Ok(b) => Some((b.by_key, billing.catalog().currency.clone())),
                Err(e) => {
                    tracing::warn!(error = %e, "dashboard: pricing spend per key");
                    None
                }
            }
        }
        _ => None,
    };
    let budgets: BTreeMap<String, Nanos> = match &spend {
        Some(_) => match state.store.key_budgets(&session.tenant_id).await {
            Ok(rows) => rows
                .into_iter()
                .map(|row| (row.key_id, Nanos(row.hard_limit_nanos)))
                .collect(),
            Err(e) => return super::unavailable(e),
        },
        None => BTreeMap::new(),
    };
    let view = View {
        keys: &keys,
        role: session.role,
        grantable: grantable(session.role),
        csrf: &session.csrf,
        created,
        form_error,
        now: crate::auth::unix_now(),
        spend: spend.as_ref().map(|(s, cur)| (s, cur.as_str())),
        budgets: &budgets,
    };
    layout::html_response(
        status,
        layout::page(
            "API keys",
            PATH,
            &who.viewer(session),
            banners,
            render(&view),
        ),
    )
}

pub async fn page(
    State(state): State<GatewayState>,
    session: Session,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let who = match super::who(&state, &session).await {
        Ok(who) => who,
        Err(response) => return response,
    };
    // After a revoke: say so, naming the key only if it is one of ours and
    // revoked (the query is not echoed otherwise).
    let mut banners = Vec::new();
    if let Ok(Query(ListQuery { revoked: Some(id) })) = query {
        match state.auth.store().key_by_id(&id).await {
            Ok(Some(key)) if key.tenant_id == session.tenant_id && key.revoked_at.is_some() => {
                banners.push(Banner {
                    level: Level::Info,
                    text: format!("Key {} was revoked.", key.id),
                });
            }
            Ok(_) => {}
            Err(e) => return super::unavailable(e),
        }
    }
    respond(&state, &session, &who, StatusCode::OK, &banners, None, None).await
}

/// The create form's fields, from its pairs (a checkbox per scope means
/// `scope` repeats, which a struct cannot hold).
fn parse_create(fields: &[(String, String)]) -> Result<(String, KeySpec), String> {
    if fields.len() > MAX_FIELDS {
        return Err(format!("at most {MAX_FIELDS} form fields"));
    }
    let mut csrf = String::new();
    let mut name = None;
    let mut expires_in_days = None;
    let mut scopes = Vec::new();
    for (field, value) in fields {
        match field.as_str() {
            "csrf" => csrf.clone_from(value),
            "name" => name = Some(value.trim().to_string()).filter(|n| !n.is_empty()),
            "expires_in_days" if value.trim().is_empty() => {}
            "expires_in_days" => {
                expires_in_days = Some(value.trim().parse::<u32>().map_err(|_| {
                    format!("expires after: a whole number of days, 1 to {MAX_EXPIRES_IN_DAYS}")
                })?);
            }
            "scope" => scopes.push(value.as_str()),
            other => return Err(format!("unknown form field `{other}`")),
        }
    }
    let scopes = Scopes::parse(&scopes.join(",")).map_err(|e| e.to_string())?;
    Ok((
        csrf,
        KeySpec {
            name,
            scopes,
            expires_in_days,
        },
    ))
}

pub async fn create(
    State(state): State<GatewayState>,
    session: Session,
    Extension(principal): Extension<Principal>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let fields = match form {
        Ok(Form(fields)) => fields,
        Err(e) => return layout::error_page(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let parsed = parse_create(&fields);
    // The CSRF check comes first, whatever else the form got wrong.
    let given = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    if let Err(refusal) = session.check_csrf(&state, given) {
        return refusal;
    }
    if let Err(refusal) = session.require_owner() {
        return refusal;
    }
    let who = match super::who(&state, &session).await {
        Ok(who) => who,
        Err(response) => return response,
    };
    let spec = match parsed {
        Ok((_, spec)) => spec,
        Err(message) => {
            return respond(
                &state,
                &session,
                &who,
                StatusCode::BAD_REQUEST,
                &[],
                None,
                Some(&message),
            )
            .await;
        }
    };
    if !spec.scopes.is_subset(&grantable(session.role)) {
        let message = format!(
            "a new key may hold only scopes you hold yourself ({})",
            grantable(session.role)
        );
        return respond(
            &state,
            &session,
            &who,
            StatusCode::BAD_REQUEST,
            &[],
            None,
            Some(&message),
        )
        .await;
    }
    match state.auth.create_own_key(&principal, spec).await {
        Ok(created) => {
            respond(
                &state,
                &session,
                &who,
                StatusCode::OK,
                &[],
                Some(&created),
                None,
            )
            .await
        }
        Err(AuthError::BadRequest(message)) => {
            respond(
                &state,
                &session,
                &who,
                StatusCode::BAD_REQUEST,
                &[],
                None,
                Some(&message),
            )
            .await
        }
        Err(e @ AuthError::KeyLimit(_)) => {
            respond(
                &state,
                &session,
                &who,
                StatusCode::CONFLICT,
                &[],
                None,
                Some(&e.to_string()),
            )
            .await
        }
        Err(e) => super::refused(ApiError::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn revoke(
    State(state): State<GatewayState>,
    session: Session,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let given = match form {
        Ok(Form(form)) => form.csrf,
        Err(e) => return layout::error_page(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    if let Err(refusal) = session.check_csrf(&state, &given) {
        return refusal;
    }
    if let Err(refusal) = session.require_owner() {
        return refusal;
    }
    match state.auth.revoke_own_key(&principal, &key_id).await {
        Ok(()) => match HeaderValue::from_str(&format!("{PATH}?revoked={key_id}")) {
            Ok(location) => layout::redirect_to(location),
            Err(_) => layout::redirect(PATH),
        },
        Err(e) => super::refused(ApiError::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct BudgetForm {
    csrf: String,
    hard_limit: String,
}

pub async fn set_budget(
    State(state): State<GatewayState>,
    session: Session,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<String>,
    form: Result<Form<BudgetForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(e) => return layout::error_page(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    if let Err(refusal) = session.check_csrf(&state, &form.csrf) {
        return refusal;
    }
    if let Err(refusal) = session.require_owner() {
        return refusal;
    }
    let Some(billing) = state.billing.as_ref() else {
        return layout::error_page(StatusCode::NOT_FOUND, "billing is not enabled");
    };
    if let Err(e) = state.auth.key_to_manage(&principal, &key_id).await {
        return super::refused(ApiError::from(e));
    }
    let text = form.hard_limit.trim();
    let limit = if text.is_empty() {
        None
    } else {
        match crate::billing::api::parse_amount(text, "budget") {
            Ok(limit) => Some(limit),
            Err(e) => return layout::error_page(StatusCode::BAD_REQUEST, &e.to_string()),
        }
    };
    match billing
        .set_key_budget(&session.tenant_id, &key_id, limit)
        .await
    {
        Ok(()) => layout::redirect(PATH),
        Err(e) => super::refused(ApiError::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> KeyRow {
        KeyRow {
            id: "key_0123".into(),
            tenant_id: "ten_1".into(),
            name: Some(name.into()),
            secret_hash: "hash".into(),
            scopes: "language,usage:read".into(),
            created_at: 1_795_737_600,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
        }
    }

    static NO_BUDGETS: BTreeMap<String, Nanos> = BTreeMap::new();

    fn view(keys: &[KeyRow], role: Role) -> View<'_> {
        View {
            keys,
            role,
            grantable: grantable(role),
            csrf: "c5rf",
            created: None,
            form_error: None,
            now: 1_795_737_700,
            spend: None,
            budgets: &NO_BUDGETS,
        }
    }

    #[test]
    fn each_key_shows_its_spend_at_cents() {
        let keys = [key("ci")];
        let mut spend = BTreeMap::new();
        spend.insert(Some("key_0123".to_string()), Nanos(2_345_000_000));
        spend.insert(None, Nanos(10_000_000));
        let mut v = view(&keys, Role::Viewer);
        v.spend = Some((&spend, "USD"));
        let html = render(&v).into_string();
        assert!(
            html.contains(r#"<td class="num spent"><data class="money" value="2.345" title="2.345 USD exactly">2.35 USD</data></td>"#),
            "{html}"
        );
        assert!(html.contains("(no key): <data"), "{html}");
        // No budget of its own: said, not a zero amount.
        assert!(
            html.contains(r#"<td class="num budget"><span class="muted">none</span></td>"#),
            "{html}"
        );
        let budgets = BTreeMap::from([("key_0123".to_string(), Nanos(25_000_000_000))]);
        v.budgets = &budgets;
        let html = render(&v).into_string();
        assert!(
            html.contains(r#"<td class="num budget"><data class="money" value="25.00""#),
            "{html}"
        );
        // Owners get a form to change it, prefilled.
        let mut v = view(&keys, Role::Owner);
        v.spend = Some((&spend, "USD"));
        v.budgets = &budgets;
        let html = render(&v).into_string();
        assert!(
            html.contains(r#"action="/dashboard/keys/key_0123/budget""#),
            "{html}"
        );
        assert!(
            html.contains(r#"name="hard_limit" inputmode="decimal" size="8" value="25.00""#),
            "{html}"
        );
    }

    #[test]
    fn key_names_are_escaped() {
        let keys = [key(r#"<img src=x onerror="alert(1)">&'"#)];
        let html = render(&view(&keys, Role::Owner)).into_string();
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;'"),
            "{html}"
        );
        // In an attribute too (the revoke button's label).
        assert!(
            html.contains(
                r#"aria-label="Revoke key &lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;'""#
            ),
            "{html}"
        );
    }

    #[test]
    fn only_owners_get_forms() {
        let keys = [key("ci")];
        let owner = render(&view(&keys, Role::Owner)).into_string();
        assert!(owner.contains(r#"action="/dashboard/keys/create""#));
        assert!(owner.contains(r#"action="/dashboard/keys/key_0123/revoke""#));
        assert!(owner.contains(r#"name="csrf" value="c5rf""#));
        for role in [Role::Member, Role::Viewer] {
            let html = render(&view(&keys, role)).into_string();
            assert!(!html.contains("<form"), "{html}");
            assert!(html.contains("Only owners"));
        }
    }

    #[test]
    fn the_create_form_is_parsed_with_its_limits() {
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let (csrf, spec) = parse_create(&pairs(&[
            ("csrf", "t"),
            ("name", " ci "),
            ("scope", "language"),
            ("scope", "usage:read"),
            ("expires_in_days", "30"),
        ]))
        .unwrap();
        assert_eq!(csrf, "t");
        assert_eq!(spec.name.as_deref(), Some("ci"));
        assert_eq!(spec.scopes.to_string(), "language,usage:read");
        assert_eq!(spec.expires_in_days, Some(30));
        assert!(
            parse_create(&pairs(&[("scope", "root")]))
                .unwrap_err()
                .contains("unknown scope")
        );
        assert!(parse_create(&pairs(&[("expires_in_days", "-1")])).is_err());
        assert!(
            parse_create(&pairs(&[("tenant_id", "x")]))
                .unwrap_err()
                .contains("unknown form field")
        );
        let many = vec![("scope".to_string(), "speech".to_string()); MAX_FIELDS + 1];
        assert!(parse_create(&many).unwrap_err().contains("at most"));
    }
}
