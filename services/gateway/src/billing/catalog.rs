//! The price catalog: plans, each a list of prices per model, unit and
//! (optionally) endpoint, and optional default monthly budgets. Loaded from
//! a TOML file (`--price-catalog`), or [`Catalog::builtin`] when none is
//! given.
//!
//! ```toml
//! currency = "USD"
//! default_plan = "standard"
//!
//! [plans.standard]
//! soft_limit = "80"          # optional default monthly budgets
//! hard_limit = "100"
//! prices = [
//!   # per audio second, at least 1 s billed per request that had audio
//!   { model = "whisper-base", unit = "audio_second", price = "0.0001", minimum_seconds = "1" },
//!   { model = "all-minilm-l6-v2", endpoint = "/v1/embeddings", unit = "1k_tokens", price = "0.00002" },
//!   { model = "*", endpoint = "/v1/language/*", unit = "1k_characters", price = "0.0005" },
//! ]
//! ```
//!
//! Units: `audio_second`, `1k_characters`, `1k_tokens`, `request`,
//! `document`. A price names a model (as `/v1/models` lists it) or `*`,
//! which prices every model without its own price for that unit (and events
//! that name no model). A price may name an `endpoint` — a route such as
//! `/v1/embeddings`, or a prefix ending in `/*` such as `/v1/audio/*` — and
//! then prices only requests to it: services report several counts per
//! request (embeddings report characters and tokens), and an endpoint's
//! price says which one it is billed by. Of the prices that fit an event,
//! a model's own beats `*`, and one naming the endpoint beats one that
//! names none. Prices have at most six decimals (see [`super::money`]); a
//! usage kind a plan does not price is free.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::money::{MAX_PRICE_DECIMALS, Nanos};
use crate::metering::{Units, UsageEvent};

/// The text of [`Catalog::builtin`]: what is billed when no
/// `--price-catalog` is given (a test builds its own catalog on it).
pub const BUILTIN_TOML: &str = r#"
currency = "USD"
default_plan = "standard"

[plans.standard]
prices = [
  { model = "*", endpoint = "/v1/audio/*", unit = "audio_second", price = "0.0001", minimum_seconds = "1" },
  { model = "*", endpoint = "/v1/embeddings", unit = "1k_tokens", price = "0.00002" },
  { model = "*", endpoint = "/v1/language/*", unit = "1k_characters", price = "0.0005" },
]
"#;

/// The model name that prices every model without its own price.
pub const ANY_MODEL: &str = "*";
/// Most plans, and prices per plan, in one catalog: a bigger one is a
/// mistake, and pricing walks the list per event.
pub const MAX_PLANS: usize = 256;
pub const MAX_PRICES: usize = 1024;

/// What a price is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceUnit {
    AudioSecond,
    #[serde(rename = "1k_characters")]
    Characters1k,
    #[serde(rename = "1k_tokens")]
    Tokens1k,
    Request,
    Document,
}

impl PriceUnit {
    pub const ALL: [PriceUnit; 5] = [
        PriceUnit::AudioSecond,
        PriceUnit::Characters1k,
        PriceUnit::Tokens1k,
        PriceUnit::Request,
        PriceUnit::Document,
    ];

    /// The name in the catalog, the API and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            PriceUnit::AudioSecond => "audio_second",
            PriceUnit::Characters1k => "1k_characters",
            PriceUnit::Tokens1k => "1k_tokens",
            PriceUnit::Request => "request",
            PriceUnit::Document => "document",
        }
    }

    /// Base units (what events count: audio milliseconds, single
    /// characters and tokens, requests, documents) per priced unit.
    pub fn base_per_unit(self) -> i64 {
        match self {
            PriceUnit::AudioSecond | PriceUnit::Characters1k | PriceUnit::Tokens1k => 1000,
            PriceUnit::Request | PriceUnit::Document => 1,
        }
    }

    /// How many base units of this kind `units` holds.
    pub fn base_quantity(self, units: &Units) -> i64 {
        match self {
            PriceUnit::AudioSecond => units.audio_ms,
            PriceUnit::Characters1k => units.characters,
            PriceUnit::Tokens1k => units.input_tokens,
            PriceUnit::Request => units.requests,
            PriceUnit::Document => units.documents,
        }
    }
}

