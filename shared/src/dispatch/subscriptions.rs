//! Which modules receive which events: data, not code. A module subscribes with a
//! type (`firm.created`), a group (`client.*`) or `*`; the dispatcher reaches it over
//! the service binding named after it in capitals (`firm` → `FIRM`).

use crate::kernel::events::pattern_matches;

/// One module's interest in a set of event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription<'a> {
    /// An event-type pattern (see [`pattern_matches`]).
    pub pattern: &'a str,
    /// The subscribing module.
    pub module: &'a str,
}

const fn sub(pattern: &'static str, module: &'static str) -> Subscription<'static> {
    Subscription { pattern, module }
}

/// Every subscription of the platform.
pub const SUBSCRIPTIONS: &[Subscription<'static>] = &[
    // Finishing a new firm's provisioning in the background.
    sub("firm.created", "firm"),
    // Outbound webhooks: every event; the module sends those in the public catalogue.
    sub("*", "webhooks"),
    // Telling people: every module's notification requests.
    sub("notification.requested", "notifications"),
    // Scanning each new file for malware.
    sub("file.stored", "files"),
    sub("crm.deal.won", "clients"),
    sub("client.account_linked", "crm"),
    // A departing member's open leads and deals go to others.
    sub("firm.member_deactivated", "crm"),
];

/// The modules subscribed to `kind`, each once, in table order.
pub fn subscribers<'a>(
    table: impl IntoIterator<Item = &'a Subscription<'a>>,
    kind: &str,
) -> Vec<&'a str> {
    let mut modules: Vec<&'a str> = Vec::new();
    for s in table {
        if pattern_matches(s.pattern, kind) && !modules.contains(&s.module) {
            modules.push(s.module);
        }
    }
    modules
}

/// Parses extra subscriptions a deployment adds to the table (`pattern=module`,
/// comma-separated; the end-to-end tests subscribe a probe this way). Malformed
/// entries are skipped.
pub fn parse_extra(spec: &str) -> Vec<Subscription<'_>> {
    spec.split(',')
        .filter_map(|pair| {
            let (pattern, module) = pair.trim().split_once('=')?;
            let ok = !module.is_empty()
                && module.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                && crate::kernel::events::parse_pattern("pattern", pattern).is_ok();
            ok.then_some(Subscription { pattern, module })
        })
        .collect()
}

/// The service binding that reaches `module`.
pub fn binding(module: &str) -> String {
    module.to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Subscription<'static>] = &[
        sub("firm.created", "firm"),
        sub("client.*", "crm"),
        sub("*", "webhooks"),
        sub("client.created", "webhooks"),
    ];

    #[test]
    fn each_type_reaches_exactly_its_subscribers() {
        let cases: &[(&str, &[&str])] = &[
            ("firm.created", &["firm", "webhooks"]),
            ("firm.updated", &["webhooks"]),
            ("client.created", &["crm", "webhooks"]),
            ("client.portal.opened", &["crm", "webhooks"]),
            ("clients.created", &["webhooks"]),
        ];
        for (kind, expected) in cases {
            assert_eq!(subscribers(TABLE, kind), *expected, "{kind}");
        }
    }

    #[test]
    fn the_platform_table_is_well_formed() {
        for s in SUBSCRIPTIONS {
            assert!(crate::kernel::events::parse_pattern("p", s.pattern).is_ok());
            assert_eq!(binding(s.module), s.module.to_ascii_uppercase());
        }
        assert_eq!(
            subscribers(SUBSCRIPTIONS, "firm.created"),
            ["firm", "webhooks"]
        );
        assert_eq!(
            subscribers(SUBSCRIPTIONS, "jobs.sla_breached"),
            ["webhooks"]
        );
    }

    #[test]
    fn extra_subscriptions_come_from_configuration() {
        let extra = parse_extra("*=probe, client.*=crm,bad,=x,Bad=y,x.*=UPPER");
        assert_eq!(
            extra,
            vec![
                Subscription {
                    pattern: "*",
                    module: "probe"
                },
                Subscription {
                    pattern: "client.*",
                    module: "crm"
                }
            ]
        );
        let all: Vec<_> = SUBSCRIPTIONS.iter().chain(extra.iter()).collect();
        assert_eq!(
            subscribers(all, "firm.created"),
            ["firm", "webhooks", "probe"]
        );
    }
}
