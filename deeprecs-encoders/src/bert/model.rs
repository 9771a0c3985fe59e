//! The BERT network as Burn modules. Module and field names mirror the Hugging Face tensor names
//! (`embeddings.word_embeddings.weight`, `encoder.layer.3.attention.output.dense.bias`, …), so
//! loading needs only two renames: `LayerNorm` → `layer_norm` and `attention.self` →
//! `attention.self_attn` (Rust names).

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor};

use super::config::{BertConfig, BertPooling};
use crate::ops::l2_normalize;

/// Score added to masked (padding) keys before the softmax: their weight is exactly zero.
const MASKED: f32 = -1.0e9;

/// Word, position and token-type embeddings, summed and layer-normalised.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    layer_norm: LayerNorm,
}

/// The query, key and value projections of one attention layer.
#[derive(Module, Debug)]
pub struct BertSelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
}

/// A dense layer followed by a residual connection and LayerNorm (BERT is post-LN).
#[derive(Module, Debug)]
pub struct BertResidualOutput {
    dense: Linear,
    layer_norm: LayerNorm,
}

/// Multi-head self-attention with its output block.
#[derive(Module, Debug)]
pub struct BertAttention {
    self_attn: BertSelfAttention,
    output: BertResidualOutput,
}

/// The feed-forward expansion (`intermediate.dense`).
#[derive(Module, Debug)]
pub struct BertIntermediate {
    dense: Linear,
}

/// One encoder layer: attention, then feed-forward, each post-LN.
#[derive(Module, Debug)]
pub struct BertLayer {
    attention: BertAttention,
    intermediate: BertIntermediate,
    output: BertResidualOutput,
    #[module(skip)]
    heads: usize,
}

/// The stack of encoder layers.
#[derive(Module, Debug)]
pub struct BertEncoder {
    /// The layers, first to last.
    pub layer: Vec<BertLayer>,
}

/// The BERT network: embeddings, encoder layers and pooling. Weights only; tokenisation and
/// loading are in [`BertModel`](super::BertModel).
#[derive(Module, Debug)]
pub struct BertNetwork {
    embeddings: BertEmbeddings,
    encoder: BertEncoder,
    #[module(skip)]
    pooling: BertPooling,
    #[module(skip)]
    normalize: bool,
    #[module(skip)]
    hidden: usize,
}

fn linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out).init(device)
}

fn residual(d_in: usize, c: &BertConfig, device: &Device) -> BertResidualOutput {
    BertResidualOutput {
        dense: linear(d_in, c.hidden_size, device),
        layer_norm: LayerNormConfig::new(c.hidden_size)
            .with_epsilon(c.layer_norm_eps)
            .init(device),
    }
}

impl BertNetwork {
    /// A randomly initialised network of the given architecture (weights are then loaded).
    pub fn init(c: &BertConfig, pooling: BertPooling, normalize: bool, device: &Device) -> Self {
        let h = c.hidden_size;
        let embeddings = BertEmbeddings {
            word_embeddings: EmbeddingConfig::new(c.vocab_size, h).init(device),
            position_embeddings: EmbeddingConfig::new(c.max_position_embeddings, h).init(device),
            token_type_embeddings: EmbeddingConfig::new(c.type_vocab_size, h).init(device),
            layer_norm: LayerNormConfig::new(h)
                .with_epsilon(c.layer_norm_eps)
                .init(device),
        };
        let layer = (0..c.num_hidden_layers)
            .map(|_| BertLayer {
                attention: BertAttention {
                    self_attn: BertSelfAttention {
                        query: linear(h, h, device),
                        key: linear(h, h, device),
                        value: linear(h, h, device),
                    },
                    output: residual(h, c, device),
                },
                intermediate: BertIntermediate {
                    dense: linear(h, c.intermediate_size, device),
                },
                output: residual(c.intermediate_size, c, device),
                heads: c.num_attention_heads,
            })
            .collect();
        Self {
            embeddings,
            encoder: BertEncoder { layer },
            pooling,
            normalize,
            hidden: h,
        }
    }

