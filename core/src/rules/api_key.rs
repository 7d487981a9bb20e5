//! How an API key is kept (only its hash, and its last four characters), and how an
//! operator names one to revoke by its text.

use crate::wire::error::FieldError;
use crate::wire::request::RevokeApiKeyRequest;
use crate::wire::secrets::{ApiKey, KeyEnvironment};
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

impl RevokeApiKeyRequest {
    /// The key to revoke, if it can be a key of a deployment of `env`. A key of the other
    /// environment is refused as such (it can only be revoked where it was issued), and
    /// anything else as not a key; neither refusal repeats the value, which may be a live
    /// key with a typo.
    pub fn api_key(&self, env: KeyEnvironment) -> Result<ApiKey, FieldError> {
        if let Ok(key) = ApiKey::parse(env, &self.key) {
            return Ok(key);
        }
        let other = match env {
            KeyEnvironment::Test => KeyEnvironment::Prod,
            KeyEnvironment::Prod => KeyEnvironment::Test,
        };
        let why = if ApiKey::parse(other, &self.key).is_ok() {
            format!(
                "is a key of another deployment ({}...): this deployment issues {}... keys; revoke it where it was issued",
                other.key_prefix(),
                env.key_prefix()
            )
        } else {
            format!(
                "is not an API key: expected {} and 16 to 128 letters and digits",
                env.key_prefix()
            )
        };
        Err(FieldError::invalid("key", why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_key_to_revoke_is_one_of_this_deployment() {
        let revoke = |key: &str| RevokeApiKeyRequest {
            key: key.to_owned(),
        };
        let test = "sk_workspace_test_abcdefghijklmnop";
        let prod = "sk_workspace_prod_abcdefghijklmnop";
        assert_eq!(
            revoke(test).api_key(KeyEnvironment::Test).unwrap().expose(),
            test
        );
        assert_eq!(
            revoke(prod).api_key(KeyEnvironment::Prod).unwrap().expose(),
            prod
        );
        let other = revoke(prod).api_key(KeyEnvironment::Test).unwrap_err();
        assert_eq!(other.parameter, "key");
        assert!(other.message.contains("another deployment"), "{other:?}");
        for bad in [
            "",
            "sk_workspace_test_short",
            " sk_workspace_test_abcdefghijklmnop",
            "Bearer sk_workspace_test_abcdefghijklmnop",
            "sk_workspace_test_abcdefghijklmno!",
            "sk_workspace_dev_abcdefghijklmnop",
        ] {
            let e = revoke(bad).api_key(KeyEnvironment::Test).unwrap_err();
            assert_eq!(e.parameter, "key", "{bad:?}");
            assert!(e.message.contains("is not an API key"), "{e:?}");
            if !bad.is_empty() {
                assert!(!e.message.contains(bad), "the refusal repeats the value");
            }
        }
    }
}
