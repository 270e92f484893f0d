//! A small help-centre website on loopback, for tests, the demo and benchmarks: `robots.txt`,
//! `sitemap.xml` and article pages that look like a real help centre's (header, navigation,
//! breadcrumbs, a cookie banner, related links and a footer around the article), with ETag and
//! Last-Modified and 304 answers to conditional requests. Editable while it runs ([`Site`]
//! methods): articles added, edited, removed; and odd pages for bad-input tests (a PDF, a huge
//! page, a redirect loop, a body that never ends, a sitemap that is not XML...).
//!
//! It stands for any website; it has nothing to do with the Gorgias API simulator beside it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// One help-centre article.
#[derive(Debug, Clone)]
pub struct Article {
    pub title: String,
    /// (heading, HTML body) pairs under the title.
    pub sections: Vec<(String, String)>,
    /// Bumped on every edit: the ETag.
    version: u64,
}

/// Something other than an article served at a path (bad-input tests).
#[derive(Debug, Clone)]
pub enum RawPage {
    /// A body with a content type.
    Body { content_type: String, body: Vec<u8> },
    /// A 200 announcing `length` bytes of `content_type` in `Content-Length` and sending them.
    Large { content_type: String, length: usize },
    /// A redirect (302) to this location.
    Redirect(String),
    /// An HTML body that never ends (chunks forever).
    Endless,
    /// A bare status.
    Status(u16),
}

/// One request the site answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRequest {
    pub path: String,
    pub status: u16,
    pub user_agent: Option<String>,
    /// Whether it was conditional (`If-None-Match` or `If-Modified-Since`).
    pub conditional: bool,
}

#[derive(Debug, Default)]
struct SiteState {
    articles: BTreeMap<String, Article>,
    raw: BTreeMap<String, RawPage>,
    /// Extra paths listed in the sitemap (raw pages, other sitemaps).
    listed: Vec<String>,
    robots: String,
    /// Replaces the generated sitemap when set.
    sitemap_override: Option<RawPage>,
    requests: Vec<SiteRequest>,
}

/// The website and its editing handle (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Site {
    inner: Arc<Mutex<SiteState>>,
}

/// A running site; dropping it stops the server.
pub struct SiteServer {
    addr: SocketAddr,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl SiteServer {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The sitemap's URL.
    pub fn sitemap_url(&self) -> String {
        format!("{}/sitemap.xml", self.base_url())
    }

    /// An article's URL.
    pub fn article_url(&self, slug: &str) -> String {
        format!("{}/articles/{slug}", self.base_url())
    }
}

impl Site {
    /// An empty site whose robots.txt allows everything but `/admin`.
    pub fn new() -> Site {
        let site = Site::default();
        site.state().robots = "User-agent: *\nDisallow: /admin\n".to_owned();
        site
    }

    /// A help centre with a few articles (returns, boot care, gift cards), as in the demo.
    pub fn help_centre() -> Site {
        let site = Site::new();
        site.set_article(
            "returns",
            "Returns and refunds",
            &[
                (
                    "How long do I have to return an item?",
                    "<p>You have <strong>30 days</strong> from delivery. Start a return on the \
                     <a href=\"/articles/start-a-return\">returns page</a>.</p>",
                ),
                (
                    "When will I get my refund?",
                    "<p>Refunds reach your account within 5 working days of the return arriving.</p>",
                ),
            ],
        );
        site.set_article(
            "boot-care",
            "Boot care",
            &[(
                "Can I wash my hiking boots in the machine?",
                "<p>No: clean them by hand with lukewarm water and a soft brush, then let them \
                 dry away from the heater.</p>",
            )],
        );
        site.set_article(
            "gift-cards",
            "Gift cards",
            &[(
                "Do gift cards expire?",
                "<p>Gift cards are valid for two years from purchase.</p>",
            )],
        );
        site
    }

    fn state(&self) -> MutexGuard<'_, SiteState> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds or replaces the article at `/articles/{slug}` (a new version: a new ETag).
    pub fn set_article(&self, slug: &str, title: &str, sections: &[(&str, &str)]) {
        let mut st = self.state();
        let version = st.articles.get(slug).map_or(1, |a| a.version + 1);
        st.articles.insert(
            slug.to_owned(),
            Article {
                title: title.to_owned(),
                sections: sections
                    .iter()
                    .map(|(h, b)| ((*h).to_owned(), (*b).to_owned()))
                    .collect(),
                version,
            },
        );
    }

    /// Removes an article (its page answers 404 and leaves the sitemap).
    pub fn remove_article(&self, slug: &str) -> bool {
        self.state().articles.remove(slug).is_some()
    }

    /// Serves `page` at `path`; `listed` adds the path to the sitemap.
    pub fn set_raw(&self, path: &str, page: RawPage, listed: bool) {
        let mut st = self.state();
        st.raw.insert(path.to_owned(), page);
        if listed && !st.listed.iter().any(|p| p == path) {
            st.listed.push(path.to_owned());
        }
    }

    /// Replaces `robots.txt`.
    pub fn set_robots(&self, text: &str) {
        self.state().robots = text.to_owned();
    }

    /// Serves `page` as `/sitemap.xml` instead of the generated one (`None`: generated again).
    pub fn set_sitemap(&self, page: Option<RawPage>) {
        self.state().sitemap_override = page;
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<SiteRequest> {
        self.state().requests.clone()
    }

    /// Starts serving on 127.0.0.1 (port 0: any free port).
    pub async fn serve(&self) -> std::io::Result<SiteServer> {
        self.serve_on("127.0.0.1:0".parse().expect("a constant address"))
            .await
    }

    /// Starts serving on `addr`.
    pub async fn serve_on(&self, addr: SocketAddr) -> std::io::Result<SiteServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(handle).with_state(self.clone());
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(SiteServer { addr, handle })
    }

