//! Mail to people: what to say (templates), and the outbox that gets it said. A
//! message is queued in the same batch as the change that causes it; the request
//! that made it tries to deliver it at once, and the cron sweep retries what failed
//! on a fixed backoff schedule until it gives up.
//!
//! Each attempt holds a claim on the message for [`CLAIM_MS`], so a sweep that runs
//! while the request (or another sweep) is sending it does not send it again: the
//! queuing request holds the first claim, and a sweep claims what it takes in the
//! same statement that finds it.

use serde::Deserialize;

use crate::kernel::error::DomainResult;
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::time::Instant;
use crate::stmt;

/// Waits before each retry (after the first, second … failure): the first retry is
/// the next cron sweep; after the last the message is abandoned and stays in the
/// outbox with its error for an operator.
pub const RETRY_AFTER_MS: &[i64] = &[0, 5 * 60_000, 15 * 60_000, 60 * 60_000, 4 * 60 * 60_000];
/// Messages one sweep sends at most.
pub const SWEEP_BATCH: i64 = 50;
/// How long an attempt owns a message: after it, an attempt that died unheard-of
/// is taken over by the next sweep.
pub const CLAIM_MS: i64 = 60_000;

/// A message to one person.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    /// Outbox id (`mail_…`).
    pub id: String,
    /// Recipient address.
    pub to_addr: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
}

/// Queues a message; returns its id and the statement to put in the change's batch.
pub fn enqueue(
    to: &str,
    subject: &str,
    body: &str,
    now: Instant,
) -> DomainResult<(String, Statement)> {
    insert(to, subject, body, now, "")
}

/// [`enqueue`] only if the statement just before it in the batch changed a row
/// (a claim that another run may have taken first).
pub fn enqueue_if_changed(
    to: &str,
    subject: &str,
    body: &str,
    now: Instant,
) -> DomainResult<(String, Statement)> {
    insert(to, subject, body, now, " WHERE changes() > 0")
}

fn insert(
    to: &str,
    subject: &str,
    body: &str,
    now: Instant,
    guard: &'static str,
) -> DomainResult<(String, Statement)> {
    let id = new_id("mail", now.millis())?;
    let statement = Statement::new(
        format!(
            "INSERT INTO kernel_mail_outbox (id, to_addr, subject, body_text, created_at, next_attempt_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6{guard}"
        ),
        vec![
            id.as_str().into(),
            to.into(),
            subject.into(),
            body.into(),
            now.millis().into(),
            (now.millis() + CLAIM_MS).into(),
        ],
    );
    Ok((id, statement))
}

/// Claims the messages due for a delivery attempt (oldest first, at most
/// [`SWEEP_BATCH`]) for [`CLAIM_MS`], in one statement, so two sweeps never take the
/// same message.
pub async fn claim_due(db: &impl Sql, now: Instant) -> DomainResult<Vec<Message>> {
    query_as(
        db,
        stmt!(
            "UPDATE kernel_mail_outbox SET next_attempt_at = ?1 + ?4
              WHERE id IN (SELECT id FROM kernel_mail_outbox
                            WHERE sent_at IS NULL AND next_attempt_at <= ?1 AND attempts <= ?2
                            ORDER BY next_attempt_at LIMIT ?3)
          RETURNING id, to_addr, subject, body_text",
            now.millis(),
            RETRY_AFTER_MS.len() as i64,
            SWEEP_BATCH,
            CLAIM_MS
        ),
    )
    .await
}

/// Messages this request queued and still holds the claim on (unsent ones among `ids`).
pub async fn queued(db: &impl Sql, ids: &[String]) -> DomainResult<Vec<Message>> {
    let mut messages = Vec::new();
    for id in ids {
        messages.extend(
            query_as::<Message>(
                db,
                stmt!(
                    "SELECT id, to_addr, subject, body_text FROM kernel_mail_outbox WHERE id = ?1 AND sent_at IS NULL",
                    id.as_str()
                ),
            )
            .await?,
        );
    }
    Ok(messages)
}

/// Records a delivery and forgets the body (it may hold a single-use link).
pub fn mark_sent(id: &str, provider_id: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE kernel_mail_outbox SET sent_at = ?1, provider_id = ?2, body_text = '', attempts = attempts + 1, last_error = NULL
          WHERE id = ?3",
        now.millis(),
        provider_id,
        id
    )
}

/// Records a failed attempt and schedules the next one from [`RETRY_AFTER_MS`].
pub fn mark_failed(id: &str, error: &str, now: Instant) -> Statement {
    let schedule = RETRY_AFTER_MS
        .iter()
        .enumerate()
        .map(|(i, ms)| format!("WHEN {i} THEN {ms}"))
        .collect::<Vec<_>>()
        .join(" ");
    Statement::new(
        format!(
            "UPDATE kernel_mail_outbox SET attempts = attempts + 1, last_error = ?1,
                    next_attempt_at = ?2 + (CASE attempts {schedule} ELSE 0 END)
              WHERE id = ?3"
        ),
        vec![
            error.chars().take(500).collect::<String>().into(),
            now.millis().into(),
            id.into(),
        ],
    )
}

/// What the product says, in plain words.
pub mod templates {
    /// The password-reset message.
    pub fn password_reset(app_url: &str, token: &str) -> (String, String) {
        (
            "Reset your Firmament password".to_owned(),
            format!(
                "Someone asked to reset the password of this Firmament account.\n\n\
                 To choose a new password, open this link within the next hour:\n{app_url}/reset-password#token={token}\n\n\
                 Resetting signs you out everywhere. If you did not ask for this, ignore this message: \
                 your password stays as it is."
            ),
        )
    }

    /// The e-mail verification message.
    pub fn email_verification(app_url: &str, token: &str) -> (String, String) {
        (
            "Confirm your e-mail address for Firmament".to_owned(),
            format!(
                "Please confirm that this address belongs to you by opening this link within the next hour:\n\
                 {app_url}/verify-email#token={token}\n\nIf you did not create a Firmament account, ignore this message."
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_token_in_the_fragment() {
        let (subject, body) = templates::password_reset("https://app.example", "frs_abc");
        assert!(subject.contains("Reset"));
        assert!(body.contains("https://app.example/reset-password#token=frs_abc"));
    }

    #[test]
    fn retry_schedule_grows() {
        assert!(RETRY_AFTER_MS.windows(2).all(|w| w[0] < w[1]));
        let failed = mark_failed(
            "mail_1",
            "boom",
            crate::kernel::time::Instant::from_millis(0),
        );
        assert!(failed.sql.contains("WHEN 1 THEN 300000"));
    }
}
