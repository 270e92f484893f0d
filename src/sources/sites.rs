//! Reading a help-centre or FAQ website: a sitemap (or sitemap index) or a single page, each
//! page's main content split into knowledge entries (`html`). Polite and bounded: one request
//! at a time, `robots.txt` honoured (with its crawl delay, capped), a user agent naming the bot
//! and its version, conditional requests (ETag / Last-Modified) for pages read before, redirects
//! followed by hand up to a limit, only same-site pages, a page count limit, a size limit on
//! every body (`netbody::read_capped`), an HTML content-type check and a time limit on every
//! request.
//!
//! A page that cannot be used is skipped with one log line and the rest of the site loads; a
//! page that failed transiently (timeout, 5xx) keeps what it said last time; one gone (404,
//! 410, no longer in the sitemap) is dropped. The site fails as a whole only when its sitemap
//! (or its single page) cannot be read: then the caller keeps the last good entries.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use quick_xml::events::Event;
use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, USER_AGENT,
};
use url::Url;

use super::html;
use crate::netbody::{self, BodyError};
use crate::responder::kb::KbEntry;

/// The bot's user agent on the web: its name and version, and what it does.
pub fn user_agent() -> String {
    format!(
        "perfectbot/{} (knowledge import; reads help-centre pages)",
        env!("CARGO_PKG_VERSION")
    )
}

/// The name `robots.txt` rules are matched against.
const ROBOTS_AGENT: &str = "perfectbot";

/// The bounds of one site read.
#[derive(Debug, Clone)]
pub struct SiteLimits {
    /// Pages read at most (sitemap URLs beyond it are left out, with one log line).
    pub max_pages: usize,
    /// A page body larger than this is skipped.
    pub max_page_bytes: usize,
    /// A sitemap body larger than this is skipped (the protocol allows 50 MB; help centres
    /// list far less).
    pub max_sitemap_bytes: usize,
    /// Sitemaps read at most per site (an index and its children).
    pub max_sitemaps: usize,
    /// Redirects followed per request.
    pub max_redirects: usize,
    /// The whole of one request, body included.
    pub request_timeout: Duration,
    /// No byte for this long mid-body: the request fails.
    pub stall: Duration,
    /// The longest `robots.txt` crawl delay honoured.
    pub max_crawl_delay: Duration,
}

impl SiteLimits {
    /// The limits for `kb.site_max_pages` and `kb.site_max_page_bytes`.
    pub fn new(max_pages: usize, max_page_bytes: usize) -> SiteLimits {
        SiteLimits {
            max_pages,
            max_page_bytes,
            max_sitemap_bytes: max_page_bytes.max(16 * 1024 * 1024),
            max_sitemaps: 50,
            max_redirects: 5,
            request_timeout: Duration::from_secs(30),
            stall: Duration::from_secs(10),
            max_crawl_delay: Duration::from_secs(5),
        }
    }
}

/// What is remembered of a page between reads, for conditional requests.
#[derive(Debug, Clone, Default)]
struct CachedPage {
    etag: Option<String>,
    last_modified: Option<String>,
    entries: Vec<KbEntry>,
}

/// One site's pages as last read (in memory: a restart reads every page once in full).
#[derive(Debug, Default)]
pub struct SiteCache {
    pages: HashMap<String, CachedPage>,
}

/// What one read of a site found.
#[derive(Debug, Default, Clone)]
pub struct SiteRead {
    pub entries: Vec<KbEntry>,
    /// Pages fetched in full.
    pub pages_read: usize,
    /// Pages the server said had not changed (304).
    pub not_modified: usize,
    /// Pages skipped (each logged).
    pub skipped: usize,
    /// HTTP requests made (robots.txt and sitemaps included).
    pub requests: usize,
}

/// Why a whole site could not be read (its last good entries are kept).
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{url}: {problem}")]
    Root { url: String, problem: String },
}

