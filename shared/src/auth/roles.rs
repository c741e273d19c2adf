//! Staff roles, client-portal roles, per-person flags and the permission matrix, as
//! data. One function, [`authorize`], answers every "may this person do that" in
//! every worker. Staff areas and portal areas are disjoint: a portal user can reach
//! nothing of the firm's own, and staff use the firm's routes, not the portal's.

use serde::{Deserialize, Serialize};

use crate::kernel::error::DomainError;
use crate::kernel::validate::Validator;

/// A person's role in a firm: one of the staff roles (least privilege: `readonly`), or
/// one of the roles of a client's portal user (`portal_…`, least privilege: `portal_viewer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the firm's account: members, settings, integrations, audit.
    FirmAdmin,
    /// Owner-level practitioner: everything but administration and automation.
    Partner,
    /// Leads work: reads finance, runs CRM and projects.
    Manager,
    /// Does the work: projects, calendar, documents; reads CRM.
    Staff,
    /// Finance desk: billing and ledger, no CRM.
    Billing,
    /// Sees, never writes.
    Readonly,
    /// A client's portal administrator: manages that client's portal users.
    PortalAdmin,
    /// A client's portal user (the default).
    PortalMember,
    /// A client's portal user who only looks.
    PortalViewer,
}

impl Role {
    /// Every role, in the matrix's column order.
    pub const ALL: [Role; 9] = [
        Role::FirmAdmin,
        Role::Partner,
        Role::Manager,
        Role::Staff,
        Role::Billing,
        Role::Readonly,
        Role::PortalAdmin,
        Role::PortalMember,
        Role::PortalViewer,
    ];

    /// Parses the wire name of a staff role (`firm_admin` …); portal roles are
    /// given through the portal's own routes, never as a member's role.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        serde_json::from_value::<Role>(serde_json::Value::String(raw.to_owned()))
            .ok()
            .filter(|role| !role.is_portal())
            .ok_or_else(|| {
                DomainError::invalid(
                    field,
                    "one_of",
                    format!(
                        "{field} must be one of firm_admin, partner, manager, staff, billing, readonly"
                    ),
                )
            })
    }

    /// Whether this is a client's portal user rather than a member of staff.
    pub fn is_portal(self) -> bool {
        matches!(
            self,
            Role::PortalAdmin | Role::PortalMember | Role::PortalViewer
        )
    }

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Role::FirmAdmin => "firm_admin",
            Role::Partner => "partner",
            Role::Manager => "manager",
            Role::Staff => "staff",
            Role::Billing => "billing",
            Role::Readonly => "readonly",
            Role::PortalAdmin => "portal_admin",
            Role::PortalMember => "portal_member",
            Role::PortalViewer => "portal_viewer",
        }
    }

    /// Whether the role never writes anything.
    fn read_only(self) -> bool {
        matches!(self, Role::Readonly | Role::PortalViewer)
    }

    fn column(self) -> usize {
        match self {
            Role::FirmAdmin => 0,
            Role::Partner => 1,
            Role::Manager => 2,
            Role::Staff => 3,
            Role::Billing => 4,
            Role::Readonly => 5,
            Role::PortalAdmin => 6,
            Role::PortalMember => 7,
            Role::PortalViewer => 8,
        }
    }
}

/// A portal user's role within their client, as the portal's routes name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortalRole {
    /// Manages the client's portal users.
    Admin,
    /// Uses the portal (the default).
    Member,
    /// Looks only.
    Viewer,
}

impl PortalRole {
    /// Every portal role.
    pub const ALL: [PortalRole; 3] = [PortalRole::Admin, PortalRole::Member, PortalRole::Viewer];

    /// Parses `admin`, `member` or `viewer`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
            DomainError::invalid(
                field,
                "one_of",
                format!("{field} must be one of admin, member, viewer"),
            )
        })
    }

    /// The role a token carries for it.
    pub fn role(self) -> Role {
        match self {
            PortalRole::Admin => Role::PortalAdmin,
            PortalRole::Member => Role::PortalMember,
            PortalRole::Viewer => Role::PortalViewer,
        }
    }

    /// The stored and wire name.
    pub fn name(self) -> &'static str {
        match self {
            PortalRole::Admin => "admin",
            PortalRole::Member => "member",
            PortalRole::Viewer => "viewer",
        }
    }
}

