//! Leads in and out as CSV. An import reads a header row naming the lead's fields
//! (case and spaces do not matter: `Contact name` is `contact_name`) and turns
//! each row into the body a person would have sent, so a row is checked by the
//! same rules as the API and its problems name the same fields; every row comes
//! back created or failed with its reasons, none dropped. A column the import does
//! not know refuses the file, so nothing a person put in it is lost unseen. An
//! export writes the same columns (and the read-only ones), so it imports back.

use rust_decimal::Decimal;
use serde::Serialize;

use super::lead::{Lead, LEAD_FIELDS};
use crate::kernel::error::{DomainError, DomainResult, FieldError};
use crate::kernel::money::Currency;

/// Rows an import takes at once.
pub const MAX_ROWS: usize = 2_000;

/// Columns an export writes and an import reads back without using (they are
/// the lead's own).
pub const READ_ONLY: &[&str] = &["id", "score", "created_at", "updated_at"];

/// Extra columns an import understands: a budget in major units, and the owner by
/// e-mail.
const CONVENIENCE: &[&str] = &["budget", "owner_email"];

/// One data row, as the request body it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line of the row in the file (the header is line 1).
    pub line: usize,
    /// The lead's fields, as a create's body.
    pub body: serde_json::Value,
    /// The owner's e-mail, to be looked up among the members.
    pub owner_email: Option<String>,
    /// Problems found before the lead's own rules run (a budget that is no amount).
    pub errors: Vec<FieldError>,
}

/// A read file.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// Data rows, in order.
    pub rows: Vec<Row>,
    /// Read-only columns present and not used.
    pub ignored_columns: Vec<String>,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowResult {
    /// Its line in the file.
    pub line: usize,
    /// `created` or `failed`.
    pub status: &'static str,
    /// The lead made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl RowResult {
    /// A row stored as `lead_id`.
    pub fn created(line: usize, lead_id: &str) -> Self {
        Self {
            line,
            status: "created",
            lead_id: Some(lead_id.to_owned()),
            errors: Vec::new(),
        }
    }

    /// A row refused for `errors`.
    pub fn failed(line: usize, errors: Vec<FieldError>) -> Self {
        Self {
            line,
            status: "failed",
            lead_id: None,
            errors,
        }
    }
}

/// `name` of a header cell: trimmed, lower-case, spaces and dashes as underscores;
/// `custom.<name>` keeps the case of its name.
fn column(raw: &str) -> String {
    let raw = raw.trim().trim_start_matches('\u{feff}');
    match raw.split_once('.') {
        Some((prefix, name)) if prefix.trim().eq_ignore_ascii_case("custom") => {
            format!("custom.{}", name.trim())
        }
        _ => raw
            .to_lowercase()
            .chars()
            .map(|c| if c == ' ' || c == '-' { '_' } else { c })
            .collect(),
    }
}

fn problem(
    field: impl Into<String>,
    rule: &'static str,
    message: impl Into<String>,
) -> DomainError {
    DomainError::invalid(field, rule, message)
}

