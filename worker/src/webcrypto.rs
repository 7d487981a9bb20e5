//! AES-256-GCM through the runtime's WebCrypto, for the one large value a request seals:
//! the recorded answer of an idempotent request.
//!
//! The wasm build's AES-GCM is software (fixsliced AES, software GHASH): it sealed 3,200
//! bytes in 49 µs (the wasm timed on node), and a 100-app batch's recorded answer is about
//! 20 KB after compression. The runtime's WebCrypto is native code on the CPU's AES
//! instructions: a call cost 2.5 µs in workerd whether it sealed 32 bytes or 3,200 (20,000
//! calls of each, CPU read from `/proc`). So recorded answers are sealed here; a single
//! 32-byte secret (1.1 µs in software), where the call's fixed cost and its promise
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
