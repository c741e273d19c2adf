//! One delivery attempt: claim the delivery, check the endpoint (state, rate
//! limit), resolve its host over DNS-over-HTTPS and refuse private addresses, sign
//! the message's exact bytes with every live secret, POST it without following
//! redirects, within the endpoint's timeout, and record what came of it.

use std::net::IpAddr;
use std::time::Duration;

use edge::{config, D1};
use futures_util::future::{join, select, Either};
use serde_json::{json, Map, Value};
use shared::kernel::events::EventEnvelope;
use shared::kernel::retry::unit_sample;
use shared::kernel::secrets::SecretBox;
use shared::kernel::sql::Statement;
use shared::kernel::time::Instant;
use shared::kernel::vault::{self, Keyring};
use shared::webhooks::delivery::{self, Attempted, Claimed, Next, Send};
use shared::webhooks::destination::{
    self, first_blocked, read_doh_answer, Destination, Policy, Resolved,
};
use shared::webhooks::endpoint::{self, Row};
use shared::webhooks::signature::{self, Secret};
use shared::webhooks::{EndpointStatus, ErrorClass, EXCERPT_CHARS};
use shared::DomainError;
use worker::{AbortController, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

/// The `user-agent` of every delivery.
const USER_AGENT: &str = "Firmament-Webhooks/1.0";
/// Most response headers kept with an attempt.
const MAX_HEADERS: usize = 50;

/// Makes the attempt `send` asks for, if it is still due.
pub(crate) async fn attempt(
    env: &Env,
    db: &D1,
    root: &SecretBox,
    policy: Policy,
    send: &Send,
) -> Result<(), DomainError> {
    let now = edge::now();
    let token = shared::kernel::id::new_id("snd", now.millis())?;
    let Some(claimed) = delivery::claim(db, send, &token, now).await? else {
        return Ok(());
    };
    let endpoint = match endpoint::by_id(db, &claimed.endpoint_id).await? {
        Some(e) if e.status == EndpointStatus::Active => e,
        Some(e) if e.status == EndpointStatus::Paused => {
            // Kept until the endpoint is resumed, which sends it.
            delivery::release(db, &claimed, now, now).await?;
            return Ok(());
        }
        _ => return delivery::cancel(db, &claimed, now).await,
    };
    if let Some(limit) = endpoint.rate_limit_per_sec {
        if delivery::ahead_of(db, &claimed, now).await? >= limit {
            // Past the endpoint's rate: wait a second, never drop.
            if let Some(later) =
                delivery::release(db, &claimed, now.plus_millis(1_000), now).await?
            {
                crate::start(env, &[later], now, &claimed.id).await;
            }
            return Ok(());
        }
    }
    let keys = vault::existing(db, root, &endpoint.firm_id).await?;
    let attempted = deliver(env, policy, &keys, &endpoint, &claimed).await?;
    let finished = edge::now();
    let (next, events) =
        delivery::record(db, &claimed, &endpoint, &attempted, finished, unit_sample()).await?;
    edge::log::event(
        if attempted.succeeded() {
            "info"
        } else {
            "warn"
        },
        &claimed.id,
        "webhook attempt",
        json!({"endpoint_id": endpoint.id, "message_id": claimed.message_id, "attempt": claimed.number(),
               "status": attempted.status, "error_class": attempted.error_class, "ms": attempted.duration_ms,
               "next": format!("{next:?}")}),
    );
    publish(env, db, &events, finished, &claimed.id).await;
    match next {
        Next::Retry(later) => crate::start(env, &[later], finished, &claimed.id).await,
        Next::Gone => {
            let disabled = Disabled {
                firm_id: &endpoint.firm_id,
                endpoint_id: &endpoint.id,
                name: &endpoint.name,
                url: &endpoint.url,
                why: "it answered 410 Gone, which asks senders to stop",
            };
            tell_admins(env, db, &disabled, Vec::new(), finished, &claimed.id).await?;
        }
        Next::Succeeded | Next::Exhausted | Next::Lost => {}
    }
    Ok(())
}

async fn publish(env: &Env, db: &D1, events: &[EventEnvelope], now: Instant, request_id: &str) {
    if !events.is_empty() {
        edge::events::publish(env, db, events, now, request_id).await;
    }
}

/// An endpoint that stopped receiving without a person asking, and why (for its
/// firm's administrators).
pub(crate) struct Disabled<'a> {
    /// Its firm.
    pub firm_id: &'a str,
    /// `whe_…`.
    pub endpoint_id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its URL.
    pub url: &'a str,
    /// Why, as the end of "… because {why}".
    pub why: &'a str,
}