/// One price as written in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    pub model: String,
    /// Only requests to this endpoint: a route (`/v1/embeddings`) or a
    /// prefix ending in `/*` (`/v1/audio/*`). None: any endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub unit: PriceUnit,
    /// Per priced unit, in the catalog's currency, as a decimal string.
    pub price: String,
    /// `audio_second` only: seconds billed at least, per request that had
    /// any audio (providers bill short clips as one second, for example).
    #[serde(default)]
    pub minimum_seconds: Option<String>,
}

/// A plan as written in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    #[serde(default)]
    pub soft_limit: Option<String>,
    #[serde(default)]
    pub hard_limit: Option<String>,
    #[serde(default)]
    pub prices: Vec<PriceSpec>,
}

/// The catalog file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSpec {
    pub currency: String,
    pub default_plan: String,
    pub plans: BTreeMap<String, PlanSpec>,
}

/// One price, checked: the price per *base* unit in billionths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub model: String,
    /// The endpoint (or `/*` prefix) it is limited to; None: any.
    pub endpoint: Option<String>,
    pub unit: PriceUnit,
    /// As quoted (per priced unit).
    pub unit_price: Nanos,
    /// Per base unit: `unit_price / base_per_unit`, exact by the
    /// six-decimals rule.
    pub base_price: Nanos,
    /// Base units billed at least per event that had any (audio only).
    pub minimum_base: i64,
}

/// A plan, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub name: String,
    pub soft_limit: Option<Nanos>,
    pub hard_limit: Option<Nanos>,
    pub prices: Vec<Price>,
}

/// What one event costs under one price: the line item it adds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The event's model (`*` when the event named none).
    pub model: String,
    pub unit: PriceUnit,
    /// Base units billed (the minimum applied).
    pub base_quantity: i64,
    pub price: Price,
}

impl Charge {
    pub fn amount(&self) -> Nanos {
        self.price.base_price.times(self.base_quantity)
    }
}

impl Price {
    /// Whether this price applies to requests to `endpoint`.
    fn fits_endpoint(&self, endpoint: &str) -> bool {
        match self.endpoint.as_deref() {
            None => true,
            Some(pattern) => match pattern.strip_suffix('*') {
                Some(prefix) => endpoint.starts_with(prefix),
                None => endpoint == pattern,
            },
        }
    }
}

impl Plan {
    /// The price of `unit` for `model` on `endpoint`, most specific first:
    /// the model's own for the endpoint, its own for any endpoint, then
    /// the same two of `*`.
    pub fn price(&self, model: Option<&str>, endpoint: &str, unit: PriceUnit) -> Option<&Price> {
        let find = |name: &str, scoped: bool| {
            self.prices.iter().find(|p| {
                p.unit == unit
                    && p.model == name
                    && p.endpoint.is_some() == scoped
                    && p.fits_endpoint(endpoint)
            })
        };
        let own = model.and_then(|m| find(m, true).or_else(|| find(m, false)));
        own.or_else(|| find(ANY_MODEL, true))
            .or_else(|| find(ANY_MODEL, false))
    }

    /// What `event` is billed, one charge per priced unit. Only answered
    /// requests (status below 400) are billed: a refused or failed request
    /// is not the caller's to pay.
    pub fn charges(&self, event: &UsageEvent) -> Vec<Charge> {
        if !is_billable(event.status) {
            return Vec::new();
        }
        let model = event.model.as_deref();
        let mut out = Vec::new();
        for unit in PriceUnit::ALL {
            let Some(price) = self.price(model, &event.endpoint, unit) else {
                continue;
            };
            let used = unit.base_quantity(&event.units).max(0);
            if used == 0 {
                continue;
            }
            out.push(Charge {
                model: model.unwrap_or(ANY_MODEL).to_owned(),
                unit,
                base_quantity: used.max(price.minimum_base),
                price: price.clone(),
            });
        }
        out
    }

    /// What `event` costs in all.
    pub fn cost(&self, event: &UsageEvent) -> Nanos {
        self.charges(event)
            .iter()
            .fold(Nanos::ZERO, |sum, c| sum.plus(c.amount()))
    }

