//! Shared support code for the integration tests.
//!
//! A test file uses it with
//!
//! ```ignore
//! #[allow(dead_code)] // each test binary uses only part of the support code
//! mod support;
//! use support::pg;
//! ```

pub mod pg;
