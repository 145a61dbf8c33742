//! The usage page's "spend vs budget" panel for the current month: what the
//! tenant has spent so far, its budget (soft and hard limits, or none), the
//! share of the budget used as a bar, and the banners once a limit is
//! reached (a warning past the soft limit, an error once the hard limit
//! blocks requests).
//!
//! The numbers are [`Billing::budget`]'s, the same [`BudgetView`] that
//! `GET /v1/billing/budget` answers, read in-process. Money is shown with
//! cents ([`super::layout::money`], the exact amount in the markup) and
//! percentages are integer arithmetic on the exact nanos: no floats
//! anywhere between the store and the page.
//!
//! [`Billing::budget`]: crate::billing::Billing::budget

use maud::{Markup, html};

use super::Session;
use super::layout::{Banner, Level};
use crate::GatewayState;
use crate::auth::Scope;
use crate::billing::Nanos;
use crate::billing::api::BudgetView;
use crate::billing::money::decimal;

/// What the panel shows.
#[derive(Debug, Clone)]
pub enum Spend {
    /// Billing is off on this gateway, or the role may not read bills: no
    /// panel at all.
    Hidden,
    /// The billing store did not answer: the panel says so and the rest of
    /// the usage page still shows.
    Unavailable,
    /// This month's budget.
    Budget(Box<BudgetView>),
}

/// This month's spend of the session's tenant.
pub async fn load(state: &GatewayState, session: &Session) -> Spend {
    let Some(billing) = state.billing.as_ref() else {
        return Spend::Hidden;
    };
    // The same scope `GET /v1/billing/budget` needs.
    if !session.may(Scope::BillingRead) {
        return Spend::Hidden;
    }
    match billing.budget(&session.tenant_id).await {
        Ok(view) => Spend::Budget(Box::new(view)),
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: reading the budget");
            Spend::Unavailable
        }
    }
}

/// The limit the bar measures against: the hard one when there is one
/// (it is the one that refuses requests), else the soft one.
fn measured_limit(view: &BudgetView) -> Option<(Nanos, &'static str)> {
    view.hard_limit
        .map(|h| (h, "hard limit"))
        .or_else(|| view.soft_limit.map(|s| (s, "soft limit")))
}

/// `spent / limit` in tenths of a percent, rounded down. A zero limit is
/// all used as soon as it exists (nothing may be spent).
pub fn permille(spent: Nanos, limit: Nanos) -> i128 {
    if limit.0 <= 0 {
        return 1000;
    }
    i128::from(spent.0.max(0)) * 1000 / i128::from(limit.0)
}

/// `permille` as a percentage with at most one decimal (`12.5%`, `100%`).
pub fn percent_text(permille: i128) -> String {
    format!("{}%", decimal(permille, 1, 0))
}

/// Banners are text: the amount at cents.
fn money(amount: Nanos, currency: &str) -> String {
    super::layout::money_text(amount, currency)
}

fn shown(amount: Nanos, currency: &str) -> Markup {
    super::layout::money(amount, currency)
}

/// The banners a reached limit raises on the usage page. A spent hard
/// limit says only that (it implies the soft one).
pub fn banners(spend: &Spend) -> Vec<Banner> {
    let Spend::Budget(view) = spend else {
        return Vec::new();
    };
    let cur = view.currency.as_str();
    if let (true, Some(hard)) = (view.hard_limit_reached, view.hard_limit) {
        return vec![Banner {
            level: Level::Error,
            text: format!(
                "The hard budget of {} for {} is spent ({} so far): API requests are refused \
                 (429 insufficient_quota) until an operator raises the limit or the month ends.",
                money(hard, cur),
                view.month,
                money(view.spent, cur),
            ),
        }];
    }
    if let (true, Some(soft)) = (view.soft_limit_reached, view.soft_limit) {
        return vec![Banner {
            level: Level::Warning,
            text: format!(
                "Spend for {} ({}) has passed the soft budget of {}. Requests still run{}.",
                view.month,
                money(view.spent, cur),
                money(soft, cur),
                match view.hard_limit {
                    Some(hard) => format!(" until the hard limit of {}", money(hard, cur)),
                    None => String::new(),
                },
            ),
        }];
    }
    Vec::new()
}

/// The panel (nothing when hidden).
pub fn render(spend: &Spend) -> Markup {
    match spend {
        Spend::Hidden => html! {},
        Spend::Unavailable => html! {
            section #spend .card aria-labelledby="spend-heading" {
                h2 #spend-heading { "Spend this month" }
                p.error { "Billing is not answering; spend and budget will show again shortly." }
            }
        },
        Spend::Budget(view) => panel(view),
    }
}

fn limit_text(limit: Option<Nanos>, currency: &str) -> Markup {
    match limit {
        None => html! { "none" },
        Some(l) => shown(l, currency),
    }
}

