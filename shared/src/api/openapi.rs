//! The OpenAPI 3.1 document, generated from the route table.

use serde_json::{json, Map, Value};

use super::{Auth, Route, ROUTES};

/// Component schemas, kept as a JSON file: parsed on demand, it costs far less wasm
/// than the same document built by `json!`.
const SCHEMAS: &str = include_str!("schemas.json");
/// The CRM's schemas, in a file of their own.
const CRM_SCHEMAS: &str = include_str!("crm.json");

fn schemas() -> Value {
    let mut all: Map<String, Value> = serde_json::from_str(SCHEMAS).unwrap_or_default();
    let crm: Map<String, Value> = serde_json::from_str(CRM_SCHEMAS).unwrap_or_default();
    all.extend(crm);
    all.extend(generated_schemas());
    Value::Object(all)
}

/// The request and success-response schemas of an operation, by component name.
fn bodies(operation: &str) -> (Option<&'static str>, Option<&'static str>) {
    match operation {
        "getHealth" => (None, Some("Health")),
        "getOpenApi" => (None, Some("OpenApiDocument")),
        "listEventTypes" => (None, Some("EventTypeCatalogue")),
        "provisionFirm" => (Some("ProvisionFirm"), Some("Provisioned")),
        "getFirm" => (None, Some("Firm")),
        "updateFirm" => (Some("FirmPatch"), Some("Firm")),
        "getFirmProvisioning" => (None, Some("Provisioning")),
        "redeliverFirmEvent" => (None, Some("Redelivery")),
        "verifyFirmAudit" => (None, Some("AuditVerification")),
        "listFirmKeys" => (None, Some("DataKeys")),
        "rotateFirmKey" => (None, Some("DataKeyRotated")),
        "getFlag" => (None, Some("Flag")),
        "createUpload" => (Some("NewUpload"), Some("File")),
        "getFile" | "putFileContent" | "completeUpload" => (None, Some("File")),
        "putFilePart" => (None, Some("FilePart")),
        "listFileParts" => (None, Some("FileParts")),
        "createFileLink" => (None, Some("FileLink")),
        "getBranding" => (None, Some("Branding")),
        "setLogo" => (Some("FileAssignment"), Some("Branding")),
        "getAvatar" => (None, Some("ImageLink")),
        "setAvatar" => (Some("FileAssignment"), Some("ImageLink")),
        "getUnreadNotificationCount" => (None, Some("UnreadCount")),
        "markAllNotificationsRead" => (None, Some("MarkedRead")),
        "getNotificationPreferences" => (None, Some("NotificationPreferences")),
        "putNotificationPreferences" => (
            Some("NotificationPreferencesInput"),
            Some("NotificationPreferences"),
        ),
        "putFlag" => (Some("FlagInput"), Some("Flag")),
        "getFlagExposures" => (None, Some("FlagExposures")),
        "evaluateFlags" => (Some("FlagEvaluationRequest"), Some("FlagEvaluations")),
        "updateMember" => (Some("MemberPatch"), Some("Member")),
        "createInvitation" => (Some("NewInvitation"), Some("Invitation")),
        "acceptInvitation" => (Some("AcceptInvitation"), Some("AcceptedInvitation")),
        "acceptPortalInvitation" => (Some("AcceptInvitation"), Some("AcceptedPortalInvitation")),
        "signIn" => (Some("SignIn"), Some("Session")),
        "refreshSession" => (Some("Refresh"), Some("Session")),
        "switchFirm" => (Some("SwitchFirm"), Some("Session")),
        "answerMfaChallenge" => (Some("ChallengeAnswer"), Some("Session")),
        "stepUp" => (Some("SecondFactor"), Some("Session")),
        "finishOidc" | "finishSaml" => (None, Some("Session")),
        "startOidc" | "startSaml" => (None, Some("Redirect")),
        "getMfa" => (None, Some("MfaFactors")),
        "enrolTotp" => (None, Some("TotpEnrolment")),
        "confirmTotp" => (Some("TotpConfirmation"), Some("RecoveryCodes")),
        "regenerateRecoveryCodes" => (None, Some("RecoveryCodes")),
        "enrolSms" => (Some("SmsEnrolment"), Some("SmsCodeSent")),
        "confirmSms" => (Some("SmsConfirmation"), Some("RecoveryCodes")),
        "sendChallengeSms" => (Some("ChallengeSms"), Some("SmsCodeSent")),
        "sendSmsCode" => (None, Some("SmsCodeSent")),
        "createApiKey" => (Some("NewApiKey"), Some("ApiKey")),
        "changePassword" => (Some("PasswordChange"), None),
        "forgotPassword" => (Some("ForgotPassword"), Some("Accepted")),
        "requestEmailVerification" => (None, Some("Accepted")),
        "resetPassword" => (Some("PasswordReset"), None),
        "verifyEmail" => (Some("EmailVerification"), None),
        "getMe" => (None, Some("Me")),
        "updateMe" => (Some("ProfilePatch"), Some("Me")),
        "getSamlConfig" => (None, Some("SamlSettings")),
        "putSamlConfig" => (Some("SamlConfig"), Some("SamlSettings")),
        "createClient" => (Some("NewClient"), Some("Client")),
        "getClient" | "getPortalClient" => (None, Some("Client")),
        "updateClient" => (Some("ClientPatch"), Some("Client")),
        "inviteClientPortalUser" | "invitePortalUser" => {
            (Some("NewPortalInvitation"), Some("PortalInvitation"))
        }
        "updateClientPortalUser" | "updatePortalUser" => {
            (Some("PortalUserPatch"), Some("PortalUser"))
        }
        "getEvent" => (None, Some("EventDeliveries")),
        "replayDeadEvents" => (Some("DeadEventReplay"), Some("Replayed")),
        "replayEvent" => (None, Some("Replayed")),
        "startJob" => (Some("StartJob"), Some("Job")),
        "getJob" | "cancelJob" | "retryJob" => (None, Some("Job")),
        "getJobMetrics" => (None, Some("JobMetrics")),
        "getJobDeadLetter" => (None, Some("DeadLetter")),
        "reprocessJobDeadLetters" | "discardJobDeadLetters" => {
            (Some("DeadLetterBulk"), Some("DeadLetterBulkResult"))
        }
        "reprocessJobDeadLetter" | "discardJobDeadLetter" => {
            (Some("DeadLetterNotes"), Some("DeadLetter"))
        }
        "createWebhookEndpoint" => (
            Some("NewWebhookEndpoint"),
            Some("WebhookEndpointWithSecret"),
        ),
        "getWebhookEndpoint"
        | "pauseWebhookEndpoint"
        | "resumeWebhookEndpoint"
        | "disableWebhookEndpoint" => (None, Some("WebhookEndpoint")),
        "updateWebhookEndpoint" => (Some("WebhookEndpointPatch"), Some("WebhookEndpoint")),
        "getWebhookEndpointSecret" => (None, Some("EndpointSecret")),
        "rotateWebhookEndpointSecret" => (Some("SecretRotation"), Some("SecretRotated")),
        "sendWebhookTest" => (Some("WebhookTest"), Some("WebhookQueued")),
        "recoverWebhookEndpoint" => (Some("WebhookRecovery"), Some("WebhookRecoveryStarted")),
        "getWebhookEndpointHealth" => (None, Some("EndpointHealth")),
        "getWebhookDelivery" => (None, Some("WebhookDelivery")),
        "resendWebhookDelivery" => (None, Some("WebhookResent")),
        "createPipeline" => (Some("NewPipeline"), Some("Pipeline")),
        "getPipeline" => (None, Some("Pipeline")),
        "updatePipeline" => (Some("PipelinePatch"), Some("Pipeline")),
        "createAccount" => (Some("NewAccount"), Some("Account")),
        "getAccount" => (None, Some("Account")),
        "updateAccount" => (Some("AccountPatch"), Some("Account")),
        "createContact" => (Some("NewContact"), Some("Contact")),
        "createLead" => (Some("NewLead"), Some("Lead")),
        "getLead" => (None, Some("Lead")),
        "updateLead" => (Some("LeadPatch"), Some("Lead")),
        "loseLead" => (Some("Reason"), Some("Lead")),
        "convertLead" => (Some("LeadConversion"), Some("LeadConverted")),
        "recordLeadSignal" => (Some("LeadSignal"), Some("Lead")),
        "getLeadScore" => (None, Some("LeadScore")),
        "importLeads" => (None, Some("LeadImport")),
        "logLeadActivity" | "logDealActivity" | "logAccountActivity" => {
            (Some("NewActivity"), Some("Activity"))
        }
        "createDeal" => (Some("NewDeal"), Some("Deal")),
        "getDeal" => (None, Some("Deal")),
        "updateDeal" => (Some("DealPatch"), Some("Deal")),
        "moveDeal" => (Some("DealMove"), Some("Deal")),
        "getDealPrediction" => (None, Some("DealPrediction")),
        "createScoringRule" => (Some("ScoringRuleInput"), Some("ScoringRule")),
        "replaceScoringRule" => (Some("ScoringRuleInput"), Some("ScoringRule")),
        "createAssignmentRule" | "replaceAssignmentRule" => {
            (Some("AssignmentRuleInput"), Some("AssignmentRule"))
        }
        "createProposal" => (Some("NewProposal"), Some("Proposal")),
        "createDealTask" => (Some("NewDealTask"), Some("DealTask")),
        "updateDealTask" => (Some("DealTaskPatch"), Some("DealTask")),
        "createStageAutomation" => (Some("NewStageAutomation"), Some("StageAutomation")),
        "updateProposal" => (Some("ProposalPatch"), Some("Proposal")),
        "getProposal" | "sendProposal" | "acceptProposal" => (None, Some("Proposal")),
        "rejectProposal" => (Some("Reason"), Some("Proposal")),
        "createContract" => (Some("NewContract"), Some("Contract")),
        "updateContract" => (Some("ContractPatch"), Some("Contract")),
        "getContract" | "holdContract" | "resumeContract" | "completeContract" => {
            (None, Some("Contract"))
        }
        "signContract" => (Some("ContractSignature"), Some("Contract")),
        "terminateContract" => (Some("Reason"), Some("Contract")),
        "createProduct" => (Some("NewProduct"), Some("Product")),
        "updateProduct" => (Some("ProductPatch"), Some("Product")),
        "getProduct" => (None, Some("Product")),
        "enrichLead" | "getLeadEnrichment" => (None, Some("Enrichment")),
        "createCampaign" => (Some("NewCampaign"), Some("Campaign")),
        "updateCampaign" => (Some("CampaignPatch"), Some("Campaign")),
        "getCampaign" => (None, Some("Campaign")),
        "getForecast" => (None, Some("Forecast")),
        "getForecastAccuracy" => (None, Some("ForecastAccuracy")),
        "putForecastAdjustment" => (Some("ForecastAdjustmentInput"), Some("ForecastAdjustment")),
        "getWinModel" | "trainWinModel" => (None, Some("WinModel")),
        _ => (None, None),
    }
}