/// Rights granted to one person on top of the role: the first five are staff
/// flags, the last four a portal user's (all on unless an admin turns them off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// Invite, change and deactivate members.
    CanManageUsers,
    /// Write CRM and client records even when the role only reads them.
    CanManageClients,
    /// Write billing even when the role only reads it.
    CanManageBilling,
    /// Change the firm's settings (required for every settings write).
    CanManageSettings,
    /// Read reports.
    CanViewReports,
    /// Portal: upload documents.
    CanUploadDocuments,
    /// Portal: see invoices and payments.
    CanViewBilling,
    /// Portal: message the firm's team.
    CanMessageTeam,
    /// Portal: see the client's projects.
    CanViewProjects,
}

impl Flag {
    /// Every staff flag (the provisioning owner holds them all).
    pub const ALL: [Flag; 5] = [
        Flag::CanManageUsers,
        Flag::CanManageClients,
        Flag::CanManageBilling,
        Flag::CanManageSettings,
        Flag::CanViewReports,
    ];

    /// Every portal flag (a new portal user holds them all).
    pub const PORTAL: [Flag; 4] = [
        Flag::CanUploadDocuments,
        Flag::CanViewBilling,
        Flag::CanMessageTeam,
        Flag::CanViewProjects,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Flag::CanManageUsers => "can_manage_users",
            Flag::CanManageClients => "can_manage_clients",
            Flag::CanManageBilling => "can_manage_billing",
            Flag::CanManageSettings => "can_manage_settings",
            Flag::CanViewReports => "can_view_reports",
            Flag::CanUploadDocuments => "can_upload_documents",
            Flag::CanViewBilling => "can_view_billing",
            Flag::CanMessageTeam => "can_message_team",
            Flag::CanViewProjects => "can_view_projects",
        }
    }

    /// Reads a list of flag names at `field`, each one of `allowed`; absent or null
    /// is no flags. Problems go into `v`.
    pub fn parse_list(
        v: &mut Validator,
        field: &str,
        value: Option<&serde_json::Value>,
        allowed: &[Flag],
    ) -> Vec<Flag> {
        match value {
            None => Vec::new(),
            Some(serde_json::Value::Array(items)) => {
                let mut flags = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match serde_json::from_value::<Flag>(item.clone()) {
                        Ok(flag) if allowed.contains(&flag) => {
                            if !flags.contains(&flag) {
                                flags.push(flag);
                            }
                        }
                        _ => v.add(
                            format!("{field}[{i}]"),
                            "one_of",
                            format!(
                                "flags here are {}",
                                allowed
                                    .iter()
                                    .map(|f| f.name())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                    }
                }
                flags
            }
            Some(_) => {
                v.add(
                    field,
                    "type",
                    format!("{field} must be a list of flag names"),
                );
                Vec::new()
            }
        }
    }
}

/// A part of the product that permissions are granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// Dashboard, communications, calendar, projects, documents, knowledge.
    Workspace,
    /// Leads, deals, contacts, clients.
    Crm,
    /// Invoices, payments, ledger.
    Billing,
    /// Workflows and rules.
    Automation,
    /// Reports and analytics.
    Reporting,
    /// Members, audit, integrations.
    Admin,
    /// Background operations: the firm's jobs and their dead letters.
    Operations,
    /// The firm's own settings (name, zone, currency, branding).
    Settings,
    /// Connections to the firm's own systems: webhook endpoints and their deliveries.
    Integrations,
    /// Portal: the user's own client and its portal users.
    PortalAccount,
    /// Portal: the client's documents.
    PortalDocuments,
    /// Portal: the client's invoices and payments.
    PortalBilling,
    /// Portal: conversations with the firm's team.
    PortalMessages,
    /// Portal: the client's projects.
    PortalProjects,
}

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Look.
    Read,
    /// Create, change, delete.
    Write,
}

/// What one role may do in one area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    None,
    Read,
    ReadWrite,
    /// Read only when the member holds the flag.
    ReadIf(Flag),
}

