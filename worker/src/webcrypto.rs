//! AES-256-GCM through the runtime's WebCrypto, for the one large value a request seals:
//! the recorded answer of an idempotent request (about 20 KB for a 100-app batch, after
//! compression).
//!
//! Worth it: batch creates with a fresh `Idempotency-Key` ran at 138 against 131 requests a
//! second with the answer sealed by the core's software AES-GCM instead (four alternating
//! rounds of 8 s, `wrk -t2 -c8`, 2026-11-29; runtime CPU 6.69 against 7.18 ms a request).
//! The wasm build's AES-GCM is fixsliced AES with a software GHASH; WebCrypto's is native
//! code on the CPU's AES instructions, about 2.5 µs a call whatever the size. A single
//! 32-byte secret (about 2 µs in software), where the call's fixed cost and its promise
//! outweigh the AES, stays in the core.
//!
//! Both produce the same sealed form from a `connect_core` [`SealJob`], and the core opens
//! either; the key is imported from the ring's primary key (see `config`).

use connect_core::server::seal::{SealJob, Sealed};
use worker::js_sys::{self, Array, Function, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

/// An AES-GCM `CryptoKey` that can encrypt.
#[derive(Clone)]
pub struct NativeKey(JsValue);

impl NativeKey {
    /// Imports the 32 bytes of an AES-256 key, not extractable.
    pub async fn import(bytes: &[u8; 32]) -> Result<Self, JsValue> {
        let subtle = subtle()?;
        let args = Array::of5(
            &"raw".into(),
            &Uint8Array::from(&bytes[..]),
            &"AES-GCM".into(),
            &JsValue::FALSE,
            &Array::of1(&"encrypt".into()),
        );
        let promise = method(&subtle, "importKey")?.apply(&subtle, &args)?;
        Ok(Self(JsFuture::from(promise.dyn_into::<Promise>()?).await?))
    }

    /// Runs `job`: its sealed value, as `KeyRing::seal_job` would write it.
    pub async fn seal(&self, job: &SealJob) -> Result<Sealed, JsValue> {
        let subtle = subtle()?;
        let algorithm = Object::new();
        Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into())?;
        Reflect::set(
            &algorithm,
            &"iv".into(),
            &Uint8Array::from(&job.nonce()[..]),
        )?;
        Reflect::set(
            &algorithm,
            &"additionalData".into(),
            &Uint8Array::from(job.aad()),
        )?;
        let args = Array::of3(&algorithm, &self.0, &Uint8Array::from(job.plaintext()));
        let promise = method(&subtle, "encrypt")?.apply(&subtle, &args)?;
        let output = JsFuture::from(promise.dyn_into::<Promise>()?).await?;
        Ok(job.finish(&Uint8Array::new(&output).to_vec()))
    }
}

/// `crypto.subtle`.
fn subtle() -> Result<Object, JsValue> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into())?;
    Reflect::get(&crypto, &"subtle".into())?.dyn_into()
}

fn method(object: &Object, name: &str) -> Result<Function, JsValue> {
    Reflect::get(object, &name.into())?.dyn_into()
}