    /// The most a request to `endpoint` may cost, reserved before it runs
    /// (see [`super::MaxCost`] for the bounds): for each unit, the plan's
    /// highest price of that unit among those that apply to the endpoint
    /// (the model is not known before the body is read) times the most
    /// units the request can report.
    pub fn max_cost(&self, bounds: &Units, endpoint: &str) -> Nanos {
        let mut total = Nanos::ZERO;
        for unit in PriceUnit::ALL {
            let bound = unit.base_quantity(bounds).max(0);
            if bound == 0 {
                continue;
            }
            let most = self
                .prices
                .iter()
                .filter(|p| p.unit == unit && p.fits_endpoint(endpoint))
                .map(|p| p.base_price.times(bound.max(p.minimum_base)))
                .max()
                .unwrap_or(Nanos::ZERO);
            total = total.plus(most);
        }
        total
    }
}

/// Whether an event with `status` is billed.
pub fn is_billable(status: u16) -> bool {
    (200..400).contains(&status)
}

/// The checked catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    pub currency: String,
    pub default_plan: String,
    pub plans: BTreeMap<String, Plan>,
}

/// What is wrong with a catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("price catalog {path}: {message}")]
    File { path: String, message: String },
    #[error("price catalog: {0}")]
    Invalid(String),
}