/// The list operations and the schema of one item: each answers a page,
/// `{"items": [...], "next_cursor": ...}` (`null` on the last page).
fn page_of(operation: &str) -> Option<&'static str> {
    Some(match operation {
        "listFirmEvents" => "FirmEvent",
        "listMembers" => "Member",
        "listInvitations" => "Invitation",
        "listFirmAudit" => "AuditEntry",
        "listSessions" => "SessionSummary",
        "listApiKeys" => "ApiKeySummary",
        "listClients" => "Client",
        "listClientPortalUsers" | "listPortalUsers" => "PortalUser",
        "listClientPortalInvitations" => "PortalInvitation",
        "listDeadEvents" => "DeadEvent",
        "listJobs" => "JobSummary",
        "listJobTypes" => "JobType",
        "listJobDeadLetters" => "DeadLetter",
        "listWebhookEndpoints" => "WebhookEndpoint",
        "listWebhookDeliveries" => "WebhookDeliverySummary",
        "listFlags" => "Flag",
        "listNotifications" => "Notification",
        "listPipelines" => "Pipeline",
        "listAccounts" => "Account",
        "listContacts" => "Contact",
        "listLeads" => "Lead",
        "listDeals" => "Deal",
        "listLeadActivities" | "listDealActivities" | "listAccountActivities" => "Activity",
        "listScoringRules" => "ScoringRule",
        "listAssignmentRules" => "AssignmentRule",
        "listDealProposals" => "Proposal",
        "listDealTasks" => "DealTask",
        "listDealContracts" => "Contract",
        "listProducts" => "Product",
        "listCampaigns" => "Campaign",
        "listStageAutomations" => "StageAutomation",
        "getStaleDealReport" => "StaleDealGroup",
        _ => return None,
    })
}

