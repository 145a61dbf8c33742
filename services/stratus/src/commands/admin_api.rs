//! The identity commands' other way in: a running gateway's admin API
//! (`--url`, an operator key in `STRATUS_ADMIN_KEY`) instead of its store.
//! With PostgreSQL and several gateways, or from a machine that has no
//! server home, this is the natural choice: nothing local is opened or
//! created, the server checks every change as it checks the API's, and a
//! key it prints is one that server issued.
//!
//! Each call answers JSON or the API's error envelope, which becomes
//! [`CliError::Api`] with the server's message. The commands name tenants,
//! keys and users as people do (a tenant's name, a key's id, a user's
//! email); the admin routes take ids under a tenant, so the lookups here
//! (`tenant_named`, `key_tenant`, `user_by_email`) find them by listing.

use reqwest::Method;
use serde_json::Value;

use crate::error::CliError;

/// The environment variable holding the operator's key: never a flag
/// (flags show in `ps` and shell history).
pub const ADMIN_KEY_ENV: &str = "STRATUS_ADMIN_KEY";

/// A gateway's admin API.
#[derive(Debug, Clone)]
pub struct AdminApi {
    base: String,
    key: String,
    client: reqwest::Client,
}

impl AdminApi {
    /// The API at `base` (`https://stratus.example.com`), with the key in
    /// [`ADMIN_KEY_ENV`].
    pub fn from_env(base: &str) -> Result<Self, CliError> {
        Self::new(base, std::env::var(ADMIN_KEY_ENV).ok())
    }

    fn new(base: &str, key: Option<String>) -> Result<Self, CliError> {
        let key = key.unwrap_or_default();
        if key.trim().is_empty() {
            return Err(CliError::Usage(format!(
                "--url needs an operator key (admin scope) in {ADMIN_KEY_ENV}"
            )));
        }
        let parsed =
            url::Url::parse(base).map_err(|e| CliError::Usage(format!("--url {base}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(CliError::Usage(format!(
                "--url {base}: give the gateway's http(s) address, e.g. https://stratus.example.com"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| CliError::Usage(format!("--url: {e}")))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            key: key.trim().to_owned(),
            client,
        })
    }

    /// `method path` with an optional JSON body; the answer's JSON (`null`
    /// for 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, CliError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| CliError::Api {
            status: None,
            message: format!("{method} {url}: {e}"),
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| CliError::Api {
            status: Some(status.as_u16()),
            message: format!("{method} {url}: {e}"),
        })?;
        let json: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| CliError::Api {
                status: Some(status.as_u16()),
                message: format!("{method} {url} answered something that is not JSON"),
            })?
        };
        if status.is_success() {
            return Ok(json);
        }
        let message = json["error"]["message"]
            .as_str()
            .map_or_else(|| format!("{method} {url}"), str::to_owned);
        Err(CliError::Api {
            status: Some(status.as_u16()),
            message,
        })
    }

    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        self.call(Method::GET, path, None).await
    }

    /// The `data` of a list answer.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>, CliError> {
        match self.get(path).await?["data"].take() {
            Value::Array(items) => Ok(items),
            _ => Err(CliError::Api {
                status: None,
                message: format!("GET {path} answered no list"),
            }),
        }
    }

    /// The tenant called `name`.
    pub async fn tenant_named(&self, name: &str) -> Result<Value, CliError> {
        self.list("/v1/admin/tenants")
            .await?
            .into_iter()
            .find(|t| t["name"] == name)
            .ok_or_else(|| not_found(format!("no tenant `{name}`")))
    }

    /// The id of the tenant that holds the key `key_id`.
    pub async fn key_tenant(&self, key_id: &str) -> Result<String, CliError> {
        for tenant in self.list("/v1/admin/tenants").await? {
            let id = text(&tenant["id"]);
            let keys = self.list(&format!("/v1/admin/tenants/{id}/keys")).await?;
            if keys.iter().any(|k| k["id"] == key_id) {
                return Ok(id);
            }
        }
        Err(not_found(format!("no API key `{key_id}`")))
    }

    /// The user whose email is `email`, in whichever tenant.
    pub async fn user_by_email(&self, email: &str) -> Result<Value, CliError> {
        for tenant in self.list("/v1/admin/tenants").await? {
            let id = text(&tenant["id"]);
            let users = self.list(&format!("/v1/admin/tenants/{id}/users")).await?;
            if let Some(user) = users.into_iter().find(|u| {
                u["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            }) {
                return Ok(user);
            }
        }
        Err(not_found(format!("no user `{email}`")))
    }
}

/// A JSON string's text (empty for anything else).
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn not_found(message: String) -> CliError {
    CliError::Api {
        status: Some(404),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gateway_address_and_a_key_are_taken() {
        let key = || Some("sk_operator".to_owned());
        assert!(AdminApi::new("https://stratus.example.com/", key()).is_ok());
        for bad in [
            "stratus.example.com",
            "ftp://stratus.example.com",
            "http://",
        ] {
            let err = AdminApi::new(bad, key()).unwrap_err().to_string();
            assert!(err.starts_with(&format!("--url {bad}")), "{err}");
        }
        let err = AdminApi::new("http://127.0.0.1:8080", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(ADMIN_KEY_ENV), "{err}");
    }
}