/// Why one fetch failed.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("robots.txt disallows it")]
    Disallowed,
    #[error("HTTP {0}")]
    Status(u16),
    #[error("too many redirects (more than {0})")]
    TooManyRedirects(usize),
    #[error("a redirect loop")]
    RedirectLoop,
    #[error("a redirect to another site ({0})")]
    OffSite(String),
    #[error("a redirect without a usable Location")]
    BadRedirect,
    #[error("is {0}, not HTML")]
    NotHtml(String),
    #[error("is larger than {0} bytes")]
    TooLarge(usize),
    #[error("did not finish within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Body(String),
    #[error("cannot be reached: {0}")]
    Transport(String),
}

impl FetchError {
    /// Whether the page may well be back next time (then its last entries are kept).
    fn is_transient(&self) -> bool {
        match self {
            FetchError::Status(s) => *s >= 500 || *s == 429 || *s == 408,
            FetchError::Timeout(_) | FetchError::Transport(_) => true,
            FetchError::Body(_) => true,
            _ => false,
        }
    }
}

/// A fetched body, or "not modified".
enum Fetched {
    Body {
        url: Url,
        content_type: String,
        body: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    NotModified,
}

/// Reads sites over HTTP, one request at a time.
#[derive(Clone)]
pub struct SiteReader {
    http: reqwest::Client,
    limits: SiteLimits,
}

/// `robots.txt` rules of one origin, read once per site read.
enum Robots {
    AllowAll,
    Rules(Box<texting_robots::Robot>),
}

impl Robots {
    fn allowed(&self, url: &Url) -> bool {
        match self {
            Robots::AllowAll => true,
            Robots::Rules(r) => r.allowed(url.as_str()),
        }
    }

    fn delay(&self, cap: Duration) -> Duration {
        match self {
            Robots::Rules(r) => r
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(cap.as_secs_f32())))
                .unwrap_or(Duration::ZERO),
            Robots::AllowAll => Duration::ZERO,
        }
    }
}

/// One read in progress: the robots rules by origin and the request count.
struct Visit<'a> {
    reader: &'a SiteReader,
    robots: HashMap<String, Robots>,
    requests: usize,
    delay: Duration,
    last_request: Option<tokio::time::Instant>,
}

