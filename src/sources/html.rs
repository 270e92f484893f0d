//! A help-centre page as knowledge: its main content only (no header, navigation, breadcrumbs,
//! footer, cookie banner, scripts), turned into clean text with its links kept as
//! `text (URL)`, and split into sections at its headings. Pure: bytes in, sections out.
//!
//! How a section is cut: every heading starts one, except a heading below a question-like
//! heading (one ending in `?`), which stays in that question's answer ("Step 1" under "How do I
//! return an item?"). A section with no text under its heading is dropped.

use scraper::node::Node;
use scraper::{ElementRef, Html, Selector};
use url::Url;

/// One heading of a page and the text under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The heading text (the question); the page title for text before the first heading.
    pub heading: String,
    /// The fragment naming the section: the heading's `id`, else a slug of its text (unique
    /// within the page).
    pub anchor: String,
    /// The text under the heading: paragraphs separated by blank lines, list items as `- `.
    pub text: String,
}

/// A page read: its title and sections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// The page's `h1`, else its `<title>`.
    pub title: String,
    pub sections: Vec<Section>,
    /// The page's language (`<html lang>`, primary subtag, lowercase).
    pub language: Option<String>,
}

/// At most this many sections are kept per page (a page of 10,000 headings is not an FAQ).
const MAX_SECTIONS: usize = 300;
/// An answer longer than this is cut (at a paragraph when one ends near it).
const MAX_ANSWER_CHARS: usize = 8000;

/// Elements that are never content.
const SKIPPED_TAGS: &[&str] = &[
    "nav", "footer", "aside", "script", "style", "noscript", "template", "svg", "iframe", "form",
    "button", "dialog", "select", "input", "textarea", "object", "embed", "canvas", "head",
];

/// ARIA roles of page furniture.
const SKIPPED_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "dialog",
    "alertdialog",
    "menu",
    "menubar",
];

/// Parts of a class, id or aria-label that mark page furniture.
const SKIPPED_MARKS: &[&str] = &[
    "cookie",
    "consent",
    "gdpr",
    "breadcrumb",
    "sidebar",
    "skip-link",
    "skip-to",
    "newsletter",
    "navbar",
    "site-header",
    "site-footer",
    "share-",
    "social",
];

/// Whole class or id tokens that mark page furniture.
const SKIPPED_TOKENS: &[&str] = &[
    "nav",
    "menu",
    "footer",
    "banner",
    "toc",
    "pagination",
    "meta",
    "article-meta",
    "byline",
];

/// Elements that end a line of text.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "blockquote",
    "pre",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "details",
    "summary",
    "header",
    "hr",
    "address",
];

#[derive(Debug)]
enum Block {
    Heading {
        level: u8,
        text: String,
        id: Option<String>,
    },
    Text(String),
}

/// Elements nested deeper than this make a page unreadable: the HTML parser's work grows with
/// the square of the depth (every start tag looks through the open elements), so a hostile page
/// of a million nested `div`s would hold the reader for hours.
pub const MAX_NESTING: usize = 1000;

/// Elements that need no end tag (void) or that the parser closes by itself (`p`, `li`...):
/// they do not deepen the tree the way an unclosed `div` does.
const FLAT_TAGS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot",
    "colgroup", "rt", "rp", "optgroup", "param",
];

/// Whether `html` nests elements deeper than [`MAX_NESTING`] (a linear scan of its tags;
/// comments skipped). Pages that do are not parsed.
pub fn too_deep(html: &str) -> bool {
    let bytes = html.as_bytes();
    let (mut i, mut depth) = (0usize, 0usize);
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'<') {
        i += off + 1;
        if bytes[i..].starts_with(b"!--") {
            match html[i..].find("-->") {
                Some(end) => i += end + 3,
                None => break,
            }
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |p| start + p);
        if end == start {
            continue;
        }
        let name = html[start..end].to_ascii_lowercase();
        if FLAT_TAGS.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        let self_closing = html[end..]
            .find('>')
            .is_some_and(|gt| html[end..end + gt].ends_with('/'));
        if !self_closing {
            depth += 1;
            if depth > MAX_NESTING {
                return true;
            }
        }
    }
    false
}

