//! # deeprecs-cooc — not built yet
//!
//! This crate will own time-window pairing of events, pair counting, the `PairScorer` normalisations, the sparse `PairScores` table, time and cold-start splits, and negative candidates.
//! It has no public API yet: nothing here pretends to work. See the DeepRecs guide in
//! `docs/` for the design and the crate map.