impl SiteReader {
    /// A reader with these limits.
    pub fn new(limits: SiteLimits) -> Result<SiteReader, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(user_agent())
            // Redirects are followed by hand: counted, checked against robots.txt and the site.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(limits.request_timeout)
            .build()?;
        Ok(SiteReader { http, limits })
    }

    /// Reads the site at `root` (a sitemap or a page), reusing `cache` for conditional
    /// requests and updating it. `source` names the site in log lines.
    pub async fn read(
        &self,
        source: &str,
        root: &str,
        cache: &mut SiteCache,
    ) -> Result<SiteRead, SiteError> {
        let root_err = |problem: String| SiteError::Root {
            url: root.to_owned(),
            problem,
        };
        let root_url = Url::parse(root).map_err(|e| root_err(format!("not a URL ({e})")))?;
        let mut visit = Visit {
            reader: self,
            robots: HashMap::new(),
            requests: 0,
            delay: Duration::ZERO,
            last_request: None,
        };
        let mut read = SiteRead::default();
        let pages = if looks_like_sitemap(&root_url) {
            self.sitemap_pages(source, &root_url, &mut visit)
                .await
                .map_err(root_err)?
        } else {
            vec![root_url.clone()]
        };
        let mut fresh: HashMap<String, CachedPage> = HashMap::new();
        let single = pages.len() == 1 && pages[0] == root_url;
        for page in pages {
            let key = page.to_string();
            let cached = cache.pages.get(&key);
            match visit.fetch_page(&page, cached).await {
                Ok(Fetched::NotModified) => {
                    read.not_modified += 1;
                    if let Some(c) = cached {
                        fresh.insert(key, c.clone());
                    }
                }
                Ok(Fetched::Body {
                    url,
                    content_type: _,
                    body,
                    etag,
                    last_modified,
                }) => {
                    read.pages_read += 1;
                    let text = String::from_utf8_lossy(&body);
                    if html::too_deep(&text) {
                        tracing::warn!(source, page = %page, max = html::MAX_NESTING,
                            "page skipped: its elements are nested too deeply to read safely");
                        read.skipped += 1;
                        continue;
                    }
                    let entries = page_entries(&page, &url, &text);
                    if entries.is_empty() {
                        tracing::info!(
                            source,
                            page = %page,
                            "page skipped: no headed text in its main content"
                        );
                        read.skipped += 1;
                    }
                    fresh.insert(
                        key,
                        CachedPage {
                            etag,
                            last_modified,
                            entries,
                        },
                    );
                }
                // The one configured page: unreachable keeps the last entries; gone drops them.
                Err(e) if single && (e.is_transient() || matches!(e, FetchError::Disallowed)) => {
                    return Err(root_err(e.to_string()));
                }
                Err(e) => {
                    read.skipped += 1;
                    let kept = e.is_transient() && cached.is_some();
                    if kept && let Some(c) = cached {
                        fresh.insert(key, c.clone());
                    }
                    tracing::warn!(
                        source,
                        page = %page,
                        error = %e,
                        kept_last_entries = kept,
                        "page skipped"
                    );
                }
            }
        }
        cache.pages = fresh;
        let mut seen = HashSet::new();
        let mut pages: Vec<&String> = cache.pages.keys().collect();
        pages.sort();
        for p in pages {
            for e in &cache.pages[p].entries {
                if seen.insert(e.id.clone()) {
                    read.entries.push(e.clone());
                }
            }
        }
        read.requests = visit.requests;
        Ok(read)
    }

    /// The page URLs of the sitemap at `root` and the sitemaps it lists (an index), at most
    /// `max_pages`, same site only. The root sitemap must be readable; a child that is not is
    /// skipped with a log line.
    async fn sitemap_pages(
        &self,
        source: &str,
        root: &Url,
        visit: &mut Visit<'_>,
    ) -> Result<Vec<Url>, String> {
        let mut queue: VecDeque<Url> = VecDeque::from([root.clone()]);
        let mut read_maps: HashSet<String> = HashSet::new();
        let mut pages: Vec<Url> = Vec::new();
        let mut seen_pages: HashSet<String> = HashSet::new();
        let (mut listed, mut off_site) = (0usize, 0usize);
        while let Some(map) = queue.pop_front() {
            if !read_maps.insert(map.to_string()) {
                tracing::warn!(source, sitemap = %map, "sitemap skipped: already read (it is listed twice, or lists itself)");
                continue;
            }
            if read_maps.len() > self.limits.max_sitemaps {
                tracing::warn!(source, sitemap = %map, max = self.limits.max_sitemaps, "sitemap skipped: too many sitemaps");
                continue;
            }
            let is_root = map == *root;
            let parsed = match visit.fetch_sitemap(&map).await {
                Ok(body) => parse_sitemap(&body, self.limits.max_pages + 1),
                Err(e) => Err(e.to_string()),
            };
            let sitemap = match parsed {
                Ok(s) => s,
                Err(e) if is_root => return Err(format!("the sitemap cannot be used: {e}")),
                Err(e) => {
                    tracing::warn!(source, sitemap = %map, error = %e, "sitemap skipped");
                    continue;
                }
            };
            listed += sitemap.total;
            for loc in sitemap.locs {
                let Ok(mut url) = map.join(loc.trim()) else {
                    continue;
                };
                url.set_fragment(None);
                if !same_site(&url, root) {
                    off_site += 1;
                    continue;
                }
                if sitemap.index {
                    queue.push_back(url);
                } else if pages.len() < self.limits.max_pages && seen_pages.insert(url.to_string())
                {
                    pages.push(url);
                }
            }
        }
        if listed > self.limits.max_pages {
            tracing::warn!(
                source,
                listed,
                max = self.limits.max_pages,
                "the sitemap lists more pages than kb.site_max_pages; reading the first ones"
            );
        }
        if off_site > 0 {
            tracing::warn!(source, off_site, "sitemap URLs on another site left out");
        }
        Ok(pages)
    }
}

