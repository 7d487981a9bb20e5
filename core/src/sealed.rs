//! Secrets at rest: AES-256-GCM under a key held in a Worker secret.
//!
//! A sealed value is text: a form tag, then unpadded base64url of the 96-bit random nonce
//! and the ciphertext with its tag. The associated data binds each ciphertext to where it
//! belongs ([`SealContext`]): a client secret copied onto another app's row, or a stored
//! response moved to another workspace's key, fails to open instead of being served.
//!
//! Two forms, both opened by [`SealingKey::open`]:
//! - `v1.`: the plaintext as given.
//! - `v2.`: a text that is the context's secret prefix (`sh_app_`, `whsec_`, or nothing for
//!   a stored response's secrets) followed by lowercase hex, sealed as the bytes the hex
//!   spells. A client secret then costs 32 bytes of AES-GCM instead of 71, about half the
//!   work in a software AES (a 100-app batch seals 100 of them), and its sealed text is
//!   83 characters instead of 135. The form is bound into the associated data, so a value
//!   whose tag is changed does not open. [`SealingKey::seal_str`] chooses the form.

use crate::entropy::{from_lower_hex, to_hex, Entropy};
use crate::ids::{ClientId, WorkspaceId};
use crate::secrets::{ClientSecret, WebhookSecret};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;

/// The plaintext as given.
const TEXT_FORM: &str = "v1.";
/// The context's secret prefix and lowercase hex, sealed as the bytes of the hex.
const HEX_FORM: &str = "v2.";
/// Bytes of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;

/// Why a key could not be read or a value could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    /// The key is not 64 hex digits (32 bytes).
    BadKey,
    /// The value is not of the sealed format.
    Malformed,
    /// Authentication failed: another key, another context, or tampering.
    Unauthentic,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadKey => "the sealing key must be 64 hex digits",
            Self::Malformed => "the sealed value is malformed",
            Self::Unauthentic => "the sealed value does not open with this key and context",
        })
    }
}

impl std::error::Error for SealError {}

/// What a sealed value is, and of whom: its associated data.
#[derive(Debug, Clone, Copy)]
pub enum SealContext<'a> {
    /// The client secret of an app.
    ClientSecret(&'a ClientId),
    /// The webhook signing secret of an app.
    WebhookSecret(&'a ClientId),
    /// A stored response of an idempotent request, by workspace and key hash.
    StoredResponse {
        /// The workspace the key belongs to.
        workspace: &'a WorkspaceId,
        /// SHA-256 hex of the `Idempotency-Key`.
        key_hash: &'a str,
    },
}

impl SealContext<'_> {
    /// The associated data of a value of `form`. The text form keeps the associated data
    /// values were first sealed with; the hex form adds its tag.
    fn aad(&self, form: &str) -> String {
        let mut aad = match self {
            Self::ClientSecret(id) => format!("client_secret\n{id}"),
            Self::WebhookSecret(id) => format!("webhook_secret\n{id}"),
            Self::StoredResponse {
                workspace,
                key_hash,
            } => {
                format!("stored_response\n{workspace}\n{key_hash}")
            }
        };
        if form == HEX_FORM {
            aad.push_str("\nhex");
        }
        aad
    }

    /// What a secret of this context starts with, before its hex.
    fn secret_prefix(&self) -> &'static str {
        match self {
            Self::ClientSecret(_) => ClientSecret::PREFIX,
            Self::WebhookSecret(_) => WebhookSecret::PREFIX,
            // The secrets of a stored response are kept as their hex, concatenated.
            Self::StoredResponse { .. } => "",
        }
    }
}

/// A value to seal with everything decided but the AES-256-GCM itself: its form, a fresh
/// random nonce, the associated data and the plaintext.
///
/// [`SealingKey::seal_job`] runs it with this crate's AES-GCM. An embedder holding the same
/// key in a native AES-GCM (the Worker hands large values to the runtime's WebCrypto, whose
/// AES uses the CPU's instructions where the wasm build's is software) encrypts
/// [`SealJob::plaintext`] under [`SealJob::nonce`] with [`SealJob::aad`] and hands the
/// output to [`SealJob::finish`]. Either way the sealed text is the same and
/// [`SealingKey::open`] opens it.
#[derive(Clone)]
pub struct SealJob {
    form: &'static str,
    nonce: [u8; NONCE_LEN],
    aad: String,
    plaintext: Vec<u8>,
}

impl fmt::Debug for SealJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealJob")
            .field("form", &self.form)
            .field("aad", &self.aad)
            .field(
                "plaintext",
                &format_args!("[{} bytes redacted]", self.plaintext.len()),
            )
            .finish_non_exhaustive()
    }
}

