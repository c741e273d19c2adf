//! Moving bytes between a request and R2 without holding them: a body is read as
//! the stream it arrives in, its first bytes checked against the declaration
//! before anything is stored, hashed as it passes, sealed segment by segment
//! (`seal.rs`) and handed to R2 with the sealed length (a body shorter or longer
//! than declared fails the write and stores nothing). Reading opens the sealed
//! segments a byte range needs, and nothing more.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::{stream, Stream, StreamExt};
use sha2::{Digest, Sha256};
use shared::files::rules::{self, Declared};
use shared::files::seal::{self as layout, OVERHEAD, SEGMENT};
use shared::DomainError;
use worker::crypto::{DigestStream, DigestStreamAlgorithm};
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Bucket, ByteStream, FixedLengthStream, Request};

use crate::seal::Sealer;

/// How many leading bytes are sniffed (magic numbers and Office parts).
const HEAD: usize = 8 * 1024;
/// Segment size as a buffer length.
const SEGMENT_BYTES: usize = SEGMENT as usize;

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

/// The state of a body being sealed: what has arrived but is not yet a whole
/// segment, the next segment's index, the plaintext hash.
struct Sealing {
    buffer: Vec<u8>,
    rest: ByteStream,
    ended: bool,
    failed: bool,
    index: u64,
    sealer: Rc<Sealer>,
    hasher: Rc<RefCell<Sha256>>,
}

impl Sealing {
    /// The next sealed segment, or `None` at the end.
    async fn next(mut self) -> Option<(worker::Result<Vec<u8>>, Self)> {
        if self.failed {
            return None;
        }
        while self.buffer.len() < SEGMENT_BYTES && !self.ended {
            match self.rest.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    self.failed = true;
                    return Some((Err(e), self));
                }
                None => self.ended = true,
            }
        }
        if self.buffer.is_empty() {
            return None;
        }
        let take = SEGMENT_BYTES.min(self.buffer.len());
        let plain: Vec<u8> = self.buffer.drain(..take).collect();
        self.hasher.borrow_mut().update(&plain);
        match self.sealer.seal(self.index, &plain).await {
            Ok(sealed) => {
                self.index += 1;
                Some((Ok(sealed), self))
            }
            Err(e) => {
                self.failed = true;
                Some((Err(worker::Error::RustError(e.to_string())), self))
            }
        }
    }
}

/// What was stored.
pub struct Stored {
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

impl Incoming {
    /// The body sealed from segment `first`, as R2 takes it, with the plaintext hash.
    fn sealed(self, sealer: Rc<Sealer>, first: u64) -> (FixedLengthStream, Rc<RefCell<Sha256>>) {
        let hasher = Rc::new(RefCell::new(Sha256::new()));
        let state = Sealing {
            buffer: self.head,
            rest: self.rest,
            ended: false,
            failed: false,
            index: first,
            sealer,
            hasher: Rc::clone(&hasher),
        };
        let segments = stream::unfold(state, Sealing::next);
        (
            FixedLengthStream::wrap(segments, layout::sealed_len(self.length)),
            hasher,
        )
    }

    /// Seals the whole content under `key`; answers its SHA-256.
    pub async fn put(
        self,
        bucket: &Bucket,
        key: &str,
        sealer: Rc<Sealer>,
    ) -> Result<Stored, DomainError> {
        let (data, hasher) = self.sealed(sealer, 0);
        bucket
            .put(key, data)
            .execute()
            .await
            .map_err(|e| write_failed(&e.to_string()))?;
        let digest = hasher.borrow_mut().clone().finalize();
        Ok(Stored {
            sha256: hex(&digest),
        })
    }

