//! Escaping text for HTML and SVG (XML) markup, and the start of an HTML page, shared by the
//! renderers that write markup.

/// Escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The style every page of the crate starts with (page, tables, code); a renderer appends its own.
pub const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}code,pre{font-family:ui-monospace,monospace;font-size:90%}pre{white-space:pre-wrap;margin:0;max-width:70em}";

/// A standalone page up to and including its `<h1>`: `title` (escaped here) as title and heading,
/// [`PAGE_STYLE`] then `style` inline.
pub fn page_start(title: &str, style: &str) -> String {
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>{PAGE_STYLE}{style}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    )
}
