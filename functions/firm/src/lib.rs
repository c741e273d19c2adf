//! The firm module worker. Reachable only through the gateway's service binding; it
//! still verifies the caller's token itself.

use worker::{event, Context, Env, MessageBatch};

mod handlers;

edge::module_worker!(shared::api::FIRM, handlers::dispatch);

#[event(queue)]
async fn queue(
    batch: MessageBatch<serde_json::Value>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    let db = edge::D1::from_env(&env).map_err(|e| worker::Error::RustError(e.to_string()))?;
    edge::events::consume(batch, shared::firm::consumer::CONSUMER, |event| {
        let db = &db;
        async move { shared::firm::consumer::handle(db, &event, edge::now()).await }
    })
    .await;
    Ok(())
}