/// Reads a page: `html` (any encoding problem replaced), `url` its address (links resolve
/// against it). A page nested too deeply (see [`too_deep`]) reads as empty.
pub fn read_page(html: &str, url: &Url) -> Page {
    if too_deep(html) {
        return Page::default();
    }
    let doc = Html::parse_document(html);
    let title_tag = select_first(&doc, "title")
        .map(|t| collapse(&t.text().collect::<String>()))
        .unwrap_or_default();
    let (root, in_main) = main_root(&doc);
    let mut walker = Walker {
        base: url,
        blocks: Vec::new(),
        line: String::new(),
        in_main,
        depth: 0,
    };
    if let Some(root) = root {
        walker.children(root);
    }
    walker.flush();
    let h1 = walker.blocks.iter().find_map(|b| match b {
        Block::Heading { level: 1, text, .. } if !text.is_empty() => Some(text.clone()),
        _ => None,
    });
    let title = h1.unwrap_or_else(|| short_title(&title_tag));
    let language = select_first(&doc, "html")
        .and_then(|h| h.value().attr("lang"))
        .and_then(|l| l.split(['-', '_']).next())
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    Page {
        sections: sections(walker.blocks, &title),
        title,
        language,
    }
}

fn select_first<'a>(doc: &'a Html, css: &str) -> Option<ElementRef<'a>> {
    let sel = Selector::parse(css).ok()?;
    doc.select(&sel).next()
}

/// "Returns | Acme Help Centre" -> "Returns".
fn short_title(title: &str) -> String {
    let cut = title
        .split(" | ")
        .next()
        .unwrap_or(title)
        .split(" – ")
        .next()
        .unwrap_or(title);
    cut.trim().to_owned()
}

/// The element holding the page's main content: its only `article`, else `main` (or
/// `role=main`), else `body`. The flag says whether a real main element was found (then a
/// `header` inside it is the article's own, kept; on `body`, headers are page furniture).
fn main_root(doc: &Html) -> (Option<ElementRef<'_>>, bool) {
    let all = |css: &str| -> Vec<ElementRef<'_>> {
        Selector::parse(css)
            .map(|s| doc.select(&s).collect())
            .unwrap_or_default()
    };
    let articles = all("article");
    if articles.len() == 1 {
        return (Some(articles[0]), true);
    }
    if let Some(main) = all("main, [role=main]").into_iter().next() {
        return (Some(main), true);
    }
    (all("body").into_iter().next(), false)
}

struct Walker<'u> {
    base: &'u Url,
    blocks: Vec<Block>,
    line: String,
    in_main: bool,
    depth: usize,
}

/// Content nested deeper than this is ignored: the walk is recursive, and a hostile page of
/// 100,000 nested `div`s must not exhaust the stack.
const MAX_DEPTH: usize = 256;

impl Walker<'_> {
    fn children(&mut self, el: ElementRef<'_>) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        self.children_inner(el);
        self.depth -= 1;
    }

    fn children_inner(&mut self, el: ElementRef<'_>) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.push_text(t),
                Node::Element(_) => {
                    if let Some(c) = ElementRef::wrap(child) {
                        self.element(c);
                    }
                }
                _ => {}
            }
        }
    }

    fn push_text(&mut self, t: &str) {
        if t.is_empty() {
            return;
        }
        let starts_space = t.starts_with(char::is_whitespace);
        let ends_space = t.ends_with(char::is_whitespace);
        let words = collapse(t);
        if starts_space && !self.line.ends_with([' ', '\n']) && !self.line.is_empty() {
            self.line.push(' ');
        }
        self.line.push_str(&words);
        if ends_space && !words.is_empty() {
            self.line.push(' ');
        }
    }

    fn flush(&mut self) {
        let text = self
            .line
            .split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        self.line.clear();
        if !text.is_empty() {
            self.blocks.push(Block::Text(text));
        }
    }

    fn element(&mut self, el: ElementRef<'_>) {
        if is_furniture(el, self.in_main) {
            return;
        }
        let name = el.value().name();
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = name.as_bytes()[1] - b'0';
                let text = collapse(&el.text().collect::<String>());
                let id = el
                    .value()
                    .attr("id")
                    .map(str::trim)
                    .filter(|i| !i.is_empty())
                    .map(str::to_owned);
                if !text.is_empty() {
                    self.blocks.push(Block::Heading { level, text, id });
                }
            }
            "a" => {
                let text = collapse(&el.text().collect::<String>());
                match link(self.base, el.value().attr("href")) {
                    Some(href) if text.is_empty() => self.push_text(&format!(" {href} ")),
                    Some(href) if href == text || href.trim_end_matches('/') == text => {
                        self.push_text(&text)
                    }
                    Some(href) => self.push_text(&format!("{text} ({href})")),
                    None => self.push_text(&text),
                }
            }
            "br" => self.line.push('\n'),
            "img" => {}
            "td" | "th" => {
                self.children(el);
                self.line.push(' ');
            }
            "li" => {
                self.flush();
                self.line.push_str("- ");
                self.children(el);
                self.flush();
            }
            _ if BLOCK_TAGS.contains(&name) => {
                self.flush();
                self.children(el);
                self.flush();
            }
            _ => self.children(el),
        }
    }
}