/// Reads `bytes` as a CSV file of leads (UTF-8, comma-separated, a header row,
/// at most [`MAX_ROWS`] data rows). A file-level problem (not UTF-8, no
/// `contact_name` column, an unknown or repeated column, too many rows, a row
/// with another number of cells) is a 422 naming `file` or the column.
pub fn read(bytes: &[u8]) -> DomainResult<Sheet> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| problem("file", "encoding", "the file must be UTF-8 text"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| problem("file", "format", format!("the header row is not CSV ({e})")))?
        .iter()
        .map(column)
        .collect();
    let mut columns: Vec<String> = Vec::new();
    let mut ignored = Vec::new();
    for name in &headers {
        let known = LEAD_FIELDS.contains(&name.as_str())
            || CONVENIENCE.contains(&name.as_str())
            || READ_ONLY.contains(&name.as_str())
            || name.strip_prefix("custom.").is_some_and(|n| !n.is_empty());
        if name == "custom_fields" || !known {
            return Err(problem(
                format!("columns.{name}"),
                "unknown",
                format!(
                    "column {name:?} is not a lead field: use {}, {}, custom.<name> or the export's read-only columns",
                    LEAD_FIELDS.iter().filter(|f| **f != "custom_fields").copied().collect::<Vec<_>>().join(", "),
                    CONVENIENCE.join(", ")
                ),
            ));
        }
        if columns.contains(name) {
            return Err(problem(
                format!("columns.{name}"),
                "duplicate",
                format!("column {name:?} appears twice"),
            ));
        }
        if READ_ONLY.contains(&name.as_str()) {
            ignored.push(name.clone());
        }
        columns.push(name.clone());
    }
    if !columns.iter().any(|c| c == "contact_name") {
        return Err(problem(
            "columns.contact_name",
            "required",
            "the header row must name a contact_name column",
        ));
    }
    if columns.iter().any(|c| c == "budget") && columns.iter().any(|c| c == "budget_minor") {
        return Err(problem(
            "columns.budget",
            "duplicate",
            "give the budget once: budget (in major units) or budget_minor",
        ));
    }
    if columns.iter().any(|c| c == "owner_email") && columns.iter().any(|c| c == "owner_id") {
        return Err(problem(
            "columns.owner_email",
            "duplicate",
            "name the owner once: owner_email or owner_id",
        ));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| {
            problem(
                "file",
                "format",
                format!(
                    "line {line} is not a row of the header's {} columns ({e})",
                    columns.len()
                ),
            )
        })?;
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(problem(
                "file",
                "too_many",
                format!("an import takes at most {MAX_ROWS} rows; split the file"),
            ));
        }
        rows.push(row(line, &columns, record.iter()));
    }
    if rows.is_empty() {
        return Err(problem("file", "empty", "the file has no data rows"));
    }
    Ok(Sheet {
        rows,
        ignored_columns: ignored,
    })
}

/// One row's body: empty cells are left out; numbers and lists are read as the API
/// takes them (a number cell that is no number is passed on as text, so the
/// lead's rules name it).
fn row<'a>(line: usize, columns: &[String], cells: impl Iterator<Item = &'a str>) -> Row {
    let mut body = serde_json::Map::new();
    let mut custom = serde_json::Map::new();
    let mut owner_email = None;
    let mut errors = Vec::new();
    let mut budget: Option<&str> = None;
    for (name, cell) in columns.iter().zip(cells) {
        let cell = unescape(cell.trim());
        if cell.is_empty() || READ_ONLY.contains(&name.as_str()) {
            continue;
        }
        let value = match name.as_str() {
            "company_size" | "budget_minor" => cell
                .parse::<i64>()
                .map_or_else(|_| cell.into(), serde_json::Value::from),
            "tags" => cell
                .split([';', ','])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(serde_json::Value::from)
                .collect(),
            "owner_email" => {
                owner_email = Some(cell.to_lowercase());
                continue;
            }
            "budget" => {
                budget = Some(cell);
                continue;
            }
            other => match other.strip_prefix("custom.") {
                Some(field) => {
                    custom.insert(field.to_owned(), custom_value(cell));
                    continue;
                }
                None => cell.into(),
            },
        };
        body.insert(name.clone(), value);
    }
    if let Some(raw) = budget {
        let currency = body.get("currency").and_then(serde_json::Value::as_str);
        match major_to_minor(raw, currency) {
            Ok(minor) => {
                body.insert("budget_minor".into(), minor.into());
            }
            Err(DomainError::Validation(mut found)) => errors.append(&mut found),
            Err(_) => {}
        }
    }
    if !custom.is_empty() {
        body.insert("custom_fields".into(), custom.into());
    }
    Row {
        line,
        body: body.into(),
        owner_email,
        errors,
    }
}

/// A custom field's cell: a whole or decimal number, `true`/`false`, else text.
fn custom_value(cell: &str) -> serde_json::Value {
    if let Ok(n) = cell.parse::<i64>() {
        return n.into();
    }
    if let Ok(b) = cell.parse::<bool>() {
        return b.into();
    }
    match cell.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            serde_json::Number::from_f64(f).map_or_else(|| cell.into(), Into::into)
        }
        _ => cell.into(),
    }
}

