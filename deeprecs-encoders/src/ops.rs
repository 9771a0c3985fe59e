//! Small tensor helpers shared by the encoders.

use burn::tensor::Tensor;

/// Large negative score given to masked positions before the softmax.
const MASKED: f32 = -1.0e9;
/// Floor of norms and denominators, so that empty inputs give zeros, never NaN.
pub const EPS: f32 = 1.0e-12;

/// Softmax over the last axis of `scores [batch, width]` restricted to `mask [batch, width]`
/// (1.0 keep, 0.0 drop). Masked positions get **exactly** zero weight; a row with no kept
/// position gets all-zero weights (not NaN).
pub fn masked_softmax(scores: Tensor<2>, mask: Tensor<2>) -> Tensor<2> {
    let masked = scores * mask.clone() + (mask.clone().neg() + 1.0) * MASKED;
    let max = masked.clone().max_dim(1).detach();
    let exp = (masked - max).exp() * mask;
    let denom = exp.clone().sum_dim(1).clamp_min(EPS);
    exp / denom
}

/// L2-normalises the rows of `x [batch, dim]`; an all-zero row stays zero.
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(EPS);
    x / norm
}

/// 1.0 for rows of `mask [batch, width]` with no kept position, else 0.0: `[batch, 1]`.
pub fn empty_rows(mask: &Tensor<2>) -> Tensor<2> {
    mask.clone().sum_dim(1).lower_equal_elem(0.0).float()
}
