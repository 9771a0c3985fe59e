//! # deeprecs-encoders — not built yet
//!
//! This crate will own the Burn modules: one encoder per feature kind, fusion, the product tower, the two-tower model and its cosine score, and the pre-trained BERT text encoder.
//! It has no public API yet: nothing here pretends to work. See the DeepRecs guide in
//! `docs/` for the design and the crate map.