/// An absolute link for `href`, or None for in-page anchors and scripts.
fn link(base: &Url, href: Option<&str>) -> Option<String> {
    let href = href?.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    let url = base.join(href).ok()?;
    match url.scheme() {
        "http" | "https" | "mailto" | "tel" => Some(url.to_string()),
        _ => None,
    }
}

fn is_furniture(el: ElementRef<'_>, in_main: bool) -> bool {
    let v = el.value();
    let name = v.name();
    if SKIPPED_TAGS.contains(&name) || (name == "header" && !in_main) {
        return true;
    }
    if v.attr("hidden").is_some()
        || v.attr("aria-hidden") == Some("true")
        || v.attr("style").is_some_and(|s| {
            let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            s.to_ascii_lowercase().contains("display:none")
        })
    {
        return true;
    }
    if v.attr("role")
        .is_some_and(|r| SKIPPED_ROLES.contains(&r.trim().to_ascii_lowercase().as_str()))
    {
        return true;
    }
    let marks = [v.attr("class"), v.attr("id"), v.attr("aria-label")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    SKIPPED_MARKS.iter().any(|m| marks.contains(m))
        || marks
            .split(|c: char| c.is_whitespace())
            .any(|t| SKIPPED_TOKENS.contains(&t))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts the blocks into sections (see the module doc).
fn sections(blocks: Vec<Block>, title: &str) -> Vec<Section> {
    struct Open {
        heading: String,
        level: u8,
        id: Option<String>,
        question: bool,
        lines: Vec<String>,
    }
    let mut out: Vec<Section> = Vec::new();
    let mut anchors: Vec<String> = Vec::new();
    let mut close = |open: Option<Open>, out: &mut Vec<Section>| {
        let Some(o) = open else { return };
        let text = clip(o.lines.join("\n\n").trim());
        if text.is_empty() || out.len() >= MAX_SECTIONS {
            return;
        }
        let base = o.id.unwrap_or_else(|| slug(&o.heading));
        let mut anchor = base.clone();
        let mut n = 1;
        while anchors.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        anchors.push(anchor.clone());
        out.push(Section {
            heading: o.heading,
            anchor,
            text,
        });
    };
    let mut open: Option<Open> = None;
    for block in blocks {
        match block {
            Block::Heading { level, text, id } => {
                if let Some(o) = open.as_mut()
                    && o.question
                    && level > o.level
                {
                    o.lines.push(text);
                    continue;
                }
                close(open.take(), &mut out);
                open = Some(Open {
                    question: text.trim_end().ends_with('?'),
                    heading: text,
                    level,
                    id,
                    lines: Vec::new(),
                });
            }
            Block::Text(t) => match open.as_mut() {
                Some(o) => o.lines.push(t),
                None if !title.is_empty() => {
                    open = Some(Open {
                        heading: title.to_owned(),
                        level: 1,
                        id: None,
                        question: title.ends_with('?'),
                        lines: vec![t],
                    })
                }
                None => {}
            },
        }
    }
    close(open.take(), &mut out);
    out
}

fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_ANSWER_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_ANSWER_CHARS).collect();
    match cut.rfind("\n\n") {
        Some(i) if i > MAX_ANSWER_CHARS / 2 => cut[..i].to_owned(),
        _ => format!("{cut}…"),
    }
}

/// "How do I return an item?" -> "how-do-i-return-an-item".
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "section".to_owned()
    } else {
        out.chars().take(80).collect()
    }
}

