//! [`AttentionTextEncoder`]: word embeddings trained from scratch, pooled by Luong-style
//! attention against a learned query.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::tanh;
use burn::tensor::{Device, Int, Tensor};
use deeprecs_core::vocab::UNK;
use serde::{Deserialize, Serialize};

use crate::ops::{empty_rows, masked_softmax};

/// How a word's attention score against the learned query `q` is computed (Luong et al.,
/// 2015), for word vectors `h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LuongScore {
    /// `h · q`.
    Dot,
    /// `(W h) · q` with a learned `W` (default: a learned bilinear form).
    #[default]
    General,
    /// `v · tanh(W h + U q)`, an additive score with learned `W`, `U q` and `v`.
    Concat,
}

/// Configuration of an [`AttentionTextEncoder`].
#[derive(Config, Debug)]
pub struct AttentionTextEncoderConfig {
    /// Number of word ids, including padding and unknown.
    pub vocab_size: usize,
    /// Word vector and output dimension.
    pub dim: usize,
    /// Add learned position embeddings for this many positions (inputs must not be wider).
    /// `None`: no positional information (a bag of words with attention).
    pub max_positions: Option<usize>,
    /// The attention score.
    #[config(default = "LuongScore::General")]
    pub score: LuongScore,
}

/// Word embeddings + attention pooling. Padding positions get exactly zero attention weight;
/// an empty text returns the unknown word's vector, never NaN.
#[derive(Module, Debug)]
pub struct AttentionTextEncoder {
    words: Embedding,
    positions: Option<Embedding>,
    query: Param<Tensor<1>>,
    /// `W` of the general and concat scores.
    proj: Option<Linear>,
    /// `v` of the concat score.
    concat_v: Option<Param<Tensor<1>>>,
    #[module(skip)]
    score: LuongScore,
}

impl AttentionTextEncoderConfig {
    /// Builds the module.
    pub fn init(&self, device: &Device) -> AttentionTextEncoder {
        let d = self.dim;
        let std = 1.0 / (d.max(1) as f64).sqrt();
        let normal = Initializer::Normal { mean: 0.0, std };
        AttentionTextEncoder {
            words: EmbeddingConfig::new(self.vocab_size.max(UNK as usize + 1), d)
                .with_initializer(normal.clone())
                .init(device),
            positions: self.max_positions.map(|n| {
                EmbeddingConfig::new(n.max(1), d)
                    .with_initializer(Initializer::Normal {
                        mean: 0.0,
                        std: std * 0.1,
                    })
                    .init(device)
            }),
            query: normal.init([d], device),
            proj: (self.score != LuongScore::Dot).then(|| {
                LinearConfig::new(d, d)
                    .with_bias(self.score == LuongScore::Concat)
                    .init(device)
            }),
            concat_v: (self.score == LuongScore::Concat).then(|| normal.init([d], device)),
            score: self.score,
        }
    }
}

impl AttentionTextEncoder {
    /// The number of ids the embedding table holds.
    pub fn vocab_size(&self) -> usize {
        self.words.weight.dims()[0]
    }

    /// `ids [batch, width]`, `mask [batch, width]` → `[batch, dim]`.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let (pooled, _) = self.forward_with_weights(ids, mask);
        pooled
    }

    /// Like [`forward`](Self::forward), also returning the attention weights
    /// `[batch, width]` (for inspection: which words the model looks at).
    pub fn forward_with_weights(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2>,
    ) -> (Tensor<2>, Tensor<2>) {
        let [batch, width] = ids.dims();
        let device = ids.device();
        let mut h = self.words.forward(ids); // [b, w, d]
        let d = h.dims()[2];
        if let Some(pos) = &self.positions {
            let n = pos.weight.dims()[0];
            let positions = Tensor::<1, Int>::arange(0..width.min(n) as i64, &device);
            let p = pos.forward(positions.reshape([1, width.min(n)])); // [1, w', d]
            let p = if width > n {
                // Wider than the table: positions beyond it get no positional vector.
                Tensor::cat(vec![p, Tensor::zeros([1, width - n, d], &device)], 1)
            } else {
                p
            };
            h = h + p;
        }
        let q = self.query.val().reshape([1, 1, d]);
        let scores = match (self.score, &self.proj, &self.concat_v) {
            (LuongScore::General, Some(w), _) => (w.forward(h.clone()) * q).sum_dim(2),
            (LuongScore::Concat, Some(w), Some(v)) => {
                // W h + b, where the bias b plays the role of U q (q is a learned constant).
                let t = tanh(w.forward(h.clone()) + q);
                (t * v.val().reshape([1, 1, d])).sum_dim(2)
            }
            _ => (h.clone() * q).sum_dim(2),
        }
        .reshape([batch, width])
            / (d as f64).sqrt();
        let weights = masked_softmax(scores, mask.clone());
        let pooled = (h * weights.clone().unsqueeze_dim::<3>(2))
            .sum_dim(1)
            .reshape([batch, d]);
        let unknown = self.words.weight.val().narrow(0, UNK as usize, 1);
        (pooled + empty_rows(&mask) * unknown, weights)
    }
}
