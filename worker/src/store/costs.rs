//! What a request cost D1, in the units D1 bills: round trips, rows read and rows written
//! (D1's own `meta.rows_read` and `meta.rows_written`), reported in `Server-Timing` on
//! every response.

use std::cell::Cell;
use worker::D1Result;

/// What a request cost D1 so far.
#[derive(Debug, Default)]
pub struct Costs {
    round_trips: Cell<u32>,
    rows_read: Cell<u64>,
    rows_written: Cell<u64>,
}

impl Costs {
    /// The `Server-Timing` metric: `d1;desc="round-trips=N rows-read=R rows-written=W"`.
    pub fn server_timing(&self) -> String {
        format!(
            "d1;desc=\"round-trips={} rows-read={} rows-written={}\"",
            self.round_trips.get(),
            self.rows_read.get(),
            self.rows_written.get()
        )
    }

    /// A round trip that answered `results`.
    pub fn add(&self, results: &[D1Result]) {
        self.round_trips.set(self.round_trips.get() + 1);
        for result in results {
            if let Ok(Some(meta)) = result.meta() {
                let read = meta.rows_read.unwrap_or(0) as u64;
                let written = meta.rows_written.unwrap_or(0) as u64;
                self.rows_read.set(self.rows_read.get() + read);
                self.rows_written.set(self.rows_written.get() + written);
            }
        }
    }

    /// A round trip that failed.
    pub fn add_failed(&self) {
        self.round_trips.set(self.round_trips.get() + 1);
    }
}
