//! # deeprecs-train — not built yet
//!
//! This crate will own losses, batching, the training loop on any Burn device, early stopping, hyper-parameter search, offline metrics, baselines and checkpoints.
//! It has no public API yet: nothing here pretends to work. See the DeepRecs guide in
//! `docs/` for the design and the crate map.