/// The text of an HTML fragment (a macro's `body_html`), links kept as `text (URL)`.
pub fn fragment_text(html: &str) -> String {
    if too_deep(html) {
        return String::new();
    }
    let base = Url::parse("https://invalid.invalid/").expect("a constant, valid URL");
    let doc = Html::parse_fragment(html);
    let mut walker = Walker {
        base: &base,
        blocks: Vec::new(),
        line: String::new(),
        in_main: true,
        depth: 0,
    };
    walker.children(doc.root_element());
    walker.flush();
    walker
        .blocks
        .into_iter()
        .map(|b| match b {
            Block::Heading { text, .. } | Block::Text(text) => text,
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARTICLE: &str = r#"<!DOCTYPE html><html><head><title>Returns | Acme Help</title>
<script>var x = "<h2>not a heading</h2>";</script><style>.a{}</style></head>
<body>
<header class="site-header"><a href="/">Acme Help</a><nav><a href="/a">Shipping</a></nav></header>
<div id="cookie-banner">We use cookies. <button>Accept</button></div>
<main>
  <nav aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li><li>Returns</li></ol></nav>
  <article>
    <header><h1>Returns and refunds</h1></header>
    <p>Everything about   sending things back.</p>
    <h2 id="how-long">How long do I have to return an item?</h2>
    <p>You have <strong>30 days</strong>. Start on the <a href="/returns/start">returns page</a>.</p>
    <h3>Step 1</h3><p>Print the label.</p>
    <h2>Refund times</h2>
    <ul><li>Cards: 5 days</li><li>PayPal: 2 days</li></ul>
    <h2>Empty heading</h2>
  </article>
  <aside>Related articles</aside>
</main>
<footer>© Acme · <a href="/privacy">Privacy</a></footer>
</body></html>"#;

    #[test]
    fn main_content_is_split_at_headings_with_links_kept() {
        let url = Url::parse("http://127.0.0.1:9/returns").unwrap();
        let page = read_page(ARTICLE, &url);
        assert_eq!(page.title, "Returns and refunds");
        let got: Vec<(&str, &str, &str)> = page
            .sections
            .iter()
            .map(|s| (s.heading.as_str(), s.anchor.as_str(), s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Returns and refunds",
                    "returns-and-refunds",
                    "Everything about sending things back."
                ),
                (
                    "How long do I have to return an item?",
                    "how-long",
                    "You have 30 days. Start on the returns page \
                     (http://127.0.0.1:9/returns/start).\n\nStep 1\n\nPrint the label."
                ),
                (
                    "Refund times",
                    "refund-times",
                    "- Cards: 5 days\n\n- PayPal: 2 days"
                ),
            ]
        );
        let all: String = page.sections.iter().map(|s| s.text.clone()).collect();
        for furniture in [
            "cookies", "Accept", "Home", "Privacy", "Related", "Shipping",
        ] {
            assert!(!all.contains(furniture), "{furniture} leaked: {all}");
        }
    }

    #[test]
    fn a_page_without_main_uses_the_body_less_its_furniture() {
        let html = "<html><head><title>FAQ – Shop</title></head><body>\
            <header><h1>Shop</h1></header><div class='menu'>Men Women</div>\
            <h2>Do you ship abroad?</h2><p>Yes, to 30 countries.</p>\
            <div class='footer'>Contact</div></body></html>";
        let page = read_page(html, &Url::parse("https://shop.example/faq").unwrap());
        assert_eq!(page.title, "FAQ");
        assert_eq!(page.sections.len(), 1);
        assert_eq!(page.sections[0].heading, "Do you ship abroad?");
        assert_eq!(page.sections[0].text, "Yes, to 30 countries.");
    }

    #[test]
    fn garbage_and_empty_pages_give_no_sections() {
        let url = Url::parse("https://x.example/").unwrap();
        assert!(read_page("", &url).sections.is_empty());
        assert!(read_page("%PDF-1.4 \u{0}\u{1}", &url).sections.len() <= 1);
        // A million nested elements: refused by a linear scan, never parsed.
        let deep = "<div>".repeat(1_000_000) + "<h2>Q?</h2><p>hi</p>";
        assert!(too_deep(&deep));
        assert_eq!(read_page(&deep, &url), Page::default());
        assert_eq!(fragment_text(&deep), "");
        // At the limit the walk stays on a small stack (it stops descending at MAX_DEPTH).
        let at_limit = "<div>".repeat(MAX_NESTING - 1) + "<h2>Q?</h2><p>hi</p>";
        assert!(!too_deep(&at_limit));
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || read_page(&at_limit, &url))
            .unwrap()
            .join()
            .unwrap();
        // Many unclosed paragraphs and list items are flat, not deep.
        let flat = "<ul>".to_owned() + &"<li><p>item".repeat(5000) + "</ul>";
        assert!(!too_deep(&flat));
    }

    #[test]
    fn fragments_become_text() {
        assert_eq!(
            fragment_text(
                "<p>Hi <b>{{ticket.customer.firstname}}</b>,</p><p>See <a href='https://x.example/t'>tracking</a>.</p>"
            ),
            "Hi {{ticket.customer.firstname}},\n\nSee tracking (https://x.example/t)."
        );
        assert_eq!(fragment_text("<div><br></div>"), "");
    }

    #[test]
    fn slugs_are_plain() {
        assert_eq!(slug("How do I return an item?"), "how-do-i-return-an-item");
        assert_eq!(slug("???"), "section");
        assert_eq!(slug("Livraison à l'étranger"), "livraison-à-l-étranger");
    }
}
