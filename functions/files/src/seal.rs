//! Sealing a file's content with the runtime's WebCrypto: AES-256-GCM runs
//! natively (about twenty times faster than AES in wasm), one 64 KiB segment per
//! call, in the layout of `shared::files::seal`.

use shared::files::seal::{self as layout, NONCE};
use shared::kernel::vault::{Field, Keyring};
use shared::DomainError;
use web_sys::{AesGcmParams, CryptoKey, SubtleCrypto};
use worker::js_sys::{self, Array, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

/// One file's content key, imported for AES-GCM.
pub struct Sealer {
    subtle: SubtleCrypto,
    key: CryptoKey,
    file_id: String,
    /// Segments of the whole file (the last one's associated data says so).
    total: u64,
}

fn crypto_failed(what: &str, e: &JsValue) -> DomainError {
    DomainError::Unavailable(format!("{what}: {e:?}"))
}

impl Sealer {
    /// The sealer of file `file_id` (`size` bytes) under data-key `version` of
    /// `keys` (the firm's keyring): 410 when the firm's keys were destroyed.
    pub async fn new(
        keys: &Keyring,
        version: i64,
        file_id: &str,
        size: u64,
    ) -> Result<Self, DomainError> {
        let (_, raw) = keys.content_key(
            Some(version),
            Field::new("files_objects", "content", file_id),
        )?;
        let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let subtle = scope
            .crypto()
            .map_err(|e| crypto_failed("crypto", &e))?
            .subtle();
        let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
        let promise = subtle
            .import_key_with_str(
                "raw",
                &Uint8Array::from(&raw[..]),
                "AES-GCM",
                false,
                &usages,
            )
            .map_err(|e| crypto_failed("importing the content key", &e))?;
        let key: CryptoKey = JsFuture::from(promise)
            .await
            .map_err(|e| crypto_failed("importing the content key", &e))?
            .unchecked_into();
        Ok(Self {
            subtle,
            key,
            file_id: file_id.to_owned(),
            total: layout::segments(size),
        })
    }

    fn params(&self, index: u64, nonce: &[u8]) -> AesGcmParams {
        let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(nonce));
        let aad = layout::segment_aad(&self.file_id, index, self.total);
        params.set_additional_data(&Uint8Array::from(aad.as_bytes()));
        params
    }

    /// Segment `index` sealed: `nonce ‖ ciphertext ‖ tag`.
    pub async fn seal(&self, index: u64, plain: &[u8]) -> Result<Vec<u8>, DomainError> {
        let mut nonce = [0u8; NONCE as usize];
        shared::kernel::id::random_bytes(&mut nonce)?;
        let promise = self
            .subtle
            .encrypt_with_object_and_u8_array(&self.params(index, &nonce), &self.key, plain)
            .map_err(|e| crypto_failed("sealing", &e))?;
        let sealed = JsFuture::from(promise)
            .await
            .map_err(|e| crypto_failed("sealing", &e))?;
        let mut out = nonce.to_vec();
        out.extend(Uint8Array::new(&sealed).to_vec());
        Ok(out)
    }

    /// Segment `index` opened, as the runtime's bytes (no copy into wasm). A
    /// segment that does not open here is a store fault, never the caller's.
    pub async fn open_js(&self, index: u64, sealed: &[u8]) -> Result<Uint8Array, DomainError> {
        let (nonce, body) = sealed
            .split_at_checked(NONCE as usize)
            .ok_or_else(|| DomainError::Unavailable("a sealed segment is too short".into()))?;
        let promise = self
            .subtle
            .decrypt_with_object_and_u8_array(&self.params(index, nonce), &self.key, body)
            .map_err(|e| crypto_failed("opening", &e))?;
        let opened = JsFuture::from(promise).await.map_err(|_| {
            DomainError::Unavailable(format!(
                "segment {index} of {} does not open where it is",
                self.file_id
            ))
        })?;
        Ok(Uint8Array::new(&opened))
    }
}