use Cell::{None as N, Read as R, ReadIf as RIf, ReadWrite as RW};

/// Visibility by role. Columns: firm_admin, partner, manager, staff, billing,
/// readonly | portal_admin, portal_member, portal_viewer.
#[rustfmt::skip]
const MATRIX: &[(Area, [Cell; 9])] = &[
    (Area::Workspace,       [RW, RW, RW, RW, RW, R,                      N,  N,  N]),
    (Area::Crm,             [RW, RW, RW, R,  N,  R,                      N,  N,  N]),
    (Area::Billing,         [RW, RW, R,  N,  RW, RIf(Flag::CanViewReports), N, N, N]),
    (Area::Automation,      [RW, N,  R,  N,  N,  N,                      N,  N,  N]),
    (Area::Reporting,       [RW, RW, RW, N,  N,  N,                      N,  N,  N]),
    (Area::Admin,           [RW, N,  N,  N,  N,  N,                      N,  N,  N]),
    (Area::Operations,      [RW, RW, RW, N,  N,  N,                      N,  N,  N]),
    (Area::Settings,        [RW, R,  R,  R,  R,  R,                      N,  N,  N]),
    (Area::Integrations,    [RW, N,  N,  N,  N,  N,                      N,  N,  N]),
    (Area::PortalAccount,   [N,  N,  N,  N,  N,  N,                      RW, R,  R]),
    (Area::PortalDocuments, [N,  N,  N,  N,  N,  N,                      RW, RW, R]),
    (Area::PortalBilling,   [N,  N,  N,  N,  N,  N,                      R,  R,  R]),
    (Area::PortalMessages,  [N,  N,  N,  N,  N,  N,                      RW, RW, R]),
    (Area::PortalProjects,  [N,  N,  N,  N,  N,  N,                      R,  R,  R]),
];

/// Flags that raise a member's access in an area beyond the role.
const GRANTS: &[(Flag, Area, Access)] = &[
    (Flag::CanManageUsers, Area::Admin, Access::Write),
    (Flag::CanManageClients, Area::Crm, Access::Write),
    (Flag::CanManageBilling, Area::Billing, Access::Write),
    (Flag::CanManageSettings, Area::Settings, Access::Write),
    (Flag::CanManageSettings, Area::Integrations, Access::Write),
    (Flag::CanViewReports, Area::Reporting, Access::Read),
];

/// Flags that an access needs in addition to the role.
const REQUIRES: &[(Area, Access, Flag)] = &[
    (Area::Settings, Access::Write, Flag::CanManageSettings),
    (
        Area::PortalDocuments,
        Access::Write,
        Flag::CanUploadDocuments,
    ),
    (Area::PortalBilling, Access::Read, Flag::CanViewBilling),
    (Area::PortalMessages, Access::Read, Flag::CanMessageTeam),
    (Area::PortalMessages, Access::Write, Flag::CanMessageTeam),
    (Area::PortalProjects, Access::Read, Flag::CanViewProjects),
];

/// Whether a member with `role` and `flags` may have `access` to `area`.
pub fn allows(role: Role, flags: &[Flag], area: Area, access: Access) -> bool {
    if role.read_only() && access == Access::Write {
        return false;
    }
    let required_missing = REQUIRES
        .iter()
        .any(|(a, acc, flag)| *a == area && *acc == access && !flags.contains(flag));
    if required_missing {
        return false;
    }
    let cell = MATRIX
        .iter()
        .find(|(a, _)| *a == area)
        .and_then(|(_, row)| row.get(role.column()).copied())
        .unwrap_or(N);
    let by_role = match (cell, access) {
        (RW, _) | (R, Access::Read) => true,
        (RIf(flag), Access::Read) => flags.contains(&flag),
        _ => false,
    };
    // Staff flags raise staff access only; a portal user never gains a staff area.
    let by_flag = !role.is_portal()
        && GRANTS.iter().any(|(flag, a, granted)| {
            *a == area
                && flags.contains(flag)
                && (*granted == access || (*granted == Access::Write && access == Access::Read))
        });
    by_role || by_flag
}