impl SealJob {
    /// `plaintext` for `context`, in the text form (see [`SealingKey::seal`]).
    pub fn new(plaintext: &[u8], context: SealContext<'_>, entropy: &mut dyn Entropy) -> Self {
        Self::of_form(TEXT_FORM, plaintext.to_vec(), context, entropy)
    }

    /// The text `plaintext` for `context`, in the form [`SealingKey::seal_str`] chooses.
    pub fn for_str(plaintext: &str, context: SealContext<'_>, entropy: &mut dyn Entropy) -> Self {
        match plaintext
            .strip_prefix(context.secret_prefix())
            .and_then(from_lower_hex)
        {
            Some(bytes) => Self::of_form(HEX_FORM, bytes, context, entropy),
            None => Self::new(plaintext.as_bytes(), context, entropy),
        }
    }

    /// In the hex form, the bytes whose lowercase hex (after the context's secret prefix)
    /// is the text to seal: for callers that decoded the hex already.
    pub(crate) fn hex_bytes(
        bytes: Vec<u8>,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> Self {
        Self::of_form(HEX_FORM, bytes, context, entropy)
    }

    fn of_form(
        form: &'static str,
        plaintext: Vec<u8>,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> Self {
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce);
        Self {
            form,
            nonce,
            aad: context.aad(form),
            plaintext,
        }
    }

    /// The 96-bit nonce.
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// The associated data.
    pub fn aad(&self) -> &[u8] {
        self.aad.as_bytes()
    }

    /// What to encrypt.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The sealed text, from the AES-256-GCM output of this job (the ciphertext followed by
    /// its 16-byte tag, as WebCrypto and this crate's AES-GCM both return it).
    pub fn finish(&self, ciphertext: &[u8]) -> String {
        let len = NONCE_LEN + ciphertext.len();
        let mut raw = Vec::with_capacity(len);
        raw.extend_from_slice(&self.nonce);
        raw.extend_from_slice(ciphertext);
        let mut out = String::with_capacity(self.form.len() + (len * 4).div_ceil(3));
        out.push_str(self.form);
        URL_SAFE_NO_PAD.encode_string(raw, &mut out);
        out
    }
}

/// The AES-256-GCM key that seals every secret at rest.
#[derive(Clone)]
pub struct SealingKey(Aes256Gcm);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    /// Reads a key from 64 hex digits (either case, surrounding white space ignored).
    pub fn from_hex(s: &str) -> Result<Self, SealError> {
        Ok(Self(Aes256Gcm::new(&Self::bytes_from_hex(s)?.into())))
    }

    /// The 32 bytes of a key written as [`SealingKey::from_hex`] reads it: for an embedder
    /// that also hands the key to a native AES-GCM (see [`SealJob`]).
    pub fn bytes_from_hex(s: &str) -> Result<[u8; 32], SealError> {
        from_lower_hex(&s.trim().to_ascii_lowercase())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(SealError::BadKey)
    }

