//! The colours of `static/style.css` against WCAG 2.x: text 4.5:1 (AA), lines and marks the
//! reader needs 3:1 (non-text contrast), in the light scheme and in the dark one
//! (`prefers-color-scheme: dark`), computed from the stylesheet itself.

use std::collections::HashMap;

const CSS: &str = include_str!("../../../static/style.css");

/// The custom properties (`--name: #hex`) of the first block after `marker`.
fn vars_after(marker: &str) -> HashMap<String, String> {
    let start = CSS
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in style.css"));
    // `marker` ends with the block's `{`.
    let block = &CSS[start..];
    let open = marker.len();
    let close = open + block[open..].find('}').expect("its end");
    // Comments out: they may hold ':' and ';'.
    let mut body = String::new();
    let mut rest = &block[open..close];
    while let Some(i) = rest.find("/*") {
        body.push_str(&rest[..i]);
        rest = rest[i..].find("*/").map_or("", |j| &rest[i + j + 2..]);
    }
    body.push_str(rest);
    body.split(';')
        .filter_map(|decl| {
            let (k, v) = decl.split_once(':')?;
            let k = k.trim().rsplit(char::is_whitespace).next()?.trim();
            k.starts_with("--")
                .then(|| (k.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The light scheme's colours, with the dark scheme's over them when `dark`.
fn scheme(dark: bool) -> HashMap<String, String> {
    let mut v = vars_after(":root {");
    if dark {
        v.extend(vars_after(
            "@media (prefers-color-scheme: dark) {\n  :root {",
        ));
    }
    v
}

/// WCAG relative luminance of `#rgb`/`#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let h = hex.trim().trim_start_matches('#');
    let h: String = if h.len() == 3 {
        h.chars().flat_map(|c| [c, c]).collect()
    } else {
        h.to_owned()
    };
    assert_eq!(h.len(), 6, "a #rrggbb colour, not {hex:?}");
    let ch = |i: usize| {
        let c = f64::from(u8::from_str_radix(&h[i..i + 2], 16).expect("hex")) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * ch(0) + 0.7152 * ch(2) + 0.0722 * ch(4)
}

fn ratio(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

const STATUSES: [&str; 8] = [
    "needs_fix",
    "needs_pin",
    "awaiting_owner",
    "unreviewed",
    "fix_proposed",
    "fixed",
    "confirmed_safe",
    "gone",
];

#[test]
fn badge_text_passes_aa_on_every_status_colour() {
    for dark in [false, true] {
        let v = scheme(dark);
        for s in STATUSES {
            let (bg, fg) = (&v[&format!("--{s}")], &v[&format!("--on-{s}")]);
            let r = ratio(bg, fg);
            assert!(
                r >= 4.5,
                "{s} badge (dark: {dark}): {fg} on {bg} is {r:.2}:1"
            );
        }
    }
}

#[test]
fn text_and_links_pass_aa_and_chart_lines_3_to_1_in_both_schemes() {
    for dark in [false, true] {
        let v = scheme(dark);
        let text = [
            ("--fg", "--bg"),
            ("--fg", "--card"),
            ("--muted", "--bg"),
            ("--muted", "--card"),
            ("--accent", "--bg"),
            ("--accent", "--card"),
            ("--del", "--code-bg"),
            ("--ins", "--code-bg"),
            ("--fg", "--here"),
            ("--fg", "--hover"),
        ];
        for (fg, bg) in text {
            let r = ratio(&v[fg], &v[bg]);
            assert!(r >= 4.5, "{fg} on {bg} (dark: {dark}) is {r:.2}:1");
        }
        // The burndown's lines (open: needs_fix, done: fixed) and de-emphasised zeros.
        for (fg, bg) in [
            ("--needs_fix", "--card"),
            ("--fixed", "--card"),
            ("--faint", "--card"),
        ] {
            let r = ratio(&v[fg], &v[bg]);
            assert!(r >= 3.0, "{fg} on {bg} (dark: {dark}) is {r:.2}:1");
        }
    }
    // The header's white text on its blue, light and dark.
    assert!(ratio("#ffffff", "#1f4e79") >= 4.5);
    assert!(ratio("#ffffff", "#10263d") >= 4.5);
}

#[test]
fn the_stylesheet_gives_every_status_a_badge_and_a_bar_colour() {
    for s in STATUSES {
        assert!(
            CSS.contains(&format!(
                ".st-{s} {{ background: var(--{s}); color: var(--on-{s}); }}"
            )),
            "{s}"
        );
        assert!(
            CSS.contains(&format!("st-{s} {{ fill: var(--{s}); }}")),
            "{s}"
        );
    }
}
