//! [`Fusion`]: per-feature vectors → one L2-normalised product vector.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::activation::{gelu, relu, softmax, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Result, config_error};
use crate::ops::l2_normalize;

/// How per-feature vectors are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionKind {
    /// A learned softmax-weighted sum, the same weights for every product (default: cheap,
    /// and its weights say how much each field matters).
    #[default]
    WeightedSum,
    /// A learned query attends over the feature vectors: per-product weights.
    Attention,
}

/// Activation between dense layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, x) (default).
    #[default]
    Relu,
    /// Gaussian error linear unit.
    Gelu,
    /// Hyperbolic tangent.
    Tanh,
}

impl Activation {
    fn apply(self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Relu => relu(x),
            Self::Gelu => gelu(x),
            Self::Tanh => tanh(x),
        }
    }
}

/// Configuration of a [`Fusion`].
#[derive(Config, Debug)]
pub struct FusionConfig {
    /// How feature vectors are combined.
    #[config(default = "FusionKind::WeightedSum")]
    pub kind: FusionKind,
    /// Sizes of the dense layers after the combination; the last is the product vector's
    /// size. Empty: no dense layers (the product vector has the features' size).
    #[config(default = "vec![128, 64]")]
    pub dense: Vec<usize>,
    /// Activation after every dense layer but the last.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Dropout before every dense layer (training only), in [0, 1).
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Add a layer's input to its output where the sizes agree.
    #[config(default = false)]
    pub residual: bool,
    /// Layer normalisation after every hidden dense layer.
    #[config(default = false)]
    pub layer_norm: bool,
}

/// Combines per-feature vectors, applies the dense stack and L2-normalises.
#[derive(Module, Debug)]
pub struct Fusion {
    /// Weighted sum: one logit per feature.
    logits: Option<Param<Tensor<1>>>,
    /// Attention: the learned query.
    query: Option<Param<Tensor<1>>>,
    layers: Vec<Linear>,
    norms: Vec<LayerNorm>,
    dropout: Dropout,
    #[module(skip)]
    kind: FusionKind,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    residual: bool,
}

/// The intermediate values of a fusion, for explanations.
#[derive(Debug, Clone)]
pub struct FusionParts {
    /// `[batch, features]` combination weights (rows sum to 1).
    pub weights: Tensor<2>,
    /// `[batch, dim]` the weighted combination before the dense layers.
    pub combined: Tensor<2>,
    /// `[batch, out]` the L2-normalised product vector.
    pub output: Tensor<2>,
}

impl FusionConfig {
    /// Checks the options (dropout range, layer sizes).
    pub fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(config_error(
                "fusion.dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        if self.dense.contains(&0) {
            return Err(config_error(
                "fusion.dense",
                format!("layer sizes must be positive, got {:?}", self.dense),
            ));
        }
        Ok(())
    }

    /// The size of the product vector for features of size `dim`.
    pub fn output_dim(&self, dim: usize) -> usize {
        self.dense.last().copied().unwrap_or(dim)
    }

    /// Builds the fusion of `features` vectors of size `dim`.
    pub fn init(&self, features: usize, dim: usize, device: &Device) -> Result<Fusion> {
        self.check()?;
        if features == 0 {
            return Err(config_error("fields", "a tower needs at least one field"));
        }
        let std = 1.0 / (dim.max(1) as f64).sqrt();
        let mut layers = Vec::new();
        let mut norms = Vec::new();
        let mut input = dim;
        for (i, &size) in self.dense.iter().enumerate() {
            layers.push(LinearConfig::new(input, size).init(device));
            if self.layer_norm && i + 1 < self.dense.len() {
                norms.push(LayerNormConfig::new(size).init(device));
            }
            input = size;
        }
        Ok(Fusion {
            logits: (self.kind == FusionKind::WeightedSum)
                .then(|| Initializer::Zeros.init([features], device)),
            query: (self.kind == FusionKind::Attention)
                .then(|| Initializer::Normal { mean: 0.0, std }.init([dim], device)),
            layers,
            norms,
            dropout: DropoutConfig::new(self.dropout).init(),
            kind: self.kind,
            activation: self.activation,
            residual: self.residual,
        })
    }
}

impl Fusion {
    /// Fuses `features` (each `[batch, dim]`) into `[batch, out]` L2-normalised vectors.
    pub fn forward(&self, features: Vec<Tensor<2>>) -> Tensor<2> {
        self.forward_parts(features).output
    }

    /// True when the fusion has dense layers (explanations are then approximate).
    pub fn has_dense(&self) -> bool {
        !self.layers.is_empty()
    }

    /// The fusion's kind.
    pub fn kind(&self) -> FusionKind {
        self.kind
    }

    /// Like [`forward`](Self::forward), keeping the weights and the combination.
    pub fn forward_parts(&self, features: Vec<Tensor<2>>) -> FusionParts {
        let [batch, dim] = features[0].dims();
        let stacked = Tensor::stack::<3>(features, 1); // [b, f, d]
        let n = stacked.dims()[1];
        let weights = match (&self.logits, &self.query) {
            (Some(logits), _) => softmax(logits.val(), 0).reshape([1, n]).expand([batch, n]),
            (None, Some(q)) => {
                let scores = (stacked.clone() * q.val().reshape([1, 1, dim]))
                    .sum_dim(2)
                    .reshape([batch, n])
                    / (dim as f64).sqrt();
                softmax(scores, 1)
            }
            (None, None) => Tensor::ones([batch, n], &stacked.device()) / n as f64,
        };
        let combined = (stacked * weights.clone().unsqueeze_dim::<3>(2))
            .sum_dim(1)
            .reshape([batch, dim]);
        let mut x = combined.clone();
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            let input = x.clone();
            let mut y = layer.forward(self.dropout.forward(x));
            if i < last {
                if let Some(norm) = self.norms.get(i) {
                    y = norm.forward(y);
                }
                y = self.activation.apply(y);
            }
            if self.residual && y.dims() == input.dims() {
                y = y + input;
            }
            x = y;
        }
        FusionParts {
            weights,
            combined,
            output: l2_normalize(x),
        }
    }
}
