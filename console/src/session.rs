//! Who is signed in (`GET /v1/me`), shared with every screen through context,
//! and what they may open: the permission matrix of `shared/` decides, so the
//! console never shows a screen the API would refuse.

use leptos::prelude::*;
use serde_json::Value;
use shared::auth::roles::{allows, Access, Area, Flag, Role};

use crate::api::{self, text};
use crate::ui::Locale;

/// One firm (or client portal) the person may switch to.
#[derive(Clone, Debug, PartialEq)]
pub struct FirmChoice {
    /// `frm_…`
    pub id: String,
    /// Its name, and the client's for a portal.
    pub label: String,
}

/// The signed-in person in their current firm.
#[derive(Clone, Debug, PartialEq)]
pub struct Me {
    /// `usr_…`
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Sign-in address.
    pub email: String,
    /// Chosen console language, if any.
    pub language: Option<String>,
    /// The firm's id.
    pub firm_id: String,
    /// The firm's name.
    pub firm_name: String,
    /// How the firm formats.
    pub locale: Locale,
    /// Role in the firm (a portal role for a client's person).
    pub role: Role,
    /// Rights on top of the role.
    pub flags: Vec<Flag>,
    /// For a portal user: their client's id.
    pub client_id: Option<String>,
    /// Every firm the person may switch to.
    pub firms: Vec<FirmChoice>,
}

impl Me {
    /// Reads the answer of `GET /v1/me`; `None` if it is not one.
    pub fn from_answer(answer: &Value) -> Option<Self> {
        let user = answer.get("user")?;
        let firm = answer.get("firm")?;
        let role: Role = serde_json::from_value(answer.get("role")?.clone()).ok()?;
        let flags = answer
            .get("flags")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|f| serde_json::from_value(f.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        let firms = answer
            .get("firms")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|f| {
                        let client = text(f, "client_name");
                        let firm = text(f, "firm_name");
                        FirmChoice {
                            id: text(f, "firm_id"),
                            label: if client.is_empty() {
                                firm
                            } else {
                                format!("{firm} — {client}")
                            },
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            user_id: text(user, "id"),
            name: text(user, "name"),
            email: text(user, "email"),
            language: user
                .get("language")
                .and_then(Value::as_str)
                .map(str::to_owned),
            firm_id: text(firm, "id"),
            firm_name: text(firm, "name"),
            locale: Locale {
                tag: text(firm, "locale"),
                timezone: text(firm, "timezone"),
                currency: text(firm, "currency"),
            },
            role,
            flags,
            client_id: answer
                .get("client")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            firms,
        })
    }

    /// Whether the API would let this person have `access` to `area`.
    pub fn may(&self, area: Area, access: Access) -> bool {
        allows(self.role, &self.flags, area, access)
    }

    /// The language the console speaks to them in: their choice, else their firm's.
    pub fn preferred_language(&self) -> String {
        self.language.clone().unwrap_or_else(|| {
            self.locale
                .tag
                .split('-')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    }
}

/// The signed-in person, as every screen under the shell reads it.
pub fn me() -> Signal<Option<Me>> {
    use_context::<Signal<Option<Me>>>().unwrap_or_else(|| Signal::derive(|| None))
}

/// Loads who is signed in; `Err` carries the problem (401: nobody).
pub async fn load() -> Result<Me, api::Problem> {
    let answer = api::call("GET", "/v1/me", None).await?;
    Me::from_answer(&answer).ok_or_else(api::Problem::unexpected)
}
