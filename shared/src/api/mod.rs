//! The public HTTP API as data: every route, which module worker serves it, whether
//! it needs a token. The gateway routes with it, module workers dispatch with it, and
//! the OpenAPI document is generated from it, so the three cannot disagree.

pub mod openapi;

/// How a route authenticates its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone may call it.
    Public,
    /// A bearer access token is required.
    Bearer,
}

/// One operation of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path template; `{name}` is a parameter.
    pub path: &'static str,
    /// Service binding of the module worker that serves it; `None` for the gateway's own.
    pub module: Option<&'static str>,
    /// Stable operation id.
    pub operation: &'static str,
    /// One line for the docs.
    pub summary: &'static str,
    /// Authentication.
    pub auth: Auth,
    /// Whether `Idempotency-Key` is honoured.
    pub idempotent: bool,
    /// Success status.
    pub success: u16,
    /// The body is the bytes of a file, streamed to the module rather than read
    /// by the gateway, up to [`crate::files::rules::SINGLE_MAX`].
    pub binary: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    module: Option<&'static str>,
    operation: &'static str,
    summary: &'static str,
    auth: Auth,
    success: u16,
) -> Route {
    Route {
        method,
        path,
        module,
        operation,
        summary,
        auth,
        idempotent: false,
        success,
        binary: false,
    }
}

const fn idempotent(r: Route) -> Route {
    Route {
        idempotent: true,
        ..r
    }
}

const fn binary(r: Route) -> Route {
    Route { binary: true, ..r }
}

/// Binding name of the firm module worker.
pub const FIRM: Option<&str> = Some("FIRM");

/// Binding name of the auth (identity) module worker.
pub const AUTH: Option<&str> = Some("AUTH");

/// Binding name of the single sign-on module worker.
pub const SSO: Option<&str> = Some("SSO");

/// Binding name of the clients module worker (clients and their portal).
pub const CLIENTS: Option<&str> = Some("CLIENTS");

/// Binding name of the event dispatcher worker (fan-out, dead letters, replay).
pub const DISPATCHER: Option<&str> = Some("DISPATCHER");

/// Binding name of the jobs worker (background jobs, their dead letters and metrics).
pub const JOBS: Option<&str> = Some("JOBS");

/// Binding name of the webhooks worker (endpoints, deliveries, health).
pub const WEBHOOKS: Option<&str> = Some("WEBHOOKS");
/// The notifications module.
pub const NOTIFICATIONS: Option<&str> = Some("NOTIFICATIONS");
/// The CRM module (pipelines, leads, deals, accounts, scoring, forecasts).
pub const CRM: Option<&str> = Some("CRM");
/// The files module (uploads to R2, scans, signed downloads, logo and avatars).
pub const FILES: Option<&str> = Some("FILES");

/// The record id each path parameter names, with the prefix it must carry: one table
/// for the handlers that parse them (`edge::http::path_id`), the document that
/// describes them and the tests that call every route.
pub const PATH_IDS: &[(&str, &str)] = &[
    ("account_id", "acc"),
    ("assignment_rule_id", "asr"),
    ("automation_id", "aut"),
    ("campaign_id", "cmp"),
    ("contract_id", "ctr"),
    ("deal_id", "dea"),
    ("lead_id", "led"),
    ("pipeline_id", "pip"),
    ("product_id", "prd"),
    ("proposal_id", "prp"),
    ("rule_id", "scr"),
    ("task_id", "tsk"),
    ("client_id", "cli"),
    ("dead_letter_id", "dlq"),
    ("delivery_id", "whd"),
    ("endpoint_id", "whe"),
    ("event_id", "evt"),
    ("file_id", "fil"),
    ("invitation_id", "inv"),
    ("job_id", "job"),
    ("notification_id", "ntf"),
    ("key_id", "key"),
    ("portal_invitation_id", "pin"),
    ("session_id", "ses"),
    ("user_id", "usr"),
];

/// The id prefix path parameter `name` carries (see [`PATH_IDS`]).
pub fn id_prefix(name: &str) -> Option<&'static str> {
    PATH_IDS
        .iter()
        .find(|(param, _)| *param == name)
        .map(|(_, prefix)| *prefix)
}

