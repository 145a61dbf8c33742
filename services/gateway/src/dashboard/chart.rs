//! SVG bar charts of usage over time, drawn on the server: one series of
//! bucket values, scaled into a fixed view box that the stylesheet stretches
//! to the page's width (so it fits a phone). Accessible: `role="img"` with a
//! title and a description that state the series, the range, the total and
//! the peak; each bar has a `<title>` (a tooltip) and `data-` attributes
//! with its bucket and value, which the browser test reads. The values are
//! also in a table next to the chart (see `usage`).
//!
//! [`stacked_chart`] draws money per bucket stacked by series (the cost
//! page's spend per day by model): heights are the only floats, every
//! label and `data-` value is the exact amount or its cents.

use maud::{Markup, html};

use crate::billing::Nanos;

/// The view box: wide enough for 90 daily bars, short enough for a phone.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
/// Room for the axis labels.
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 28.0;

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Its bucket, as the axis and the tooltip show it (`2026-11-28`,
    /// `14:00`).
    pub label: String,
    /// The bucket's start, RFC 3339 (for `data-bucket`).
    pub bucket: String,
    pub value: f64,
}

/// A chart of one series.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// A unique id within the page (for `aria-labelledby`).
    pub id: &'a str,
    /// What the series is (a service or a model name).
    pub name: &'a str,
    /// The unit, plural (`requests`, `audio seconds`).
    pub unit: &'a str,
    /// The metric's key (`requests`, `audio_seconds`, …).
    pub metric: &'a str,
    pub points: &'a [Point],
}

/// A number as the charts show it: whole numbers without decimals, others
/// with one.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:.1}")
    }
}

/// The sum of a series.
pub fn total(points: &[Point]) -> f64 {
    points.iter().map(|p| p.value).sum()
}

/// The chart of `series` as an `<svg>` element.
pub fn bar_chart(series: &Series<'_>) -> Markup {
    let points = series.points;
    let total = total(points);
    let peak = points
        .iter()
        .max_by(|a, b| a.value.total_cmp(&b.value))
        .filter(|p| p.value > 0.0);
    let max = peak.map_or(1.0, |p| p.value);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / points.len().max(1) as f64;
    // A gap between bars unless they are too thin to spare one.
    let gap = if slot > 4.0 { slot * 0.2 } else { 0.0 };
    let first = points.first().map_or("", |p| p.label.as_str());
    let last = points.last().map_or("", |p| p.label.as_str());
    let description = match peak {
        Some(peak) => format!(
            "{} {} from {first} to {last}, in {} bars; peak {} on {}.",
            number(total),
            series.unit,
            points.len(),
            number(peak.value),
            peak.label
        ),
        None => format!("No {} from {first} to {last}.", series.unit),
    };
    let title_id = format!("{}-title", series.id);
    let desc_id = format!("{}-desc", series.id);
    let baseline = TOP + plot_h;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            role="img" aria-labelledby=(format!("{title_id} {desc_id}"))
            data-series=(series.name) data-metric=(series.metric) data-total=(number(total))
            class="bars" {
            title #(title_id) { (series.unit) " of " (series.name) }
            desc #(desc_id) { (description) }
            // Grid line and labels at the top value and at zero.
            line x1=(LEFT) y1=(TOP) x2=(WIDTH - RIGHT) y2=(TOP) stroke="#d9dde3" stroke-width="1" {}
            line x1=(LEFT) y1=(baseline) x2=(WIDTH - RIGHT) y2=(baseline) stroke="#4b5563" stroke-width="1" {}
            text x=(LEFT - 6.0) y=(TOP + 4.0) text-anchor="end" font-size="12" fill="#1a1a1a" { (number(max)) }
            text x=(LEFT - 6.0) y=(baseline + 4.0) text-anchor="end" font-size="12" fill="#1a1a1a" { "0" }
            text x=(LEFT) y=(HEIGHT - 8.0) font-size="12" fill="#1a1a1a" { (first) }
            text x=(WIDTH - RIGHT) y=(HEIGHT - 8.0) text-anchor="end" font-size="12" fill="#1a1a1a" { (last) }
            @for (i, point) in points.iter().enumerate() {
                @let height = (point.value.max(0.0) / max) * plot_h;
                rect class="bar" x=(format!("{:.2}", LEFT + i as f64 * slot + gap / 2.0))
                    y=(format!("{:.2}", baseline - height))
                    width=(format!("{:.2}", (slot - gap).max(0.5)))
                    height=(format!("{:.2}", height))
                    fill="#0b57b0"
                    data-bucket=(point.bucket) data-value=(number(point.value)) {
                    title { (point.label) ": " (number(point.value)) " " (series.unit) }
                }
            }
        }
    }
}

