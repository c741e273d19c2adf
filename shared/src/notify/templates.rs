//! What each kind of notification says, per channel. A template's text names its
//! variables as `{{name}}`; rendering with one missing is an error, so nothing is
//! ever sent with a literal `{{name}}` in it.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::kernel::error::{DomainError, DomainResult};
use crate::wire_enum;

wire_enum!(
    /// What a notification is about: preferences are per category and channel.
    Category, "of" {
        /// Sign-ins, factors, passwords: critical, never turned off.
        Security = "security",
        /// One's own account: addresses, invitations.
        Account = "account",
        /// The firm's people: roles, memberships.
        Team = "team",
        /// The firm's systems: webhooks, jobs, integrations.
        Operations = "operations",
        /// Leads and deals: reminders about deals gone quiet.
        Sales = "sales",
    }
);

wire_enum!(
    /// Where a notification reaches a person.
    Channel, "of" {
        /// The bell in the console and the portal.
        InApp = "in_app",
        /// E-mail, through the mail outbox.
        Email = "email",
    }
);

/// One kind of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Template {
    /// `<module>.<what>`.
    pub key: &'static str,
    /// Its category.
    pub category: Category,
    /// Critical: bypasses preferences, quiet hours and digests.
    pub critical: bool,
    /// In-app title (`None`: not shown in-app, e.g. a reset link).
    pub in_app: Option<&'static str>,
    /// E-mail subject and text (`None`: in-app only).
    pub email: Option<(&'static str, &'static str)>,
    /// The variables it needs.
    pub variables: &'static [&'static str],
}

/// The key of the digest e-mail.
pub const DIGEST: &str = "notifications.digest";

/// Every template.
pub const TEMPLATES: &[Template] = &[
    Template {
        key: "auth.security_notice",
        category: Category::Security,
        critical: true,
        in_app: Some("Security: {{change}}"),
        email: Some((
            "Firmament security notice: {{change}}",
            "This is to let you know: {{change}}.\n\nIf this was you, there is nothing to do. If it was not, reset your password now and tell your firm's administrator.",
        )),
        variables: &["change"],
    },
    Template {
        key: "firm.invitation",
        category: Category::Account,
        critical: true,
        in_app: None,
        email: Some((
            "You are invited to join {{firm_name}} on Firmament",
            "{{firm_name}} invites you to work with them on Firmament.\n\nTo accept, open this link within the next 7 days:\n{{link}}\n\nIf you were not expecting this, ignore this message.",
        )),
        variables: &["firm_name", "link"],
    },
    Template {
        key: "clients.portal_invitation",
        category: Category::Account,
        critical: true,
        in_app: None,
        email: Some((
            "{{firm_name}} invites you to the {{client_name}} client portal",
            "{{firm_name}} has opened a client portal for {{client_name}} on Firmament, where you can share documents, see invoices and projects, and message the team.\n\nTo accept, open this link within the next 7 days:\n{{link}}\n\nIf you were not expecting this, ignore this message.",
        )),
        variables: &["firm_name", "client_name", "link"],
    },
    Template {
        key: "crm.deals_stale",
        category: Category::Sales,
        critical: false,
        in_app: Some("{{count}} of your deals went quiet: {{deals}}"),
        email: Some((
            "{{count}} of your deals went quiet",
            "Hello,\n\nThese deals you own have had no call, e-mail, meeting, note or task for longer than their stage allows:\n\n{{deals}}\n\nLog what happened, or move them on, and they are fresh again.\n",
        )),
        variables: &["count", "deals"],
    },
    Template {
        key: "crm.work_reassigned",
        category: Category::Sales,
        critical: false,
        in_app: Some("{{count}} open leads and deals of {{from_name}} are yours now"),
        email: Some((
            "{{count}} open leads and deals are yours now",
            "Hello,\n\n{{from_name}} has left the firm, and {{count}} of their open leads and deals are yours now. Each one's timeline says it was handed over.\n",
        )),
        variables: &["count", "from_name"],
    },
    Template {
        key: "crm.stage_entered",
        category: Category::Sales,
        critical: false,
        in_app: Some("{{deal_name}} entered {{stage_name}}: {{message}}"),
        email: Some((
            "{{deal_name}} entered {{stage_name}}",
            "Hello,\n\nThe deal {{deal_name}} has entered the stage {{stage_name}}.\n\n{{message}}\n",
        )),
        variables: &["deal_name", "stage_name", "message"],
    },
    Template {
        key: "firm.role_changed",
        category: Category::Team,
        critical: false,
        in_app: Some("Your role at {{firm_name}} is now {{role}}"),
        email: Some((
            "Your role at {{firm_name}} changed",
            "Hello,\n\nYour role at {{firm_name}} on Firmament is now {{role}}.\n",
        )),
        variables: &["firm_name", "role"],
    },
    Template {
        key: "webhooks.endpoint_disabled",
        category: Category::Operations,
        critical: false,
        in_app: Some("Webhooks to {{name}} stopped: {{why}}"),
        email: Some((
            "Firmament stopped sending webhooks to {{name}}",
            "Firmament has disabled the webhook endpoint {{name}} ({{url}}) because {{why}}. Events are no longer sent to it, and deliveries that were waiting were cancelled.\n\nWhen the receiving system is fixed, resume the endpoint and recover what it missed:\n{{link}}",
        )),
        variables: &["name", "url", "why", "link"],
    },
    Template {
        key: "files.quarantined",
        category: Category::Operations,
        critical: true,
        in_app: Some("{{name}} was quarantined: the malware scanner flagged it"),
        email: Some((
            "A file uploaded to Firmament was quarantined",
            "The malware scanner flagged {{name}} ({{signature}}). It has been moved to quarantine: nobody outside the firm can fetch it, and staff links to it are refused.\n\nReview it here:\n{{link}}",
        )),
        variables: &["name", "signature", "link"],
    },
    Template {
        key: "files.scan_failed",
        category: Category::Operations,
        critical: false,
        in_app: Some("{{name}} could not be scanned for malware"),
        email: Some((
            "A file uploaded to Firmament could not be scanned",
            "The malware scanner gave no verdict on {{name}} after every retry. Portal users and download links cannot have it until it is scanned.\n\n{{link}}",
        )),
        variables: &["name", "link"],
    },
    Template {
        key: DIGEST,
        category: Category::Account,
        critical: true,
        in_app: None,
        email: Some((
            "{{count}} notifications from Firmament",
            "Here is what happened since your last digest:\n\n{{items}}\n\nChange how often you get these in your notification preferences.\n",
        )),
        variables: &["count", "items"],
    },
];

