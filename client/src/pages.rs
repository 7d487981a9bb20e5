//! Every app of a workspace, page by page.

use crate::client::Client;
use crate::error::Error;
use connect_core::rules::pagination::{PageRequest, MAX_LIMIT};
use connect_core::wire::app::App;
use std::collections::VecDeque;

/// An iterator over every app of the workspace in creation order, fetching pages of 100
/// as it goes (each page one call, retried as any call is). Apps created during the walk
/// are reached (they come last); an app deleted during the walk moves the later ones one
/// place earlier, so one of them may be missed: walk again after deleting.
///
/// A failed page ends the walk with its error.
pub struct AppPages<'c> {
    client: &'c Client,
    offset: u64,
    buffer: VecDeque<App>,
    done: bool,
}

impl Client {
    /// Every app of the workspace, in creation order, fetched 100 at a time.
    pub fn apps(&self) -> AppPages<'_> {
        AppPages {
            client: self,
            offset: 0,
            buffer: VecDeque::new(),
            done: false,
        }
    }
}

impl Iterator for AppPages<'_> {
    type Item = Result<App, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(app) = self.buffer.pop_front() {
            return Some(Ok(app));
        }
        if self.done {
            return None;
        }
        let page = PageRequest::new(MAX_LIMIT, self.offset).expect("in range");
        match self.client.list_apps(page) {
            Ok(page) => {
                self.offset += page.data.len() as u64;
                self.done = page.data.is_empty() || self.offset >= page.total;
                self.buffer.extend(page.data);
                self.buffer.pop_front().map(Ok)
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}