impl Visit<'_> {
    async fn robots_for(&mut self, url: &Url) -> &Robots {
        let origin = url.origin().ascii_serialization();
        if !self.robots.contains_key(&origin) {
            let robots = self.read_robots(url).await;
            self.delay = robots.delay(self.reader.limits.max_crawl_delay);
            self.robots.insert(origin.clone(), robots);
        }
        &self.robots[&origin]
    }

    /// The origin's `robots.txt`: missing (4xx) means everything is allowed; unreachable
    /// (5xx, network) means nothing is, as search engines do.
    async fn read_robots(&mut self, url: &Url) -> Robots {
        let Ok(robots_url) = url.join("/robots.txt") else {
            return Robots::AllowAll;
        };
        self.pace().await;
        self.requests += 1;
        let limits = &self.reader.limits;
        let resp = match self.reader.http.get(robots_url.clone()).send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(url = %robots_url, error = %e, "robots.txt unreachable; reading nothing from this site");
                return disallow_all();
            }
        };
        let status = resp.status();
        if status.is_client_error() {
            return Robots::AllowAll;
        }
        if !status.is_success() {
            tracing::warn!(url = %robots_url, status = status.as_u16(), "robots.txt unavailable; reading nothing from this site");
            return disallow_all();
        }
        match netbody::read_capped(resp, 512 * 1024, limits.stall).await {
            Ok(body) => match texting_robots::Robot::new(ROBOTS_AGENT, &body) {
                Ok(r) => Robots::Rules(Box::new(r)),
                Err(e) => {
                    tracing::warn!(url = %robots_url, error = %e, "robots.txt unreadable; treating it as allowing everything");
                    Robots::AllowAll
                }
            },
            Err(e) => {
                tracing::warn!(url = %robots_url, error = %e, "robots.txt unreadable; reading nothing from this site");
                disallow_all()
            }
        }
    }

    /// Waits out the crawl delay since the last request.
    async fn pace(&mut self) {
        if let Some(last) = self.last_request
            && !self.delay.is_zero()
        {
            tokio::time::sleep_until(last + self.delay).await;
        }
        self.last_request = Some(tokio::time::Instant::now());
    }

    async fn fetch_sitemap(&mut self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let cap = self.reader.limits.max_sitemap_bytes;
        match self.fetch(url, None, cap).await? {
            Fetched::Body { body, .. } => Ok(body),
            Fetched::NotModified => Err(FetchError::Status(304)),
        }
    }

    async fn fetch_page(
        &mut self,
        url: &Url,
        cached: Option<&CachedPage>,
    ) -> Result<Fetched, FetchError> {
        let cap = self.reader.limits.max_page_bytes;
        let fetched = self.fetch(url, cached, cap).await?;
        if let Fetched::Body { content_type, .. } = &fetched {
            let mime = media_type(content_type);
            if mime != "text/html" && mime != "application/xhtml+xml" {
                let shown = if mime.is_empty() {
                    "without a content type".to_owned()
                } else {
                    mime
                };
                return Err(FetchError::NotHtml(shown));
            }
        }
        Ok(fetched)
    }

    /// GET `url` (conditional when `cached` has validators), following redirects by hand.
    async fn fetch(
        &mut self,
        url: &Url,
        cached: Option<&CachedPage>,
        cap: usize,
    ) -> Result<Fetched, FetchError> {
        let limits = self.reader.limits.clone();
        let mut current = url.clone();
        let mut visited: HashSet<String> = HashSet::new();
        for _ in 0..=limits.max_redirects {
            if !visited.insert(current.to_string()) {
                return Err(FetchError::RedirectLoop);
            }
            if !self.robots_for(&current).await.allowed(&current) {
                return Err(FetchError::Disallowed);
            }
            self.pace().await;
            self.requests += 1;
            let mut req = self
                .reader
                .http
                .get(current.clone())
                .header(USER_AGENT, user_agent());
            if let Some(c) = cached.filter(|_| current == *url) {
                if let Some(etag) = &c.etag {
                    req = req.header(IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &c.last_modified {
                    req = req.header(IF_MODIFIED_SINCE, lm);
                }
            }
            let resp = req.send().await.map_err(|e| {
                if e.is_timeout() {
                    FetchError::Timeout(limits.request_timeout)
                } else {
                    FetchError::Transport(e.to_string())
                }
            })?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| current.join(l).ok())
                    .ok_or(FetchError::BadRedirect)?;
                if !same_site(&next, url) {
                    return Err(FetchError::OffSite(next.to_string()));
                }
                current = next;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Fetched::NotModified);
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            let header = |name| {
                resp.headers()
                    .get(name)
                    .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            let content_type = header(CONTENT_TYPE).unwrap_or_default();
            let etag = header(ETAG);
            let last_modified = header(LAST_MODIFIED);
            // A page that is obviously not HTML is not downloaded at all.
            if cap == limits.max_page_bytes && looks_binary(&content_type) {
                return Err(FetchError::NotHtml(
                    content_type
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_owned(),
                ));
            }
            let body = netbody::read_capped(resp, cap, limits.stall)
                .await
                .map_err(|e| match e {
                    BodyError::TooLarge { limit } => FetchError::TooLarge(limit),
                    BodyError::Transport(e) if e.is_timeout() => {
                        FetchError::Timeout(limits.request_timeout)
                    }
                    other => FetchError::Body(other.to_string()),
                })?;
            return Ok(Fetched::Body {
                url: current,
                content_type,
                body,
                etag,
                last_modified,
            });
        }
        Err(FetchError::TooManyRedirects(limits.max_redirects))
    }
}