/// Series colours (Okabe–Ito, distinguishable with common colour
/// blindness), in order; past eight they repeat, and the legend and the
/// data table still name every series.
pub const PALETTE: [&str; 8] = [
    "#0b57b0", "#d55e00", "#009e73", "#cc79a7", "#b35c00", "#56b4e9", "#4b5563", "#7a0f12",
];

/// The colour of series `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// One stacked layer: a series' amount in every bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub values: Vec<Nanos>,
}

impl Layer {
    pub fn total(&self) -> Nanos {
        self.values.iter().fold(Nanos::ZERO, |s, v| s.plus(*v))
    }
}

/// A chart of money per bucket, stacked by layer.
#[derive(Debug, Clone)]
pub struct Stacked<'a> {
    pub id: &'a str,
    /// What it shows (`Spend per day by model`).
    pub title: &'a str,
    pub currency: &'a str,
    /// Each bucket: (label, start as RFC 3339).
    pub buckets: &'a [(String, String)],
    pub layers: &'a [Layer],
}

/// The stacked chart of `chart` as an `<svg>` element.
pub fn stacked_chart(chart: &Stacked<'_>) -> Markup {
    let count = chart.buckets.len();
    let stack = |i: usize| {
        chart
            .layers
            .iter()
            .filter_map(|l| l.values.get(i))
            .fold(Nanos::ZERO, |s, v| s.plus(*v))
    };
    let stacks: Vec<Nanos> = (0..count).map(stack).collect();
    let total = stacks.iter().fold(Nanos::ZERO, |s, v| s.plus(*v));
    let peak = stacks
        .iter()
        .enumerate()
        .max_by_key(|(_, v)| **v)
        .filter(|(_, v)| v.0 > 0);
    let max = peak.map_or(1.0, |(_, v)| v.0 as f64);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / count.max(1) as f64;
    let gap = if slot > 4.0 { slot * 0.2 } else { 0.0 };
    let label = |i: usize| chart.buckets.get(i).map_or("", |b| b.0.as_str());
    let (first, last) = (label(0), label(count.saturating_sub(1)));
    let cur = chart.currency;
    let names: Vec<&str> = chart.layers.iter().map(|l| l.name.as_str()).collect();
    let description = match peak {
        Some((i, v)) => format!(
            "{} {cur} from {first} to {last} by {}; most on {} ({} {cur}).",
            total.cents(),
            names.join(", "),
            label(i),
            v.cents()
        ),
        None => format!("Nothing spent from {first} to {last}."),
    };
    let title_id = format!("{}-title", chart.id);
    let desc_id = format!("{}-desc", chart.id);
    let baseline = TOP + plot_h;
    // Each bucket's layers bottom-up, only those that cost something.
    let mut cells = Vec::new();
    for bucket in 0..count {
        let mut below = 0.0;
        for (layer, values) in chart.layers.iter().enumerate() {
            let value = values.values.get(bucket).copied().unwrap_or(Nanos::ZERO);
            if value.0 <= 0 {
                continue;
            }
            let height = (value.0 as f64 / max) * plot_h;
            cells.push(Cell {
                bucket,
                layer,
                value,
                y: baseline - below - height,
                height,
            });
            below += height;
        }
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
            role="img" aria-labelledby=(format!("{title_id} {desc_id}"))
            data-total=(total.cents()) data-total-exact=(total) data-currency=(cur)
            class="bars stacked" {
            title #(title_id) { (chart.title) " (" (cur) ")" }
            desc #(desc_id) { (description) }
            line x1=(LEFT) y1=(TOP) x2=(WIDTH - RIGHT) y2=(TOP) stroke="#d9dde3" stroke-width="1" {}
            line x1=(LEFT) y1=(baseline) x2=(WIDTH - RIGHT) y2=(baseline) stroke="#4b5563" stroke-width="1" {}
            text x=(LEFT - 6.0) y=(TOP + 4.0) text-anchor="end" font-size="12" fill="#1a1a1a" {
                (peak.map_or_else(|| "0.00".to_string(), |(_, v)| v.cents()))
            }
            text x=(LEFT - 6.0) y=(baseline + 4.0) text-anchor="end" font-size="12" fill="#1a1a1a" { "0" }
            text x=(LEFT) y=(HEIGHT - 8.0) font-size="12" fill="#1a1a1a" { (first) }
            text x=(WIDTH - RIGHT) y=(HEIGHT - 8.0) text-anchor="end" font-size="12" fill="#1a1a1a" { (last) }
            @for cell in &cells {
                rect class="bar" x=(format!("{:.2}", LEFT + cell.bucket as f64 * slot + gap / 2.0))
                    y=(format!("{:.2}", cell.y))
                    width=(format!("{:.2}", (slot - gap).max(0.5)))
                    height=(format!("{:.2}", cell.height))
                    fill=(color(cell.layer))
                    data-model=(names[cell.layer]) data-bucket=(chart.buckets[cell.bucket].1)
                    data-value=(cell.value) {
                    title { (label(cell.bucket)) ", " (names[cell.layer]) ": " (cell.value.cents()) " " (cur) }
                }
            }
        }
    }
}