/// Tells the firm's administrators that an endpoint was disabled, through the
/// notifications module: the request is written in one batch with `change` (the
/// disabling itself, when the caller has not written it yet) and published.
pub(crate) async fn tell_admins(
    env: &Env,
    db: &D1,
    disabled: &Disabled<'_>,
    change: Vec<Statement>,
    now: Instant,
    request_id: &str,
) -> Result<(), DomainError> {
    let app_url = config::text(env, "APP_URL").unwrap_or_default();
    let link = format!("{app_url}/settings/webhooks/{}", disabled.endpoint_id);
    let event = delivery::disabled_notice(
        db,
        disabled.firm_id,
        [
            ("name", disabled.name),
            ("url", disabled.url),
            ("why", disabled.why),
            ("link", &link),
        ],
        now,
    )
    .await?;
    edge::events::write_and_publish(env, db, change, &[event], now, request_id).await
}

/// Sends the claimed delivery to `endpoint`. An `Err` is our own fault (a secret
/// that does not open): the queue retries the message.
async fn deliver(
    env: &Env,
    policy: Policy,
    keys: &Keyring,
    endpoint: &Row,
    claimed: &Claimed,
) -> Result<Attempted, DomainError> {
    let started = edge::now();
    let failed = |class: ErrorClass, error: String| {
        Attempted::failed(
            started.millis(),
            edge::now().millis() - started.millis(),
            class,
            error,
        )
    };
    let target = match judge(env, &endpoint.url, policy).await {
        Verdict::Go(target) => target,
        Verdict::Refused(class, why) => return Ok(failed(class, why)),
        Verdict::Unknown(why) => return Ok(failed(ErrorClass::Dns, why)),
    };
    let secrets = endpoint.live_secrets(keys, started)?;
    let refs: Vec<&Secret> = secrets.iter().collect();
    let signed = signature::sign(
        &claimed.message_id,
        started.secs(),
        claimed.body.as_bytes(),
        &refs,
    );
    let headers = Headers::new();
    for (name, value) in endpoint.custom_headers(keys)? {
        let _ = headers.set(&name, &value);
    }
    let _ = headers.set("content-type", "application/json");
    let _ = headers.set("user-agent", USER_AGENT);
    for (name, value) in signed.headers() {
        let _ = headers.set(name, &value);
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual)
        .with_body(Some(claimed.body.clone().into()));
    let request = match Request::new_with_init(&target.url, &init) {
        Ok(r) => r,
        Err(e) => return Ok(failed(ErrorClass::Connection, format!("request: {e}"))),
    };
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async {
        let mut answer = Fetch::Request(request).send_with_signal(&signal).await?;
        let status = answer.status_code();
        let headers = answer_headers(answer.headers());
        let retry_after = answer
            .headers()
            .get("retry-after")
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<i64>().ok());
        let text = answer.text().await.unwrap_or_default();
        Ok::<_, worker::Error>((status, headers, retry_after, text))
    };
    let timeout = u64::try_from(endpoint.timeout_secs).unwrap_or(15);
    let timer = worker::Delay::from(Duration::from_secs(timeout));
    let result = match select(Box::pin(exchange), Box::pin(timer)).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(((), _)) => {
            controller.abort();
            return Ok(failed(
                ErrorClass::Timeout,
                format!("no answer within the endpoint's {timeout} s timeout"),
            ));
        }
    };
    let duration = edge::now().millis() - started.millis();
    Ok(match result {
        Ok((status, headers, retry_after, text)) => {
            let mut attempted = Attempted::answered(started.millis(), duration, status, &text);
            attempted.headers = Some(headers);
            attempted.retry_after_secs = retry_after;
            attempted
        }
        Err(e) => {
            let text = e.to_string();
            let lower = text.to_ascii_lowercase();
            let class = if ["certificate", "tls", "ssl", "handshake"]
                .iter()
                .any(|w| lower.contains(w))
            {
                ErrorClass::Tls
            } else {
                ErrorClass::Connection
            };
            Attempted::failed(
                started.millis(),
                duration,
                class,
                text.chars().take(EXCERPT_CHARS).collect::<String>(),
            )
        }
    })
}

