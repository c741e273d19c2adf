//! Every text the console shows, by key: one catalogue per language, English
//! first. A key missing from a language falls back to English; a key missing
//! from English shows as itself.

/// The English catalogue.
const EN: &[(&str, &str)] = &[
    ("app.name", "Firmament"),
    ("sign_in.title", "Sign in to Firmament"),
    ("sign_in.submit", "Sign in"),
    ("sign_in.working", "Signing in…"),
    (
        "sign_in.code_title",
        "Enter the code from your authenticator app",
    ),
    ("sign_in.code_submit", "Verify"),
    ("field.email", "Work e-mail"),
    ("field.password", "Password"),
    ("field.code", "Six-digit code or recovery code"),
    ("sign_in.new_firm", "New to Firmament? Create your firm"),
    ("sign_up.title", "Create your firm"),
    ("sign_up.submit", "Create the firm"),
    ("sign_up.working", "Creating…"),
    ("sign_up.have_account", "Already have an account? Sign in"),
    ("field.firm_name", "Firm name"),
    ("field.slug", "Short name (in addresses)"),
    ("field.timezone", "Time zone"),
    ("field.owner_name", "Your name"),
    ("field.new_password", "Password (at least 12 characters)"),
    ("sign_in.forgot", "Forgot your password?"),
    ("forgot.title", "Reset your password"),
    ("forgot.help", "Enter your address: if it has an account, a link to choose a new password arrives within a minute."),
    ("forgot.submit", "Send the link"),
    ("forgot.sent", "If that address has an account, the link is on its way. It works for an hour."),
    ("reset.title", "Choose a new password"),
    ("reset.submit", "Save the password"),
    ("reset.done", "Your password is changed and every session was signed out."),
    ("reset.no_token", "This page opens from the link in the e-mail; ask for a new one."),
    ("reset.sign_in", "Sign in with the new password"),
    ("home.title", "Overview"),
    ("home.notifications", "Notifications"),
    ("home.unread", "unread"),
    ("nav.sign_out", "Sign out"),
    (
        "error.offline",
        "Firmament could not be reached. Check your connection and try again.",
    ),
    ("error.unknown", "Something went wrong. Try again."),
    ("not_found.title", "This page does not exist"),
    ("not_found.back", "Back to the overview"),
];

/// The text of `key` in English.
pub fn t(key: &'static str) -> &'static str {
    EN.iter().find(|(k, _)| *k == key).map_or(key, |(_, v)| v)
}
