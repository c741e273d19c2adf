//! Staff roles, per-member flags and the permission matrix, as data. One function,
//! [`authorize`], answers every "may this member do that" in every worker.

use serde::{Deserialize, Serialize};

use crate::kernel::error::DomainError;

/// A member's role in a firm (least privilege first in the firm's eyes: `readonly`).
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
}

impl Role {
    /// Every role, in the matrix's column order.
    pub const ALL: [Role; 6] = [
        Role::FirmAdmin,
        Role::Partner,
        Role::Manager,
        Role::Staff,
        Role::Billing,
        Role::Readonly,
    ];

    /// Parses the wire name (`firm_admin` …).
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
            DomainError::invalid(
                field,
                "one_of",
                format!(
                    "{field} must be one of firm_admin, partner, manager, staff, billing, readonly"
                ),
            )
        })
    }

    fn column(self) -> usize {
        match self {
            Role::FirmAdmin => 0,
            Role::Partner => 1,
            Role::Manager => 2,
            Role::Staff => 3,
            Role::Billing => 4,
            Role::Readonly => 5,
        }
    }
}

/// Rights granted to one member on top of the role.
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
}

impl Flag {
    /// Every flag (the provisioning owner holds them all).
    pub const ALL: [Flag; 5] = [
        Flag::CanManageUsers,
        Flag::CanManageClients,
        Flag::CanManageBilling,
        Flag::CanManageSettings,
        Flag::CanViewReports,
    ];
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
    /// The firm's own settings (name, zone, currency, branding).
    Settings,
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

/// Module visibility by role: columns are firm_admin, partner, manager, staff, billing, readonly.
const MATRIX: &[(Area, [Cell; 6])] = &[
    (Area::Workspace, [RW, RW, RW, RW, RW, R]),
    (Area::Crm, [RW, RW, RW, R, N, R]),
    (Area::Billing, [RW, RW, R, N, RW, RIf(Flag::CanViewReports)]),
    (Area::Automation, [RW, N, R, N, N, N]),
    (Area::Reporting, [RW, RW, RW, N, N, N]),
    (Area::Admin, [RW, N, N, N, N, N]),
    (Area::Settings, [RW, R, R, R, R, R]),
];

/// Flags that raise a member's access in an area beyond the role.
const GRANTS: &[(Flag, Area, Access)] = &[
    (Flag::CanManageUsers, Area::Admin, Access::Write),
    (Flag::CanManageClients, Area::Crm, Access::Write),
    (Flag::CanManageBilling, Area::Billing, Access::Write),
    (Flag::CanManageSettings, Area::Settings, Access::Write),
    (Flag::CanViewReports, Area::Reporting, Access::Read),
];

/// Flags that an access needs in addition to the role.
const REQUIRES: &[(Area, Access, Flag)] =
    &[(Area::Settings, Access::Write, Flag::CanManageSettings)];

/// Whether a member with `role` and `flags` may have `access` to `area`.
pub fn allows(role: Role, flags: &[Flag], area: Area, access: Access) -> bool {
    if role == Role::Readonly && access == Access::Write {
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
    let by_flag = GRANTS.iter().any(|(flag, a, granted)| {
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
            serde_json::to_value(role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
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
                Area::Settings => "the firm's settings",
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
    fn roles_parse_from_wire_names() {
        assert_eq!(Role::parse("role", "firm_admin").unwrap(), Role::FirmAdmin);
        assert!(Role::parse("role", "owner").is_err());
    }
}