/// Whether a delivery may go to a URL now.
pub(crate) enum Verdict {
    /// Yes: the checked destination.
    Go(Destination),
    /// No, for this reason (`blocked_destination`, or `dns` for a name with no address).
    Refused(ErrorClass, String),
    /// The resolver did not answer.
    Unknown(String),
}

/// Judges `url` as a delivery sees it: the URL's own rules, then every address
/// its host resolves to (over DNS-over-HTTPS), under `policy`.
pub(crate) async fn judge(env: &Env, url: &str, policy: Policy) -> Verdict {
    let target = match destination::parse("url", url, policy) {
        Ok(t) => t,
        Err(e) => return Verdict::Refused(ErrorClass::BlockedDestination, e.detail()),
    };
    if !target.needs_lookup(policy) {
        return Verdict::Go(target);
    }
    match resolve(env, &target.host).await {
        Ok(Resolved::Addresses(addresses)) => match first_blocked(&addresses, policy) {
            Some((ip, why)) => Verdict::Refused(
                ErrorClass::BlockedDestination,
                format!(
                    "{} resolves to {ip}, a {why} address; deliveries never go there",
                    target.host
                ),
            ),
            None => Verdict::Go(target),
        },
        Ok(Resolved::NoAddress) => Verdict::Refused(
            ErrorClass::Dns,
            format!("{} does not resolve to any address", target.host),
        ),
        Err(e) => Verdict::Unknown(e),
    }
}

fn answer_headers(headers: &Headers) -> Value {
    let map: Map<String, Value> = headers
        .entries()
        .take(MAX_HEADERS)
        .map(|(k, v)| (k, Value::String(v.chars().take(1_000).collect())))
        .collect();
    Value::Object(map)
}

/// Resolves `host` over DNS-over-HTTPS (`DOH_URL`, JSON answers): its A and AAAA
/// records together. `Err` when the resolver did not answer.
pub(crate) async fn resolve(env: &Env, host: &str) -> Result<Resolved, String> {
    let base = config::text(env, "DOH_URL")
        .unwrap_or_else(|| "https://cloudflare-dns.com/dns-query".into());
    let (a, aaaa) = join(lookup(&base, host, "A"), lookup(&base, host, "AAAA")).await;
    let mut addresses: Vec<IpAddr> = Vec::new();
    for answer in [a?, aaaa?] {
        if let Resolved::Addresses(found) = answer {
            addresses.extend(found);
        }
    }
    Ok(if addresses.is_empty() {
        Resolved::NoAddress
    } else {
        Resolved::Addresses(addresses)
    })
}

async fn lookup(base: &str, host: &str, kind: &str) -> Result<Resolved, String> {
    let url = format!("{base}?name={host}&type={kind}");
    let headers = Headers::new();
    let _ = headers.set("accept", "application/dns-json");
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let request =
        Request::new_with_init(&url, &init).map_err(|e| format!("resolver request: {e}"))?;
    let timer = worker::Delay::from(Duration::from_secs(5));
    let answer = async {
        let mut response = Fetch::Request(request)
            .send()
            .await
            .map_err(|e| format!("resolver unreachable: {e}"))?;
        if response.status_code() != 200 {
            return Err(format!("resolver answered {}", response.status_code()));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("resolver answer: {e}"))?;
        read_doh_answer(&body).ok_or_else(|| "the resolver's answer is not DNS JSON".to_owned())
    };
    match select(Box::pin(answer), Box::pin(timer)).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(format!("the resolver did not answer for {host} within 5 s")),
    }
}