fn plan_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl Catalog {
    /// Read and check the TOML file at `path`.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let file = |message: String| CatalogError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file(e.to_string()))?;
        let spec: CatalogSpec = toml::from_str(&text).map_err(|e| file(e.to_string()))?;
        Catalog::from_spec(spec).map_err(|e| file(e.to_string()))
    }

    /// Parse catalog TOML text (tests and embedding).
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let spec: CatalogSpec =
            toml::from_str(text).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        Catalog::from_spec(spec)
    }

    /// Check `spec`: known default plan, sane names, exact prices.
    pub fn from_spec(spec: CatalogSpec) -> Result<Catalog, CatalogError> {
        let bad = CatalogError::Invalid;
        let currency_ok =
            spec.currency.len() == 3 && spec.currency.bytes().all(|b| b.is_ascii_uppercase());
        if !currency_ok {
            return Err(bad(format!(
                "currency `{}` is not an ISO 4217 code (e.g. USD)",
                spec.currency
            )));
        }
        if spec.plans.len() > MAX_PLANS {
            return Err(bad(format!("more than {MAX_PLANS} plans")));
        }
        let mut plans = BTreeMap::new();
        for (name, plan) in spec.plans {
            if !plan_name_ok(&name) {
                return Err(bad(format!(
                    "plan name `{name}`: letters, digits, `-`, `_`, `.` (at most 64)"
                )));
            }
            if plan.prices.len() > MAX_PRICES {
                return Err(bad(format!("plan {name}: more than {MAX_PRICES} prices")));
            }
            let limit = |text: &Option<String>, what: &str| {
                text.as_deref()
                    .map(|t| Nanos::parse(t, 9))
                    .transpose()
                    .map_err(|e| bad(format!("plan {name}: {what}: {e}")))
            };
            let mut prices: Vec<Price> = Vec::new();
            for p in plan.prices {
                let unit_price = Nanos::parse(&p.price, MAX_PRICE_DECIMALS)
                    .map_err(|e| bad(format!("plan {name}, model {}: {e}", p.model)))?;
                if p.model.is_empty() || p.model.len() > crate::metering::event::MAX_TEXT {
                    return Err(bad(format!(
                        "plan {name}: a price's model is empty or too long"
                    )));
                }
                if let Some(endpoint) = &p.endpoint {
                    let pattern = endpoint.strip_suffix("/*").unwrap_or(endpoint);
                    let endpoint_ok = endpoint.starts_with('/')
                        && endpoint.len() <= crate::metering::event::MAX_TEXT
                        && !pattern.contains('*');
                    if !endpoint_ok {
                        return Err(bad(format!(
                            "plan {name}, model {}: endpoint `{endpoint}` is not a route (`/v1/embeddings`) or a prefix ending in `/*` (`/v1/audio/*`)",
                            p.model
                        )));
                    }
                }
                if prices
                    .iter()
                    .any(|q| q.model == p.model && q.unit == p.unit && q.endpoint == p.endpoint)
                {
                    return Err(bad(format!(
                        "plan {name}: model {} has two `{}` prices{}",
                        p.model,
                        p.unit.as_str(),
                        p.endpoint
                            .as_deref()
                            .map(|e| format!(" for {e}"))
                            .unwrap_or_default()
                    )));
                }
                let minimum_base = match (&p.minimum_seconds, p.unit) {
                    (None, _) => 0,
                    (Some(s), PriceUnit::AudioSecond) => {
                        // Whole milliseconds: three decimals.
                        Nanos::parse(s, 3)
                            .map_err(|e| {
                                bad(format!(
                                    "plan {name}, model {}: minimum_seconds: {e}",
                                    p.model
                                ))
                            })?
                            .0
                            / 1_000_000
                    }
                    (Some(_), unit) => {
                        return Err(bad(format!(
                            "plan {name}, model {}: minimum_seconds is only for audio_second, not {}",
                            p.model,
                            unit.as_str()
                        )));
                    }
                };
                prices.push(Price {
                    model: p.model,
                    endpoint: p.endpoint,
                    unit: p.unit,
                    unit_price,
                    // Exact: six decimals make the price a multiple of 1000
                    // billionths.
                    base_price: Nanos(unit_price.0 / p.unit.base_per_unit()),
                    minimum_base,
                });
            }
            plans.insert(
                name.clone(),
                Plan {
                    soft_limit: limit(&plan.soft_limit, "soft_limit")?,
                    hard_limit: limit(&plan.hard_limit, "hard_limit")?,
                    name,
                    prices,
                },
            );
        }
        if !plans.contains_key(&spec.default_plan) {
            return Err(bad(format!(
                "default_plan `{}` is not one of the plans",
                spec.default_plan
            )));
        }
        Ok(Catalog {
            currency: spec.currency,
            default_plan: spec.default_plan,
            plans,
        })
    }

    /// The catalog used when none is configured: one plan, `standard`, with
    /// list prices in the range of hosted APIs for the models Stratus
    /// ships, and no budgets (set them per tenant). Each endpoint is billed
    /// by one unit, as hosted APIs bill them: audio by the second,
    /// embeddings by the token, the analysis routes by the character.
    pub fn builtin() -> Catalog {
        match Catalog::from_toml(BUILTIN_TOML) {
            Ok(c) => c,
            // The text above is fixed and checked by a test; an empty catalog
            // would bill nothing, which is the safe side of a bug.
            Err(_) => Catalog {
                currency: "USD".into(),
                default_plan: "standard".into(),
                plans: BTreeMap::from([(
                    "standard".into(),
                    Plan {
                        name: "standard".into(),
                        soft_limit: None,
                        hard_limit: None,
                        prices: Vec::new(),
                    },
                )]),
            },
        }
    }

    /// The plan called `name`, or the default plan for a name the catalog
    /// no longer has (a tenant set to a plan later removed).
    pub fn plan(&self, name: Option<&str>) -> &Plan {
        name.and_then(|n| self.plans.get(n))
            .or_else(|| self.plans.get(&self.default_plan))
            .or_else(|| self.plans.values().next())
            .unwrap_or(empty_plan())
    }
}