/// Success statuses an operation answers besides its own: starting a job with an
/// idempotency key already used answers that job with 200.
fn also_succeeds(operation: &str) -> &'static [u16] {
    match operation {
        "downloadFile" => &[206],
        "startJob" => &[200],
        "putFlag" => &[201],
        // A browser (mode=cookie) goes back to the console with its cookies.
        "finishOidc" | "finishSaml" => &[303],
        _ => &[],
    }
}

/// Changes to something without a version to race on (a person's own profile):
/// no `If-Match`.
const UNVERSIONED_PATCH: &[&str] = &["updateMe"];

/// Operations whose body may be left out (every field has a default).
const OPTIONAL_BODY: &[&str] = &[
    "reprocessJobDeadLetters",
    "discardJobDeadLetters",
    "reprocessJobDeadLetter",
    "discardJobDeadLetter",
    "rotateWebhookEndpointSecret",
    "sendWebhookTest",
    "putFlag",
    "evaluateFlags",
    "convertLead",
];

/// PUT operations that replace a versioned record: `If-Match` as for a PATCH.
const VERSIONED_PUT: &[&str] = &["replaceScoringRule", "replaceAssignmentRule"];

/// Operations whose request body is a file's bytes rather than JSON.
fn binary_request(operation: &str) -> bool {
    matches!(operation, "putFileContent" | "putFilePart")
}

/// Operations whose request body is a CSV file.
fn csv_request(operation: &str) -> bool {
    operation == "importLeads"
}

/// Operations that answer a CSV file.
fn csv_response(operation: &str) -> bool {
    operation == "exportLeads"
}