fn disallow_all() -> Robots {
    match texting_robots::Robot::new(ROBOTS_AGENT, b"User-agent: *\nDisallow: /\n") {
        Ok(r) => Robots::Rules(Box::new(r)),
        // A constant robots.txt always parses; if not, allowing nothing is still the intent.
        Err(_) => Robots::Rules(Box::new(
            texting_robots::Robot::new(ROBOTS_AGENT, b"").expect("an empty robots.txt parses"),
        )),
    }
}

/// A `Content-Type`'s media type, lowercased, without its parameters (`; charset=...`).
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn looks_binary(content_type: &str) -> bool {
    let mime = media_type(content_type);
    mime.starts_with("application/pdf")
        || mime.starts_with("image/")
        || mime.starts_with("video/")
        || mime.starts_with("audio/")
        || mime == "application/octet-stream"
        || mime == "application/zip"
}

/// Whether a configured URL names a sitemap (read as XML) rather than a page.
fn looks_like_sitemap(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    path.ends_with(".xml") || path.ends_with(".xml.gz") || path.contains("sitemap")
}

/// Same host (a leading `www.` aside) and port (the scheme's default counts as none), so that
/// the usual redirects (http to https, example.com to www.example.com) stay on the site.
fn same_site(a: &Url, b: &Url) -> bool {
    let host = |u: &Url| {
        u.host_str()
            .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
    };
    host(a).is_some() && host(a) == host(b) && a.port() == b.port()
}

/// The entries of one page: one per section, `site:URL#anchor`.
fn page_entries(listed: &Url, fetched: &Url, html_text: &str) -> Vec<KbEntry> {
    let page = html::read_page(html_text, fetched);
    let language = page.language.clone();
    page.sections
        .into_iter()
        .map(|s| {
            let id = format!("site:{listed}#{}", s.anchor);
            let keywords = if s.heading != page.title && !page.title.is_empty() {
                vec![page.title.clone()]
            } else {
                vec![]
            };
            KbEntry {
                id: id.clone(),
                question: s.heading,
                answer: s.text,
                keywords,
                language: language.clone(),
                source: id,
            }
        })
        .collect()
}

/// A parsed sitemap: page or sitemap URLs (at most `keep`), and how many it listed.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Sitemap {
    /// True for a sitemap index (its `loc`s are sitemaps).
    pub index: bool,
    pub locs: Vec<String>,
    pub total: usize,
}