/// [`allows`] as a domain result, for handlers.
pub fn authorize(
    role: Role,
    flags: &[Flag],
    area: Area,
    access: Access,
) -> Result<(), DomainError> {
    if allows(role, flags, area, access) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(format!(
            "the {} role may not {} {}",
            role.name(),
            match access {
                Access::Read => "read",
                Access::Write => "change",
            },
            match area {
                Area::Workspace => "workspace records",
                Area::Crm => "CRM records",
                Area::Billing => "billing",
                Area::Automation => "automation",
                Area::Reporting => "reports",
                Area::Admin => "administration",
                Area::Operations => "background jobs",
                Area::Settings => "the firm's settings",
                Area::Integrations => "webhooks and integrations",
                Area::PortalAccount => "the client's portal account",
                Area::PortalDocuments => "portal documents",
                Area::PortalBilling => "portal billing",
                Area::PortalMessages => "portal messages",
                Area::PortalProjects => "portal projects",
            }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Read, Write};

    #[test]
    fn matrix_without_flags() {
        // (area, access, [firm_admin, partner, manager, staff, billing, readonly])
        let expected: &[(Area, Access, [bool; 6])] = &[
            (Area::Workspace, Read, [true, true, true, true, true, true]),
            (
                Area::Workspace,
                Write,
                [true, true, true, true, true, false],
            ),
            (Area::Crm, Read, [true, true, true, true, false, true]),
            (Area::Crm, Write, [true, true, true, false, false, false]),
            (Area::Billing, Read, [true, true, true, false, true, false]),
            (
                Area::Billing,
                Write,
                [true, true, false, false, true, false],
            ),
            (
                Area::Automation,
                Read,
                [true, false, true, false, false, false],
            ),
            (
                Area::Automation,
                Write,
                [true, false, false, false, false, false],
            ),
            (
                Area::Reporting,
                Read,
                [true, true, true, false, false, false],
            ),
            (
                Area::Admin,
                Write,
                [true, false, false, false, false, false],
            ),
            (
                Area::Operations,
                Read,
                [true, true, true, false, false, false],
            ),
            (
                Area::Operations,
                Write,
                [true, true, true, false, false, false],
            ),
            (Area::Settings, Read, [true, true, true, true, true, true]),
            (
                Area::Settings,
                Write,
                [false, false, false, false, false, false],
            ),
        ];
        for (area, access, row) in expected {
            for (role, want) in Role::ALL.iter().zip(row) {
                assert_eq!(
                    allows(*role, &[], *area, *access),
                    *want,
                    "{role:?} {access:?} {area:?}"
                );
            }
        }
    }

    #[test]
    fn flags_raise_access_but_never_for_readonly_writes() {
        assert!(allows(
            Role::Staff,
            &[Flag::CanManageClients],
            Area::Crm,
            Access::Write
        ));
        assert!(allows(
            Role::Staff,
            &[Flag::CanViewReports],
            Area::Reporting,
            Access::Read
        ));
        assert!(allows(
            Role::Readonly,
            &[Flag::CanViewReports],
            Area::Billing,
            Access::Read
        ));
        assert!(!allows(
            Role::Readonly,
            &[Flag::CanManageClients],
            Area::Crm,
            Access::Write
        ));
        assert!(allows(
            Role::FirmAdmin,
            &[Flag::CanManageSettings],
            Area::Settings,
            Access::Write
        ));
        assert!(allows(
            Role::Partner,
            &[Flag::CanManageSettings],
            Area::Settings,
            Access::Write
        ));
        assert!(!allows(
            Role::Readonly,
            &Flag::ALL,
            Area::Settings,
            Access::Write
        ));
    }

    #[test]
    fn portal_matrix_with_and_without_flags() {
        use Role::{PortalAdmin, PortalMember, PortalViewer};
        let all = Flag::PORTAL;
        // (area, access, [portal_admin, portal_member, portal_viewer]) with every portal flag on
        let expected: &[(Area, Access, [bool; 3])] = &[
            (Area::PortalAccount, Read, [true, true, true]),
            (Area::PortalAccount, Write, [true, false, false]),
            (Area::PortalDocuments, Read, [true, true, true]),
            (Area::PortalDocuments, Write, [true, true, false]),
            (Area::PortalBilling, Read, [true, true, true]),
            (Area::PortalBilling, Write, [false, false, false]),
            (Area::PortalMessages, Write, [true, true, false]),
            (Area::PortalProjects, Read, [true, true, true]),
            (Area::PortalProjects, Write, [false, false, false]),
        ];
        for (area, access, row) in expected {
            for (role, want) in [PortalAdmin, PortalMember, PortalViewer].iter().zip(row) {
                assert_eq!(
                    allows(*role, &all, *area, *access),
                    *want,
                    "{role:?} {access:?} {area:?}"
                );
            }
        }
        // Each portal flag, turned off, closes its area.
        assert!(!allows(PortalMember, &[], Area::PortalDocuments, Write));
        assert!(allows(PortalMember, &[], Area::PortalDocuments, Read));
        assert!(!allows(PortalAdmin, &[], Area::PortalBilling, Read));
        assert!(!allows(PortalAdmin, &[], Area::PortalMessages, Read));
        assert!(!allows(PortalAdmin, &[], Area::PortalProjects, Read));
        assert!(allows(PortalAdmin, &[], Area::PortalAccount, Write));
    }

    #[test]
    fn staff_and_portal_areas_are_disjoint() {
        let staff_areas = [
            Area::Workspace,
            Area::Crm,
            Area::Billing,
            Area::Automation,
            Area::Reporting,
            Area::Admin,
            Area::Operations,
            Area::Settings,
        ];
        let portal_areas = [
            Area::PortalAccount,
            Area::PortalDocuments,
            Area::PortalBilling,
            Area::PortalMessages,
            Area::PortalProjects,
        ];
        let every_flag: Vec<Flag> = Flag::ALL
            .iter()
            .chain(Flag::PORTAL.iter())
            .copied()
            .collect();
        for role in Role::ALL {
            let (mine, theirs) = if role.is_portal() {
                (&portal_areas[..], &staff_areas[..])
            } else {
                (&staff_areas[..], &portal_areas[..])
            };
            for area in theirs {
                for access in [Read, Write] {
                    assert!(
                        !allows(role, &every_flag, *area, access),
                        "{role:?} {area:?} {access:?}"
                    );
                }
            }
            assert!(
                mine.iter().any(|a| allows(role, &every_flag, *a, Read)),
                "{role:?}"
            );
        }
    }

    #[test]
    fn flag_lists_accept_only_the_allowed_kind() {
        let mut v = Validator::new();
        let staff = Flag::parse_list(
            &mut v,
            "flags",
            Some(&serde_json::json!(["can_view_reports", "can_view_reports"])),
            &Flag::ALL,
        );
        assert_eq!(staff, [Flag::CanViewReports]);
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        Flag::parse_list(
            &mut v,
            "flags",
            Some(&serde_json::json!(["can_view_billing"])),
            &Flag::ALL,
        );
        let err = v.finish().unwrap_err();
        assert!(format!("{err:?}").contains("flags[0]"));
        let mut v = Validator::new();
        Flag::parse_list(
            &mut v,
            "flags",
            Some(&serde_json::json!("can_view_billing")),
            &Flag::PORTAL,
        );
        assert!(v.finish().is_err());
    }

    #[test]
    fn roles_parse_from_wire_names() {
        assert_eq!(Role::parse("role", "firm_admin").unwrap(), Role::FirmAdmin);
        assert!(Role::parse("role", "owner").is_err());
        // A portal role is never a member's role.
        assert!(Role::parse("role", "portal_admin").is_err());
        assert_eq!(
            PortalRole::parse("role", "viewer").unwrap().role(),
            Role::PortalViewer
        );
        assert!(PortalRole::parse("role", "readonly").is_err());
        for role in Role::ALL {
            assert_eq!(serde_json::to_value(role).unwrap(), role.name());
        }
        for flag in Flag::ALL.iter().chain(Flag::PORTAL.iter()) {
            assert_eq!(serde_json::to_value(flag).unwrap(), flag.name());
        }
    }
}