/// The query parameters of an operation: name and component schema.
fn query(operation: &str) -> &'static [(&'static str, &'static str)] {
    const PAGE: [(&str, &str); 2] = [("limit", "PageLimit"), ("cursor", "PageCursor")];
    match operation {
        "listFirmEvents" | "listFirmAudit" | "listFlags" => &PAGE,
        "getFlagExposures" => &[("since", "Date")],
        "downloadFile" => &[("token", "LinkToken")],
        "listNotifications" => &[PAGE[0], PAGE[1], ("unread", "BooleanText")],
        "listClients" => &[
            PAGE[0],
            PAGE[1],
            ("status", "ClientStatus"),
            ("kind", "ClientKind"),
            ("q", "SearchText"),
        ],
        "listDeadEvents" => &[
            PAGE[0],
            PAGE[1],
            ("subscriber", "ModuleName"),
            ("type", "EventTypeName"),
        ],
        "listJobs" => &[
            PAGE[0],
            PAGE[1],
            ("status", "JobStatus"),
            ("category", "JobCategory"),
            ("type", "JobTypeName"),
            ("priority", "JobPriority"),
            ("error_class", "JobErrorClass"),
            ("correlation_id", "Uuid"),
            ("created_from", "DateTime"),
            ("created_to", "DateTime"),
        ],
        "listJobDeadLetters" => &[
            PAGE[0],
            PAGE[1],
            ("status", "DeadLetterStatus"),
            ("category", "JobCategory"),
            ("type", "JobTypeName"),
            ("error_class", "JobErrorClass"),
        ],
        "getJobMetrics" => &[("window", "Window")],
        "listAccounts" => &[
            PAGE[0],
            PAGE[1],
            ("lifecycle", "AccountLifecycle"),
            ("q", "SearchText"),
        ],
        "listContacts" => &[PAGE[0], PAGE[1], ("account_id", "AccountId")],
        "exportLeads" => &[
            ("status", "LeadStatus"),
            ("source", "LeadSource"),
            ("owner_id", "UserId"),
            ("tag", "TagText"),
            ("min_score", "Score"),
            ("q", "SearchText"),
        ],
        "listLeads" => &[
            PAGE[0],
            PAGE[1],
            ("status", "LeadStatus"),
            ("source", "LeadSource"),
            ("owner_id", "UserId"),
            ("tag", "TagText"),
            ("min_score", "Score"),
            ("q", "SearchText"),
        ],
        "listProducts" => &[
            PAGE[0],
            PAGE[1],
            ("status", "ProductStatus"),
            ("kind", "ProductKind"),
            ("category", "SearchText"),
            ("q", "SearchText"),
        ],
        "listCampaigns" => &[
            PAGE[0],
            PAGE[1],
            ("status", "CampaignStatus"),
            ("kind", "CampaignKind"),
        ],
        "listDeals" => &[
            PAGE[0],
            PAGE[1],
            ("pipeline_id", "PipelineId"),
            ("stage_id", "StageId"),
            ("status", "DealStatus"),
            ("owner_id", "UserId"),
            ("account_id", "AccountId"),
            ("stale", "BooleanText"),
            ("q", "SearchText"),
        ],
        "listLeadActivities" | "listDealActivities" | "listAccountActivities" => {
            &[PAGE[0], PAGE[1], ("kind", "ActivityKind")]
        }
        "getForecastAccuracy" => &[("period", "ForecastPeriod"), ("periods", "PeriodCount")],
        "getForecast" => &[
            ("period", "ForecastPeriod"),
            ("from", "Date"),
            ("periods", "PeriodCount"),
            ("pipeline_id", "PipelineId"),
        ],
        "listWebhookEndpoints" => &[PAGE[0], PAGE[1], ("status", "EndpointStatus")],
        "listWebhookDeliveries" => &[
            PAGE[0],
            PAGE[1],
            ("endpoint_id", "EndpointId"),
            ("message_id", "MessageId"),
            ("status", "DeliveryStatus"),
            ("type", "EventTypeName"),
            ("created_from", "DateTime"),
            ("created_to", "DateTime"),
        ],
        "startSaml" => &[("mode", "SessionMode")],
        "startOidc" => &[
            ("firm", "FirmHint"),
            ("login_hint", "LoginHint"),
            ("mode", "SessionMode"),
        ],
        "finishOidc" => &[
            ("code", "OidcCode"),
            ("state", "OidcState"),
            ("error", "OidcError"),
        ],
        _ => &[],
    }
}

/// Query parameters without which an operation refuses the request.
const REQUIRED_QUERY: &[(&str, &str)] = &[
    ("finishOidc", "code"),
    ("finishOidc", "state"),
    ("downloadFile", "token"),
];

/// Crockford base32, the 26 characters of a ULID after an id's prefix.
const ULID: &str = "[0-9A-HJKMNP-TV-Z]{26}";

fn id_pattern(prefix: &str) -> Value {
    json!({"type": "string", "pattern": format!("^{prefix}_{ULID}$")})
}