fn empty_plan() -> &'static Plan {
    static EMPTY: std::sync::OnceLock<Plan> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Plan {
        name: "none".into(),
        soft_limit: None,
        hard_limit: None,
        prices: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(model: Option<&str>, status: u16, units: Units) -> UsageEvent {
        UsageEvent {
            id: uuid::Uuid::now_v7(),
            request_id: None,
            client_request_id: None,
            tenant_id: "t".into(),
            key_id: None,
            user_id: None,
            service: "speech".into(),
            endpoint: "/v1/audio/transcriptions".into(),
            model: model.map(str::to_owned),
            status,
            latency_ms: 1,
            time_ms: 0,
            units,
        }
    }

    #[test]
    fn builtin_catalog_is_valid() {
        let catalog = Catalog::from_toml(
            r#"currency = "USD"
default_plan = "x"
[plans.x]
prices = []"#,
        )
        .unwrap();
        assert_eq!(catalog.default_plan, "x");
        let builtin = Catalog::builtin();
        assert_eq!(builtin.plan(None).prices.len(), 3);
    }

    /// Every count a service reports per request (the headers of
    /// `stratus_kit::usage`), so a catalog that prices a count the route
    /// did not mean to bill by would show up as a second charge.
    fn everything(audio_ms: i64) -> Units {
        Units {
            requests: 1,
            audio_ms,
            characters: 1234,
            input_tokens: 321,
            documents: 2,
        }
    }

    #[test]
    fn the_default_catalog_bills_each_endpoint_by_exactly_one_unit() {
        let plan = Catalog::builtin().plan(None).clone();
        let cases = [
            ("/v1/audio/transcriptions", 2500, PriceUnit::AudioSecond),
            ("/v1/audio/translations", 2500, PriceUnit::AudioSecond),
            ("/v1/audio/jobs", 2500, PriceUnit::AudioSecond),
            ("/v1/embeddings", 0, PriceUnit::Tokens1k),
            ("/v1/language/sentiment", 0, PriceUnit::Characters1k),
            ("/v1/language/pii", 0, PriceUnit::Characters1k),
            ("/v1/language/summarize", 0, PriceUnit::Characters1k),
        ];
        for (endpoint, audio_ms, unit) in cases {
            let mut e = event(Some("any-model"), 200, everything(audio_ms));
            e.endpoint = endpoint.into();
            let charges = plan.charges(&e);
            let units: Vec<PriceUnit> = charges.iter().map(|c| c.unit).collect();
            assert_eq!(units, vec![unit], "{endpoint}");
            assert!(charges[0].amount() > Nanos::ZERO, "{endpoint}: {charges:?}");
        }
        // No price is zero: the default catalog prints no $0.00 lines.
        assert!(plan.prices.iter().all(|p| p.unit_price > Nanos::ZERO));
        // A reservation holds only what the endpoint can be billed: an
        // embeddings request its tokens (0.00002 per 1,000), not also
        // characters at the analysis routes' price.
        let bounds = Units {
            requests: 1,
            input_tokens: 1000,
            characters: 1000,
            documents: 1000,
            ..Units::default()
        };
        assert_eq!(plan.max_cost(&bounds, "/v1/embeddings"), Nanos(20_000));
        assert_eq!(plan.max_cost(&bounds, "/v1/language/pii"), Nanos(500_000));
    }

    #[test]
    fn the_most_specific_price_wins() {
        let catalog = Catalog::from_toml(
            r#"currency = "USD"
default_plan = "p"
[plans.p]
prices = [
  { model = "*", unit = "1k_tokens", price = "1" },
  { model = "*", endpoint = "/v1/embeddings", unit = "1k_tokens", price = "2" },
  { model = "m", unit = "1k_tokens", price = "3" },
  { model = "m", endpoint = "/v1/embeddings", unit = "1k_tokens", price = "4" },
  { model = "m", endpoint = "/v1/language/*", unit = "1k_tokens", price = "5" },
]"#,
        )
        .unwrap();
        let plan = catalog.plan(None);
        let quote = |model: Option<&str>, endpoint: &str| {
            plan.price(model, endpoint, PriceUnit::Tokens1k)
                .map(|p| p.unit_price.0 / 1_000_000_000)
                .unwrap()
        };
        assert_eq!(quote(Some("m"), "/v1/embeddings"), 4);
        assert_eq!(quote(Some("m"), "/v1/language/pii"), 5);
        assert_eq!(quote(Some("m"), "/v1/audio/transcriptions"), 3);
        assert_eq!(quote(Some("other"), "/v1/embeddings"), 2);
        assert_eq!(quote(None, "/v1/language/pii"), 1);
        // `/v1/language/*` is a prefix of routes, not of other words.
        assert_eq!(quote(Some("m"), "/v1/languages"), 3);
    }

    #[test]
    fn endpoints_are_routes_or_prefixes() {
        let with = |endpoint: &str| {
            Catalog::from_toml(&format!(
                "currency = \"USD\"\ndefault_plan = \"p\"\n[plans.p]\nprices = [{{ model = \"*\", endpoint = \"{endpoint}\", unit = \"request\", price = \"1\" }}]\n"
            ))
        };
        assert!(with("/v1/embeddings").is_ok());
        assert!(with("/v1/audio/*").is_ok());
        for bad in ["v1/embeddings", "/v1/*/x", "/v1/audio*", "*"] {
            assert!(with(bad).is_err(), "{bad}");
        }
        // The same model, unit and endpoint twice is a mistake; another
        // endpoint is not.
        let twice = |second: &str| {
            Catalog::from_toml(&format!(
                "currency = \"USD\"\ndefault_plan = \"p\"\n[plans.p]\nprices = [{{ model = \"*\", endpoint = \"/v1/a\", unit = \"request\", price = \"1\" }}, {{ model = \"*\", endpoint = \"{second}\", unit = \"request\", price = \"1\" }}]\n"
            ))
        };
        assert!(twice("/v1/a").is_err());
        assert!(twice("/v1/b").is_ok());
    }

    #[test]
    fn the_example_catalog_loads() {
        let text = include_str!("../../../../deploy/price-catalog.example.toml");
        let catalog = Catalog::from_toml(text).unwrap();
        assert_eq!(catalog.plans.len(), 2);
        assert_eq!(
            catalog.plan(Some("starter")).hard_limit,
            Some(Nanos(50_000_000_000))
        );
    }

    #[test]
    fn events_are_priced_exactly_with_minimums() {
        let catalog = Catalog::from_toml(
            r#"currency = "EUR"
default_plan = "p"
[plans.p]
prices = [
  { model = "whisper", unit = "audio_second", price = "0.006", minimum_seconds = "1.5" },
  { model = "*", unit = "1k_tokens", price = "0.000123" },
  { model = "*", unit = "request", price = "0.01" },
]"#,
        )
        .unwrap();
        let plan = catalog.plan(Some("p"));
        let units = Units {
            requests: 1,
            audio_ms: 400,
            input_tokens: 7,
            ..Units::default()
        };
        // 1.5 s minimum × 0.006 + 7 tokens × 0.000123/1000 + 0.01
        let cost = plan.cost(&event(Some("whisper"), 200, units));
        assert_eq!(cost, Nanos(9_000_000 + 861 + 10_000_000));
        // Another model has no audio price; a failed request costs nothing.
        assert_eq!(
            plan.cost(&event(Some("other"), 200, units)),
            Nanos(861 + 10_000_000)
        );
        assert_eq!(plan.cost(&event(Some("whisper"), 500, units)), Nanos::ZERO);
        let bounds = Units {
            requests: 1,
            audio_ms: 10_000,
            input_tokens: 1000,
            ..Units::default()
        };
        assert_eq!(
            plan.max_cost(&bounds, "/v1/audio/transcriptions"),
            Nanos(60_000_000 + 123_000 + 10_000_000)
        );
    }

    #[test]
    fn bad_catalogs_are_refused() {
        for bad in [
            // unknown default plan
            "currency = \"USD\"\ndefault_plan = \"y\"\n[plans.x]\nprices = []",
            // too precise
            "currency = \"USD\"\ndefault_plan = \"x\"\n[plans.x]\nprices = [{ model = \"*\", unit = \"request\", price = \"0.0000001\" }]",
            // minimum on a token price
            "currency = \"USD\"\ndefault_plan = \"x\"\n[plans.x]\nprices = [{ model = \"*\", unit = \"1k_tokens\", price = \"1\", minimum_seconds = \"1\" }]",
            // not a currency
            "currency = \"dollars\"\ndefault_plan = \"x\"\n[plans.x]\nprices = []",
            // unknown unit
            "currency = \"USD\"\ndefault_plan = \"x\"\n[plans.x]\nprices = [{ model = \"*\", unit = \"minute\", price = \"1\" }]",
        ] {
            assert!(Catalog::from_toml(bad).is_err(), "{bad}");
        }
    }
}
