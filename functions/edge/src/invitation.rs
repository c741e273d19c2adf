//! Accepting an invitation, for any kind of it (a firm's staff, a client's portal):
//! who the invitee becomes. Someone with an account proves it by accepting while
//! signed in as themselves; someone without one gets an account made from the
//! acceptance's name and password, its address proved by the mailed link.

use shared::auth::{recovery, users};
use shared::firm::invitations::Acceptance;
use shared::kernel::id;
use shared::kernel::sql::Statement;
use shared::kernel::validate::EmailAddress;
use shared::DomainError;
use worker::{Env, Request};

use crate::{RequestContext, D1};

/// The person accepting, and what must be written for them.
pub struct Joining {
    /// Their user id.
    pub user_id: String,
    /// Statements creating their account, if it is new (empty otherwise).
    pub statements: Vec<Statement>,
    /// Whether the account was created by this acceptance.
    pub new_account: bool,
}

/// Works out who accepts the invitation addressed to `invited`.
pub async fn joining(
    db: &D1,
    env: &Env,
    req: &Request,
    cx: &RequestContext,
    invited: &str,
    acceptance: &Acceptance,
) -> Result<Joining, DomainError> {
    let email = EmailAddress::parse("email", invited)?;
    match recovery::account_for(db, &email).await? {
        Some((user_id, _)) => {
            let claims = cx.claims(req, env).await.map_err(|_| {
                DomainError::Unauthenticated(format!(
                    "sign in as {invited} to accept this invitation"
                ))
            })?;
            if claims.person()? != user_id {
                return Err(DomainError::Forbidden(
                    "this invitation is for another account".into(),
                ));
            }
            Ok(Joining {
                user_id,
                statements: Vec::new(),
                new_account: false,
            })
        }
        None => {
            let (name, password) = acceptance.new_account(&email)?;
            let user_id = id::new_id("usr", cx.now.millis())?;
            let statements = vec![
                users::insert(&user_id, &email, &name, &password.hash()?, cx.now),
                // The mailed link proved the address.
                recovery::mark_verified(&user_id, cx.now),
            ];
            Ok(Joining {
                user_id,
                statements,
                new_account: true,
            })
        }
    }
}