/// The schema of a path parameter: ids by their prefix (what the handlers accept).
fn path_parameter(name: &str) -> Value {
    match name {
        "slug" => json!({"$ref": "#/components/schemas/Slug"}),
        "flag_key" => json!({"$ref": "#/components/schemas/FlagKey"}),
        "provider" => json!({"type": "string", "enum": ["google", "microsoft"]}),
        "part_number" => json!({"type": "integer", "minimum": 1, "maximum": 10000}),
        _ => super::id_prefix(name).map_or_else(|| json!({"type": "string"}), id_pattern),
    }
}

fn string_enum<'a>(names: impl IntoIterator<Item = &'a str>) -> Value {
    json!({"type": "string", "enum": names.into_iter().collect::<Vec<_>>()})
}

/// `[Hh][Oo][Ss][Tt]` for `host`: ECMA-262 patterns have no case-insensitive flag.
fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else {
                regex_escape(c)
            }
        })
        .collect()
}

fn regex_escape(c: char) -> String {
    if "\\^$.|?*+()[]{}/-".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// Component schemas made from the Rust types the parsers check against, so the
/// document cannot drift from them.
fn generated_schemas() -> Map<String, Value> {
    use crate::auth::roles::{Flag, PortalRole, Role};
    use crate::jobs::{Category, DeadStatus, ErrorClass, Priority, Status};
    use crate::webhooks::{DeliveryStatus, EndpointStatus};
    let mut out = Map::new();
    let mut put = |name: &str, schema: Value| {
        out.insert(name.to_owned(), schema);
    };
    put(
        "StaffRole",
        string_enum(
            Role::ALL
                .iter()
                .filter(|r| !r.is_portal())
                .map(|r| r.name()),
        ),
    );
    put("StaffFlag", string_enum(Flag::ALL.iter().map(|f| f.name())));
    put(
        "PortalFlag",
        string_enum(Flag::PORTAL.iter().map(|f| f.name())),
    );
    put(
        "PortalRole",
        string_enum(PortalRole::ALL.iter().map(|r| r.name())),
    );
    put(
        "ClientKind",
        string_enum(
            crate::clients::model::ClientKind::ALL
                .iter()
                .map(|k| k.name()),
        ),
    );
    put(
        "ClientStatus",
        string_enum(
            crate::clients::model::ClientStatus::ALL
                .iter()
                .map(|k| k.name()),
        ),
    );
    put(
        "Window",
        string_enum(crate::kernel::stats::Window::ALL.iter().map(|w| w.name())),
    );
    put(
        "JobStatus",
        string_enum(Status::ALL.iter().map(|v| v.name())),
    );
    put(
        "JobCategory",
        string_enum(Category::ALL.iter().map(|v| v.name())),
    );
    put(
        "JobPriority",
        string_enum(Priority::ALL.iter().map(|v| v.name())),
    );
    put(
        "JobErrorClass",
        string_enum(ErrorClass::ALL.iter().map(|v| v.name())),
    );
    put(
        "DeadLetterStatus",
        string_enum(DeadStatus::ALL.iter().map(|v| v.name())),
    );
    put(
        "EndpointStatus",
        string_enum(EndpointStatus::ALL.iter().map(|v| v.name())),
    );
    put(
        "NotificationCategory",
        string_enum(crate::notify::Category::ALL.iter().map(|v| v.name())),
    );
    put(
        "NotificationChannel",
        string_enum(crate::notify::Channel::ALL.iter().map(|v| v.name())),
    );
    put(
        "DigestFrequency",
        string_enum(
            crate::notify::pipeline::DigestFrequency::ALL
                .iter()
                .map(|v| v.name()),
        ),
    );
    put(
        "FlagType",
        string_enum(crate::flags::FlagType::ALL.iter().map(|v| v.name())),
    );
    put(
        "FlagKind",
        string_enum(crate::flags::FlagKind::ALL.iter().map(|v| v.name())),
    );
    put(
        "FlagOp",
        string_enum(crate::flags::model::Op::ALL.iter().map(|v| v.name())),
    );
    put(
        "DeliveryStatus",
        string_enum(DeliveryStatus::ALL.iter().map(|v| v.name())),
    );
    let scopes = crate::auth::api_keys::Scope::grantable();
    put(
        "ApiKeyScope",
        string_enum(scopes.iter().map(String::as_str)),
    );
    let manual = crate::jobs::types::JOB_TYPES.iter().filter(|t| t.manual);
    put("ManualJobType", string_enum(manual.map(|t| t.name)));
    let types = crate::catalogue::published_types();
    put("EventType", string_enum(types.iter().copied()));
    let mut filters: Vec<String> = vec!["*".to_owned()];
    for kind in &types {
        let segments: Vec<&str> = kind.split('.').collect();
        for n in 1..segments.len() {
            let group = format!("{}.*", segments.get(..n).unwrap_or_default().join("."));
            if !filters.contains(&group) {
                filters.push(group);
            }
        }
        filters.push((*kind).to_owned());
    }
    put(
        "EventTypeFilter",
        string_enum(filters.iter().map(String::as_str)),
    );
    let reserved: Vec<String> = std::iter::once(format!("{}.*", any_case("webhook-")))
        .chain(
            crate::webhooks::endpoint::RESERVED_HEADERS
                .iter()
                .map(|h| any_case(h)),
        )
        .collect();
    put(
        "CustomHeaderName",
        json!({"type": "string", "pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$",
               "not": {"pattern": format!("^(?:{})$", reserved.join("|"))}}),
    );
    let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
    put("TimeZone", string_enum(zones));
    put(
        "Currency",
        string_enum(
            <iso_currency::Currency as iso_currency::IntoEnumIterator>::iter().map(|c| c.code()),
        ),
    );
    crm_schemas(&mut put);
    for (name, prefix) in [
        ("EndpointId", "whe"),
        ("MessageId", "msg"),
        ("ClientId", "cli"),
        ("AccountId", "acc"),
        ("PipelineId", "pip"),
        ("StageId", "stg"),
        ("UserId", "usr"),
    ] {
        put(name, id_pattern(prefix));
    }
    out
}

/// The CRM's closed sets, from the Rust types its parsers check against.
fn crm_schemas(put: &mut impl FnMut(&str, Value)) {
    use crate::crm::{
        account::Lifecycle, activity, assignment::Method, campaign, contract, deal::DealStatus,
        enrichment, forecast::Period, lead, pipeline::StageKind, product, proposal::ProposalStatus,
        scoring, task,
    };
    for (name, values) in [
        (
            "ProductKind",
            product::ProductKind::ALL
                .iter()
                .map(|v| v.name())
                .collect::<Vec<_>>(),
        ),
        (
            "ProductStatus",
            product::ProductStatus::ALL
                .iter()
                .map(|v| v.name())
                .collect(),
        ),
        (
            "BillingInterval",
            product::BillingInterval::ALL
                .iter()
                .map(|v| v.name())
                .collect(),
        ),
        (
            "CampaignKind",
            campaign::CampaignKind::ALL
                .iter()
                .map(|v| v.name())
                .collect(),
        ),
        (
            "CampaignStatus",
            campaign::CampaignStatus::ALL
                .iter()
                .map(|v| v.name())
                .collect(),
        ),
        (
            "ContractStatus",
            contract::ContractStatus::ALL
                .iter()
                .map(|v| v.name())
                .collect(),
        ),
        (
            "PaymentTerms",
            contract::PaymentTerms::ALL
                .iter()
                .map(|v| v.name())
                .collect(),
        ),
        (
            "EnrichmentStatus",
            enrichment::EnrichmentStatus::ALL
                .iter()
                .map(|v| v.name())
                .collect(),
        ),
    ] {
        put(name, string_enum(values));
    }
    put(
        "TaskPriority",
        string_enum(task::TaskPriority::ALL.iter().map(|v| v.name())),
    );
    put(
        "TaskStatus",
        string_enum(task::TaskStatus::ALL.iter().map(|v| v.name())),
    );
    put(
        "ProposalStatus",
        string_enum(ProposalStatus::ALL.iter().map(|v| v.name())),
    );
    put(
        "AssignmentMethod",
        string_enum(Method::ALL.iter().map(|v| v.name())),
    );
    put(
        "StageKind",
        string_enum(StageKind::ALL.iter().map(|v| v.name())),
    );
    put(
        "LeadStatus",
        string_enum(lead::LeadStatus::ALL.iter().map(|v| v.name())),
    );
    let settable = lead::LeadStatus::ALL
        .iter()
        .filter(|s| lead::LeadStatus::New.may_become(**s));
    put(
        "SettableLeadStatus",
        string_enum(settable.map(|v| v.name())),
    );
    put(
        "LeadSource",
        string_enum(lead::LeadSource::ALL.iter().map(|v| v.name())),
    );
    put(
        "DealStatus",
        string_enum(DealStatus::ALL.iter().map(|v| v.name())),
    );
    put(
        "AccountLifecycle",
        string_enum(Lifecycle::ALL.iter().map(|v| v.name())),
    );
    let settable = Lifecycle::ALL.iter().filter(|l| **l != Lifecycle::Customer);
    put("SettableLifecycle", string_enum(settable.map(|v| v.name())));
    put(
        "ActivityKind",
        string_enum(activity::ActivityKind::ALL.iter().map(|v| v.name())),
    );
    let logged = activity::ActivityKind::ALL.iter().filter(|k| k.is_logged());
    put("LoggedActivityKind", string_enum(logged.map(|v| v.name())));
    put(
        "ActivitySubject",
        string_enum(activity::Subject::ALL.iter().map(|v| v.name())),
    );
    put(
        "ScoringTrigger",
        string_enum(scoring::Trigger::ALL.iter().map(|v| v.name())),
    );
    let signals = scoring::Trigger::ALL.iter().filter(|t| t.is_signal());
    put("SignalTrigger", string_enum(signals.map(|v| v.name())));
    put(
        "RuleCategory",
        string_enum(scoring::RuleCategory::ALL.iter().map(|v| v.name())),
    );
    put(
        "ConditionOp",
        string_enum(scoring::Op::ALL.iter().map(|v| v.name())),
    );
    put(
        "ForecastPeriod",
        string_enum(Period::ALL.iter().map(|v| v.name())),
    );
    put(
        "Score",
        json!({"type": "integer", "minimum": 0, "maximum": 100}),
    );
    put(
        "PeriodCount",
        json!({"type": "integer", "minimum": 1, "maximum": crate::crm::forecast::MAX_PERIODS}),
    );
    put(
        "TagText",
        json!({"type": "string", "minLength": 1, "maxLength": 40,
               "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"}),
    );
}

fn component(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(r: &Route) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), r.operation.into());
    op.insert("summary".into(), r.summary.into());
    let mut parameters: Vec<Value> = r
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": path_parameter(name)}))
        .collect();
    for (name, schema) in query(r.operation) {
        let required = REQUIRED_QUERY.contains(&(r.operation, *name));
        parameters.push(
            json!({"name": name, "in": "query", "required": required, "schema": component(schema)}),
        );
    }
    if r.idempotent {
        parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Retries with the same key answer the first response; the key for a different request is a 409.",
            "schema": component("IdempotencyKey")}));
    }
    if (r.method == "PATCH" && !UNVERSIONED_PATCH.contains(&r.operation))
        || VERSIONED_PUT.contains(&r.operation)
    {
        parameters.push(json!({"name": "If-Match", "in": "header", "required": false,
            "description": "The etag last read; a stale one is a 412. Absent or * changes whatever is current.",
            "schema": component("IfMatch")}));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), parameters.into());
    }
    if r.auth == Auth::Public {
        op.insert("security".into(), json!([]));
    }
    let (request, response) = bodies(r.operation);
    let bytes = json!({"type": "string", "format": "binary"});
    if binary_request(r.operation) {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "description": "The file's bytes, sent with Content-Type the declared media type (or application/octet-stream) and Content-Length",
                   "content": {"application/octet-stream": {"schema": bytes}}}),
        );
    }
    if csv_request(r.operation) {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "description": "A UTF-8 CSV file with a header row naming the fields",
                   "content": {"text/csv": {"schema": {"type": "string"}}}}),
        );
    }
    if let Some(schema) = request {
        let required = !OPTIONAL_BODY.contains(&r.operation);
        op.insert(
            "requestBody".into(),
            json!({"required": required, "content": {"application/json": {"schema": component(schema)}}}),
        );
    }
    let body = match (page_of(r.operation), response) {
        (Some(item), _) => Some(json!({"type": "object", "additionalProperties": false,
            "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": component(item)},
                           "next_cursor": {"type": ["string", "null"]}}})),
        (None, Some(schema)) => Some(component(schema)),
        (None, None) => None,
    };
    let success = match body {
        None if csv_response(r.operation) => {
            json!({"description": "A UTF-8 CSV file with a header row",
                   "content": {"text/csv": {"schema": {"type": "string"}}}})
        }
        None if r.operation == "downloadFile" => {
            json!({"description": "The file's bytes (206 with Content-Range for a Range)",
                   "content": {"application/octet-stream": {"schema": bytes}}})
        }
        Some(schema) => {
            json!({"description": "Success", "content": {"application/json": {"schema": schema}}})
        }
        None => json!({"description": "Success"}),
    };
    let problem = json!({"description": "Problem", "content": {"application/problem+json": {"schema": component("Problem")}}});
    let mut responses = Map::new();
    for status in also_succeeds(r.operation) {
        responses.insert(status.to_string(), success.clone());
    }
    responses.insert(r.success.to_string(), success);
    responses.insert("default".into(), problem);
    op.insert("responses".into(), responses.into());
    op.into()
}

