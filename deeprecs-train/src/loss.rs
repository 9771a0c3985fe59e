//! Hinge losses comparing the model's cosine similarity with the co-occurrence score.
//!
//! Both take the cosine of each seed with `1 + k` recs — its positive first, then `k`
//! negatives — as a `[batch, 1 + k]` tensor, and the targets of the same shape (the positive's
//! co-occurrence score, then zeros).
//!
//! - [`Loss::EpsilonHinge`] (default): `max(0, |cos − s| − ε)`, averaged over the positives
//!   plus averaged over the negatives (so that positives and negatives weigh the same however
//!   many negatives there are — with 255 in-batch negatives a plain mean lets the model score
//!   everything 0 and learn nothing) — regression onto the score, insensitive within `ε`. It is the published design's
//!   loss ("trained with a hinge loss against the co-occurrence score"), it uses the score's
//!   value (a strong partner should score higher than a weak one), and it also pins negatives
//!   near 0, which keeps cosines comparable across seeds — what a cart query needs.
//! - [`Loss::MarginRanking`]: `max(0, m(s) − (cos_pos − cos_neg))` with a margin
//!   `m(s) = margin + margin_per_score · s` that grows with the positive's score, averaged over
//!   (positive, negative) pairs: only the order within a seed matters.
//!
//! ```
//! use burn::tensor::{Device, Tensor, TensorData};
//! use deeprecs_train::Loss;
//! let d = Device::flex();
//! let cos = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 0.3], [1, 2]), &d);
//! let target = Tensor::<2>::from_data(TensorData::new(vec![0.9f32, 0.0], [1, 2]), &d);
//! // positive: |0.5 − 0.9| − 0.1 = 0.3; negative: |0.3 − 0| − 0.1 = 0.2; sum of the means 0.5
//! let l: f32 = Loss::EpsilonHinge { epsilon: 0.1 }.forward(cos, target).into_scalar();
//! assert!((l - 0.5).abs() < 1e-6);
//! ```

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Result, config};

/// The training loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Loss {
    /// `max(0, |cos − s| − ε)`: mean over positives + mean over negatives.
    EpsilonHinge {
        /// The insensitive band ε ≥ 0.
        epsilon: f32,
    },
    /// `max(0, margin + margin_per_score · s − (cos_pos − cos_neg))` over (positive, negative)
    /// pairs.
    MarginRanking {
        /// The base margin.
        margin: f32,
        /// How much the margin grows with the positive's score.
        margin_per_score: f32,
    },
}

impl Default for Loss {
    fn default() -> Self {
        Self::EpsilonHinge { epsilon: 0.1 }
    }
}

impl Loss {
    /// A short name for reports, e.g. `epsilon_hinge(0.1)`, `margin_ranking(0.1+0.2s)`.
    pub fn name(&self) -> String {
        match self {
            Self::EpsilonHinge { epsilon } => format!("epsilon_hinge({epsilon})"),
            Self::MarginRanking {
                margin,
                margin_per_score,
            } => format!("margin_ranking({margin}+{margin_per_score}s)"),
        }
    }

    /// Checks the parameters.
    pub fn check(&self) -> Result<()> {
        match *self {
            Self::EpsilonHinge { epsilon } if !(epsilon.is_finite() && epsilon >= 0.0) => Err(
                config("loss.epsilon", format!("must be ≥ 0, got {epsilon}")),
            ),
            Self::MarginRanking {
                margin,
                margin_per_score,
            } if !(margin.is_finite()
                && margin_per_score.is_finite()
                && margin >= 0.0
                && margin_per_score >= 0.0) =>
            {
                Err(config(
                    "loss.margin",
                    format!(
                        "margin and margin_per_score must be ≥ 0, got {margin} and {margin_per_score}"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// True when the loss needs at least one negative per positive.
    pub fn needs_negatives(&self) -> bool {
        matches!(self, Self::MarginRanking { .. })
    }

    /// The mean loss of `cos [batch, 1 + k]` against `target [batch, 1 + k]` (positive first).
    pub fn forward(&self, cos: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
        match *self {
            Self::EpsilonHinge { epsilon } => {
                let cols = cos.dims()[1];
                let h = ((cos - target).abs() - epsilon).clamp_min(0.0);
                if cols > 1 {
                    h.clone().narrow(1, 0, 1).mean() + h.narrow(1, 1, cols - 1).mean()
                } else {
                    h.mean()
                }
            }
            Self::MarginRanking {
                margin,
                margin_per_score,
            } => {
                // The trainer guarantees at least one negative per positive (checked in
                // `TrainConfig::check`); with none, the positive is compared with itself.
                let cols = cos.dims()[1];
                let pos = cos.clone().narrow(1, 0, 1); // [b, 1]
                let neg = if cols > 1 {
                    cos.narrow(1, 1, cols - 1)
                } else {
                    cos
                }; // [b, k]
                let m = target.narrow(1, 0, 1) * margin_per_score + margin;
                (m - (pos - neg)).clamp_min(0.0).mean()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t(v: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v, shape), &Device::flex())
    }

    #[test]
    fn epsilon_hinge_by_hand() {
        let l = Loss::EpsilonHinge { epsilon: 0.05 };
        // positives: |0.9-1|=0.1→0.05, |0.5-0.5|=0→0: mean 0.025;
        // negatives: |0.2-0|=0.2→0.15, |-0.3-0|=0.3→0.25: mean 0.2
        let v: f32 = l
            .forward(
                t(vec![0.9, 0.2, 0.5, -0.3], [2, 2]),
                t(vec![1.0, 0.0, 0.5, 0.0], [2, 2]),
            )
            .into_scalar();
        assert!((v - 0.225).abs() < 1e-6, "{v}");
        // Without negatives: the plain mean.
        let v: f32 = l
            .forward(t(vec![0.9, 0.5], [2, 1]), t(vec![1.0, 0.5], [2, 1]))
            .into_scalar();
        assert!((v - 0.025).abs() < 1e-6, "{v}");
    }

    #[test]
    fn margin_ranking_by_hand() {
        let l = Loss::MarginRanking {
            margin: 0.1,
            margin_per_score: 0.4,
        };
        // row 1: s=0.5 → m=0.3; pos 0.6, negs 0.1, 0.5 → max(0,0.3-0.5)=0, max(0,0.3-0.1)=0.2
        // row 2: s=1 → m=0.5; pos 0.2, negs 0.4, -0.5 → 0.7, 0 → mean of [0, 0.2, 0.7, 0] = 0.225
        let v: f32 = l
            .forward(
                t(vec![0.6, 0.1, 0.5, 0.2, 0.4, -0.5], [2, 3]),
                t(vec![0.5, 0.0, 0.0, 1.0, 0.0, 0.0], [2, 3]),
            )
            .into_scalar();
        assert!((v - 0.225).abs() < 1e-6, "{v}");
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(Loss::EpsilonHinge { epsilon: -0.1 }.check().is_err());
        assert!(Loss::EpsilonHinge { epsilon: f32::NAN }.check().is_err());
        assert!(
            Loss::MarginRanking {
                margin: 0.1,
                margin_per_score: -1.0
            }
            .check()
            .is_err()
        );
        assert!(Loss::default().check().is_ok());
    }
}