    /// Width of the hidden states and pooled vectors.
    pub fn dim(&self) -> usize {
        self.hidden
    }

    /// Number of encoder layers.
    pub fn num_layers(&self) -> usize {
        self.encoder.layer.len()
    }

    /// The pooling this network applies.
    pub fn pooling(&self) -> BertPooling {
        self.pooling
    }

    /// Whether pooled vectors are L2-normalised.
    pub fn normalize(&self) -> bool {
        self.normalize
    }

    /// Marks every parameter outside the last `trainable_layers` encoder layers as not
    /// requiring gradients (embeddings included), for fine-tuning only the top of the network.
    pub fn freeze_below(mut self, trainable_layers: usize) -> Self {
        self.embeddings = self.embeddings.no_grad();
        let n = self.encoder.layer.len();
        let keep = n.saturating_sub(trainable_layers);
        self.encoder.layer = self
            .encoder
            .layer
            .into_iter()
            .enumerate()
            .map(|(i, l)| if i < keep { l.no_grad() } else { l })
            .collect();
        self
    }

    /// Token vectors of a batch: `ids [batch, seq]`, `mask [batch, seq]` (1.0 real, 0.0 padding)
    /// → `[batch, seq, hidden]`. Token types are all 0 (single-segment texts).
    pub fn hidden_states(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let [batch, seq] = ids.dims();
        let device = ids.device();
        let positions = Tensor::<1, Int>::arange(0..seq as i64, &device)
            .unsqueeze::<2>()
            .expand([batch, seq]);
        let types = Tensor::<2, Int>::zeros([batch, seq], &device);
        let e = &self.embeddings;
        let x = e.word_embeddings.forward(ids)
            + e.position_embeddings.forward(positions)
            + e.token_type_embeddings.forward(types);
        let mut x = e.layer_norm.forward(x);
        // [batch, 1, 1, seq]: 0 for real keys, a large negative score for padding.
        let bias = (mask.neg() + 1.0)
            .mul_scalar(MASKED)
            .unsqueeze_dims::<4>(&[1, 2]);
        for layer in &self.encoder.layer {
            x = layer.forward(x, bias.clone());
        }
        x
    }

    /// Text vectors of a batch, pooled (and normalised) as configured: `[batch, hidden]`.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let h = self.hidden_states(ids, mask.clone());
        let pooled = match self.pooling {
            BertPooling::Mean => {
                let m = mask.unsqueeze_dim::<3>(2);
                let sum = (h * m.clone()).sum_dim(1).squeeze_dim::<2>(1);
                let count = m.sum_dim(1).squeeze_dim::<2>(1).clamp_min(1e-9);
                sum / count
            }
            BertPooling::Cls => {
                let [batch, _, hidden] = h.dims();
                h.slice([0..batch, 0..1, 0..hidden]).squeeze_dim::<2>(1)
            }
        };
        if self.normalize {
            l2_normalize(pooled)
        } else {
            pooled
        }
    }
}

impl BertResidualOutput {
    fn forward(&self, x: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        self.layer_norm.forward(self.dense.forward(x) + residual)
    }
}

impl BertLayer {
    fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let [batch, seq, hidden] = x.dims();
        let heads = self.heads;
        let dh = hidden / heads;
        let split = |t: Tensor<3>| t.reshape([batch, seq, heads, dh]).swap_dims(1, 2);
        let a = &self.attention.self_attn;
        let q = split(a.query.forward(x.clone()));
        let k = split(a.key.forward(x.clone()));
        let v = split(a.value.forward(x.clone()));
        let scores = q
            .matmul(k.swap_dims(2, 3))
            .mul_scalar(1.0 / (dh as f64).sqrt())
            + bias;
        let probs = softmax(scores, 3);
        let context = probs
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, seq, hidden]);
        let attended = self.attention.output.forward(context, x);
        let inner = super::gelu::gelu(self.intermediate.dense.forward(attended.clone()));
        self.output.forward(inner, attended)
    }
}