/// A budget in major units (`12000`, `12000.50`, `12,000.50`) as minor units of
/// `currency`, refusing more decimals than the currency has.
fn major_to_minor(raw: &str, currency: Option<&str>) -> DomainResult<i64> {
    let currency = currency
        .ok_or_else(|| problem("currency", "required", "currency is required with budget"))
        .and_then(|c| Currency::parse("currency", c))?;
    let cleaned: String = raw.chars().filter(|c| *c != ',' && *c != '_').collect();
    let amount: Decimal = cleaned
        .parse()
        .map_err(|_| problem("budget", "type", "budget must be an amount like 12000.50"))?;
    let digits = currency.minor_digits();
    if amount.is_sign_negative() || amount.scale() > digits {
        return Err(problem(
            "budget",
            "range",
            format!(
                "budget must be at least 0 with at most {digits} decimals in {}",
                currency.code()
            ),
        ));
    }
    amount
        .checked_mul(Decimal::from(10i64.pow(digits)))
        .and_then(|d| i64::try_from(d.trunc()).ok())
        .ok_or_else(|| problem("budget", "range", "budget is too large"))
}

/// The columns of an export, in order.
pub const EXPORT_COLUMNS: &[&str] = &[
    "id",
    "contact_name",
    "company_name",
    "email",
    "phone",
    "title",
    "industry",
    "website",
    "country",
    "company_size",
    "budget_minor",
    "currency",
    "source",
    "status",
    "score",
    "owner_id",
    "campaign_id",
    "tags",
    "notes",
    "created_at",
];

