//! The Workers runtime's CSPRNG (`crypto.getRandomValues`) as `connect_core`'s entropy.

use connect_core::rules::random::Entropy;

/// Draws random bytes in blocks: one call across the JS boundary serves a whole batch of
/// ids and secrets instead of one call per id.
pub struct RandomPool {
    buf: Vec<u8>,
    pos: usize,
}

/// Bytes fetched per refill (`getRandomValues` allows up to 65,536).
const BLOCK: usize = 8192;

impl RandomPool {
    /// An empty pool; it fills on first use.
    pub fn new() -> Self {
        Self {
            buf: vec![0; BLOCK],
            pos: BLOCK,
        }
    }
}

impl Entropy for RandomPool {
    fn fill(&mut self, out: &mut [u8]) {
        let mut written = 0;
        while written < out.len() {
            if self.pos == self.buf.len() {
                // A failure of the platform CSPRNG leaves no safe way to mint a secret;
                // aborting the request is the only correct outcome.
                getrandom::fill(&mut self.buf).expect("the platform CSPRNG failed");
                self.pos = 0;
            }
            let n = (out.len() - written).min(self.buf.len() - self.pos);
            out[written..written + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            // Never hand out the same bytes twice.
            self.buf[self.pos..self.pos + n].fill(0);
            self.pos += n;
            written += n;
        }
    }
}