    /// Seals part `n` (its first segment `first`) of the multipart upload
    /// `upload_id` of `key`; answers R2's etag.
    pub async fn put_part(
        self,
        bucket: &Bucket,
        (key, upload_id): (&str, &str),
        (n, first): (u16, u64),
        sealer: Rc<Sealer>,
    ) -> Result<String, DomainError> {
        let upload = bucket
            .resume_multipart_upload(key, upload_id)
            .map_err(|e| DomainError::Unavailable(format!("R2 multipart: {e}")))?;
        let (data, _) = self.sealed(sealer, first);
        let part = upload
            .upload_part(n, data)
            .await
            .map_err(|e| write_failed(&e.to_string()))?;
        Ok(part.etag())
    }
}

/// A write that failed: the body ended early or ran long (the client's doing).
fn write_failed(error: &str) -> DomainError {
    DomainError::BadRequest(format!(
        "the body did not carry the declared bytes; send it again ({error})"
    ))
}

/// The state of a sealed span being opened.
struct Opening {
    reader: ByteStream,
    buffer: Vec<u8>,
    index: u64,
    size: u64,
    skip: u64,
    left: u64,
    sealer: Rc<Sealer>,
}

impl Opening {
    /// The next stretch of plaintext, or `None` once the span is sent.
    async fn next(mut self) -> Option<(Result<Uint8Array, DomainError>, Self)> {
        if self.left == 0 {
            return None;
        }
        let need = usize::try_from(layout::segment_len(self.size, self.index) + OVERHEAD)
            .unwrap_or(usize::MAX);
        while self.buffer.len() < need {
            match self.reader.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                _ => {
                    self.left = 0;
                    let e = DomainError::Unavailable("a sealed object ended early".into());
                    return Some((Err(e), self));
                }
            }
        }
        let sealed: Vec<u8> = self.buffer.drain(..need).collect();
        match self.sealer.open_js(self.index, &sealed).await {
            Ok(plain) => {
                let start = self.skip.min(u64::from(plain.length()));
                let end = (start + self.left).min(u64::from(plain.length()));
                let piece = plain.subarray(start as u32, end as u32);
                self.left -= end - start;
                self.skip = 0;
                self.index += 1;
                Some((Ok(piece), self))
            }
            Err(e) => {
                self.left = 0;
                Some((Err(e), self))
            }
        }
    }
}

/// The plaintext of `length` bytes from `offset` of the sealed object `key` (of
/// `size` bytes), opened segment by segment as R2 streams them.
pub async fn open_span(
    bucket: &Bucket,
    key: &str,
    size: u64,
    (offset, length): (u64, u64),
    sealer: Rc<Sealer>,
) -> Result<impl Stream<Item = Result<Uint8Array, DomainError>>, DomainError> {
    let span = layout::span(size, offset, length);
    let object = bucket
        .get(key)
        .range(worker::Range::OffsetWithLength {
            offset: span.sealed_offset,
            length: span.sealed_length,
        })
        .execute()
        .await
        .map_err(|e| DomainError::Unavailable(format!("R2 read: {e}")))?
        .ok_or_else(|| DomainError::Unavailable("the file's bytes are missing".into()))?;
    let reader = object
        .body()
        .ok_or_else(|| DomainError::Unavailable("R2 object without a body".into()))?
        .stream()
        .map_err(|e| DomainError::Unavailable(format!("R2 body: {e}")))?;
    let state = Opening {
        reader,
        buffer: Vec::new(),
        index: span.first,
        size,
        skip: span.skip,
        left: span.take,
        sealer,
    };
    Ok(stream::unfold(state, Opening::next))
}

/// The plaintext span as a response body of exactly `length` bytes.
pub fn body_of(
    plain: impl Stream<Item = Result<Uint8Array, DomainError>> + 'static,
    length: u64,
) -> worker::ResponseBody {
    let bytes = plain.map(|piece| {
        piece
            .map(|p| p.to_vec())
            .map_err(|e| worker::Error::RustError(e.to_string()))
    });
    let fixed: worker::worker_sys::FixedLengthStream =
        FixedLengthStream::wrap(bytes, length).into();
    worker::ResponseBody::Stream(fixed.readable())
}

/// The SHA-256 of a sealed object's content: the runtime opens each segment
/// and hashes it (`crypto.DigestStream`), so no plaintext is hashed in wasm.
pub async fn digest_object(
    bucket: &Bucket,
    key: &str,
    size: u64,
    sealer: Rc<Sealer>,
) -> Result<String, DomainError> {
    let mut plain = Box::pin(open_span(bucket, key, size, (0, size), sealer).await?);
    let sink = DigestStream::new(DigestStreamAlgorithm::Sha256);
    let writable: &web_sys::WritableStream = sink.raw().unchecked_ref();
    let writer = writable
        .get_writer()
        .map_err(|e| DomainError::Unavailable(format!("hashing: {e:?}")))?;
    while let Some(piece) = plain.next().await {
        JsFuture::from(writer.write_with_chunk(&piece?.into()))
            .await
            .map_err(|e| DomainError::Unavailable(format!("hashing: {e:?}")))?;
    }
    JsFuture::from(writer.close())
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
