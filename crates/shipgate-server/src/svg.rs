//! Charts rendered on the server as inline SVG (no script, no external asset).

pub(crate) use shipgate_store::metrics::human_duration;
use shipgate_store::metrics::{DayCounts, Mttr};

use crate::html::Html;

/// Reads one severity's count of a day.
type Count = fn(&DayCounts) -> u64;

/// Severity names, colours and accessors, most severe first (drawn bottom-up).
const SEVERITIES: &[(&str, &str, Count)] = &[
    ("critical", "#7a0916", |d| d.critical),
    ("high", "#e04f16", |d| d.high),
    ("medium", "#f5a524", |d| d.medium),
    ("low", "#4f83e8", |d| d.low),
    ("info", "#a9b2c3", |d| d.info),
];

fn total(d: &DayCounts) -> u64 {
    d.critical + d.high + d.medium + d.low + d.info
}

/// A stacked bar per day of the counts by severity, with a legend and a `<title>` tooltip
/// per bar.
pub(crate) fn findings_chart(h: &mut Html, days: &[DayCounts]) {
    const W: f64 = 1000.0;
    const H: f64 = 260.0;
    const LEFT: f64 = 56.0;
    const BOTTOM: f64 = 28.0;
    const TOP: f64 = 26.0;
    let plot_w = W - LEFT - 10.0;
    let plot_h = H - TOP - BOTTOM;
    h.raw("<svg id=\"findings-chart\" class=\"chart\" role=\"img\" viewBox=\"0 0 1000 260\" width=\"1000\" height=\"260\" xmlns=\"http://www.w3.org/2000/svg\">")
        .raw("<title>Findings by severity per day (latest scan of each target)</title>");
    let max = days.iter().map(total).max().unwrap_or(0).max(1);
    // Legend.
    for (i, (name, colour, _)) in SEVERITIES.iter().enumerate() {
        let x = LEFT + i as f64 * 90.0;
        h.raw("<rect x=\"")
            .show(x)
            .raw("\" y=\"6\" width=\"10\" height=\"10\" fill=\"")
            .text(colour)
            .raw("\"/><text x=\"")
            .show(x + 14.0)
            .raw("\" y=\"15\" font-size=\"11\" fill=\"#1d2330\">")
            .text(name)
            .raw("</text>");
    }
    // Axes and the maximum.
    h.raw("<line x1=\"")
        .show(LEFT)
        .raw("\" y1=\"")
        .show(TOP)
        .raw("\" x2=\"")
        .show(LEFT)
        .raw("\" y2=\"")
        .show(TOP + plot_h)
        .raw("\" stroke=\"#5b6475\"/><line x1=\"")
        .show(LEFT)
        .raw("\" y1=\"")
        .show(TOP + plot_h)
        .raw("\" x2=\"")
        .show(LEFT + plot_w)
        .raw("\" y2=\"")
        .show(TOP + plot_h)
        .raw("\" stroke=\"#5b6475\"/><text x=\"")
        .show(LEFT - 6.0)
        .raw("\" y=\"")
        .show(TOP + 4.0)
        .raw("\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6475\">")
        .show(max)
        .raw("</text><text x=\"")
        .show(LEFT - 6.0)
        .raw("\" y=\"")
        .show(TOP + plot_h)
        .raw("\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6475\">0</text>");
    if days.is_empty() {
        h.raw("<text x=\"500\" y=\"130\" font-size=\"14\" text-anchor=\"middle\" fill=\"#5b6475\">no scan reports recorded</text></svg>");
        return;
    }
    let slot = plot_w / days.len() as f64;
    let bar = (slot * 0.8).max(1.0);
    for (i, d) in days.iter().enumerate() {
        let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
        let mut y = TOP + plot_h;
        h.raw("<g class=\"day\"><title>")
            .text(&d.day)
            .raw(": ")
            .show(d.critical)
            .raw(" critical, ")
            .show(d.high)
            .raw(" high, ")
            .show(d.medium)
            .raw(" medium, ")
            .show(d.low)
            .raw(" low, ")
            .show(d.info)
            .raw(" info</title>");
        for (name, colour, get) in SEVERITIES {
            let v = get(d);
            if v == 0 {
                continue;
            }
            let bh = v as f64 / max as f64 * plot_h;
            y -= bh;
            h.raw("<rect class=\"sev-")
                .text(name)
                .raw("\" x=\"")
                .show(fmt(x))
                .raw("\" y=\"")
                .show(fmt(y))
                .raw("\" width=\"")
                .show(fmt(bar))
                .raw("\" height=\"")
                .show(fmt(bh))
                .raw("\" fill=\"")
                .text(colour)
                .raw("\"/>");
        }
        h.raw("</g>");
    }
    // First and last day under the axis.
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        h.raw("<text x=\"")
            .show(LEFT)
            .raw("\" y=\"")
            .show(H - 8.0)
            .raw("\" font-size=\"11\" fill=\"#5b6475\">")
            .text(&first.day)
            .raw("</text><text x=\"")
            .show(LEFT + plot_w)
            .raw("\" y=\"")
            .show(H - 8.0)
            .raw("\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6475\">")
            .text(&last.day)
            .raw("</text>");
    }
    h.raw("</svg>");
}

