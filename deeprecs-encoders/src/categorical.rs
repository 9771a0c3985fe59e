//! [`CategoricalEmbedding`]: one learned vector per categorical value.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer};
use burn::tensor::{Device, Int, Tensor};
use deeprecs_core::vocab::UNK;

use crate::ops::EPS;

/// Configuration of a [`CategoricalEmbedding`].
#[derive(Config, Debug)]
pub struct CategoricalEmbeddingConfig {
    /// Number of ids: the field's vocabulary size, including padding and unknown.
    pub vocab_size: usize,
    /// Output dimension.
    pub dim: usize,
    /// Rescale looked-up vectors whose L2 norm exceeds this (like PyTorch's `max_norm`, applied
    /// to the output, so gradients see the rescaling).
    pub max_norm: Option<f64>,
}

/// One learned vector per value; unknown and missing values share the unknown bucket
/// ([`UNK`]).
#[derive(Module, Debug)]
pub struct CategoricalEmbedding {
    embedding: Embedding,
    #[module(skip)]
    max_norm: Option<f64>,
}

impl CategoricalEmbeddingConfig {
    /// Builds the module with weights drawn from N(0, 1/dim) (vectors of norm ≈ 1).
    pub fn init(&self, device: &Device) -> CategoricalEmbedding {
        let std = 1.0 / (self.dim.max(1) as f64).sqrt();
        CategoricalEmbedding {
            embedding: EmbeddingConfig::new(self.vocab_size.max(UNK as usize + 1), self.dim)
                .with_initializer(Initializer::Normal { mean: 0.0, std })
                .init(device),
            max_norm: self.max_norm,
        }
    }
}

impl CategoricalEmbedding {
    /// `ids [batch]` → `[batch, dim]`.
    pub fn forward(&self, ids: Tensor<1, Int>) -> Tensor<2> {
        let [batch] = ids.dims();
        let out = self
            .embedding
            .forward(ids.reshape([batch, 1]))
            .squeeze_dim::<2>(1);
        match self.max_norm {
            None => out,
            Some(max) => {
                let norm = out.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(EPS);
                let scale = (norm.recip() * max).clamp_max(1.0);
                out * scale
            }
        }
    }

    /// The number of ids the embedding table holds.
    pub fn vocab_size(&self) -> usize {
        self.embedding.weight.dims()[0]
    }

    /// The embedding table `[vocab_size, dim]`.
    pub fn weights(&self) -> Tensor<2> {
        self.embedding.weight.val()
    }
}