    /// Seals `plaintext` for `context` under a fresh random nonce, in the text form.
    pub fn seal(
        &self,
        plaintext: &[u8],
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> String {
        self.seal_job(&SealJob::new(plaintext, context, entropy))
    }

    /// Seals the text `plaintext` for `context`: in the hex form when it is the context's
    /// secret prefix and lowercase hex (every secret this crate generates), else in the
    /// text form. [`SealingKey::open_str`] gives back the same text either way.
    pub fn seal_str(
        &self,
        plaintext: &str,
        context: SealContext<'_>,
        entropy: &mut dyn Entropy,
    ) -> String {
        self.seal_job(&SealJob::for_str(plaintext, context, entropy))
    }

    /// Runs `job` with this crate's AES-256-GCM (in software on wasm32).
    pub fn seal_job(&self, job: &SealJob) -> String {
        // Encryption with a valid key and in-memory buffers cannot fail; the error type
        // exists for output-length limits far beyond anything sealed here.
        let ciphertext = self
            .0
            .encrypt(
                Nonce::from_slice(&job.nonce),
                Payload {
                    msg: &job.plaintext,
                    aad: job.aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        job.finish(&ciphertext)
    }

    /// Opens a value sealed for `context`, in either form: the plaintext that was sealed.
    pub fn open(&self, sealed: &str, context: SealContext<'_>) -> Result<Vec<u8>, SealError> {
        let (form, body) = [TEXT_FORM, HEX_FORM]
            .into_iter()
            .find_map(|form| Some((form, sealed.strip_prefix(form)?)))
            .ok_or(SealError::Malformed)?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let aad = context.aad(form);
        let plain = self
            .0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Unauthentic)?;
        if form == TEXT_FORM {
            return Ok(plain);
        }
        Ok(format!("{}{}", context.secret_prefix(), to_hex(&plain)).into_bytes())
    }

    /// Opens a sealed value that must hold UTF-8 text.
    pub fn open_str(&self, sealed: &str, context: SealContext<'_>) -> Result<String, SealError> {
        String::from_utf8(self.open(sealed, context)?).map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use proptest::prelude::*;

    fn key(byte: char) -> SealingKey {
        SealingKey::from_hex(&byte.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn seals_and_opens_in_context() {
        let mut e = SeededEntropy::new(1);
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let other = ClientId::parse("MkPQRSTU").unwrap();
        let k = key('a');
        let sealed = k.seal(b"sh_app_secret", SealContext::ClientSecret(&id), &mut e);
        assert!(sealed.starts_with("v1.") && !sealed.contains("sh_app_"));
        assert_eq!(
            k.open(&sealed, SealContext::ClientSecret(&id)).unwrap(),
            b"sh_app_secret"
        );
        assert_eq!(
            k.open(&sealed, SealContext::ClientSecret(&other)),
            Err(SealError::Unauthentic)
        );
        assert_eq!(
            k.open(&sealed, SealContext::WebhookSecret(&id)),
            Err(SealError::Unauthentic)
        );
        assert_eq!(
            key('b').open(&sealed, SealContext::ClientSecret(&id)),
            Err(SealError::Unauthentic)
        );
    }

    #[test]
    fn a_key_reads_in_either_case_with_white_space_around() {
        let mut e = SeededEntropy::new(8);
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let lower = key('c');
        let upper = SealingKey::from_hex(&format!(" {}\n", "C".repeat(64))).unwrap();
        let sealed = lower.seal(b"x", SealContext::ClientSecret(&id), &mut e);
        assert_eq!(
            upper.open(&sealed, SealContext::ClientSecret(&id)).unwrap(),
            b"x"
        );
    }

    #[test]
    fn same_plaintext_seals_differently_each_time() {
        let mut e = SeededEntropy::new(2);
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let k = key('c');
        let a = k.seal(b"x", SealContext::ClientSecret(&id), &mut e);
        let b = k.seal(b"x", SealContext::ClientSecret(&id), &mut e);
        assert_ne!(a, b);
    }

    #[test]
    fn bad_keys_and_values_are_refused() {
        assert_eq!(SealingKey::from_hex("abc").err(), Some(SealError::BadKey));
        assert_eq!(
            SealingKey::from_hex(&"ab".repeat(33)).err(),
            Some(SealError::BadKey)
        );
        assert_eq!(
            SealingKey::from_hex(&"g".repeat(64)).err(),
            Some(SealError::BadKey)
        );
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let k = key('d');
        for bad in [
            "",
            "v1.",
            "v2.AAAA",
            "v1.!!!!",
            "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                k.open(bad, SealContext::ClientSecret(&id)).is_err(),
                "{bad}"
            );
        }
    }

    /// `job` sealed as an embedder would: by an AES-GCM of its own, made from the key's
    /// bytes as [`SealingKey::bytes_from_hex`] reads them from `hex`.
    pub(crate) fn sealed_elsewhere(hex: &str, job: &SealJob) -> String {
        let native = Aes256Gcm::new(&SealingKey::bytes_from_hex(hex).unwrap().into());
        let payload = Payload {
            msg: job.plaintext(),
            aad: job.aad(),
        };
        job.finish(
            &native
                .encrypt(Nonce::from_slice(job.nonce()), payload)
                .unwrap(),
        )
    }

    #[test]
    fn a_job_sealed_by_another_aes_gcm_with_the_key_bytes_opens_here() {
        let hex = "3F".repeat(32);
        let k = SealingKey::from_hex(&hex).unwrap();
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let client = ClientSecret::generate(&mut SeededEntropy::new(11));
        for text in [client.expose(), "not a secret", ""] {
            let ctx = SealContext::ClientSecret(&id);
            let job = SealJob::for_str(text, ctx, &mut SeededEntropy::new(12));
            let sealed = sealed_elsewhere(&hex, &job);
            assert_eq!(
                sealed,
                k.seal_str(text, ctx, &mut SeededEntropy::new(12)),
                "{text}"
            );
            assert_eq!(k.open_str(&sealed, ctx).unwrap(), text);
            assert!(!format!("{job:?}").contains(text) || text.is_empty());
        }
        assert_eq!(SealingKey::bytes_from_hex("ab"), Err(SealError::BadKey));
    }

    #[test]
    fn secrets_seal_in_the_hex_form_half_the_size() {
        let mut e = SeededEntropy::new(5);
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let ws = WorkspaceId::parse("org_abc").unwrap();
        let k = key('a');
        let client = ClientSecret::generate(&mut e);
        let webhook = WebhookSecret::generate(&mut e);
        let hexes = format!("{}{}", &client.expose()[7..], &webhook.expose()[6..]);
        for (text, ctx) in [
            (client.expose(), SealContext::ClientSecret(&id)),
            (webhook.expose(), SealContext::WebhookSecret(&id)),
            (
                hexes.as_str(),
                SealContext::StoredResponse {
                    workspace: &ws,
                    key_hash: "k",
                },
            ),
            (
                "",
                SealContext::StoredResponse {
                    workspace: &ws,
                    key_hash: "k",
                },
            ),
        ] {
            let compact = k.seal_str(text, ctx, &mut e);
            let plain = k.seal(text.as_bytes(), ctx, &mut e);
            assert!(compact.starts_with("v2."), "{compact}");
            assert!(compact.len() <= plain.len());
            assert_eq!(k.open_str(&compact, ctx).unwrap(), text);
            assert_eq!(k.open_str(&plain, ctx).unwrap(), text);
        }
        assert_eq!(
            k.seal_str(client.expose(), SealContext::ClientSecret(&id), &mut e)
                .len(),
            83
        );
    }

    #[test]
    fn other_texts_seal_as_given() {
        let mut e = SeededEntropy::new(6);
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let k = key('b');
        let ctx = SealContext::ClientSecret(&id);
        for text in [
            "sh_app_ABCDEF",
            "sh_app_abc",
            "sh_app_0g",
            "whsec_abcdef",
            "abcdef",
            "sh_app_\u{e9}\u{e9}",
        ] {
            let sealed = k.seal_str(text, ctx, &mut e);
            assert!(sealed.starts_with("v1."), "{text}");
            assert_eq!(k.open_str(&sealed, ctx).unwrap(), text);
        }
    }

    #[test]
    fn a_changed_form_tag_does_not_open() {
        let mut e = SeededEntropy::new(7);
        let id = ClientId::parse("HqTRDIYH").unwrap();
        let k = key('c');
        let ctx = SealContext::ClientSecret(&id);
        let secret = ClientSecret::generate(&mut e);
        let hex_form = k.seal_str(secret.expose(), ctx, &mut e);
        let text_form = k.seal(secret.expose().as_bytes(), ctx, &mut e);
        let swapped = [
            hex_form.replacen("v2.", "v1.", 1),
            text_form.replacen("v1.", "v2.", 1),
        ];
        for value in swapped {
            assert_eq!(k.open(&value, ctx), Err(SealError::Unauthentic), "{value}");
        }
    }

    proptest! {
        #[test]
        fn any_text_round_trips_in_either_form(
            text in "(sh_app_|whsec_)?([0-9a-f]{2}){0,40}|\\PC{0,80}",
            seed in any::<u64>(),
        ) {
            let mut e = SeededEntropy::new(seed);
            let id = ClientId::parse("HqTRDIYH").unwrap();
            let ws = WorkspaceId::parse("org_abc").unwrap();
            let k = key('e');
            for ctx in [
                SealContext::ClientSecret(&id),
                SealContext::WebhookSecret(&id),
                SealContext::StoredResponse { workspace: &ws, key_hash: "k" },
            ] {
                let sealed = k.seal_str(&text, ctx, &mut e);
                prop_assert_eq!(k.open_str(&sealed, ctx).unwrap(), text.clone());
            }
        }

        #[test]
        fn any_plaintext_round_trips(data in proptest::collection::vec(any::<u8>(), 0..2048), seed in any::<u64>()) {
            let mut e = SeededEntropy::new(seed);
            let ws = WorkspaceId::parse("org_abc").unwrap();
            let ctx = SealContext::StoredResponse { workspace: &ws, key_hash: "k" };
            let k = key('e');
            let sealed = k.seal(&data, ctx, &mut e);
            prop_assert_eq!(k.open(&sealed, ctx).unwrap(), data);
        }

        #[test]
        fn any_flipped_byte_is_detected(data in proptest::collection::vec(any::<u8>(), 1..256), pos in any::<usize>()) {
            let mut e = SeededEntropy::new(4);
            let id = ClientId::parse("HqTRDIYH").unwrap();
            let k = key('f');
            let sealed = k.seal(&data, SealContext::ClientSecret(&id), &mut e);
            let mut raw = URL_SAFE_NO_PAD.decode(&sealed[3..]).unwrap();
            let i = pos % raw.len();
            raw[i] ^= 1;
            let tampered = format!("v1.{}", URL_SAFE_NO_PAD.encode(raw));
            prop_assert!(k.open(&tampered, SealContext::ClientSecret(&id)).is_err());
        }
    }
}
