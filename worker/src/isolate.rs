//! What a Worker isolate keeps between the requests it serves: the workspaces (and shards)
//! of API keys it has looked up, the secrets key ring (parsed, its primary key imported
//! into WebCrypto, and the bookmark keys derived from it), and rendered list pages.
//! Nothing here is shared between isolates or survives one; every entry is checked or
//! bounded so that it is never served stale.

use crate::webcrypto::NativeKey;
use connect_core::server::bookmark::BookmarkKeys;
use connect_core::server::page_cache::{CachedPage, PageCache, PageKey};
use connect_core::server::seal::{KeyRing, KeyRingError};
use connect_core::server::tables::directory::Tenant;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// How long an isolate keeps a key it has looked up. A kept key is still confirmed live by
/// the request's first D1 call (`Store::confirm_key`), so the bound is about memory, not
/// about revocation: a revoked key is refused on its next request.
pub const KEY_CACHE_MS: i64 = 10 * 60_000;
/// Entries kept per isolate before the key cache starts afresh.
const KEY_CACHE_MAX: usize = 10_000;

/// The key ring made from one `SECRETS_KEYS` text, its primary key in WebCrypto once
/// imported, and the keys of bookmark tags once derived.
struct Secrets {
    text: String,
    ring: Result<Rc<KeyRing>, KeyRingError>,
    native: Option<NativeKey>,
    bookmarks: Option<Rc<BookmarkKeys>>,
}

thread_local! {
    // Key hash -> (workspace and shard, when it was looked up): the directory never changes
    // an entry. A key found revoked is dropped. Never the key itself.
    static API_KEYS: RefCell<HashMap<String, (Tenant, i64)>> = RefCell::new(HashMap::new());
    // Reading a key ring schedules AES for each key (about as much work as sealing one
    // secret); it is done once per ring text.
    static SECRETS: RefCell<Option<Secrets>> = const { RefCell::new(None) };
    // Rendered list pages; see connect_core::server::page_cache.
    static PAGES: RefCell<PageCache> = RefCell::new(PageCache::new());
}

/// The workspace and shard of the key with this hash, if looked up less than
/// [`KEY_CACHE_MS`] ago.
pub fn tenant_of_key(key_hash: &str, now_ms: i64) -> Option<Tenant> {
    API_KEYS.with(|c| {
        c.borrow()
            .get(key_hash)
            .filter(|(_, at)| now_ms - at < KEY_CACHE_MS)
            .map(|(ws, _)| ws.clone())
    })
}

/// Remembers that the key with this hash opens `tenant`.
pub fn remember_key(key_hash: String, tenant: Tenant, now_ms: i64) {
    API_KEYS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= KEY_CACHE_MAX {
            c.clear();
        }
        c.insert(key_hash, (tenant, now_ms));
    });
}

/// Forgets the key with this hash (found revoked).
pub fn forget_key(key_hash: &str) {
    API_KEYS.with(|c| c.borrow_mut().remove(key_hash));
}

/// The ring of `text`, parsed once per text: the text is compared on every use, so a ring
/// that changes under a live isolate is never served stale.
pub fn key_ring(text: &str) -> Result<Rc<KeyRing>, KeyRingError> {
    SECRETS.with(|s| {
        let mut s = s.borrow_mut();
        if s.as_ref().is_none_or(|kept| kept.text != text) {
            *s = Some(Secrets {
                text: text.to_owned(),
                ring: KeyRing::parse(text).map(Rc::new),
                native: None,
                bookmarks: None,
            });
        }
        s.as_ref()
            .map_or(Err(KeyRingError::Empty), |kept| kept.ring.clone())
    })
}

/// The bookmark keys of the ring of `text`, derived once per text (an HMAC a key; every
/// answer of the workspace API is tagged with one, and every bookmark sent is checked).
pub fn bookmark_keys(text: &str) -> Result<Rc<BookmarkKeys>, KeyRingError> {
    let ring = key_ring(text)?;
    SECRETS.with(|s| {
        let mut s = s.borrow_mut();
        match s.as_mut().filter(|kept| kept.text == text) {
            Some(kept) => Ok(kept
                .bookmarks
                .get_or_insert_with(|| Rc::new(BookmarkKeys::of(&ring)))
                .clone()),
            None => Ok(Rc::new(BookmarkKeys::of(&ring))),
        }
    })
}

/// The primary key of the ring of `text` in WebCrypto, if imported already.
pub fn native_primary(text: &str) -> Option<NativeKey> {
    SECRETS.with(|s| {
        s.borrow()
            .as_ref()
            .filter(|kept| kept.text == text)
            .and_then(|kept| kept.native.clone())
    })
}

/// Keeps the imported primary key of the ring of `text`.
pub fn keep_native_primary(text: &str, key: NativeKey) {
    SECRETS.with(|s| {
        if let Some(kept) = s.borrow_mut().as_mut().filter(|kept| kept.text == text) {
            kept.native = Some(key);
        }
    });
}

/// The kept page of `key`, if young enough (see `PageCache::get`).
pub fn kept_page(key: &PageKey, now_ms: i64) -> Option<CachedPage> {
    PAGES.with(|c| c.borrow().get(key, now_ms).cloned())
}

/// Keeps a rendered page.
pub fn keep_page(key: PageKey, page: CachedPage) {
    PAGES.with(|c| c.borrow_mut().put(key, page));
}
