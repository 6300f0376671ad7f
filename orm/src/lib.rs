//! strata-orm: the ORM layer (Mapper, Registry, Session). Filled in by the ORM issue;
//! it depends on strata-core only, never on a driver.
#![warn(missing_docs)]