/// Every route of the API.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    route("GET", "/v1/health", None, "getHealth", "Liveness of the gateway and its storage bindings", Auth::Public, 200),
    route("GET", "/v1/openapi.json", None, "getOpenApi", "This API's OpenAPI 3.1 document", Auth::Public, 200),
    route("GET", "/v1/events/types", None, "listEventTypes", "The catalogue of public event types: version, description, JSON Schema of data, example", Auth::Public, 200),
    idempotent(route("POST", "/v1/firms", FIRM, "provisionFirm", "Create a firm and its owner; returns the owner's access token", Auth::Public, 201)),
    route("GET", "/v1/firm", FIRM, "getFirm", "The caller's firm", Auth::Bearer, 200),
    route("PATCH", "/v1/firm", FIRM, "updateFirm", "Change the firm's settings (If-Match with its etag)", Auth::Bearer, 200),
    route("GET", "/v1/firm/provisioning", FIRM, "getFirmProvisioning", "Background provisioning steps completed for the firm", Auth::Bearer, 200),
    route("GET", "/v1/firm/events", FIRM, "listFirmEvents", "The firm's domain events and their delivery", Auth::Bearer, 200),
    route("POST", "/v1/firm/events/{event_id}/redeliver", FIRM, "redeliverFirmEvent", "Queue one of the firm's events for delivery again", Auth::Bearer, 202),
    route("GET", "/v1/firm/members", FIRM, "listMembers", "The firm's members with their roles and flags", Auth::Bearer, 200),
    route("PATCH", "/v1/firm/members/{user_id}", FIRM, "updateMember", "Change a member's role or flags, or (de)activate them", Auth::Bearer, 200),
    route("POST", "/v1/firm/invitations", FIRM, "createInvitation", "Invite someone by e-mail with a role (counts against the plan)", Auth::Bearer, 201),
    route("GET", "/v1/firm/invitations", FIRM, "listInvitations", "Pending invitations", Auth::Bearer, 200),
    route("DELETE", "/v1/firm/invitations/{invitation_id}", FIRM, "revokeInvitation", "Withdraw a pending invitation", Auth::Bearer, 204),
    route("POST", "/v1/firm/invitations/accept", FIRM, "acceptInvitation", "Join a firm with a mailed invitation (creates the account if needed)", Auth::Public, 201),
    route("GET", "/v1/firm/audit", FIRM, "listFirmAudit", "The firm's audit log, newest first", Auth::Bearer, 200),
    route("GET", "/v1/firm/audit/verify", FIRM, "verifyFirmAudit", "Check the firm's audit hash chain from its first entry", Auth::Bearer, 200),
    route("GET", "/v1/firm/keys", FIRM, "listFirmKeys", "The firm's data-key versions (never the keys)", Auth::Bearer, 200),
    route("POST", "/v1/firm/keys/rotate", FIRM, "rotateFirmKey", "Make a new data key and move the firm's sealed values onto it", Auth::Bearer, 201),
    idempotent(route("POST", "/v1/files", FILES, "createUpload", "Declare an upload (name, type, size, use); the firm's quota is reserved before any byte is sent", Auth::Bearer, 201)),
    route("GET", "/v1/files/{file_id}", FILES, "getFile", "An uploaded file's record: size, SHA-256, scan status", Auth::Bearer, 200),
    binary(route("PUT", "/v1/files/{file_id}/content", FILES, "putFileContent", "Send every byte of a single upload (at most 95 MiB); answers the stored file", Auth::Bearer, 200)),
    binary(route("PUT", "/v1/files/{file_id}/parts/{part_number}", FILES, "putFilePart", "Send one part of a multipart upload; a part sent again replaces the one before", Auth::Bearer, 200)),
    route("GET", "/v1/files/{file_id}/parts", FILES, "listFileParts", "The parts of a multipart upload received so far and those missing (to resume)", Auth::Bearer, 200),
    route("POST", "/v1/files/{file_id}/complete", FILES, "completeUpload", "Join a multipart upload's parts into the file; answers it with its SHA-256", Auth::Bearer, 200),
    route("POST", "/v1/files/{file_id}/abort", FILES, "abortUpload", "Give up an upload: its parts are dropped and its quota freed", Auth::Bearer, 204),
    route("POST", "/v1/files/{file_id}/links", FILES, "createFileLink", "A signed download link, living as long as the file's classification allows", Auth::Bearer, 201),
    route("GET", "/v1/files/{file_id}/download", FILES, "downloadFile", "The bytes behind a signed link (one Range supported)", Auth::Public, 200),
    route("GET", "/v1/firm/branding", FILES, "getBranding", "The firm's name and a link to its logo, for the console and the portal", Auth::Bearer, 200),
    route("PUT", "/v1/firm/branding/logo", FILES, "setLogo", "Make an uploaded logo the firm's logo", Auth::Bearer, 200),
    route("DELETE", "/v1/firm/branding/logo", FILES, "removeLogo", "Remove the firm's logo", Auth::Bearer, 204),
    route("PUT", "/v1/me/avatar", FILES, "setAvatar", "Make an uploaded picture the caller's avatar in this firm", Auth::Bearer, 200),
    route("DELETE", "/v1/me/avatar", FILES, "removeAvatar", "Remove the caller's avatar in this firm", Auth::Bearer, 204),
    route("GET", "/v1/avatars/{user_id}", FILES, "getAvatar", "A link to a person's avatar in the caller's firm", Auth::Bearer, 200),
    route("GET", "/v1/notifications", NOTIFICATIONS, "listNotifications", "The caller's in-app notifications, newest first (unread=true for the unread ones)", Auth::Bearer, 200),
    route("GET", "/v1/notifications/unread-count", NOTIFICATIONS, "getUnreadNotificationCount", "How many of the caller's notifications are unread (the bell)", Auth::Bearer, 200),
    route("POST", "/v1/notifications/{notification_id}/read", NOTIFICATIONS, "markNotificationRead", "Mark one of the caller's notifications read", Auth::Bearer, 204),
    route("POST", "/v1/notifications/read-all", NOTIFICATIONS, "markAllNotificationsRead", "Mark all of the caller's notifications read", Auth::Bearer, 200),
    route("GET", "/v1/notifications/preferences", NOTIFICATIONS, "getNotificationPreferences", "The caller's notification preferences in this firm", Auth::Bearer, 200),
    route("PUT", "/v1/notifications/preferences", NOTIFICATIONS, "putNotificationPreferences", "Change the caller's preferences: categories per channel, quiet hours, digest", Auth::Bearer, 200),
    route("GET", "/v1/flags", FIRM, "listFlags", "The firm's feature flags", Auth::Bearer, 200),
    route("GET", "/v1/flags/{flag_key}", FIRM, "getFlag", "One feature flag", Auth::Bearer, 200),
    route("PUT", "/v1/flags/{flag_key}", FIRM, "putFlag", "Create (201) or replace (200, If-Match with its etag) a feature flag", Auth::Bearer, 200),
    route("DELETE", "/v1/flags/{flag_key}", FIRM, "deleteFlag", "Delete a feature flag (its history stays)", Auth::Bearer, 204),
    route("GET", "/v1/flags/{flag_key}/exposures", FIRM, "getFlagExposures", "An experiment's exposures per arm and its sample-ratio check", Auth::Bearer, 200),
    route("POST", "/v1/flag-evaluations", FIRM, "evaluateFlags", "Evaluate the firm's flags for the caller (OpenFeature results)", Auth::Bearer, 200),
    route("POST", "/v1/auth/sign-in", AUTH, "signIn", "Sign in with e-mail and password; returns access and refresh tokens", Auth::Public, 200),
    route("POST", "/v1/auth/refresh", AUTH, "refreshSession", "Exchange a refresh token for new tokens (the old one stops working)", Auth::Public, 200),
    route("POST", "/v1/auth/sign-out", AUTH, "signOut", "End the current session", Auth::Bearer, 204),
    route("POST", "/v1/auth/switch-firm", AUTH, "switchFirm", "Open a session in another firm the caller belongs to", Auth::Bearer, 200),
    route("GET", "/v1/auth/sessions", AUTH, "listSessions", "The caller's live sessions", Auth::Bearer, 200),
    route("DELETE", "/v1/auth/sessions/{session_id}", AUTH, "revokeSession", "End one of the caller's sessions", Auth::Bearer, 204),
    route("POST", "/v1/auth/mfa/challenge", AUTH, "answerMfaChallenge", "Complete a sign-in with a second factor", Auth::Public, 200),
    route("GET", "/v1/auth/mfa", AUTH, "getMfa", "The caller's second factors", Auth::Bearer, 200),
    route("POST", "/v1/auth/mfa/totp", AUTH, "enrolTotp", "Start enrolling an authenticator app (secret, otpauth URI, QR code)", Auth::Bearer, 201),
    route("POST", "/v1/auth/mfa/totp/confirm", AUTH, "confirmTotp", "Confirm the authenticator with its first code; returns recovery codes", Auth::Bearer, 200),
    route("DELETE", "/v1/auth/mfa/totp", AUTH, "removeTotp", "Remove the authenticator and recovery codes (needs step-up)", Auth::Bearer, 204),
    route("POST", "/v1/auth/mfa/recovery-codes", AUTH, "regenerateRecoveryCodes", "Replace the recovery codes (needs step-up)", Auth::Bearer, 200),
    route("POST", "/v1/auth/mfa/step-up", AUTH, "stepUp", "Prove a second factor now; returns a fresh access token", Auth::Bearer, 200),
    route("POST", "/v1/auth/mfa/sms", AUTH, "enrolSms", "Start enrolling a phone for text-message codes (needs step-up once a factor exists)", Auth::Bearer, 202),
    route("POST", "/v1/auth/mfa/sms/confirm", AUTH, "confirmSms", "Confirm the phone with the code it received", Auth::Bearer, 200),
    route("DELETE", "/v1/auth/mfa/sms", AUTH, "removeSms", "Remove the phone (needs step-up)", Auth::Bearer, 204),
    route("POST", "/v1/auth/mfa/challenge/sms", AUTH, "sendChallengeSms", "Text a sign-in code to the phone of a pending challenge", Auth::Public, 202),
    route("POST", "/v1/auth/mfa/sms/send", AUTH, "sendSmsCode", "Text a code for a step-up", Auth::Bearer, 202),
    route("POST", "/v1/auth/api-keys", AUTH, "createApiKey", "Create a scoped API key for a machine (shown once; needs step-up)", Auth::Bearer, 201),
    route("GET", "/v1/auth/api-keys", AUTH, "listApiKeys", "The firm's API keys (never their secrets)", Auth::Bearer, 200),
    route("DELETE", "/v1/auth/api-keys/{key_id}", AUTH, "revokeApiKey", "Revoke an API key", Auth::Bearer, 204),
    route("POST", "/v1/auth/password", AUTH, "changePassword", "Change the caller's password (needs step-up; other sessions end)", Auth::Bearer, 204),
    route("POST", "/v1/auth/password/forgot", AUTH, "forgotPassword", "Mail a password-reset link (same answer whether or not the address has an account)", Auth::Public, 202),
    route("POST", "/v1/auth/password/reset", AUTH, "resetPassword", "Set a new password with a reset token; ends every session", Auth::Public, 204),
    route("POST", "/v1/auth/email/verification", AUTH, "requestEmailVerification", "Mail a link that confirms the caller's address", Auth::Bearer, 202),
    idempotent(route("POST", "/v1/crm/pipelines", CRM, "createPipeline", "Create a pipeline with its ordered stages (one won, one lost); the firm's first is its default", Auth::Bearer, 201)),
    route("GET", "/v1/crm/pipelines", CRM, "listPipelines", "The firm's pipelines with their stages, the default first", Auth::Bearer, 200),
    route("GET", "/v1/crm/pipelines/{pipeline_id}", CRM, "getPipeline", "One pipeline with its stages", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/pipelines/{pipeline_id}", CRM, "updatePipeline", "Rename, (de)activate, make default, or replace the stage list (If-Match with its etag)", Auth::Bearer, 200),
    idempotent(route("POST", "/v1/crm/accounts", CRM, "createAccount", "Add an account (a company being sold to)", Auth::Bearer, 201)),
    route("GET", "/v1/crm/accounts", CRM, "listAccounts", "Accounts, newest first (filter with lifecycle and q)", Auth::Bearer, 200),
    route("GET", "/v1/crm/accounts/{account_id}", CRM, "getAccount", "One account", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/accounts/{account_id}", CRM, "updateAccount", "Change an account (If-Match with its etag)", Auth::Bearer, 200),
    route("GET", "/v1/crm/accounts/{account_id}/activities", CRM, "listAccountActivities", "An account's timeline, newest first", Auth::Bearer, 200),
    route("POST", "/v1/crm/accounts/{account_id}/activities", CRM, "logAccountActivity", "Log a call, e-mail, meeting, note or task on an account", Auth::Bearer, 201),
    idempotent(route("POST", "/v1/crm/contacts", CRM, "createContact", "Add a contact, at an account or on their own", Auth::Bearer, 201)),
    route("GET", "/v1/crm/contacts", CRM, "listContacts", "Contacts, newest first (filter with account_id)", Auth::Bearer, 200),
    idempotent(route("POST", "/v1/crm/leads", CRM, "createLead", "Capture a lead; it is scored by the firm's rules at once", Auth::Bearer, 201)),
    route("GET", "/v1/crm/leads", CRM, "listLeads", "Leads, newest first (filter with status, source, owner_id, tag, min_score, q)", Auth::Bearer, 200),
    route("POST", "/v1/crm/leads/import", CRM, "importLeads", "Import leads from a CSV file (text/csv, a header row, at most 2,000 rows): every row is answered created or failed with its fields' problems", Auth::Bearer, 200),
    route("GET", "/v1/crm/leads/export", CRM, "exportLeads", "The leads matching the list's filters as a CSV file that imports back", Auth::Bearer, 200),
    route("GET", "/v1/crm/leads/{lead_id}", CRM, "getLead", "One lead", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/leads/{lead_id}", CRM, "updateLead", "Change a lead or move it between new, contacted and qualified (If-Match with its etag); it is re-scored", Auth::Bearer, 200),
    route("POST", "/v1/crm/leads/{lead_id}/lose", CRM, "loseLead", "Mark a lead lost, with the reason", Auth::Bearer, 200),
    route("POST", "/v1/crm/leads/{lead_id}/convert", CRM, "convertLead", "Convert a qualified lead into an account (new or named), a contact and an open deal", Auth::Bearer, 201),
    route("POST", "/v1/crm/leads/{lead_id}/signals", CRM, "recordLeadSignal", "Report something the lead did (an e-mail opened, a page visited …); the rules it sets off adjust the score", Auth::Bearer, 200),
    route("GET", "/v1/crm/leads/{lead_id}/score", CRM, "getLeadScore", "Why the lead scores what it does: every adjustment, its rule and reason, and whether it still counts", Auth::Bearer, 200),
    route("POST", "/v1/crm/leads/{lead_id}/enrich", CRM, "enrichLead", "Look the lead up at the enrichment provider (a job, retried): what it knows fills the fields no person typed (202; a lookup already waiting is answered)", Auth::Bearer, 202),
    route("GET", "/v1/crm/leads/{lead_id}/enrichment", CRM, "getLeadEnrichment", "The lead's newest lookup: waiting, found (with the fields it filled and those a person's value kept), not found or failed", Auth::Bearer, 200),
    route("GET", "/v1/crm/leads/{lead_id}/activities", CRM, "listLeadActivities", "A lead's timeline, newest first (filter with kind)", Auth::Bearer, 200),
    route("POST", "/v1/crm/leads/{lead_id}/activities", CRM, "logLeadActivity", "Log a call, e-mail, meeting, note or task on a lead", Auth::Bearer, 201),
    idempotent(route("POST", "/v1/crm/deals", CRM, "createDeal", "Open a deal in a pipeline's first open stage (or the one named)", Auth::Bearer, 201)),
    route("GET", "/v1/crm/deals", CRM, "listDeals", "Deals, newest first (filter with pipeline_id, stage_id, status, owner_id, account_id, stale, q)", Auth::Bearer, 200),
    route("GET", "/v1/crm/deals/{deal_id}", CRM, "getDeal", "One deal with its stage, probability and weighted value", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/deals/{deal_id}", CRM, "updateDeal", "Change a deal's fields (If-Match with its etag); it changes stage by moving", Auth::Bearer, 200),
    route("POST", "/v1/crm/deals/{deal_id}/move", CRM, "moveDeal", "Move a deal to another stage of its pipeline: won, lost (with a reason) or open again", Auth::Bearer, 200),
    route("GET", "/v1/crm/deals/{deal_id}/prediction", CRM, "getDealPrediction", "The deal's chance of being won and likely close, from the firm's own history, with the reasons", Auth::Bearer, 200),
    route("GET", "/v1/crm/deals/{deal_id}/activities", CRM, "listDealActivities", "A deal's timeline, newest first (filter with kind)", Auth::Bearer, 200),
    route("POST", "/v1/crm/deals/{deal_id}/activities", CRM, "logDealActivity", "Log a call, e-mail, meeting, note or task on a deal (it is no longer stale)", Auth::Bearer, 201),
    route("GET", "/v1/crm/reports/stale-deals", CRM, "getStaleDealReport", "Open deals gone quiet longer than their stage allows, grouped by owner, pipeline, stage, age and currency, with value and weighted value", Auth::Bearer, 200),
    route("POST", "/v1/crm/deals/{deal_id}/proposals", CRM, "createProposal", "Draft a proposal on an open deal: priced lines in the deal's currency, valid until a day", Auth::Bearer, 201),
    route("GET", "/v1/crm/deals/{deal_id}/proposals", CRM, "listDealProposals", "A deal's proposals, newest first", Auth::Bearer, 200),
    route("GET", "/v1/crm/proposals/{proposal_id}", CRM, "getProposal", "One proposal", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/proposals/{proposal_id}", CRM, "updateProposal", "Change a draft proposal (If-Match with its etag); a sent one is frozen", Auth::Bearer, 200),
    route("POST", "/v1/crm/proposals/{proposal_id}/send", CRM, "sendProposal", "Send a draft: it is frozen and awaits the client's answer until valid_until", Auth::Bearer, 200),
    route("POST", "/v1/crm/proposals/{proposal_id}/accept", CRM, "acceptProposal", "Record the client's acceptance of a sent proposal (after valid_until it expires instead: 409)", Auth::Bearer, 200),
    route("POST", "/v1/crm/proposals/{proposal_id}/reject", CRM, "rejectProposal", "Record the client's rejection of a sent proposal, with the reason", Auth::Bearer, 200),
    route("POST", "/v1/crm/deals/{deal_id}/contracts", CRM, "createContract", "Draft a contract on a deal: from its accepted proposal (title and total follow) or by hand; numbered C-0001… unless a number is given", Auth::Bearer, 201),
    route("GET", "/v1/crm/deals/{deal_id}/contracts", CRM, "listDealContracts", "A deal's contracts, newest first", Auth::Bearer, 200),
    route("GET", "/v1/crm/contracts/{contract_id}", CRM, "getContract", "One contract", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/contracts/{contract_id}", CRM, "updateContract", "Change a draft contract, or a signed one's notes (If-Match with its etag)", Auth::Bearer, 200),
    route("POST", "/v1/crm/contracts/{contract_id}/sign", CRM, "signContract", "Record who signed a draft for the client and when (today unless given): it becomes active and its terms are fixed", Auth::Bearer, 200),
    route("POST", "/v1/crm/contracts/{contract_id}/hold", CRM, "holdContract", "Put an active contract on hold", Auth::Bearer, 200),
    route("POST", "/v1/crm/contracts/{contract_id}/resume", CRM, "resumeContract", "Run a contract on hold again", Auth::Bearer, 200),
    route("POST", "/v1/crm/contracts/{contract_id}/complete", CRM, "completeContract", "Close a signed contract as done", Auth::Bearer, 200),
    route("POST", "/v1/crm/contracts/{contract_id}/terminate", CRM, "terminateContract", "End a signed contract early, with the reason", Auth::Bearer, 200),
    idempotent(route("POST", "/v1/crm/products", CRM, "createProduct", "Add a product to the catalogue: a unique code, a kind, a price in one currency (a subscription with its billing interval)", Auth::Bearer, 201)),
    route("GET", "/v1/crm/products", CRM, "listProducts", "The catalogue, newest first (filter with status, kind, category, q)", Auth::Bearer, 200),
    route("GET", "/v1/crm/products/{product_id}", CRM, "getProduct", "One product", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/products/{product_id}", CRM, "updateProduct", "Change, pause or archive a product (If-Match with its etag)", Auth::Bearer, 200),
    idempotent(route("POST", "/v1/crm/campaigns", CRM, "createCampaign", "Start planning a campaign: its kind, dates, currency and budget", Auth::Bearer, 201)),
    route("GET", "/v1/crm/campaigns", CRM, "listCampaigns", "Campaigns with their results, newest first (filter with status, kind)", Auth::Bearer, 200),
    route("GET", "/v1/crm/campaigns/{campaign_id}", CRM, "getCampaign", "One campaign with its results counted from the leads and deals naming it: cost per lead, return on cost, target reached", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/campaigns/{campaign_id}", CRM, "updateCampaign", "Change a campaign or move it (planning → active ⇄ paused → completed, or cancelled; If-Match with its etag)", Auth::Bearer, 200),
    route("POST", "/v1/crm/deals/{deal_id}/tasks", CRM, "createDealTask", "Add a task to a deal (priority, assignee, due day)", Auth::Bearer, 201),
    route("GET", "/v1/crm/deals/{deal_id}/tasks", CRM, "listDealTasks", "A deal's tasks, open first by due day", Auth::Bearer, 200),
    route("PATCH", "/v1/crm/tasks/{task_id}", CRM, "updateDealTask", "Change a task or mark it done (If-Match with its etag); done is activity on the deal", Auth::Bearer, 200),
    route("GET", "/v1/crm/pipelines/{pipeline_id}/automations", CRM, "listStageAutomations", "What entering each stage of a pipeline sets off", Auth::Bearer, 200),
    route("POST", "/v1/crm/pipelines/{pipeline_id}/automations", CRM, "createStageAutomation", "Add a step to a stage: assign, create_task, notify, set_probability, add_tag, set_expected_close or webhook", Auth::Bearer, 201),
    route("DELETE", "/v1/crm/automations/{automation_id}", CRM, "deleteStageAutomation", "Remove a stage automation; what it did stays done", Auth::Bearer, 204),
    route("GET", "/v1/crm/assignment-rules", CRM, "listAssignmentRules", "The firm's lead and deal assignment rules, highest priority first", Auth::Bearer, 200),
    route("POST", "/v1/crm/assignment-rules", CRM, "createAssignmentRule", "Add an assignment rule (at most 100): round robin, territory, value range or source", Auth::Bearer, 201),
    route("PUT", "/v1/crm/assignment-rules/{assignment_rule_id}", CRM, "replaceAssignmentRule", "Replace an assignment rule (If-Match with its etag); its rotation carries on", Auth::Bearer, 200),
    route("DELETE", "/v1/crm/assignment-rules/{assignment_rule_id}", CRM, "deleteAssignmentRule", "Delete an assignment rule; whom it assigned keeps the work", Auth::Bearer, 204),
    route("GET", "/v1/crm/scoring-rules", CRM, "listScoringRules", "The firm's lead-scoring rules, highest priority first", Auth::Bearer, 200),
    route("POST", "/v1/crm/scoring-rules", CRM, "createScoringRule", "Add a lead-scoring rule (at most 200)", Auth::Bearer, 201),
    route("PUT", "/v1/crm/scoring-rules/{rule_id}", CRM, "replaceScoringRule", "Replace a scoring rule (If-Match with its etag); scores already given keep their reasons", Auth::Bearer, 200),
    route("DELETE", "/v1/crm/scoring-rules/{rule_id}", CRM, "deleteScoringRule", "Delete a scoring rule", Auth::Bearer, 204),
    route("GET", "/v1/crm/forecast", CRM, "getForecast", "Won, weighted, worst, commit and best case per period and currency, in total and per credited member, with managers' figures beside them", Auth::Bearer, 200),
    route("PUT", "/v1/crm/forecast/adjustments", CRM, "putForecastAdjustment", "Set a manager's figure for a period, currency and member (or the firm), kept beside the computed one", Auth::Bearer, 200),
    route("GET", "/v1/crm/forecast/accuracy", CRM, "getForecastAccuracy", "The last periods up to the running one: what each was forecast to bring when it began against what was won", Auth::Bearer, 200),
    route("GET", "/v1/crm/forecast/model", CRM, "getWinModel", "The win model learnt from the firm's closed deals and its accuracy on the newest fifth, beside the stage probabilities'", Auth::Bearer, 200),
    route("POST", "/v1/crm/forecast/model/train", CRM, "trainWinModel", "Train the win model again now from the firm's closed deals", Auth::Bearer, 200),
    route("GET", "/v1/sso/saml", SSO, "getSamlConfig", "The firm's SAML identity-provider settings", Auth::Bearer, 200),
    route("PUT", "/v1/sso/saml", SSO, "putSamlConfig", "Set the firm's SAML identity provider (needs step-up)", Auth::Bearer, 200),
    route("GET", "/v1/sso/saml/{slug}/metadata", SSO, "getSamlMetadata", "The firm's SAML service-provider metadata (XML)", Auth::Public, 200),
    route("GET", "/v1/sso/saml/{slug}/login", SSO, "startSaml", "Begin SAML sign-in (redirects to the identity provider)", Auth::Public, 302),
    route("POST", "/v1/sso/saml/{slug}/acs", SSO, "finishSaml", "Assertion Consumer Service (HTTP-POST binding); answers with tokens, or sends a browser to the console with session cookies", Auth::Public, 200),
    route("GET", "/v1/auth/oidc/{provider}/start", SSO, "startOidc", "Begin signing in with Google or Microsoft (redirects to the provider)", Auth::Public, 302),
    route("GET", "/v1/auth/oidc/{provider}/callback", SSO, "finishOidc", "Where the provider returns; answers with tokens, or sends a browser (mode=cookie) to the console with session cookies", Auth::Public, 200),
    route("GET", "/v1/me", AUTH, "getMe", "Who is signed in: their profile, firm, role and flags, and the firms they may switch to", Auth::Bearer, 200),
    route("PATCH", "/v1/me", AUTH, "updateMe", "Change one's own name or console language", Auth::Bearer, 200),
    route("POST", "/v1/auth/email/verify", AUTH, "verifyEmail", "Confirm an address with the mailed token", Auth::Public, 204),
    idempotent(route("POST", "/v1/clients", CLIENTS, "createClient", "Create a client", Auth::Bearer, 201)),
    route("GET", "/v1/clients", CLIENTS, "listClients", "The firm's clients, oldest first (filter with status, kind, and q: text in the name or address)", Auth::Bearer, 200),
    route("GET", "/v1/clients/{client_id}", CLIENTS, "getClient", "One client", Auth::Bearer, 200),
    route("PATCH", "/v1/clients/{client_id}", CLIENTS, "updateClient", "Change, archive or restore a client (If-Match with its etag); archiving closes its portal", Auth::Bearer, 200),
    route("POST", "/v1/clients/{client_id}/portal-users", CLIENTS, "inviteClientPortalUser", "Invite someone to the client's portal by e-mail (role admin, member or viewer)", Auth::Bearer, 201),
    route("GET", "/v1/clients/{client_id}/portal-users", CLIENTS, "listClientPortalUsers", "The client's portal users", Auth::Bearer, 200),
    route("PATCH", "/v1/clients/{client_id}/portal-users/{user_id}", CLIENTS, "updateClientPortalUser", "Change a portal user's role or flags, or (de)activate them", Auth::Bearer, 200),
    route("GET", "/v1/clients/{client_id}/portal-invitations", CLIENTS, "listClientPortalInvitations", "Pending invitations to the client's portal", Auth::Bearer, 200),
    route("DELETE", "/v1/clients/{client_id}/portal-invitations/{portal_invitation_id}", CLIENTS, "revokeClientPortalInvitation", "Withdraw a pending portal invitation", Auth::Bearer, 204),
    route("POST", "/v1/portal/invitations/accept", CLIENTS, "acceptPortalInvitation", "Join a client's portal with a mailed invitation (creates the account if needed)", Auth::Public, 201),
    route("GET", "/v1/portal/client", CLIENTS, "getPortalClient", "A portal user's own client", Auth::Bearer, 200),
    route("GET", "/v1/portal/users", CLIENTS, "listPortalUsers", "The portal users of the caller's client", Auth::Bearer, 200),
    route("POST", "/v1/portal/users", CLIENTS, "invitePortalUser", "A portal admin invites someone to their client's portal", Auth::Bearer, 201),
    route("PATCH", "/v1/portal/users/{user_id}", CLIENTS, "updatePortalUser", "A portal admin changes a portal user of their client", Auth::Bearer, 200),
    route("GET", "/v1/events/dead-letters", DISPATCHER, "listDeadEvents", "Events a subscribing module never took (filter with subscriber, type)", Auth::Bearer, 200),
    route("POST", "/v1/events/dead-letters/replay", DISPATCHER, "replayDeadEvents", "Hand every dead-lettered event matching a filter to its module again (up to 100)", Auth::Bearer, 202),
    route("GET", "/v1/events/{event_id}", DISPATCHER, "getEvent", "One of the firm's events and its delivery to each subscribing module", Auth::Bearer, 200),
    route("POST", "/v1/events/{event_id}/replay", DISPATCHER, "replayEvent", "Hand a dead-lettered event to its modules again, with a fresh schedule", Auth::Bearer, 202),
    route("GET", "/v1/jobs", JOBS, "listJobs", "The firm's background jobs, newest first (filter with status, category, type, priority, error_class, correlation_id, created_from, created_to)", Auth::Bearer, 200),
    route("POST", "/v1/jobs", JOBS, "startJob", "Start a job of a type that may be started by hand (one attempt unless max_attempts says more); an idempotency key already used answers with its job", Auth::Bearer, 201),
    route("GET", "/v1/jobs/types", JOBS, "listJobTypes", "The registered job types: category, policy, whether a person may start one", Auth::Bearer, 200),
    route("GET", "/v1/jobs/metrics", JOBS, "getJobMetrics", "Per category: queued, running, finished, success rate, wait and run time p50/p95, oldest due job, SLA breaches (window=24h|7d)", Auth::Bearer, 200),
    route("GET", "/v1/jobs/dead-letters", JOBS, "listJobDeadLetters", "Jobs that failed for good, newest first (filter with status, category, type, error_class)", Auth::Bearer, 200),
    route("POST", "/v1/jobs/dead-letters/reprocess", JOBS, "reprocessJobDeadLetters", "Reprocess every dead letter pending review that matches a filter (up to 500)", Auth::Bearer, 202),
    route("POST", "/v1/jobs/dead-letters/discard", JOBS, "discardJobDeadLetters", "Discard every dead letter pending review that matches a filter (up to 500)", Auth::Bearer, 200),
    route("GET", "/v1/jobs/dead-letters/{dead_letter_id}", JOBS, "getJobDeadLetter", "One dead letter with its full payload", Auth::Bearer, 200),
    route("POST", "/v1/jobs/dead-letters/{dead_letter_id}/reprocess", JOBS, "reprocessJobDeadLetter", "Run a dead letter's job again as a new job with its original idempotency key", Auth::Bearer, 202),
    route("POST", "/v1/jobs/dead-letters/{dead_letter_id}/discard", JOBS, "discardJobDeadLetter", "Close a dead letter without running it", Auth::Bearer, 200),
    route("GET", "/v1/jobs/{job_id}", JOBS, "getJob", "One job with its attempts", Auth::Bearer, 200),
    route("POST", "/v1/jobs/{job_id}/cancel", JOBS, "cancelJob", "Cancel a pending job, or a running one after its attempt", Auth::Bearer, 200),
    route("POST", "/v1/jobs/{job_id}/retry", JOBS, "retryJob", "Run a pending job now instead of at its scheduled or retry time", Auth::Bearer, 202),
    route("GET", "/v1/webhooks/endpoints", WEBHOOKS, "listWebhookEndpoints", "The firm's webhook endpoints, oldest first (filter with status)", Auth::Bearer, 200),
    route("POST", "/v1/webhooks/endpoints", WEBHOOKS, "createWebhookEndpoint", "Add an endpoint: a public https URL and the event types it receives; answers its signing secret once", Auth::Bearer, 201),
    route("GET", "/v1/webhooks/endpoints/{endpoint_id}", WEBHOOKS, "getWebhookEndpoint", "One endpoint", Auth::Bearer, 200),
    route("PATCH", "/v1/webhooks/endpoints/{endpoint_id}", WEBHOOKS, "updateWebhookEndpoint", "Change an endpoint (If-Match with its etag)", Auth::Bearer, 200),
    route("DELETE", "/v1/webhooks/endpoints/{endpoint_id}", WEBHOOKS, "deleteWebhookEndpoint", "Delete an endpoint; its waiting deliveries are cancelled", Auth::Bearer, 204),
    route("POST", "/v1/webhooks/endpoints/{endpoint_id}/pause", WEBHOOKS, "pauseWebhookEndpoint", "Hold deliveries to an endpoint (they are kept until it is resumed)", Auth::Bearer, 200),
    route("POST", "/v1/webhooks/endpoints/{endpoint_id}/resume", WEBHOOKS, "resumeWebhookEndpoint", "Deliver to a paused or disabled endpoint again; what waited goes out now", Auth::Bearer, 200),
    route("POST", "/v1/webhooks/endpoints/{endpoint_id}/disable", WEBHOOKS, "disableWebhookEndpoint", "Stop delivering to an endpoint; its waiting deliveries are cancelled", Auth::Bearer, 200),
    route("GET", "/v1/webhooks/endpoints/{endpoint_id}/secret", WEBHOOKS, "getWebhookEndpointSecret", "The endpoint's signing secret (firm admins only; audited)", Auth::Bearer, 200),
    route("POST", "/v1/webhooks/endpoints/{endpoint_id}/rotate-secret", WEBHOOKS, "rotateWebhookEndpointSecret", "Replace the signing secret; the old one keeps signing beside it for overlap_hours (default 24, 0 revokes it now)", Auth::Bearer, 200),
    route("POST", "/v1/webhooks/endpoints/{endpoint_id}/test", WEBHOOKS, "sendWebhookTest", "Send the endpoint a test message of any catalogued type (default webhook.test)", Auth::Bearer, 202),
    route("POST", "/v1/webhooks/endpoints/{endpoint_id}/recover", WEBHOOKS, "recoverWebhookEndpoint", "Resend every exhausted delivery of the endpoint created since a time (and until one), paced by its rate limit", Auth::Bearer, 202),
    route("GET", "/v1/webhooks/endpoints/{endpoint_id}/health", WEBHOOKS, "getWebhookEndpointHealth", "Success rate and latency p50/p95 of the endpoint over 24 h and 7 d, its failure streak and backlog", Auth::Bearer, 200),
    route("GET", "/v1/webhooks/deliveries", WEBHOOKS, "listWebhookDeliveries", "Deliveries, newest first (filter with endpoint_id, message_id, status, type, created_from, created_to)", Auth::Bearer, 200),
    route("GET", "/v1/webhooks/deliveries/{delivery_id}", WEBHOOKS, "getWebhookDelivery", "One delivery with its attempts (status, latency, response excerpt) and the message body", Auth::Bearer, 200),
    route("POST", "/v1/webhooks/deliveries/{delivery_id}/resend", WEBHOOKS, "resendWebhookDelivery", "Send a delivery's message again now (same webhook-id), one attempt", Auth::Bearer, 202),
];

/// A request matched against [`ROUTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The route and its path parameters in template order.
    Found(&'static Route, Vec<(&'static str, String)>),
    /// The path exists but not with this method; the methods it has.
    MethodNotAllowed(Vec<&'static str>),
    /// No such path.
    NotFound,
}

/// Finds the route for `method` and `path`. A literal segment outranks a
/// parameter (`/v1/jobs/dead-letters/discard` is not dead letter `discard`), so
/// the most specific template that matches decides; a method it does not declare
/// is a 405 listing the methods it does.
pub fn resolve(method: &str, path: &str) -> Match {
    let mut best: Option<(&'static str, Vec<(&'static str, String)>)> = None;
    for r in ROUTES {
        if let Some(params) = match_path(r.path, path) {
            let better = best
                .as_ref()
                .is_none_or(|(template, _)| more_specific(r.path, template));
            if better {
                best = Some((r.path, params));
            }
        }
    }
    let Some((template, params)) = best else {
        return Match::NotFound;
    };
    let same_path = || ROUTES.iter().filter(move |r| r.path == template);
    match same_path().find(|r| r.method == method || (method == "HEAD" && r.method == "GET")) {
        Some(route) => Match::Found(route, params),
        None => Match::MethodNotAllowed(same_path().map(|r| r.method).collect()),
    }
}

/// Whether template `a` is more specific than `b` (both matching one path): at
/// the first segment where they differ, `a` has a literal and `b` a parameter.
fn more_specific(a: &str, b: &str) -> bool {
    let is_param = |s: &str| s.starts_with('{');
    a.split('/')
        .zip(b.split('/'))
        .find(|(x, y)| is_param(x) != is_param(y))
        .is_some_and(|(x, _)| !is_param(x))
}

fn match_path(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut t = template.split('/');
    let mut p = path.split('/');
    let mut params = Vec::new();
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.push((name, ps.to_owned()));
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_id_in_a_path_has_its_prefix_and_every_prefix_its_path() {
        let params: Vec<&str> = ROUTES
            .iter()
            .flat_map(|r| r.path.split('/'))
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for name in &params {
            assert!(
                matches!(*name, "slug" | "provider" | "flag_key" | "part_number")
                    || id_prefix(name).is_some(),
                "path parameter {name} names no id prefix in PATH_IDS"
            );
        }
        for (name, prefix) in PATH_IDS {
            assert!(params.contains(name), "{name} is in no path");
            assert!(prefix.len() == 3 && prefix.bytes().all(|b| b.is_ascii_lowercase()));
        }
        assert_eq!(id_prefix("portal_invitation_id"), Some("pin"));
        assert_eq!(id_prefix("invitation_id"), Some("inv"));
    }

    #[test]
    fn routes_resolve_with_parameters() {
        match resolve("POST", "/v1/firm/events/evt_1/redeliver") {
            Match::Found(r, params) => {
                assert_eq!(r.operation, "redeliverFirmEvent");
                assert_eq!(params, vec![("event_id", "evt_1".to_owned())]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(resolve("GET", "/v1/firm/"), Match::Found(r, _) if r.operation == "getFirm")
        );
        assert_eq!(
            resolve("DELETE", "/v1/firm"),
            Match::MethodNotAllowed(vec!["GET", "PATCH"])
        );
        assert_eq!(resolve("GET", "/v1/nothing"), Match::NotFound);
        // A literal path is its own resource, not an id of its neighbour's.
        assert_eq!(
            resolve("GET", "/v1/jobs/dead-letters/discard"),
            Match::MethodNotAllowed(vec!["POST"])
        );
        assert_eq!(
            resolve("DELETE", "/v1/firm/invitations/accept"),
            Match::MethodNotAllowed(vec!["POST"])
        );
        assert!(matches!(
            resolve("GET", "/v1/jobs/dead-letters/dlq_1"),
            Match::Found(r, _) if r.operation == "getJobDeadLetter"
        ));
        assert_eq!(
            resolve("POST", "/v1/firm/events//redeliver"),
            Match::NotFound
        );
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<_> = ROUTES.iter().map(|r| r.operation).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ROUTES.len());
    }
}
