//! # deeprecs-index — not built yet
//!
//! This crate will own catalog embedding with a trained tower, exact and approximate top-k, filters, cart queries and the serving artifact.
//! It has no public API yet: nothing here pretends to work. See the DeepRecs guide in
//! `docs/` for the design and the crate map.
