//! A small HTML writer where markup can only be `&'static str`: every value that comes from
//! the store (attacker-controlled strings in target names, messages, bodies) goes through
//! [`Html::text`] or [`Href`], which escape it.

use std::fmt::Write as _;

/// Escapes text for HTML content and double- or single-quoted attributes.
pub(crate) fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// An HTML document being written.
#[derive(Debug, Default)]
pub(crate) struct Html {
    buf: String,
}

impl Html {
    pub(crate) fn new() -> Self {
        Self {
            buf: String::with_capacity(16 * 1024),
        }
    }

    /// Markup: a literal in the source, never data.
    pub(crate) fn raw(&mut self, s: &'static str) -> &mut Self {
        self.buf.push_str(s);
        self
    }

    /// Text (escaped).
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        escape(s, &mut self.buf);
        self
    }

    /// A number or other `Display` value (escaped like text).
    pub(crate) fn show(&mut self, v: impl std::fmt::Display) -> &mut Self {
        let s = v.to_string();
        self.text(&s)
    }

    /// `<a href="HREF">LABEL</a>`.
    pub(crate) fn link(&mut self, href: &Href, label: &str) -> &mut Self {
        self.raw("<a href=\"")
            .href(href)
            .raw("\">")
            .text(label)
            .raw("</a>")
    }

    /// An href value (already percent-encoded; escaped for the attribute).
    pub(crate) fn href(&mut self, href: &Href) -> &mut Self {
        escape(&href.0, &mut self.buf);
        self
    }

    pub(crate) fn into_string(self) -> String {
        self.buf
    }
}

/// A same-site URL: a fixed path plus percent-encoded query parameters.
#[derive(Debug, Clone)]
pub(crate) struct Href(String);

impl Href {
    pub(crate) fn new(path: &'static str) -> Self {
        Self(path.to_owned())
    }

    /// `/runs/{id}`-style paths.
    pub(crate) fn with_id(prefix: &'static str, id: i64) -> Self {
        Self(format!("{prefix}{id}"))
    }

    pub(crate) fn param(mut self, key: &'static str, value: &str) -> Self {
        self.0.push(if self.0.contains('?') { '&' } else { '?' });
        self.0.push_str(key);
        self.0.push('=');
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                self.0.push(b as char);
            } else {
                let _ = write!(self.0, "%{b:02X}");
            }
        }
        self
    }

    pub(crate) fn opt(self, key: &'static str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.param(key, v),
            None => self,
        }
    }
}

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Overview,
    Runs,
    Findings,
    Mttr,
    Drift,
    Admission,
    Events,
    Audit,
}

const NAV: &[(Nav, &str, &str)] = &[
    (Nav::Overview, "/", "Overview"),
    (Nav::Runs, "/runs", "Runs"),
    (Nav::Findings, "/findings", "Findings"),
    (Nav::Mttr, "/mttr", "MTTR"),
    (Nav::Drift, "/drift", "Drift"),
    (Nav::Admission, "/admission", "Admission"),
    (Nav::Events, "/events", "Events"),
    (Nav::Audit, "/audit", "Audit"),
];

/// The page frame: head, navigation, `<main>` with `body`, footer.
pub(crate) fn layout(title: &str, nav: Nav, body: impl FnOnce(&mut Html)) -> String {
    let mut h = Html::new();
    h.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · shipgate</title><link rel=\"stylesheet\" href=\"/static/style.css\">")
        .raw("</head><body><header><span class=\"brand\">shipgate</span><nav>");
    for (n, path, label) in NAV {
        h.raw("<a href=\"")
            .text(path)
            .raw(if *n == nav {
                "\" class=\"active\" aria-current=\"page\">"
            } else {
                "\">"
            })
            .text(label)
            .raw("</a>");
    }
    h.raw("<a href=\"/metrics\">/metrics</a></nav></header><main><h1>")
        .text(title)
        .raw("</h1>");
    body(&mut h);
    h.raw("</main><footer>shipgate ")
        .text(env!("CARGO_PKG_VERSION"))
        .raw(" · read-only view of the store · JSON under <a href=\"/api/overview\">/api</a></footer></body></html>\n");
    h.into_string()
}

/// The stylesheet (served at `/static/style.css`; the CSP allows no inline style).
pub(crate) const STYLE: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde1e8; --bg:#f6f7f9; --accent:#2457c5; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; gap:24px; align-items:center; padding:10px 24px; background:#1d2330; color:#fff; }
header .brand { font-weight:700; letter-spacing:.02em; }
header nav a { color:#c9d3e6; text-decoration:none; margin-right:14px; }
header nav a.active, header nav a:hover { color:#fff; text-decoration:underline; }
main { padding: 16px 24px 32px; max-width: 1280px; }
h1 { font-size: 22px; margin: 6px 0 14px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; background:#fff; border:1px solid var(--line); }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align: top; }
th { background:#eef1f5; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
code, .hash { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin-bottom: 8px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 14px; min-width:160px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-weight: 600; }
.status-passed, .ok { color:#17803d; font-weight:600; }
.status-failed, .status-error, .bad { color:#b42318; font-weight:600; }
.status-cached, .status-skipped { color: var(--muted); }
.sev-critical { color:#7a0916; font-weight:600; } .sev-high { color:#c4320a; font-weight:600; }
.sev-medium { color:#b54708; } .sev-low { color:#1d4ed8; } .sev-info { color: var(--muted); }
.pager { margin: 10px 0; display:flex; gap: 14px; }
.filters { margin: 6px 0 12px; } .filters a { margin-right: 10px; }
.filters a.active { font-weight: 700; color: var(--fg); }
.muted { color: var(--muted); }
.chart { background:#fff; border:1px solid var(--line); border-radius:6px; padding: 8px; }
form.inline { display:inline; } button { font: inherit; padding: 3px 10px; }
footer { padding: 12px 24px; color: var(--muted); font-size: 12px; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_hrefs_are_escaped() {
        let mut h = Html::new();
        h.text("<script>alert('x')</script> & \"q\"");
        assert_eq!(
            h.into_string(),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let href = Href::new("/events").param("kind", "a\"><b&c d");
        let mut h = Html::new();
        h.link(&href, "<x>");
        assert_eq!(
            h.into_string(),
            "<a href=\"/events?kind=a%22%3E%3Cb%26c%20d\">&lt;x&gt;</a>"
        );
    }
}