    fn sitemap(&self, base: &str) -> String {
        let st = self.state();
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
        );
        for slug in st.articles.keys() {
            xml.push_str(&format!(
                "  <url><loc>{base}/articles/{slug}</loc><changefreq>weekly</changefreq></url>\n"
            ));
        }
        for path in &st.listed {
            xml.push_str(&format!("  <url><loc>{base}{path}</loc></url>\n"));
        }
        xml.push_str("</urlset>\n");
        xml
    }
}

fn text_response(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn raw_response(page: RawPage) -> Response {
    match page {
        RawPage::Body { content_type, body } => text_response(200, &content_type, body),
        RawPage::Large {
            content_type,
            length,
        } => {
            let chunk = Bytes::from(vec![b'a'; 64 * 1024]);
            let chunks = length.div_ceil(chunk.len());
            let stream = futures::stream::iter(
                (0..chunks).map(move |_| Ok::<Bytes, std::io::Error>(chunk.clone())),
            );
            let mut r = text_response(200, &content_type, Body::from_stream(stream));
            if let Ok(v) = HeaderValue::from_str(&(chunks * 64 * 1024).to_string()) {
                r.headers_mut().insert(header::CONTENT_LENGTH, v);
            }
            r
        }
        RawPage::Redirect(to) => {
            let mut r = text_response(302, "text/html", "");
            if let Ok(v) = HeaderValue::from_str(&to) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        RawPage::Endless => {
            let chunk = Bytes::from("<p>and more</p>\n".repeat(1024));
            let stream =
                futures::stream::repeat_with(move || Ok::<Bytes, std::io::Error>(chunk.clone()));
            text_response(200, "text/html; charset=utf-8", Body::from_stream(stream))
        }
        RawPage::Status(s) => text_response(s, "text/html", ""),
    }
}

/// The page around an article: what a real help centre wraps its articles in.
fn article_page(slug: &str, a: &Article) -> String {
    let mut body = String::new();
    for (heading, html) in &a.sections {
        body.push_str(&format!("      <h2>{heading}</h2>\n      {html}\n"));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} | Acme Help Centre</title>
<script>window.dataLayer = [{{"page": "{slug}"}}];</script>
<style>.cookie-banner {{ position: fixed; }}</style></head>
<body>
  <div class="cookie-banner" role="dialog">We use cookies to improve your experience.
    <button>Accept all</button> <a href="/cookies">Cookie settings</a></div>
  <header class="site-header">
    <a class="logo" href="/">Acme Help Centre</a>
    <nav class="main-nav"><ul><li><a href="/articles/returns">Returns</a></li>
      <li><a href="/articles/gift-cards">Gift cards</a></li><li><a href="/contact">Contact us</a></li></ul></nav>
    <form role="search"><input name="q" placeholder="Search articles"></form>
  </header>
  <main>
    <nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/">Help Centre</a> &gt;
      <a href="/categories/orders">Orders</a> &gt; {title}</nav>
    <article>
      <h1>{title}</h1>
      <p class="meta">Updated recently · 2 min read</p>
{body}    </article>
    <aside class="related"><h3>Related articles</h3><ul><li><a href="/articles/x">Track my order</a></li></ul></aside>
  </main>
  <footer class="site-footer"><p>© Acme Ltd · <a href="/privacy">Privacy</a> · <a href="/terms">Terms</a></p></footer>
</body>
</html>
"#,
        title = a.title
    )
}

async fn handle(axum::extract::State(site): axum::extract::State<Site>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();
    let base = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| format!("http://{h}"))
        .unwrap_or_default();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let conditional = if_none_match.is_some() || headers.contains_key(header::IF_MODIFIED_SINCE);
    let response = route(&site, &path, &base, if_none_match.as_deref());
    site.state().requests.push(SiteRequest {
        path,
        status: response.status().as_u16(),
        user_agent,
        conditional,
    });
    response
}

fn route(site: &Site, path: &str, base: &str, if_none_match: Option<&str>) -> Response {
    if path == "/robots.txt" {
        let robots = site.state().robots.clone();
        return text_response(200, "text/plain", robots);
    }
    if path == "/sitemap.xml" {
        let custom = site.state().sitemap_override.clone();
        return match custom {
            Some(page) => raw_response(page),
            None => text_response(200, "application/xml", site.sitemap(base)),
        };
    }
    let raw = site.state().raw.get(path).cloned();
    if let Some(page) = raw {
        return raw_response(page);
    }
    if let Some(slug) = path.strip_prefix("/articles/") {
        let article = site.state().articles.get(slug).cloned();
        let Some(a) = article else {
            return text_response(404, "text/html", "<h1>Page not found</h1>");
        };
        let etag = format!("\"{slug}-v{}\"", a.version);
        if if_none_match == Some(etag.as_str()) {
            let mut r = text_response(304, "text/html", "");
            r.headers_mut().remove(header::CONTENT_TYPE);
            return r;
        }
        let mut r = text_response(200, "text/html; charset=utf-8", article_page(slug, &a));
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        r.headers_mut().insert(
            header::LAST_MODIFIED,
            HeaderValue::from_static("Mon, 01 Dec 2025 10:00:00 GMT"),
        );
        return r;
    }
    text_response(404, "text/html", "<h1>Page not found</h1>")
}
