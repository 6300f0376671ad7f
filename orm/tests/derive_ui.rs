//! Compile-error tests for `#[derive(Model)]` and `#[derive(Embeddable)]`: each file
//! in `tests/ui` must fail to compile with exactly the message in its `.stderr`
//! (regenerate with `TRYBUILD=overwrite cargo test -p strata-orm --test derive_ui`).

#[test]
fn derive_misuse_is_a_clear_compile_error() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
