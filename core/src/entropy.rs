//! Randomness, passed in.
//!
//! `core` does no IO, and reading the operating system's (or the Workers runtime's) CSPRNG
//! is IO. Everything that mints an id or a secret takes an [`Entropy`] instead: the Worker
//! hands in `crypto.getRandomValues`, tests hand in a seeded generator.

/// A source of random bytes. Implementations used for ids and secrets must be
/// cryptographically secure.
pub trait Entropy {
    /// Fills `buf` entirely with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Entropy for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf)
    }
}

/// The 62 characters of base62 ids, in ASCII order.
pub(crate) const BASE62: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` characters drawn uniformly from [`BASE62`].
///
/// Bytes of 248 and above are rejected rather than folded with `% 62`, which would make
/// the first eight characters slightly likelier than the rest.
pub(crate) fn base62(entropy: &mut dyn Entropy, len: usize) -> String {
    let mut out = vec![0u8; len];
    fill_base62(entropy, &mut out);
    out.into_iter().map(char::from).collect()
}

/// Fills `out` with characters drawn uniformly from [`BASE62`] (see [`base62`]).
pub(crate) fn fill_base62(entropy: &mut dyn Entropy, out: &mut [u8]) {
    let mut filled = 0;
    let mut buf = [0u8; 32];
    while filled < out.len() {
        entropy.fill(&mut buf);
        for &b in &buf {
            if b < 248 && filled < out.len() {
                out[filled] = BASE62[usize::from(b % 62)];
                filled += 1;
            }
        }
    }
}

/// Fills `out` (of even length) with the lowercase hex of `out.len() / 2` random bytes.
pub(crate) fn fill_hex(entropy: &mut dyn Entropy, out: &mut [u8]) {
    let mut raw = [0u8; 32];
    for chunk in out.chunks_mut(64) {
        let bytes = &mut raw[..chunk.len() / 2];
        entropy.fill(bytes);
        for (pair, &b) in chunk.chunks_mut(2).zip(bytes.iter()) {
            pair[0] = HEX_DIGITS[usize::from(b >> 4)];
            pair[1] = HEX_DIGITS[usize::from(b & 0xf)];
        }
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX_DIGITS[usize::from(b >> 4)] as char);
        out.push(HEX_DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Whether every byte of `s` is a lowercase hex digit, as [`to_hex`] writes them.
pub fn is_lower_hex(s: &[u8]) -> bool {
    s.iter().all(|&b| lower_hex_digit(b).is_some())
}

/// The bytes that `hex` spells, if it is lowercase hex of whole bytes: the inverse of
/// [`to_hex`], so that `to_hex` of the result is `hex` again.
pub fn from_lower_hex(hex: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(hex.len() / 2);
    push_lower_hex(hex.as_bytes(), &mut out).then_some(out)
}

/// Appends the bytes that `hex` spells to `out`; false (with `out` partly extended) when
/// `hex` is not lowercase hex of whole bytes. A plain loop: a response's secrets are
/// thousands of digits, and collecting into an `Option<Vec>` does not reserve ahead.
pub(crate) fn push_lower_hex(hex: &[u8], out: &mut Vec<u8>) -> bool {
    if !hex.len().is_multiple_of(2) {
        return false;
    }
    out.reserve(hex.len() / 2);
    for pair in hex.chunks_exact(2) {
        match (lower_hex_digit(pair[0]), lower_hex_digit(pair[1])) {
            (Some(high), Some(low)) => out.push(high << 4 | low),
            _ => return false,
        }
    }
    true
}

fn lower_hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// A deterministic, *insecure* generator for tests and benchmarks (xorshift64*).
#[derive(Debug, Clone)]
pub struct SeededEntropy(u64);

impl SeededEntropy {
    /// A generator whose output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_has_the_length_and_alphabet_asked_for() {
        let mut e = SeededEntropy::new(7);
        for len in [0, 1, 8, 27, 100] {
            let s = base62(&mut e, len);
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn base62_is_roughly_uniform() {
        let mut e = SeededEntropy::new(42);
        let mut counts = [0u32; 62];
        let s = base62(&mut e, 62_000);
        for b in s.bytes() {
            counts[BASE62.iter().position(|&c| c == b).unwrap()] += 1;
        }
        // Each character is expected 1000 times; a fold with % 62 would give the first
        // eight about 1016 and the rest about 984 on a large sample. Here: loose bounds.
        assert!(
            counts.iter().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn base62_rejects_biased_bytes() {
        // An entropy that only ever yields 255 then 1: 255 must be skipped, never folded.
        let mut flip = false;
        let mut e = |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                *b = if flip { 1 } else { 255 };
                flip = !flip;
            }
        };
        assert_eq!(base62(&mut e, 4), "1111");
    }

    #[test]
    fn hex_is_lowercase_and_twice_as_long() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        let mut e = SeededEntropy::new(1);
        let mut h = [0u8; 64];
        fill_hex(&mut e, &mut h);
        assert!(is_lower_hex(&h));
        assert!(h.iter().any(|&b| b != b'0'));
    }

    #[test]
    fn lower_hex_reads_back_what_to_hex_wrote_and_nothing_else() {
        assert_eq!(from_lower_hex("00abff"), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(from_lower_hex(""), Some(vec![]));
        for bad in ["0", "abc", "AB", "0g", "  "] {
            assert_eq!(from_lower_hex(bad), None, "{bad}");
        }
        assert!(is_lower_hex(b"0123456789abcdef") && is_lower_hex(b""));
        assert!(!is_lower_hex(b"A") && !is_lower_hex(b"g") && !is_lower_hex(b"_"));
    }
}
