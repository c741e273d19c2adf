//! The consumer loop of a queue worker: each message's text parsed into the work it
//! asks for and handled a few at a time; a message that asks for nothing known is
//! logged and acknowledged, a handler error makes the queue retry that message.

use std::future::Future;

use futures_util::future::join_all;
use serde_json::json;
use shared::DomainError;
use worker::{MessageBatch, MessageExt as _};

/// Handles every message of `batch`, `concurrency` at a time: `parse` turns a
/// message's text into work (`None`: dropped with a warning), `handle` does it.
pub async fn consume<T, P, H, Fut>(
    batch: &MessageBatch<serde_json::Value>,
    concurrency: usize,
    worker_name: &str,
    parse: P,
    handle: H,
) where
    P: Fn(&str) -> Option<T>,
    H: Fn(T) -> Fut,
    Fut: Future<Output = Result<(), DomainError>>,
{
    let messages: Vec<_> = batch.raw_iter().collect();
    for chunk in messages.chunks(concurrency.max(1)) {
        join_all(chunk.iter().map(|message| {
            let text = message.body().as_string().unwrap_or_default();
            let work = parse(&text);
            let handle = &handle;
            async move {
                let Some(work) = work else {
                    crate::log::event(
                        "warn",
                        worker_name,
                        "dropped a message that asks for nothing this worker does",
                        json!({"id": message.id()}),
                    );
                    message.ack();
                    return;
                };
                let started = crate::now();
                let fields = json!({"message.id": message.id()});
                match handle(work).await {
                    Ok(()) => {
                        crate::log::task(worker_name, "queue", worker_name, started, None, fields);
                        message.ack();
                    }
                    Err(e) => {
                        // The queue retries it.
                        let error = e.to_string();
                        crate::log::task(
                            worker_name,
                            "queue",
                            worker_name,
                            started,
                            Some(&error),
                            fields,
                        );
                        message.retry();
                    }
                }
            }
        }))
        .await;
    }
}