/// One `webhooks` entry per catalogued event type: the Standard Webhooks payload
/// (`type`, `timestamp`, `data`) a firm's endpoint receives, with the type's schema
/// as `data`, and the signature headers.
fn webhooks() -> Value {
    let catalogue: Value =
        serde_json::from_str(crate::catalogue::EVENT_TYPES_JSON).unwrap_or_default();
    let mut hooks = Map::new();
    let field = |item: &Value, key: &str| item.get(key).cloned().unwrap_or(Value::Null);
    let items = catalogue.get("items").and_then(Value::as_array);
    for item in items.into_iter().flatten() {
        let Some(kind) = item.get("type").and_then(Value::as_str) else {
            continue;
        };
        let mut data = field(item, "schema");
        if let Value::Object(schema) = &mut data {
            schema.remove("$schema");
        }
        let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}});
        hooks.insert(
            kind.to_owned(),
            json!({"post": {
                "operationId": format!("webhook.{kind}"),
                "summary": field(item, "description"),
                "description": format!("Version {} of `{kind}`. Verify the signature as Standard Webhooks 1.0 describes before trusting the body.", field(item, "version")),
                "parameters": [
                    header("webhook-id", "The message id (`msg_…`); the same on every retry, so deduplicate on it."),
                    header("webhook-timestamp", "Unix seconds of this attempt; refuse one far from your clock."),
                    header("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>` per live secret.")
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["type", "timestamp", "data"],
                    "properties": {
                        "type": {"const": kind},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "data": data
                    }
                }, "example": {"type": kind, "timestamp": "2026-11-26T09:30:00Z", "data": field(item, "example")}}}},
                "responses": {"2XX": {"description": "Taken; any other answer is retried on the schedule."}}
            }}),
        );
    }
    hooks.into()
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths
            .entry(r.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(r.method.to_ascii_lowercase(), operation(r));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Firmament API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Operations platform for professional-services firms."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "webhooks": webhooks(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_once() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let count: usize = paths.values().map(|m| m.as_object().unwrap().len()).sum();
        assert_eq!(count, ROUTES.len());
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.to_ascii_lowercase()];
            assert_eq!(op["operationId"], r.operation);
        }
        // Every catalogued event type is a webhook.
        let hooks = doc["webhooks"].as_object().unwrap();
        assert!(hooks.contains_key("firm.created"));
        assert_eq!(
            hooks["firm.created"]["post"]["requestBody"]["content"]["application/json"]["schema"]
                ["properties"]["data"]["required"],
            json!(["firm_id", "slug", "owner_user_id"])
        );
        // Every schema referenced exists.
        let text = doc.to_string();
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(text.contains(&format!("#/components/schemas/{name}")) || name == "Problem");
        }
    }

    #[test]
    fn every_reference_resolves_and_every_parameter_is_typed() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        for piece in text.split("#/components/schemas/").skip(1) {
            let name: String = piece.chars().take_while(|c| *c != '"').collect();
            assert!(
                schemas.contains_key(&name),
                "{name} is referenced but not defined"
            );
        }
        for r in ROUTES {
            for name in r.path.split('/').filter_map(|s| s.strip_prefix('{')) {
                let name = name.trim_end_matches('}');
                assert_ne!(
                    path_parameter(name),
                    json!({"type": "string"}),
                    "{} {name} has no schema of its own",
                    r.path
                );
            }
            let (request, _) = bodies(r.operation);
            if matches!(r.method, "POST" | "PUT" | "PATCH") && request.is_none() {
                // An action without a body: it must not read one.
                assert!(
                    !OPTIONAL_BODY.contains(&r.operation),
                    "{} lists an optional body but has none",
                    r.operation
                );
            }
        }
    }

    #[test]
    fn generated_enums_are_what_the_parsers_accept() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let names = |name: &str| -> Vec<String> {
            schemas[name]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        for zone in names("TimeZone") {
            assert!(
                crate::kernel::time::TimeZone::parse("z", &zone).is_ok(),
                "{zone}"
            );
        }
        assert!(names("TimeZone").contains(&"Europe/Paris".to_owned()));
        let currencies = names("Currency");
        for a in b'A'..=b'Z' {
            for b in b'A'..=b'Z' {
                for c in b'A'..=b'Z' {
                    let code = String::from_utf8(vec![a, b, c]).unwrap();
                    assert_eq!(
                        crate::kernel::money::Currency::parse("c", &code).is_ok(),
                        currencies.contains(&code),
                        "{code}"
                    );
                }
            }
        }
        for scope in names("ApiKeyScope") {
            assert!(
                crate::auth::api_keys::Scope::parse("s", &scope).is_ok(),
                "{scope}"
            );
        }
        assert!(!names("ApiKeyScope").contains(&"admin:write".to_owned()));
        for filter in names("EventTypeFilter") {
            assert!(
                crate::webhooks::endpoint::parse_filter(&[json!(filter)]).is_ok(),
                "{filter}"
            );
        }
        let header = schemas["CustomHeaderName"]["not"]["pattern"]
            .as_str()
            .unwrap();
        assert!(header.contains("[Hh][Oo][Ss][Tt]"), "{header}");
    }

    #[test]
    fn header_patterns_match_their_parsers() {
        let doc = document();
        let pattern = |name: &str| doc["components"]["schemas"][name]["pattern"].clone();
        assert_eq!(
            pattern("IfMatch"),
            json!("^(?:\\*|(?:W/)?\"[0-9]{1,18}\")$")
        );
        for ok in ["*", "\"7\"", "W/\"7\""] {
            assert!(crate::kernel::etag::parse_if_match(Some(ok)).is_ok());
        }
        assert_eq!(pattern("IdempotencyKey"), json!("^[!-~]{1,255}$"));
    }
}
