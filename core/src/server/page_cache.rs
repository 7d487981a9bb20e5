//! A bounded cache of rendered list pages, for one server process (one Worker isolate).
//!
//! A page is served from the cache only when the workspace's *generation* is still the one
//! the page was rendered at. The generation is a counter the database moves in the same
//! transaction as every insert, update and delete of the workspace's apps, and the server
//! reads it in the same query that would otherwise return the page. So a cached page is
//! never stale: the cache saves the database the page's rows, and the server the work of
//! turning them into JSON, but never a read of the generation.
//!
//! Worth it: a repeated page of 100 apps served from the cache ran at 322 requests a second
//! against 240 read from D1 each time (`scripts/bench.sh` on 2026-11-29, the project's
//! Worker: runtime CPU 1.57 against 2.90 ms a request), where the peer ran at 203.
//!
//! Rendered pages hold client secrets, as the list response does, so entries also expire
//! after [`PageCache::MAX_AGE_MS`]: the cache holds plaintext secrets no longer than a
//! short while, in the process's memory only (never in storage or logs).

use crate::rules::pagination::PageRequest;
use std::collections::{HashMap, VecDeque};

/// Which page: the workspace, the limit and the offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    workspace: String,
    limit: u32,
    offset: u64,
}

impl PageKey {
    /// The key of `page` of `workspace`.
    pub fn new(workspace: &str, page: PageRequest) -> Self {
        Self {
            workspace: workspace.to_owned(),
            limit: page.limit(),
            offset: page.offset(),
        }
    }

    fn size(&self) -> usize {
        self.workspace.len() + std::mem::size_of::<Self>()
    }
}

/// A rendered page and what it was rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedPage {
    /// The workspace generation the page was rendered at.
    pub generation: i64,
    /// The workspace's app count at that generation.
    pub total: u64,
    /// The response body.
    pub body: String,
    /// When it was rendered, in ms since the epoch.
    pub rendered_at: i64,
}

/// Rendered pages, at most [`PageCache::MAX_BYTES`] of them, oldest evicted first.
#[derive(Debug, Default)]
pub struct PageCache {
    pages: HashMap<PageKey, CachedPage>,
    /// Keys in the order they were stored; a key may appear more than once, only its
    /// latest position counts (older ones are skipped when evicting).
    order: VecDeque<(PageKey, i64)>,
    bytes: usize,
}

impl PageCache {
    /// How long a page may be served, in ms, however unchanged its workspace.
    pub const MAX_AGE_MS: i64 = 60_000;
    /// The most bytes of keys and bodies kept: about 80 full pages of 100 apps.
    pub const MAX_BYTES: usize = 8 * 1024 * 1024;

    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The kept page of `key`, if it is young enough. Its generation is what to ask the
    /// database about: the page may be served only if that is still current.
    pub fn get(&self, key: &PageKey, now_ms: i64) -> Option<&CachedPage> {
        self.pages
            .get(key)
            .filter(|p| now_ms.saturating_sub(p.rendered_at) < Self::MAX_AGE_MS)
    }

    /// Keeps `page` for `key`, replacing what was kept, and evicts the oldest pages
    /// while over [`PageCache::MAX_BYTES`]. A page larger than the whole budget is not
    /// kept.
    pub fn put(&mut self, key: PageKey, page: CachedPage) {
        let size = key.size() + page.body.len();
        self.remove(&key);
        if size > Self::MAX_BYTES {
            return;
        }
        while self.bytes + size > Self::MAX_BYTES {
            let Some((oldest, at)) = self.order.pop_front() else {
                break;
            };
            if self.pages.get(&oldest).is_some_and(|p| p.rendered_at == at) {
                self.remove(&oldest);
            }
        }
        self.bytes += size;
        self.order.push_back((key.clone(), page.rendered_at));
        self.pages.insert(key, page);
    }

    /// Bytes of keys and bodies kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Pages kept.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// True when no page is kept.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    fn remove(&mut self, key: &PageKey) {
        if let Some(old) = self.pages.remove(key) {
            self.bytes -= key.size() + old.body.len();
        }
        // Its entry in `order` stays until it reaches the front; `put` skips it there.
        // Without this trim, keys stored over and over would grow `order` without bound.
        if self.order.len() > 4 * self.pages.len() + 64 {
            let pages = &self.pages;
            self.order
                .retain(|(k, at)| pages.get(k).is_some_and(|p| p.rendered_at == *at));
        }
    }
}

