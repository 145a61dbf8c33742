//! The tenant's users:
//! - `GET /dashboard/members` — every user of the signed-in user's tenant,
//!   their role and whether they are disabled (what each role may do is
//!   said on the page); owners also get, per other user, a role form and
//!   disable / enable / delete buttons.
//! - `POST /dashboard/members/{user_id}/role` (`role`),
//!   `…/disable`, `…/enable`, `…/delete` — owners: change that user, then
//!   back to the list.
//!
//! The same operations as the admin API's (`crate::tenants`): disabling or
//! deleting a user ends its sessions at once, a new role applies to its
//! open sessions within a second, another tenant's user id is "not found".
//! Owners do not change themselves here (an owner demoting or disabling
//! themselves could leave the tenant without one); another owner or an
//! operator does. Users are added by operators (`stratus users create`,
//! `POST /v1/admin/tenants/{id}/users`).
//!
//! The route table lets only sessions with the `keys` scope (owners) post
//! here; the handlers check the role and the form's CSRF token again.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use stratus_kit::ApiError;

use super::Session;
use super::layout;
use crate::GatewayState;
use crate::auth::{AuthError, Role};
use crate::store::identity::UserRow;
use crate::tenants;

/// This page.
pub const PATH: &str = "/dashboard/members";

/// The page's body; `owner_csrf` (an owner's CSRF token) adds the forms
/// that change other users.
pub fn render(users: &[UserRow], me: &str, owner_csrf: Option<&str>) -> Markup {
    html! {
        p.muted {
            "Owners manage API keys and members; members use the services and read usage; "
            "viewers read usage only. A disabled user cannot sign in."
        }
        div.table-wrap {
            table #members {
                caption.muted { (users.len()) " members" }
                thead {
                    tr {
                        th scope="col" { "Email" }
                        th scope="col" { "Role" }
                        th scope="col" { "Status" }
                        th scope="col" { "Member since" }
                        @if owner_csrf.is_some() {
                            th scope="col" { "Change" }
                        }
                    }
                }
                tbody {
                    @for user in users {
                        tr {
                            td {
                                (user.email)
                                @if user.id == me { " " span.muted { "(you)" } }
                            }
                            td { (user.role) }
                            td {
                                @if user.disabled_at.is_some() { "disabled" } @else { "active" }
                            }
                            td { (layout::datetime(user.created_at)) }
                            @if let Some(csrf) = owner_csrf {
                                td {
                                    @if user.id != me {
                                        (changes(user, csrf))
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

/// An owner's forms for `user`.
fn changes(user: &UserRow, csrf: &str) -> Markup {
    let base = format!("{PATH}/{}", user.id);
    html! {
        form.inline method="post" action=(format!("{base}/role")) {
            input type="hidden" name="csrf" value=(csrf);
            label { span.visually-hidden { "Role of " (user.email) }
                select name="role" {
                    @for role in [Role::Owner, Role::Member, Role::Viewer] {
                        option value=(role.as_str()) selected[user.role == role.as_str()] { (role.as_str()) }
                    }
                }
            }
            " "
            button type="submit" { "Set role" }
        }
        @let (action, label) = if user.disabled_at.is_some() { ("enable", "Enable") } else { ("disable", "Disable") };
        form.inline method="post" action=(format!("{base}/{action}")) {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { (label) }
        }
        form.inline method="post" action=(format!("{base}/delete")) {
            input type="hidden" name="csrf" value=(csrf);
            button.danger type="submit" { "Delete" }
        }
    }
}

pub async fn page(State(state): State<GatewayState>, session: Session) -> Response {
    let who = match super::who(&state, &session).await {
        Ok(who) => who,
        Err(response) => return response,
    };
    let users = match state.auth.store().list_users(&session.tenant_id).await {
        Ok(users) => users,
        Err(e) => return super::unavailable(e),
    };
    let owner_csrf = (session.role == Role::Owner).then_some(session.csrf.as_str());
    layout::html_response(
        StatusCode::OK,
        layout::page(
            "Members",
            PATH,
            &who.viewer(&session),
            &[],
            render(&users, &session.user_id, owner_csrf),
        ),
    )
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    csrf: String,
    role: String,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// What an owner does to a member.
enum Change {
    Role(Role),
    Disable,
    Enable,
    Delete,
}

/// Check the form's token, the role and the target, make `change`, back
/// to the list.
async fn apply(
    state: &GatewayState,
    session: &Session,
    user_id: &str,
    csrf: &str,
    change: Change,
) -> Response {
    if let Err(refusal) = session.check_csrf(state, csrf) {
        return refusal;
    }
    if session.role != Role::Owner {
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "Only owners of this organisation may change its members.",
        );
    }
    if user_id == session.user_id {
        return layout::error_page(
            StatusCode::BAD_REQUEST,
            "You cannot change your own membership here; ask another owner or an operator.",
        );
    }
    let auth = &state.auth;
    let tenant = session.tenant_id.as_str();
    let done = match change {
        Change::Role(role) => tenants::set_user_role(auth, tenant, user_id, role).await,
        Change::Disable => tenants::set_user_disabled(auth, tenant, user_id, true).await,
        Change::Enable => tenants::set_user_disabled(auth, tenant, user_id, false).await,
        Change::Delete => tenants::delete_user(auth, tenant, user_id).await,
    };
    match done {
        Ok(()) => layout::redirect(PATH),
        Err(e @ AuthError::NotFound(_)) => {
            layout::error_page(StatusCode::NOT_FOUND, &e.to_string())
        }
        Err(e) => super::refused(ApiError::from(e)),
    }
}

fn bad_form(e: &FormRejection) -> Response {
    layout::error_page(StatusCode::BAD_REQUEST, &e.body_text())
}

pub async fn set_role(
    State(state): State<GatewayState>,
    session: Session,
    Path(user_id): Path<String>,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(e) => return bad_form(&e),
    };
    // The token first, whatever else the form got wrong.
    if let Err(refusal) = session.check_csrf(&state, &form.csrf) {
        return refusal;
    }
    let role = match form.role.parse::<Role>() {
        Ok(role) => role,
        Err(e) => return layout::error_page(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    apply(&state, &session, &user_id, &form.csrf, Change::Role(role)).await
}

pub async fn disable(
    State(state): State<GatewayState>,
    session: Session,
    Path(user_id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    match form {
        Ok(Form(form)) => apply(&state, &session, &user_id, &form.csrf, Change::Disable).await,
        Err(e) => bad_form(&e),
    }
}

pub async fn enable(
    State(state): State<GatewayState>,
    session: Session,
    Path(user_id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    match form {
        Ok(Form(form)) => apply(&state, &session, &user_id, &form.csrf, Change::Enable).await,
        Err(e) => bad_form(&e),
    }
}

pub async fn delete(
    State(state): State<GatewayState>,
    session: Session,
    Path(user_id): Path<String>,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    match form {
        Ok(Form(form)) => apply(&state, &session, &user_id, &form.csrf, Change::Delete).await,
        Err(e) => bad_form(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, email: &str, role: &str, disabled: bool) -> UserRow {
        UserRow {
            id: id.into(),
            tenant_id: "ten_1".into(),
            email: email.into(),
            password_hash: "x".into(),
            role: role.into(),
            created_at: 0,
            disabled_at: disabled.then_some(1),
        }
    }

    #[test]
    fn only_owners_get_forms_and_never_for_themselves() {
        let users = [
            user("usr_me", "me@x", "owner", false),
            user("usr_b", "<b>@x", "viewer", true),
        ];
        let plain = render(&users, "usr_me", None).into_string();
        assert!(!plain.contains("<form"), "{plain}");
        assert!(plain.contains("&lt;b&gt;@x"), "escaped: {plain}");
        assert!(plain.contains("disabled"));
        let owner = render(&users, "usr_me", Some("c5rf")).into_string();
        assert!(
            owner.contains(r#"action="/dashboard/members/usr_b/role""#),
            "{owner}"
        );
        assert!(
            owner.contains(r#"action="/dashboard/members/usr_b/enable""#),
            "{owner}"
        );
        assert!(
            owner.contains(r#"action="/dashboard/members/usr_b/delete""#),
            "{owner}"
        );
        assert!(!owner.contains("usr_me/"), "no forms for oneself: {owner}");
        assert!(owner.contains(r#"name="csrf" value="c5rf""#));
        assert!(
            owner.contains(r#"<option value="viewer" selected>"#),
            "{owner}"
        );
    }
}
