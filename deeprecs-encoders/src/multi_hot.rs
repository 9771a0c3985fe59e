//! [`MultiHotEmbedding`]: an embedding bag over a variable number of values per product.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer};
use burn::tensor::{Device, Int, Tensor};
use deeprecs_core::vocab::UNK;
use serde::{Deserialize, Serialize};

use crate::ops::{EPS, empty_rows, masked_softmax};

/// How the vectors of a product's values are pooled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BagPooling {
    /// The mean of the values' vectors (default): products with many categories are not
    /// favoured over products with few.
    #[default]
    Mean,
    /// The sum of the values' vectors.
    Sum,
    /// A softmax-weighted mean with one learned weight per value (rare, specific values can
    /// learn to count more than broad ones).
    Learned,
}

/// Configuration of a [`MultiHotEmbedding`].
#[derive(Config, Debug)]
pub struct MultiHotEmbeddingConfig {
    /// Number of ids, including padding and unknown.
    pub vocab_size: usize,
    /// Output dimension.
    pub dim: usize,
    /// Pooling of the values' vectors.
    #[config(default = "BagPooling::Mean")]
    pub pooling: BagPooling,
}

/// An embedding bag: padding is ignored exactly; a product with no value gets the unknown
/// vector, never NaN.
#[derive(Module, Debug)]
pub struct MultiHotEmbedding {
    embedding: Embedding,
    /// One logit per id (learned pooling only).
    value_weights: Option<Embedding>,
    #[module(skip)]
    pooling: BagPooling,
}

impl MultiHotEmbeddingConfig {
    /// Builds the module with weights drawn from N(0, 1/dim).
    pub fn init(&self, device: &Device) -> MultiHotEmbedding {
        let n = self.vocab_size.max(UNK as usize + 1);
        let std = 1.0 / (self.dim.max(1) as f64).sqrt();
        MultiHotEmbedding {
            embedding: EmbeddingConfig::new(n, self.dim)
                .with_initializer(Initializer::Normal { mean: 0.0, std })
                .init(device),
            value_weights: (self.pooling == BagPooling::Learned).then(|| {
                EmbeddingConfig::new(n, 1)
                    .with_initializer(Initializer::Zeros)
                    .init(device)
            }),
            pooling: self.pooling,
        }
    }
}

impl MultiHotEmbedding {
    /// The number of ids the embedding table holds.
    pub fn vocab_size(&self) -> usize {
        self.embedding.weight.dims()[0]
    }

    /// `ids [batch, width]`, `mask [batch, width]` → `[batch, dim]`.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let [batch, width] = ids.dims();
        let vectors = self.embedding.forward(ids.clone()); // [b, w, d]
        let weights = match (&self.value_weights, self.pooling) {
            (Some(logits), BagPooling::Learned) => {
                let scores = logits.forward(ids).reshape([batch, width]);
                masked_softmax(scores, mask.clone())
            }
            (_, BagPooling::Sum) => mask.clone(),
            _ => {
                let count = mask.clone().sum_dim(1).clamp_min(EPS);
                mask.clone() / count
            }
        };
        let pooled = (vectors * weights.unsqueeze_dim::<3>(2))
            .sum_dim(1)
            .squeeze_dim::<2>(1);
        let unknown = self.embedding.weight.val().narrow(0, UNK as usize, 1); // [1, d]
        pooled + empty_rows(&mask) * unknown
    }
}
