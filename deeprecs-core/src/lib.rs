//! # deeprecs-core
//!
//! The data model of [DeepRecs](https://github.com/deeprecs/deeprecs), a library for
//! content-aware **cross-sell** recommendation: a validated [`FeatureSchema`] (which column is
//! the product id, which fields are categorical, multi-valued or text), the product
//! [`Catalog`], the [`EventLog`] (who bought what, when), per-field [`Vocabularies`], text
//! normalisation, encoded CPU-side feature batches ([`EncodedBatch`]) and a [`synthetic`]
//! catalog generator with a known ground truth.
//!
//! Every other DeepRecs crate builds on these types. Bad input never panics: readers return an
//! [`Error`] naming the file, line and field, or — where the schema says so — skip the row and
//! count it by reason in a [`ReadReport`].
//!
//! ```
//! use deeprecs_core::{Catalog, EncodedCatalog, EventLog, FeatureSchema, Vocabularies};
//!
//! let schema = FeatureSchema::from_toml_str(r#"
//!     id = "sku"
//!     [[fields]]
//!     name = "title"
//!     kind = "text"
//!     [[fields]]
//!     name = "brand"
//!     kind = "categorical"
//!     [events]
//!     user = "customer"
//!     product = "sku"
//!     timestamp = "time"
//! "#, "<schema>")?;
//!
//! let (catalog, _) = Catalog::from_csv_str(
//!     "sku,title,brand\nP1,Smartphone X,Acme\nP2,Slim phone case,Cover Co\n", &schema)?;
//! let (events, report) = EventLog::from_csv_str(
//!     "customer,sku,time\nc1,P1,2024-03-01 10:00:00\nc1,P2,2024-03-02 09:30:00\n", &schema, &catalog)?;
//! assert_eq!((events.len(), report.skipped_total()), (2, 0));
//!
//! // Vocabularies are fit on training products only; batches are padded and masked.
//! let vocabs = Vocabularies::fit(&catalog, catalog.iter().map(|p| p.idx))?;
//! let encoded = EncodedCatalog::encode(&catalog, &vocabs)?;
//! let batch = encoded.batch(&[catalog.require("P2")?])?;
//! assert_eq!(batch.size, 1);
//! # Ok::<(), deeprecs_core::Error>(())
//! ```
//!
//! ## Modules
//! - [`schema`]: the TOML schema file and its checked form.
//! - [`catalog`] and [`events`]: readers for CSV and JSON Lines (gzip is detected), with
//!   [`ReadReport`]s of skipped rows.
//! - [`vocab`], [`text`], [`batch`]: from values to ids to padded batches.
//! - [`time`]: timestamp parsing (RFC 3339, `YYYY-MM-DD HH:MM:SS`, epoch seconds).
//! - [`synthetic`]: the embedded default data set.
//! - [`rng`]: a version-stable seeded random number generator.

#![warn(clippy::unwrap_used)]

pub mod batch;
pub mod catalog;
pub mod error;
pub mod events;
pub mod rng;
pub mod schema;
pub mod synthetic;
pub mod table;
pub mod text;
pub mod time;
pub mod vocab;

pub use batch::{
    CategoricalBatch, EncodedBatch, EncodedCatalog, EncodedField, FieldBatch, PaddedBatch,
};
pub use catalog::{Catalog, FieldValue, ProductIdx, ProductRef};
pub use error::{Error, Location, Result};
pub use events::{BasketIdx, Event, EventLog, EventLogBuilder, KindIdx, LogSummary, UserIdx};
pub use schema::{
    DuplicatePolicy, EventSchema, FeatureSchema, Field, FieldKind, FieldKindName, FieldSpec,
    InvalidRowPolicy, ListFormat, SchemaSpec, TimestampFormat,
};
pub use table::{ReadReport, SkipCount, SkipReason, TableFormat};
pub use vocab::{Vocabularies, Vocabulary};
