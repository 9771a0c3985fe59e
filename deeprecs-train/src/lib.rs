//! # deeprecs-train
//!
//! Training and evaluation of [DeepRecs](https://github.com/deeprecs/deeprecs) two-tower
//! models: training examples from co-occurrence scores with sampled negatives
//! ([`TrainingPairs`]), hinge losses ([`Loss`]), a training loop on any Burn autodiff device
//! ([`TrainConfig`] → [`TrainParams::fit`]) with early stopping, best-weights keeping and
//! checkpoints, offline evaluation against baselines ([`eval`]), one data-preparation
//! pipeline shared by the CLI and the examples ([`Experiment`]), hyper-parameter search with
//! successive halving ([`tune`]) and PNG pictures ([`plot`]).
//!
//! ```
//! use burn::tensor::Device;
//! use deeprecs_core::synthetic::{generate, SyntheticConfig};
//! use deeprecs_core::{EncodedCatalog, Vocabularies};
//! use deeprecs_cooc::{CoocConfig, Scorer};
//! use deeprecs_encoders::{ModelBundle, TowerConfig, TwoTowerConfig};
//! use deeprecs_train::{TrainConfig, TrainData};
//!
//! let data = generate(&SyntheticConfig { products: 200, users: 300, ..SyntheticConfig::default() })?;
//! let (counts, _) = CoocConfig::default().check()?.count(&data.events, data.catalog.len())?;
//! let scores = counts.into_scores(&Scorer::default())?;
//! let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx))?;
//! let encoded = EncodedCatalog::encode(&data.catalog, &vocabs)?;
//! let bundle = ModelBundle::new(
//!     TwoTowerConfig::new(TowerConfig::for_schema(&data.schema).with_dim(16)),
//!     data.schema.clone(), vocabs)?;
//!
//! let params = TrainConfig { epochs: 1, ..TrainConfig::default() }.check()?;
//! let popularity = data.events.events_per_product(data.catalog.len());
//! let outcome = params.fit(
//!     &bundle,
//!     TrainData { encoded: &encoded, train: &scores, valid: None, popularity: &popularity },
//!     &Device::flex().autodiff(),
//!     None,
//!     &mut (),
//! )?;
//! assert_eq!(outcome.history.len(), 1);
//! assert!(outcome.history[0].train_loss.is_finite());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(clippy::unwrap_used)]

pub mod data;
pub mod embed;
pub mod error;
pub mod eval;
pub mod experiment;
pub mod loss;
pub mod observe;
pub mod plot;
pub mod trainer;
pub mod tune;

pub use data::{NegativeSampling, PairBatch, TrainingPairs};
pub use embed::CatalogEmbeddings;
pub use error::{Error, Result};
pub use experiment::{DataConfig, Experiment, ExperimentSummary};
pub use loss::Loss;
pub use observe::{JsonLinesLog, ProgressBarObserver};
pub use trainer::{
    EarlyStopping, EpochRecord, OptimizerKind, Schedule, TrainConfig, TrainData, TrainObserver,
    TrainOutcome, TrainParams, VALID_BATCH, VALID_MAX_PAIRS, VALID_NEGATIVES,
};
