//! What a credential may do: scopes (on API keys) and roles (of dashboard
//! users, which map to scopes), and the [`Principal`] a request runs as.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One permission. Routes name the scope they need (see `crate::routes`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Scope {
    /// `/v1/audio/*`: transcription and translation.
    #[serde(rename = "speech")]
    Speech,
    /// `/v1/embeddings` and `/v1/language/*`.
    #[serde(rename = "language")]
    Language,
    /// Reading the tenant's own usage.
    #[serde(rename = "usage:read")]
    UsageRead,
    /// Reading the tenant's own invoices.
    #[serde(rename = "billing:read")]
    BillingRead,
    /// Managing the tenant's own API keys (`/v1/keys`).
    #[serde(rename = "keys")]
    Keys,
    /// Operating the whole deployment (`/v1/admin/*`, every tenant). Only keys
    /// of the system tenant may hold it.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Speech,
        Scope::Language,
        Scope::UsageRead,
        Scope::BillingRead,
        Scope::Keys,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Speech => "speech",
            Scope::Language => "language",
            Scope::UsageRead => "usage:read",
            Scope::BillingRead => "billing:read",
            Scope::Keys => "keys",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that does not exist.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown scope `{0}` (known: speech, language, usage:read, billing:read, keys, admin)")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| UnknownScope(s.trim().to_string()))
    }
}

/// A set of scopes, stored as a comma-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(value_type = Vec<Scope>, example = json!(["speech", "language"]))]
#[serde(transparent)]
pub struct Scopes(pub BTreeSet<Scope>);

impl Scopes {
    /// Parse `speech,language` (empty items are ignored).
    pub fn parse(list: &str) -> Result<Self, UnknownScope> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Scope::from_str)
            .collect::<Result<_, _>>()
            .map(Scopes)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

impl<const N: usize> From<[Scope; N]> for Scopes {
    fn from(scopes: [Scope; N]) -> Self {
        Scopes(scopes.into_iter().collect())
    }
}

/// A dashboard user's role in their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything a member may, and manages the tenant's keys.
    Owner,
    /// Uses the services and reads usage and bills.
    Member,
    /// Reads usage and bills only.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// The scopes a session of this role carries. No role reaches `admin`:
    /// operating the deployment is for the system tenant's keys.
    pub fn scopes(self) -> Scopes {
        match self {
            Role::Viewer => [Scope::UsageRead, Scope::BillingRead].into(),
            Role::Member => [
                Scope::Speech,
                Scope::Language,
                Scope::UsageRead,
                Scope::BillingRead,
            ]
            .into(),
            Role::Owner => [
                Scope::Speech,
                Scope::Language,
                Scope::UsageRead,
                Scope::BillingRead,
                Scope::Keys,
            ]
            .into(),
        }
    }
}

/// A role name that does not exist.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown role `{0}` (known: owner, member, viewer)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "owner" => Ok(Role::Owner),
            "member" => Ok(Role::Member),
            "viewer" => Ok(Role::Viewer),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}

/// Who a request runs as, put into the request's extensions by the
/// authentication layer. Later layers (rate limits, budgets, metering) read
/// it as `Extension<Principal>`; upstreams get it as a `TenantContext`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    /// Set when the request authenticated with an API key.
    pub key_id: Option<String>,
    /// Set when the request authenticated with a dashboard session.
    pub user_id: Option<String>,
    pub scopes: Scopes,
    /// The user's role (sessions only).
    pub role: Option<Role>,
}

impl Principal {
    /// The context forwarded to upstream services.
    pub fn context(&self) -> stratus_kit::context::TenantContext {
        stratus_kit::context::TenantContext {
            tenant_id: self.tenant_id.clone(),
            key_id: self.key_id.clone(),
            user_id: self.user_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_unknown_ones_are_named() {
        let scopes = Scopes::parse("language, speech,,usage:read").unwrap();
        assert_eq!(scopes.to_string(), "speech,language,usage:read");
        assert_eq!(Scopes::parse(&scopes.to_string()).unwrap(), scopes);
        let err = Scopes::parse("speech,root").unwrap_err().to_string();
        assert!(err.contains("`root`"), "{err}");
    }

    #[test]
    fn no_role_reaches_admin_and_only_owners_manage_keys() {
        for role in [Role::Owner, Role::Member, Role::Viewer] {
            assert!(!role.scopes().contains(Scope::Admin));
            assert_eq!(role.scopes().contains(Scope::Keys), role == Role::Owner);
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
    }
}