/// Whether the cache is on, from the server's `PAGE_CACHE` setting: on unless it says
/// `off` (any case, spaces around ignored). An operator's switch: with it off, every list
/// page is read from the database.
pub fn enabled(setting: Option<&str>) -> bool {
    !setting.is_some_and(|s| s.trim().eq_ignore_ascii_case("off"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(ws: &str, offset: u64) -> PageKey {
        PageKey::new(ws, PageRequest::new(100, offset).unwrap())
    }

    fn page(generation: i64, body: &str, at: i64) -> CachedPage {
        CachedPage {
            generation,
            total: 7,
            body: body.to_owned(),
            rendered_at: at,
        }
    }

    #[test]
    fn only_off_turns_it_off() {
        assert!(enabled(None));
        assert!(enabled(Some("")));
        assert!(enabled(Some("on")));
        assert!(enabled(Some("offline")));
        assert!(!enabled(Some("off")));
        assert!(!enabled(Some(" OFF ")));
    }

    #[test]
    fn a_page_is_given_with_its_generation_while_young() {
        let mut c = PageCache::new();
        let k = key("org_a", 0);
        assert!(c.get(&k, 0).is_none());
        c.put(k.clone(), page(3, "{}", 1_000));
        assert_eq!(c.get(&k, 1_000).map(|p| p.generation), Some(3));
        c.put(k.clone(), page(4, "{}", 2_000));
        assert_eq!(
            c.get(&k, 2_000).map(|p| p.generation),
            Some(4),
            "the newest render"
        );
        let too_old = 2_000 + PageCache::MAX_AGE_MS;
        assert!(c.get(&k, too_old - 1).is_some());
        assert!(c.get(&k, too_old).is_none());
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn pages_of_other_workspaces_limits_and_offsets_are_apart() {
        let mut c = PageCache::new();
        c.put(key("org_a", 0), page(1, "a0", 0));
        c.put(key("org_b", 0), page(1, "b0", 0));
        c.put(key("org_a", 100), page(1, "a100", 0));
        c.put(
            PageKey::new("org_a", PageRequest::new(20, 0).unwrap()),
            page(1, "a0-20", 0),
        );
        assert_eq!(c.get(&key("org_a", 0), 0).unwrap().body, "a0");
        assert_eq!(c.get(&key("org_b", 0), 0).unwrap().body, "b0");
        assert_eq!(c.get(&key("org_a", 100), 0).unwrap().body, "a100");
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn the_oldest_pages_go_first_when_over_budget() {
        let mut c = PageCache::new();
        let body = "x".repeat(PageCache::MAX_BYTES / 4);
        for offset in 0..4 {
            c.put(key("org_a", offset), page(1, &body, offset as i64));
        }
        assert_eq!(c.len(), 3, "the fourth does not fit beside three");
        assert!(c.get(&key("org_a", 0), 0).is_none());
        assert!(c.get(&key("org_a", 3), 3).is_some());
    }

    #[test]
    fn a_page_bigger_than_the_budget_is_not_kept() {
        let mut c = PageCache::new();
        c.put(key("org_a", 0), page(1, "small", 0));
        c.put(
            key("org_a", 0),
            page(2, &"x".repeat(PageCache::MAX_BYTES + 1), 0),
        );
        assert!(c.is_empty(), "the old page of that key is gone too");
        assert_eq!(c.bytes(), 0);
    }

    proptest! {
        #[test]
        fn the_budget_and_the_byte_count_always_hold(
            ops in proptest::collection::vec((0u64..6, 0usize..3_000_000, 0i64..4), 1..60)
        ) {
            let mut c = PageCache::new();
            for (i, (offset, len, generation)) in ops.into_iter().enumerate() {
                c.put(key("org_a", offset), page(generation, &"x".repeat(len), i as i64));
                let counted: usize = c.pages.iter().map(|(k, p)| k.size() + p.body.len()).sum();
                prop_assert_eq!(c.bytes(), counted);
                prop_assert!(c.bytes() <= PageCache::MAX_BYTES);
                prop_assert!(c.order.len() <= 4 * c.pages.len() + 64 + 1);
                let last = c.get(&key("org_a", offset), i as i64).map(|p| p.generation);
                prop_assert!(len + key("org_a", offset).size() > PageCache::MAX_BYTES || last == Some(generation));
            }
        }
    }
}
