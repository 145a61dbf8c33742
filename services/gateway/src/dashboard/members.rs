//! `GET /dashboard/members` — the users of the signed-in user's tenant and
//! their roles (what each role may do is said on the page). Users are added
//! by operators (`stratus users create`, `POST /v1/admin/tenants/{id}/users`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::Session;
use super::layout;
use crate::GatewayState;
use crate::store::identity::UserRow;

/// This page.
pub const PATH: &str = "/dashboard/members";

/// The page's body.
pub fn render(users: &[UserRow], me: &str) -> Markup {
    html! {
        p.muted {
            "Owners manage API keys; members use the services and read usage; "
            "viewers read usage only."
        }
        div.table-wrap {
            table #members {
                caption.muted { (users.len()) " members" }
                thead {
                    tr {
                        th scope="col" { "Email" }
                        th scope="col" { "Role" }
                        th scope="col" { "Member since" }
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
                            td { (layout::datetime(user.created_at)) }
                        }
                    }
                }
            }
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
    layout::html_response(
        StatusCode::OK,
        layout::page(
            "Members",
            PATH,
            &who.viewer(&session),
            &[],
            render(&users, &session.user_id),
        ),
    )
}