/// Horizontal bars of the mean time to remediation per severity.
pub(crate) fn mttr_chart(h: &mut Html, rows: &[Mttr]) {
    let max = rows
        .iter()
        .filter_map(|m| m.mean_seconds)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let height = 30 + rows.len().max(1) * 28;
    h.raw("<svg id=\"mttr-chart\" class=\"chart\" role=\"img\" viewBox=\"0 0 1000 ")
        .show(height)
        .raw("\" width=\"1000\" height=\"")
        .show(height)
        .raw("\" xmlns=\"http://www.w3.org/2000/svg\"><title>Mean time to remediation per severity</title>");
    if rows.is_empty() {
        h.raw("<text x=\"500\" y=\"34\" font-size=\"14\" text-anchor=\"middle\" fill=\"#5b6475\">no findings recorded</text></svg>");
        return;
    }
    for (i, m) in rows.iter().enumerate() {
        let y = 14 + i * 28;
        let colour = SEVERITIES
            .iter()
            .find(|s| s.0 == m.severity)
            .map_or("#a9b2c3", |s| s.1);
        h.raw("<text x=\"90\" y=\"")
            .show(y + 14)
            .raw("\" font-size=\"12\" text-anchor=\"end\" fill=\"#1d2330\">")
            .text(&m.severity)
            .raw("</text>");
        let w = m.mean_seconds.map_or(0.0, |s| s / max * 760.0);
        h.raw("<rect x=\"100\" y=\"")
            .show(y)
            .raw("\" width=\"")
            .show(fmt(w.max(1.0)))
            .raw("\" height=\"20\" fill=\"")
            .text(colour)
            .raw("\"><title>")
            .text(&m.severity)
            .raw(": ")
            .text(
                &m.mean_seconds
                    .map_or_else(|| "none fixed".to_owned(), human_duration),
            )
            .raw("</title></rect><text x=\"")
            .show(fmt(106.0 + w.max(1.0)))
            .raw("\" y=\"")
            .show(y + 14)
            .raw("\" font-size=\"12\" fill=\"#5b6475\">")
            .text(
                &m.mean_seconds
                    .map_or_else(|| "—".to_owned(), human_duration),
            )
            .raw("</text>");
    }
    h.raw("</svg>");
}

/// Two decimals are plenty for pixels and keep the document small.
fn fmt(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_stacks_severities_and_scales_to_the_maximum() {
        let days = vec![
            DayCounts {
                day: "2026-01-01".into(),
                critical: 1,
                high: 1,
                medium: 0,
                low: 0,
                info: 0,
            },
            DayCounts {
                day: "2026-01-02".into(),
                critical: 0,
                high: 4,
                medium: 0,
                low: 0,
                info: 0,
            },
        ];
        let mut h = Html::new();
        findings_chart(&mut h, &days);
        let s = h.into_string();
        assert!(s.starts_with("<svg id=\"findings-chart\""), "{s}");
        assert_eq!(s.matches("<rect class=\"sev-").count(), 3, "{s}");
        // The day with 4 findings fills the plot height (206 px).
        assert!(s.contains("height=\"206\""), "{s}");
        assert!(s.contains("2026-01-02: 0 critical, 4 high"), "{s}");
        assert_eq!(human_duration(7200.0), "2.0h");
    }
}