/// One drawn piece of a stack.
struct Cell {
    bucket: usize,
    layer: usize,
    value: Nanos,
    y: f64,
    height: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[f64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                label: format!("day {i}"),
                bucket: format!("2026-11-{:02}T00:00:00Z", i + 1),
                value: *v,
            })
            .collect()
    }

    #[test]
    fn bars_carry_their_values_and_the_chart_its_total() {
        let points = points(&[0.0, 3.0, 1.5]);
        let svg = bar_chart(&Series {
            id: "c1",
            name: "language",
            unit: "requests",
            metric: "requests",
            points: &points,
        })
        .into_string();
        assert!(svg.contains(r#"data-total="4.5""#), "{svg}");
        assert_eq!(svg.matches("<rect ").count(), 3);
        assert!(svg.contains(r#"data-value="3""#));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-labelledby="c1-title c1-desc""#));
        assert!(svg.contains("peak 3 on day 1"), "{svg}");
        // The tallest bar fills the plot; an empty one has no height.
        assert!(svg.contains(r#"height="196.00""#), "{svg}");
        assert!(svg.contains(r#"height="0.00""#), "{svg}");
    }

    #[test]
    fn names_are_escaped() {
        let points = points(&[1.0]);
        let svg = bar_chart(&Series {
            id: "c2",
            name: r#"<script>alert("x")</script>&"#,
            unit: "requests",
            metric: "requests",
            points: &points,
        })
        .into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"));
    }

    #[test]
    fn stacks_are_exact_and_only_spent_cells_are_drawn() {
        let buckets: Vec<(String, String)> = (1..=3)
            .map(|d| (format!("2026-12-0{d}"), format!("2026-12-0{d}T00:00:00Z")))
            .collect();
        let layers = [
            Layer {
                name: "<m1>".into(),
                values: vec![Nanos(10_000_000), Nanos::ZERO, Nanos(5_000_000)],
            },
            Layer {
                name: "m2".into(),
                values: vec![Nanos(30_000_000), Nanos::ZERO, Nanos::ZERO],
            },
        ];
        let svg = stacked_chart(&Stacked {
            id: "cost",
            title: "Spend per day by model",
            currency: "USD",
            buckets: &buckets,
            layers: &layers,
        })
        .into_string();
        assert_eq!(svg.matches("<rect ").count(), 3, "{svg}");
        assert!(
            svg.contains(r#"data-total="0.05" data-total-exact="0.045""#),
            "{svg}"
        );
        assert!(svg.contains("most on 2026-12-01 (0.04 USD)"), "{svg}");
        assert!(svg.contains("by &lt;m1&gt;, m2"), "{svg}");
        // The tallest stack fills the plot: its layers' heights add up.
        assert!(
            svg.contains(r#"height="49.00""#) && svg.contains(r#"height="147.00""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"data-model="m2" data-bucket="2026-12-01T00:00:00Z" data-value="0.03""#),
            "{svg}"
        );
        let empty = stacked_chart(&Stacked {
            id: "c",
            title: "t",
            currency: "USD",
            buckets: &buckets,
            layers: &[],
        })
        .into_string();
        assert!(
            empty.contains("Nothing spent from 2026-12-01 to 2026-12-03."),
            "{empty}"
        );
    }

    #[test]
    fn an_empty_series_says_so() {
        let points = points(&[0.0, 0.0]);
        let svg = bar_chart(&Series {
            id: "c3",
            name: "speech",
            unit: "audio seconds",
            metric: "audio_seconds",
            points: &points,
        })
        .into_string();
        assert!(
            svg.contains("No audio seconds from day 0 to day 1."),
            "{svg}"
        );
        assert!(svg.contains(r#"data-total="0""#));
    }
}