/// The template called `key`.
pub fn find(key: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.key == key)
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `text` with each `{{name}}` replaced by its variable; a missing variable or an
/// unclosed `{{` is an error naming it.
pub fn render(text: &str, variables: &Map<String, Value>) -> DomainResult<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        let end = after
            .find("}}")
            .ok_or_else(|| DomainError::Unavailable("a template has an unclosed {{".into()))?;
        let name = after.get(..end).unwrap_or_default().trim();
        let value = variables.get(name).and_then(text_of).ok_or_else(|| {
            DomainError::invalid(
                format!("variables.{name}"),
                "required",
                format!("the template needs {name}"),
            )
        })?;
        out.push_str(&value);
        rest = after.get(end + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

/// A notification rendered for every channel its template has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// In-app title.
    pub title: Option<String>,
    /// E-mail subject and text.
    pub email: Option<(String, String)>,
}

/// Renders `template` with `variables`.
pub fn render_all(template: &Template, variables: &Map<String, Value>) -> DomainResult<Rendered> {
    Ok(Rendered {
        title: template.in_app.map(|t| render(t, variables)).transpose()?,
        email: template
            .email
            .map(|(s, b)| Ok::<_, DomainError>((render(s, variables)?, render(b, variables)?)))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_variable_is_declared_and_rendering_needs_them_all() {
        for t in TEMPLATES {
            let vars: Map<String, Value> = t
                .variables
                .iter()
                .map(|v| ((*v).to_owned(), json!("x")))
                .collect();
            let rendered = render_all(t, &vars).unwrap_or_else(|e| panic!("{}: {e:?}", t.key));
            assert!(
                !format!("{rendered:?}").contains("{{"),
                "{}: every placeholder is declared",
                t.key
            );
            if let Some(first) = t.variables.first() {
                let mut short = vars.clone();
                short.remove(*first);
                assert!(render_all(t, &short).is_err(), "{} without {first}", t.key);
            }
        }
        let mut vars = Map::new();
        vars.insert("n".into(), json!(3));
        assert_eq!(render("{{ n }} new", &vars).unwrap(), "3 new");
        assert!(render("{{n", &vars).is_err());
    }
}
