//! Prints the OpenAPI document, for validating it offline (`scripts/test`).

fn main() {
    println!("{:#}", shared::api::openapi::document());
}