/// Parses a sitemap (`urlset`) or sitemap index (`sitemapindex`); anything else is an error
/// naming what it found.
pub(crate) fn parse_sitemap(body: &[u8], keep: usize) -> Result<Sitemap, String> {
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8 text".to_owned())?;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut out = Sitemap::default();
    let mut root: Option<String> = None;
    let mut in_loc = false;
    let mut loc = String::new();
    let mut depth = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| format!("not XML ({e})"))?;
        match event {
            Event::Start(e) => {
                depth += 1;
                let name = e.local_name().as_ref().to_owned();
                if root.is_none() {
                    match name.as_str() {
                        "urlset" => {}
                        "sitemapindex" => out.index = true,
                        other => {
                            return Err(format!(
                                "not a sitemap (its root element is <{other}>, not <urlset> or <sitemapindex>)"
                            ));
                        }
                    }
                    root = Some(name.clone());
                }
                if name == "loc" {
                    in_loc = true;
                    loc.clear();
                }
            }
            Event::Text(t) if in_loc => loc.push_str(&t.xml10_content()),
            Event::CData(t) if in_loc => loc.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_loc => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match r.as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = resolved {
                    loc.push(c);
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if e.local_name().as_ref() == "loc" && in_loc {
                    in_loc = false;
                    let l = loc.trim();
                    if !l.is_empty() {
                        out.total += 1;
                        if out.locs.len() < keep {
                            out.locs.push(l.to_owned());
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if root.is_none() {
        return Err("not a sitemap (no XML element in it)".to_owned());
    }
    if depth != 0 {
        return Err("not XML (the document ends inside an element)".to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemaps_and_indexes_parse() {
        let s = br#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://h.example/a?x=1&amp;y=2</loc><lastmod>2024-01-01</lastmod></url>
  <url><loc> https://h.example/b </loc></url>
</urlset>"#;
        let m = parse_sitemap(s, 10).unwrap();
        assert!(!m.index);
        assert_eq!(
            m.locs,
            ["https://h.example/a?x=1&y=2", "https://h.example/b"]
        );
        let i = br#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://h.example/s1.xml</loc></sitemap></sitemapindex>"#;
        let m = parse_sitemap(i, 10).unwrap();
        assert!(m.index);
        assert_eq!(m.locs, ["https://h.example/s1.xml"]);
    }

    #[test]
    fn a_huge_sitemap_keeps_only_what_is_wanted() {
        let mut s = String::from("<urlset>");
        for i in 0..100_000 {
            s.push_str(&format!("<url><loc>https://h.example/p{i}</loc></url>"));
        }
        s.push_str("</urlset>");
        let m = parse_sitemap(s.as_bytes(), 50).unwrap();
        assert_eq!((m.locs.len(), m.total), (50, 100_000));
    }

    #[test]
    fn what_is_not_a_sitemap_is_named() {
        let e =
            parse_sitemap(b"<!DOCTYPE html><html><body>Not found</body></html>", 10).unwrap_err();
        assert!(e.contains("not a sitemap"), "{e}");
        let e = parse_sitemap(b"<urlset><url><loc>x</loc></url>", 10).unwrap_err();
        assert!(e.contains("not XML"), "{e}");
        let e = parse_sitemap(b"just text", 10).unwrap_err();
        assert!(e.contains("not a sitemap"), "{e}");
        let e = parse_sitemap(&[0xff, 0xfe, 0x00], 10).unwrap_err();
        assert!(e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn the_usual_redirects_stay_on_the_site() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_site(
            &u("http://help.example/a"),
            &u("https://www.help.example/b")
        ));
        assert!(same_site(
            &u("http://127.0.0.1:8080/a"),
            &u("http://127.0.0.1:8080/b")
        ));
        assert!(!same_site(
            &u("http://127.0.0.1:8080/a"),
            &u("http://127.0.0.1:8081/a")
        ));
        assert!(!same_site(
            &u("https://help.example/"),
            &u("https://evil.example/")
        ));
    }

    #[test]
    fn user_agent_names_the_bot_and_its_version() {
        assert!(user_agent().starts_with(&format!("perfectbot/{}", env!("CARGO_PKG_VERSION"))));
    }
}
