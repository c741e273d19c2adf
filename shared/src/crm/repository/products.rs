//! The product catalogue in D1.

use super::Where;
use crate::crm::product::{Product, ProductFields, ProductFilter, MAX_PRODUCTS};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, violates_unique, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;

const TABLE: &str = "crm_products";
const COLUMNS: &str =
    "id, code, name, description, kind, status, unit_price_minor, currency, billing_interval,
    category, tags, version, created_at, updated_at";

/// One product.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Product> {
    super::by_id(db, scope, TABLE, COLUMNS, id, "product").await
}

/// A page of products, newest first, narrowed by `filter`.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &ProductFilter,
    page: &PageRequest,
) -> DomainResult<Page<Product>> {
    let mut w = Where::firm(scope, page.after.as_deref());
    w.maybe("status = ?", filter.status.map(|s| s.name()))
        .maybe("kind = ?", filter.kind.map(|k| k.name()))
        .maybe("category = ?", filter.category.clone())
        .maybe(
            "(instr(lower(code), ?) > 0 OR instr(lower(name), ?) > 0)",
            filter.q.clone(),
        );
    let rows: Vec<Product> =
        query_as(db, w.newest_first(TABLE, COLUMNS, page.fetch_limit())).await?;
    Ok(Page::from_rows(rows, page, |p| p.id.clone()))
}

fn row(p: &Product) -> super::Row {
    vec![
        ("code", p.code.clone().into()),
        ("name", p.name.clone().into()),
        ("description", p.description.clone().into()),
        ("kind", p.kind.name().into()),
        ("status", p.status.name().into()),
        ("unit_price_minor", p.unit_price_minor.into()),
        ("currency", p.currency.clone().into()),
        (
            "billing_interval",
            p.billing_interval.map(|b| b.name()).into(),
        ),
        ("category", p.category.clone().into()),
        ("tags", super::leads::json_text(&p.tags).into()),
        ("updated_at", p.updated_at.into()),
    ]
}

/// A repeated code is a 409 naming `code` (the other errors pass through).
pub fn code_taken(e: DomainError) -> DomainError {
    if violates_unique(&e, "crm_products.code") {
        DomainError::conflict("code", "another product of the firm has this code")
    } else {
        e
    }
}

/// The product `fields` make and the statement that stores it; a firm at its
/// 5,000 products is a 409. A repeated code fails the statement: map the error
/// with [`code_taken`].
pub async fn plan_create(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &ProductFields,
    now: Instant,
) -> DomainResult<(Product, Vec<Statement>)> {
    super::under_cap(db, scope, TABLE, MAX_PRODUCTS, "products").await?;
    let id = new_id("prd", now.millis())?;
    let product = fields.apply(None, &id, now.millis())?;
    let mut values = row(&product);
    values.push(("created_at", now.millis().into()));
    Ok((product, vec![super::insert_row(TABLE, scope, &id, values)]))
}

/// Adds a product.
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &ProductFields,
    now: Instant,
) -> DomainResult<Product> {
    let (product, statements) = plan_create(db, scope, fields, now).await?;
    db.batch(statements).await.map_err(code_taken)?;
    Ok(product)
}

/// Changes a product at `expected` version (any when `None`).
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    fields: &ProductFields,
    expected: Option<i64>,
    now: Instant,
) -> DomainResult<Product> {
    let before = get(db, scope, id).await?;
    super::expect_version("product", before.version, expected)?;
    let after = fields.apply(Some(&before), id, now.millis())?;
    let changed = db
        .execute(super::update_row(
            TABLE,
            scope,
            id,
            before.version,
            row(&after),
        ))
        .await
        .map_err(code_taken)?;
    if changed == 0 {
        return Err(super::changed("product", get(db, scope, id).await?.version));
    }
    get(db, scope, id).await
}

/// The active products named by `ids`, for pricing proposal lines; a missing,
/// inactive or archived one is a 422 naming `field_of(i)` for its place.
pub async fn offered(
    db: &impl Sql,
    scope: &TenantScope,
    ids: &[(usize, String)],
    field_of: impl Fn(usize) -> String,
) -> DomainResult<Vec<(usize, Product)>> {
    let mut found = Vec::with_capacity(ids.len());
    let mut refused = crate::kernel::validate::Validator::new();
    for (i, id) in ids {
        let field = field_of(*i);
        match get(db, scope, id).await {
            Ok(p) if p.status == crate::crm::product::ProductStatus::Active => found.push((*i, p)),
            Ok(p) => refused.add(
                field.clone(),
                "inactive",
                format!(
                    "{field}: product {} is {}, not offered",
                    p.code,
                    p.status.name()
                ),
            ),
            Err(DomainError::NotFound(_)) => refused.add(
                field.clone(),
                "unknown",
                format!("{field} names no product of the firm"),
            ),
            Err(e) => return Err(e),
        }
    }
    refused.finish()?;
    Ok(found)
}