/// A cell as written: a value a spreadsheet would run as a formula (`=`, `+`, `-`,
/// `@`, tab or carriage return first) is prefixed with `'` so opening the export
/// never runs it.
fn safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// A cell an export made safe, as it was: the `'` before a formula character goes.
fn unescape(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Writes `leads` as CSV with the header of [`EXPORT_COLUMNS`] and a column per
/// custom field in `custom` (in that order), times as RFC 3339 UTC.
pub fn write(leads: &[Lead], custom: &[String]) -> String {
    let mut out = csv::WriterBuilder::new().from_writer(Vec::new());
    let mut header: Vec<String> = EXPORT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    header.extend(custom.iter().map(|c| format!("custom.{c}")));
    let _ = out.write_record(&header);
    for lead in leads {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        let created = chrono::DateTime::from_timestamp_millis(lead.created_at)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let mut cells = vec![
            lead.id.clone(),
            lead.contact_name.clone(),
            opt(&lead.company_name),
            opt(&lead.email),
            opt(&lead.phone),
            opt(&lead.title),
            opt(&lead.industry),
            opt(&lead.website),
            opt(&lead.country),
            num(lead.company_size),
            num(lead.budget_minor),
            opt(&lead.currency),
            lead.source.name().to_owned(),
            lead.status.name().to_owned(),
            lead.score.to_string(),
            opt(&lead.owner_id),
            opt(&lead.campaign_id),
            lead.tags.join(";"),
            opt(&lead.notes),
            created,
        ];
        for name in custom {
            cells.push(match lead.custom_fields.get(name) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            });
        }
        let _ = out.write_record(cells.iter().map(|c| safe(c)));
    }
    out.into_inner()
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(err: DomainError) -> Vec<String> {
        match err {
            DomainError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_become_the_bodies_a_person_would_send() {
        let sheet = read(
            "\u{feff}Contact Name,E-mail,company_size,Budget,Currency,Tags,custom.Region,Score\n\
             Ada Lovelace, ada@example.com ,40,\"12,000.50\",EUR,vip; Referral,North,88\n\
             ,,,,,,,\n\
             Bo,,many,,,,,\n"
                .as_bytes(),
        );
        // "E-mail" is not a field: the file is refused, naming the column.
        assert_eq!(fields(sheet.unwrap_err()), vec!["columns.e_mail"]);
        let sheet = read(
            "Contact Name,email,company_size,Budget,Currency,Tags,custom.Region,Score\n\
             Ada Lovelace, ada@example.com ,40,\"12,000.50\",EUR,vip; Referral,North,88\n\
             ,,,,,,,\n\
             Bo,,many,,,,,\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(sheet.ignored_columns, vec!["score"]);
        assert_eq!(sheet.rows.len(), 2, "the blank row is no row");
        assert_eq!(
            sheet.rows[0].body,
            json!({"contact_name": "Ada Lovelace", "email": "ada@example.com", "company_size": 40,
                   "budget_minor": 1_200_050, "currency": "EUR", "tags": ["vip", "Referral"],
                   "custom_fields": {"Region": "North"}})
        );
        assert_eq!(sheet.rows[1].line, 4);
        assert_eq!(
            sheet.rows[1].body,
            json!({"contact_name": "Bo", "company_size": "many"})
        );
    }

    #[test]
    fn a_budget_needs_its_currency_and_no_more_decimals_than_it_has() {
        let sheet =
            read(b"contact_name,budget,currency\nA,10.5,\nB,10.555,EUR\nC,100,JPY\nD,1.5,JPY\n")
                .unwrap();
        let errs: Vec<Vec<String>> = sheet
            .rows
            .iter()
            .map(|r| r.errors.iter().map(|e| e.field.clone()).collect())
            .collect();
        assert_eq!(
            errs,
            vec![vec!["currency"], vec!["budget"], vec![], vec!["budget"]]
        );
        assert_eq!(sheet.rows[2].body["budget_minor"], 100);
    }

    #[test]
    fn files_that_cannot_be_read_name_why() {
        for (file, field) in [
            (&b"name\nA\n"[..], "columns.name"),
            (b"email\na@b.test\n", "columns.contact_name"),
            (b"contact_name,contact_name\nA,B\n", "columns.contact_name"),
            (b"contact_name,email\nA\n", "file"),
            (b"contact_name\n", "file"),
            (b"contact_name\n\xff\n", "file"),
            (
                b"contact_name,budget,budget_minor\nA,1,1\n",
                "columns.budget",
            ),
        ] {
            assert_eq!(
                fields(read(file).unwrap_err()),
                vec![field],
                "{}",
                String::from_utf8_lossy(file)
            );
        }
        let many = format!("contact_name\n{}", "A\n".repeat(MAX_ROWS + 1));
        assert_eq!(fields(read(many.as_bytes()).unwrap_err()), vec!["file"]);
    }

    #[test]
    fn an_export_reads_back_and_never_runs_a_formula() {
        let lead: Lead = serde_json::from_value(json!({
            "id": "led_1", "contact_name": "=HYPERLINK(\"x\")", "company_name": "Acme, Inc.", "email": "a@b.test",
            "phone": "+4930123", "title": null, "industry": null, "website": null, "country": "DE",
            "company_size": 12, "budget_minor": 500, "currency": "EUR", "source": "referral", "status": "new",
            "score": 40, "owner_id": null, "tags": "[\"vip\",\"q1\"]", "custom_fields": "{\"region\":\"north\"}",
            "notes": "line one\nline two", "lost_reason": null, "account_id": null, "deal_id": null,
            "last_activity_at": null, "version": 1, "created_by": "form", "created_at": 0, "updated_at": 0
        }))
        .unwrap();
        let text = write(&[lead], &["region".to_owned()]);
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(text.contains("'+4930123"), "{text}");
        let sheet = read(text.as_bytes()).unwrap();
        let body = &sheet.rows[0].body;
        assert_eq!(body["company_name"], "Acme, Inc.");
        assert_eq!(body["contact_name"], "=HYPERLINK(\"x\")");
        assert_eq!(body["phone"], "+4930123");
        assert_eq!(body["notes"], "line one\nline two");
        assert_eq!(body["tags"], json!(["vip", "q1"]));
        assert_eq!(body["custom_fields"], json!({"region": "north"}));
        assert_eq!(sheet.ignored_columns, vec!["id", "score", "created_at"]);
    }
}
