//! Prints a fresh access token for a member of a local firm, signed with this
//! machine's development key (`functions/firm/.dev.vars`). For `scripts/dev` only:
//! the deployed system issues tokens through sign-in, never through this tool.
//!
//! Usage: dev-token <firm_id> <user_id> [role]

use shared::auth::claims::AccessClaims;
use shared::auth::roles::{Flag, Role};
use shared::auth::token::TokenSigner;
use shared::kernel::time::Instant;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(firm), Some(user)) = (args.get(1), args.get(2)) else {
        return Err("usage: dev-token <firm_id> <user_id> [role]".into());
    };
    let role = Role::parse("role", args.get(3).map_or("firm_admin", String::as_str))
        .map_err(|e| e.detail())?;
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions/firm/.dev.vars");
    let vars = std::fs::read_to_string(&root)
        .map_err(|e| format!("{}: {e} (run scripts/keys)", root.display()))?;
    let key = vars
        .lines()
        .find_map(|l| l.strip_prefix("JWT_SIGNING_KEY="))
        .ok_or("JWT_SIGNING_KEY missing from .dev.vars")?;
    let signer =
        TokenSigner::from_config(key, "firmament", "firmament-api").map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    let flags = if role == Role::FirmAdmin {
        Flag::ALL.to_vec()
    } else {
        Vec::new()
    };
    let claims = AccessClaims {
        sub: user.clone(),
        firm: firm.clone(),
        role,
        client: None,
        flags,
        sid: format!("ses_dev_{now}"),
        amr: vec!["pwd".into()],
        mfa_at: None,
        iss: String::new(),
        aud: String::new(),
    };
    let token = signer
        .issue(claims, Instant::from_millis(now))
        .map_err(|e| e.detail())?;
    println!("{}", token.token);
    Ok(())
}
