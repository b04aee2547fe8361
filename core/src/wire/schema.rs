//! OpenAPI schemas of the licence types whose JSON form is hand-written in
//! `licence::serde_fmt` (a derive would describe the Rust struct, not the string).

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::licence::{ClassSet, LicenceStatus};

fn string_schema(description: &str, pattern: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .examples([example])
        .into()
}

impl PartialSchema for ClassSet {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "准驾车型: vehicle class codes separated by single spaces, in canonical order.",
            "^[A-Z][0-9]?( [A-Z][0-9]?)*$",
            "C1",
        )
    }
}

impl ToSchema for ClassSet {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ClassSet")
    }
}

impl PartialSchema for LicenceStatus {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "驾驶证状态: status letters in alphabetical order; \"A\" (正常) alone means normal.",
            "^(A|[B-Z]+)$",
            "A",
        )
    }
}

impl ToSchema for LicenceStatus {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("LicenceStatus")
    }
}
