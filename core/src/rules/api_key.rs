//! How an API key is kept: only its hash.

use crate::wire::secrets::ApiKey;
use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl ApiKey {
    /// Lowercase hex SHA-256 of the key: the only form in which it is stored. A fast hash
    /// is enough because keys carry about 190 random bits; there is nothing to brute-force.
    pub fn hash(&self) -> String {
        sha256_hex(self.expose().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::secrets::KeyEnvironment;

    #[test]
    fn a_key_is_kept_as_the_sha256_of_its_text() {
        assert_eq!(
            sha256_hex(b"sk_workspace_test_peerbench"),
            "2ddb629c19790b00fedf41b15219e0b9c1cd9a17e8cdc416de20ace581647183"
        );
        let text = "sk_workspace_test_abcdefghijklmnop";
        let key = ApiKey::parse(KeyEnvironment::Test, text).unwrap();
        assert_eq!(key.hash(), sha256_hex(text.as_bytes()));
    }
}