fn panel(view: &BudgetView) -> Markup {
    let cur = view.currency.as_str();
    let measured = measured_limit(view);
    html! {
        section #spend .card aria-labelledby="spend-heading" {
            h2 #spend-heading {
                "Spend this month "
                span.muted { "(" time datetime=(view.month) { (view.month) } ", plan " (view.plan) ")" }
            }
            dl.totals {
                div { dt { "Spent so far" } dd #spend-spent { (shown(view.spent, cur)) } }
                @match measured {
                    None => {
                        div { dt { "Budget" } dd #spend-budget { "No budget" } }
                    }
                    Some(_) => {
                        div { dt { "Soft limit" } dd #spend-soft { (limit_text(view.soft_limit, cur)) } }
                        div { dt { "Hard limit" } dd #spend-hard { (limit_text(view.hard_limit, cur)) } }
                    }
                }
                @if view.reserved.0 > 0 {
                    div { dt { "Held by running requests" } dd #spend-reserved { (shown(view.reserved, cur)) } }
                }
            }
            @match measured {
                None => {
                    p.muted { "No monthly budget is set: requests are not limited by spend." }
                }
                Some((limit, which)) => {
                    @let used = permille(view.spent, limit);
                    div.budget-bar {
                        label for="spend-meter" {
                            span #spend-percent { (percent_text(used)) }
                            " of the " (which) " (" (money(limit, cur)) ") used"
                        }
                        // Tenths of a percent, capped at the whole bar; past
                        // the soft point (or 80%) it turns amber, full red.
                        meter #spend-meter min="0" max="1000" value=(used.min(1000))
                            low=(soft_point(view).unwrap_or(800)) high="999" optimum="0" {
                            (percent_text(used))
                        }
                    }
                }
            }
        }
    }
}

/// Where the soft limit sits on a bar measured against the hard limit.
fn soft_point(view: &BudgetView) -> Option<i128> {
    let (soft, hard) = (view.soft_limit?, view.hard_limit?);
    Some(permille(soft, hard).min(999))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{Month, TenantTerms};
    use crate::store::billing::MonthRow;

    fn view(spent: i64, soft: Option<i64>, hard: Option<i64>) -> BudgetView {
        let terms = TenantTerms {
            plan: "standard".into(),
            soft_limit: soft.map(Nanos),
            hard_limit: hard.map(Nanos),
        };
        let row = MonthRow {
            spent_nanos: spent,
            ..MonthRow::default()
        };
        BudgetView::new("acme", Month::parse("2026-05").unwrap(), "USD", terms, &row)
    }

    #[test]
    fn percentages_are_exact_integers() {
        assert_eq!(percent_text(permille(Nanos(1), Nanos(3))), "33.3%");
        assert_eq!(percent_text(permille(Nanos(1), Nanos(3000))), "0%");
        assert_eq!(percent_text(permille(Nanos(125), Nanos(1000))), "12.5%");
        assert_eq!(percent_text(permille(Nanos(3), Nanos(3))), "100%");
        assert_eq!(percent_text(permille(Nanos(9), Nanos(6))), "150%");
        assert_eq!(permille(Nanos(0), Nanos(0)), 1000);
        // Far past i64 when multiplied by 1000, still exact.
        assert_eq!(permille(Nanos(i64::MAX), Nanos(i64::MAX)), 1000);
    }

    #[test]
    fn no_budget_no_bar_no_banner() {
        let spend = Spend::Budget(Box::new(view(5_000_000, None, None)));
        let html = render(&spend).into_string();
        assert!(
            html.contains(
                r#"<dd id="spend-spent"><data class="money" value="0.005" title="0.005 USD exactly">0.01 USD</data></dd>"#
            ),
            "{html}"
        );
        assert!(
            html.contains("No budget") && !html.contains("<meter"),
            "{html}"
        );
        assert!(banners(&spend).is_empty());
        assert!(render(&Spend::Hidden).into_string().is_empty());
    }

    #[test]
    fn soft_warns_and_hard_blocks() {
        // 1.50 spent of a 1.00 soft and 10.00 hard limit: 15% of the hard.
        let soft = Spend::Budget(Box::new(view(
            1_500_000_000,
            Some(1_000_000_000),
            Some(10_000_000_000),
        )));
        let html = render(&soft).into_string();
        assert!(
            html.contains(r#"<span id="spend-percent">15%</span>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"value="150""#) && html.contains(r#"low="100""#),
            "{html}"
        );
        assert!(
            html.contains(r#"value="10.00" title="10.00 USD exactly">10.00 USD</data></dd>"#),
            "{html}"
        );
        let b = banners(&soft);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].level, Level::Warning);
        assert!(
            b[0].text.contains("soft budget of 1.00 USD"),
            "{}",
            b[0].text
        );

        let hard = Spend::Budget(Box::new(view(2_000_000_000, Some(1), Some(2_000_000_000))));
        let b = banners(&hard);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].level, Level::Error);
        assert!(b[0].text.contains("429"), "{}", b[0].text);
        let html = render(&hard).into_string();
        assert!(html.contains(r#"value="1000""#), "{html}");
    }
}
