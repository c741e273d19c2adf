//! One JSON line per log event, so the platform's log search can filter by field.
//! Never pass a password, token or secret here.

use serde_json::json;

/// Logs `message` at `level` with the request id and extra fields.
pub fn event(level: &str, request_id: &str, message: &str, fields: serde_json::Value) {
    let line =
        json!({"level": level, "request_id": request_id, "message": message, "fields": fields});
    if level == "error" {
        worker::console_error!("{line}");
    } else {
        worker::console_log!("{line}");
    }
}
