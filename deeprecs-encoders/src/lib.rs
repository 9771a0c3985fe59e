//! # deeprecs-encoders
//!
//! The model of [DeepRecs](https://github.com/deeprecs/deeprecs) on [Burn](https://burn.dev)
//! 0.22: pluggable **feature encoders** (one per field), **fusion** of the per-field vectors,
//! the **product tower** and the **two-tower** model scored by cosine similarity.
//!
//! Every piece follows Burn's shape: a plain-data `XConfig` (serde) with
//! `init(&self, device) -> X`, and a `#[derive(Module)] X` with `forward`. The backend is a
//! run-time [`Device`](burn::tensor::Device) (`Device::flex()` on CPU, `Device::wgpu(..)`,
//! `Device::cuda(0)` with the matching cargo features), never a fork of the model code.
//!
//! | field kind | encoder ([`EncoderConfig`]) | module |
//! | --- | --- | --- |
//! | categorical | `categorical` | [`CategoricalEmbedding`] |
//! | multi-valued | `multi_hot` (mean, sum or learned pooling) | [`MultiHotEmbedding`] |
//! | text | `attention_text` (word embeddings + Luong attention) | [`AttentionTextEncoder`] |
//! | text | `bert` (pre-trained BERT, frozen or last layers fine-tuned, + dense layers) | [`bert::BertTextEncoder`] |
//! | any | `vectors` (dense layers over the caller's own per-product vectors, [`FieldVectors`]) | [`bert::BertTextEncoder`] |
//!
//! ```
//! use burn::tensor::Device;
//! use deeprecs_core::synthetic::{generate, SyntheticConfig};
//! use deeprecs_core::{EncodedCatalog, ProductIdx, Vocabularies};
//! use deeprecs_encoders::{TowerConfig, TowerInput, TwoTowerConfig};
//!
//! let data = generate(&SyntheticConfig { products: 200, users: 50, ..SyntheticConfig::default() })?;
//! let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx))?;
//! let encoded = EncodedCatalog::encode(&data.catalog, &vocabs)?;
//!
//! // Every schema field with its kind's default encoder; weighted-sum fusion, dense 128 → 64.
//! let config = TwoTowerConfig::new(TowerConfig::for_schema(&data.schema));
//! let device = Device::flex();
//! let model = config.init(&data.schema, &vocabs, &device)?;
//!
//! let seeds = TowerInput::new(&encoded.batch(&[ProductIdx(0), ProductIdx(1)])?, &device);
//! let recs = TowerInput::new(&encoded.batch(&[ProductIdx(2), ProductIdx(3)])?, &device);
//! let scores = model.score(&seeds, &recs)?;            // cosine similarity per pair
//! assert_eq!(scores.dims(), [2]);
//! let explained = model.explain(&seeds, &recs)?;      // per-field contributions
//! assert_eq!(explained[0].contributions.len(), 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A trained model is one JSON file ([`ModelBundle`]: config, schema, vocabularies) plus one
//! weights file; [`ModelBundle::load`] checks that they agree.
//!
//! ## Backends
//! Cargo features: `flex` (default, CPU), `ndarray` (CPU), `wgpu` (GPU, or lavapipe's software
//! Vulkan on a machine without one), `cuda`. The same model, weights and batch give the same
//! scores on each (tested on flex, ndarray and wgpu within 1e-4). The optional `rust-bert`
//! feature adds [rust-bert](https://docs.rs/rust-bert/0.23.0) on libtorch as a second source
//! of frozen BERT vectors (`bert::libtorch`; needs libtorch 2.4.0, see the BERT guide page).

#![warn(clippy::unwrap_used)]

pub mod attention_text;
pub mod bert;
pub mod categorical;
pub mod embed;
pub mod error;
pub mod fusion;
pub mod input;
pub mod multi_hot;
pub mod ops;
pub mod persist;
pub mod tower;
pub mod two_tower;

pub use attention_text::{AttentionTextEncoder, AttentionTextEncoderConfig, LuongScore};
pub use categorical::{CategoricalEmbedding, CategoricalEmbeddingConfig};
pub use embed::{CatalogVectors, embed_catalog, embed_catalog_with};
pub use error::{Error, Result};
pub use fusion::{Activation, Fusion, FusionConfig, FusionKind, FusionParts};
pub use input::{FieldInput, FieldVectors, ProductVectors, TowerInput};
pub use multi_hot::{BagPooling, MultiHotEmbedding, MultiHotEmbeddingConfig};
pub use persist::{MODEL_FORMAT_VERSION, ModelBundle, weights_to_bytes};
pub use tower::{
    EncoderConfig, FieldEncoder, FieldEncoderConfig, ProductTower, TowerConfig, TowerParts,
};
pub use two_tower::{ExplainMethod, Explanation, TwoTower, TwoTowerConfig};
