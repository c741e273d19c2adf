//! The kernel every module stands on: ids, money, time, errors, paging, validation,
//! tenant scope, events and the storage port.

pub mod audit;
pub mod error;
pub mod etag;
pub mod events;
pub mod id;
pub mod idempotency;
pub mod money;
pub mod paging;
pub mod retry;
pub mod secrets;
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod stats;
pub mod tenant;
pub mod time;
pub mod validate;
pub mod vault;

/// Declares a closed set of wire names (statuses, classes) as an enum with `ALL`,
/// `name()` and a `parse()` that answers a 422 naming the field and the choices;
/// serde reads and writes the same wire names.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// Parses the wire name; a 422 naming `field` otherwise.
            pub fn parse(field: &str, raw: &str) -> Result<Self, $crate::kernel::error::DomainError> {
                Self::ALL.iter().copied().find(|v| v.name() == raw).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
                    $crate::kernel::error::DomainError::invalid(
                        field,
                        "enum",
                        format!(concat!("{} must be one ", $what, ": {}"), field, names.join(", ")),
                    )
                })
            }
        }
    };
}
