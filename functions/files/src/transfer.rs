//! Moving bytes between a request and R2 without holding them: a body is read as
//! the stream it arrives in, its first bytes checked against the declaration
//! before anything is stored, hashed as it passes, and handed to R2 with its
//! declared length (a body shorter or longer than declared fails the write).

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::{stream, StreamExt};
use sha2::{Digest, Sha256};
use shared::files::rules::{self, Declared};
use shared::DomainError;
use worker::crypto::{DigestStream, DigestStreamAlgorithm};
use worker::{Bucket, ByteStream, FixedLengthStream, Request};

/// How many leading bytes are sniffed (magic numbers and Office parts).
const HEAD: usize = 8 * 1024;

/// A body on its way to R2, its head already checked.
pub struct Incoming {
    head: Vec<u8>,
    rest: ByteStream,
    length: u64,
}

fn unreadable() -> DomainError {
    DomainError::BadRequest("the request body could not be read to its end".into())
}

/// Checks the request's declared length (`expected` bytes exactly) and, when
/// `sniff` is given, its first bytes against the declaration: a program is
/// refused and bytes of another type are a 415, before a byte is stored.
pub async fn incoming(
    req: &mut Request,
    expected: u64,
    sniff: Option<&Declared>,
) -> Result<Incoming, DomainError> {
    let declared = edge::http::require_length(req, rules::SINGLE_MAX)?;
    if declared != expected {
        return Err(DomainError::invalid(
            "content-length",
            "mismatch",
            format!(
                "this upload takes exactly {expected} bytes here; the body declares {declared}"
            ),
        ));
    }
    let mut rest = req.stream().map_err(|_| unreadable())?;
    let mut head = Vec::new();
    let wanted = HEAD.min(usize::try_from(expected).unwrap_or(HEAD));
    while head.len() < wanted {
        match rest.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(unreadable()),
            None => break,
        }
    }
    if let Some(declared) = sniff {
        rules::check_bytes(declared, &head)?;
    }
    Ok(Incoming {
        head,
        rest,
        length: expected,
    })
}

/// What was stored.
pub struct Stored {
    /// Hex SHA-256 of the bytes (single uploads; parts are hashed whole at completion).
    pub sha256: String,
}

impl Incoming {
    /// The body as R2 takes it, hashing each chunk on its way.
    fn into_data(self) -> (FixedLengthStream, Rc<RefCell<Sha256>>) {
        let hasher = Rc::new(RefCell::new(Sha256::new()));
        let seen = Rc::clone(&hasher);
        let chunks = stream::once(async move { Ok(self.head) })
            .chain(self.rest)
            .inspect(move |chunk| {
                if let Ok(bytes) = chunk {
                    seen.borrow_mut().update(bytes);
                }
            });
        (FixedLengthStream::wrap(chunks, self.length), hasher)
    }

    /// Writes the whole object under `key`; the uploader's expected SHA-256, when
    /// given, is checked by R2 itself (a mismatch stores nothing).
    pub async fn put(
        self,
        bucket: &Bucket,
        key: &str,
        media_type: &str,
        expected_sha256: Option<&str>,
    ) -> Result<Stored, DomainError> {
        let (data, hasher) = self.into_data();
        let mut put = bucket.put(key, data).http_metadata(worker::HttpMetadata {
            content_type: Some(media_type.to_owned()),
            ..Default::default()
        });
        if let Some(hex) = expected_sha256.and_then(decode_hex) {
            put = put.sha256(hex);
        }
        put.execute()
            .await
            .map_err(|e| write_failed(&e.to_string()))?;
        let digest = hasher.borrow_mut().clone().finalize();
        Ok(Stored {
            sha256: hex(&digest),
        })
    }

    /// Writes part `n` of the multipart upload `upload_id` of `key`; answers R2's etag.
    pub async fn put_part(
        self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        n: u16,
    ) -> Result<String, DomainError> {
        let upload = bucket
            .resume_multipart_upload(key, upload_id)
            .map_err(|e| DomainError::Unavailable(format!("R2 multipart: {e}")))?;
        let (data, _) = self.into_data();
        let part = upload
            .upload_part(n, data)
            .await
            .map_err(|e| write_failed(&e.to_string()))?;
        Ok(part.etag())
    }
}

/// A write that failed: the body ended early or ran long (the client's doing),
/// or R2 refused the declared checksum.
fn write_failed(error: &str) -> DomainError {
    if error.contains("sha256") || error.contains("checksum") || error.contains("digest") {
        DomainError::invalid(
            "sha256",
            "mismatch",
            "the bytes received do not have the declared sha256",
        )
    } else {
        DomainError::BadRequest(format!(
            "the body did not carry the declared bytes; send it again ({error})"
        ))
    }
}

/// The SHA-256 of the object under `key`, hashed by the runtime as R2 streams it
/// (none of the bytes cross into the worker).
pub async fn digest_object(bucket: &Bucket, key: &str) -> Result<String, DomainError> {
    let object = bucket
        .get(key)
        .execute()
        .await
        .map_err(|e| DomainError::Unavailable(format!("R2 read: {e}")))?
        .ok_or_else(|| DomainError::Unavailable(format!("R2 has no object {key}")))?;
    let body = object
        .body()
        .ok_or_else(|| DomainError::Unavailable("R2 object without a body".into()))?;
    let worker::ResponseBody::Stream(readable) = body
        .response_body()
        .map_err(|e| DomainError::Unavailable(format!("R2 body: {e}")))?
    else {
        return Err(DomainError::Unavailable("R2 body is not a stream".into()));
    };
    let sink = DigestStream::new(DigestStreamAlgorithm::Sha256);
    let piped = readable.pipe_to(sink.raw());
    worker::wasm_bindgen_futures::JsFuture::from(piped)
        .await
        .map_err(|e| DomainError::Unavailable(format!("hashing: {e:?}")))?;
    let digest = sink
        .digest()
        .await
        .map_err(|e| DomainError::Unavailable(format!("hashing: {e}")))?;
    Ok(hex(&digest.to_vec()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}
