//! Cursor lists read one page at a time: the paging rules of the client's `list_all`, for a
//! caller that handles each page before asking for the next.

use super::*;

/// A cursor list read one page at a time ([`Pages::next_page`]), with the paging rules of
/// [`Client::list_all`]: `limit=100`, items that do not decode skipped (logged once each), and
/// the paging ended with what was read on a repeated cursor, after `MAX_PAGES` pages or
/// `MAX_LIST_ITEMS` items.
pub struct Pages<T> {
    client: Client,
    method: Method,
    path: String,
    base_query: Vec<(String, String)>,
    body: Option<Value>,
    seen: std::collections::HashSet<String>,
    next: Option<NextPage>,
    pages: usize,
    items: usize,
    state: PagesState,
    _items: std::marker::PhantomData<fn() -> T>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PagesState {
    Reading,
    /// The last page was read.
    Complete,
    /// Paging could not be followed further; nothing may be concluded from what is missing.
    Cut,
}

/// One page of a [`Pages`] list.
#[derive(Debug)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    /// Items that did not decode (each logged once by the client).
    pub skipped: Vec<SkippedItem>,
}

impl<T: DeserializeOwned> Pages<T> {
    pub(super) fn new(
        client: Client,
        method: Method,
        path: &str,
        base_query: Vec<(String, String)>,
        body: Option<Value>,
    ) -> Pages<T> {
        Pages {
            client,
            method,
            path: path.to_owned(),
            base_query,
            body,
            seen: std::collections::HashSet::new(),
            next: None,
            pages: 0,
            items: 0,
            state: PagesState::Reading,
            _items: std::marker::PhantomData,
        }
    }

    /// Whether the list was read to its last page (false while reading, or when paging was cut).
    pub fn complete(&self) -> bool {
        self.state == PagesState::Complete
    }

    /// The next page, or `None` once the list has ended (or its paging was cut, logged once).
    pub async fn next_page(&mut self) -> Result<Option<ListPage<T>>, GorgiasError> {
        if self.state != PagesState::Reading {
            return Ok(None);
        }
        let (method, path) = (&self.method, self.path.as_str());
        if self.pages >= MAX_PAGES || self.items >= MAX_LIST_ITEMS {
            self.state = PagesState::Cut;
            self.client.warn_once(
                format!("long {path}"),
                &format!(
                    "{method} {path}: the list did not end within {MAX_PAGES} pages or {MAX_LIST_ITEMS} items; serving what was read"
                ),
                &format!("{} items read", self.items),
            );
            return Ok(None);
        }
        let mut query = self.base_query.clone();
        query.push(("limit".to_owned(), PAGE_LIMIT.to_string()));
        if let Some(n) = &self.next {
            query.push(("cursor".to_owned(), n.cursor.clone()));
            query.extend(n.extra.iter().cloned());
        }
        let bytes = self
            .client
            .call(
                method.clone(),
                path,
                query,
                self.body.clone(),
                RetryPolicy::Transient,
            )
            .await?;
        self.pages += 1;
        let page = decode::parse_page::<T>(&bytes).map_err(|detail| GorgiasError::Decode {
            method: method.to_string(),
            path: path.into(),
            detail,
        })?;
        drop(bytes);
        for s in &page.skipped {
            self.client.warn_once(
                format!("skip {path} {:?} {:?}", s.id, s.version),
                &format!(
                    "{method} {path}: skipping item {} that could not be read; the rest of the list is served",
                    s.id.map_or("(no id)".to_owned(), |id| id.to_string())
                ),
                &s.error,
            );
        }
        if page.ignored > 0 {
            self.client.warn_once(
                format!("ignored {path}"),
                &format!(
                    "{method} {path}: a page held more than {} items; the rest were ignored",
                    decode::MAX_PAGE_ITEMS
                ),
                &format!("{} items ignored", page.ignored),
            );
        }
        self.items += page.items.len() + page.skipped.len();
        match page.next {
            None if page.ignored == 0 => self.state = PagesState::Complete,
            None => self.state = PagesState::Cut,
            Some(n) => {
                if !self.seen.insert(n.cursor.clone()) {
                    self.state = PagesState::Cut;
                    self.client.warn_once(
                        format!("cursor {path}"),
                        &format!(
                            "{method} {path}: the API returned the same cursor twice; serving the pages read and not paging further"
                        ),
                        &format!("{} items read", self.items),
                    );
                }
                self.next = Some(n);
            }
        }
        Ok(Some(ListPage {
            items: page.items,
            skipped: page.skipped,
        }))
    }
}
