//! GELU for BERT's feed-forward layers.
//!
//! The exact GELU is `x · Φ(x)` with `Φ(x) = ½·erfc(−x/√2)`. Burn's `gelu` computes it with a
//! scalar `erf` per value on the CPU backend, which took about a quarter of the time of
//! embedding product titles with MiniLM (the `bert_titles` bench). On flex without autodiff (the
//! frozen-embedding path) this module computes the same function with a branch-free `erfc`
//! (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7 everywhere) and a polynomial
//! `exp` that the compiler vectorises; elsewhere (GPU backends, and autodiff, which needs the
//! op's gradient) it calls Burn's `gelu`. The two agree to a few 1e-7 (see the tests below);
//! the reference test holds both to sentence-transformers' vectors.

use burn::tensor::Tensor;
use burn::tensor::activation;

/// GELU (exact form), fast on the flex CPU backend when no gradient is tracked.
pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    {
        use burn::tensor::{DType, Device, TensorData};
        let device = x.device();
        if !device.is_autodiff() && device == Device::flex() && x.dtype() == DType::F32 {
            let mut data: TensorData = x.into_data();
            let done = match data.as_mut_slice::<f32>() {
                Ok(values) => {
                    gelu_in_place(values);
                    true
                }
                // Not viewable as f32 (cannot happen after the dtype check): Burn's op below.
                Err(_) => false,
            };
            let x = Tensor::from_data(data, &device);
            return if done { x } else { activation::gelu(x) };
        }
    }
    activation::gelu(x)
}

/// `v ← gelu(v)` for every value. The loop has no branches and no calls, so the compiler
/// vectorises it; `pulp` compiles it for AVX2/FMA too and picks that version at run time when
/// the CPU has them (SSE2 otherwise).
pub(crate) fn gelu_in_place(values: &mut [f32]) {
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for v in values.iter_mut() {
                *v = gelu_one(*v);
            }
        },
    );
}

/// `x · Φ(x)` with `Φ` from a branch-free `erfc`.
#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    // erfc(z) for z ≥ 0 (Numerical Recipes in C, 2nd ed., §6.2: relative error < 1.2e-7).
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_204
                                + t * (1.488_515_9 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * exp_nonpositive(-z * z + poly);
    // Φ(x) = 1 − ½·erfc(|x|/√2) for x ≥ 0, ½·erfc(|x|/√2) for x < 0 (no cancellation).
    let half = 0.5 * erfc;
    let cdf = if x >= 0.0 { 1.0 - half } else { half };
    x * cdf
}

/// `e^a` for `a ≤ ~0.1` (what `gelu_one` needs), relative error about 2e-7: Cody–Waite range
/// reduction by ln 2, a degree-6 polynomial (Cephes' `expf` coefficients), and the power of two
/// built from its bits. Below −87 it returns e^−87 (about 1.6e-38), which `gelu_one` multiplies
/// into nothing.
#[inline(always)]
fn exp_nonpositive(a: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5·2^23: adding and subtracting it rounds to the nearest integer without a call.
    const ROUND: f32 = 12_582_912.0;
    let a = a.max(-87.0);
    let shifted = a * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = a - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // `shifted`'s bits are those of 1.5·2^23 plus the integer n ∈ [−126, 1], so 2^n is built
    // with integer arithmetic only (a float-to-int `as` would not vectorise: it saturates).
    let biased = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    let scale = f32::from_bits(biased << 23);
    e * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact GELU in f64, the reference: `x · ½·erfc(−x/√2)` (erfc, not `1 + erf`, so the
    /// far negative tail keeps its relative precision).
    fn exact(x: f64) -> f64 {
        0.5 * x * erfc64(-x / std::f64::consts::SQRT_2)
    }

    /// erfc in f64 (std has none): `1 − erf` by its Taylor series below 3, Lentz's continued
    /// fraction above, `2 − erfc(−y)` for negative y; precise to ~1e-12 on the range tested.
    fn erfc64(y: f64) -> f64 {
        if y < 0.0 {
            return 2.0 - erfc64(-y);
        }
        if y < 3.0 {
            // erf(y) = 2/√π · Σ (−1)^n y^(2n+1) / (n! (2n+1)).
            let mut sum = 0.0f64;
            let mut term = y;
            let mut n = 0.0f64;
            while n < 200.0 && (n < 5.0 || term.abs() > 1e-17 * sum.abs()) {
                sum += term / (2.0 * n + 1.0);
                n += 1.0;
                term *= -y * y / n;
            }
            1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
        } else {
            // erfc(y) = e^(−y²)/√π · 1/(y + (1/2)/(y + 1/(y + (3/2)/(y + …)))).
            let tiny = 1e-300;
            let (mut f, mut c, mut d) = (y, y, 0.0f64);
            for k in 1..200 {
                let a = f64::from(k) / 2.0;
                d = y + a * d;
                d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
                c = y + a / c;
                if c.abs() < tiny {
                    c = tiny;
                }
                let delta = c * d;
                f *= delta;
                if (delta - 1.0).abs() < 1e-16 {
                    break;
                }
            }
            (-y * y).exp() / (f * std::f64::consts::PI.sqrt())
        }
    }

    #[test]
    fn matches_the_exact_gelu() {
        let mut worst_abs = 0.0f64;
        // Relative error, for |x| ≤ 4 and in the negative tail (x < −4, values down to 1e-32).
        let (mut worst_rel_core, mut worst_rel_tail) = (0.0f64, 0.0f64);
        let mut x = -12.0f32;
        while x <= 12.0 {
            let got = f64::from(gelu_one(x));
            let want = exact(f64::from(x));
            let abs = (got - want).abs();
            worst_abs = worst_abs.max(abs);
            if want != 0.0 {
                let rel = abs / want.abs();
                if x < -4.0 {
                    worst_rel_tail = worst_rel_tail.max(rel);
                } else if x <= 4.0 {
                    worst_rel_core = worst_rel_core.max(rel);
                }
            }
            x += 1.0 / 1024.0;
        }
        assert!(worst_abs < 2e-6, "max abs error {worst_abs:e}");
        assert!(worst_rel_core < 2e-6, "max rel error {worst_rel_core:e}");
        // No cancellation in the tail: what is left is f32 rounding of −x²/2 (about 70 at
        // x = −12) inside the exponential. Burn's `1 + erf` form returns 0 there.
        assert!(
            worst_rel_tail < 5e-5,
            "max tail rel error {worst_rel_tail:e}"
        );
    }

    #[test]
    fn special_values() {
        assert_eq!(gelu_one(0.0), 0.0);
        assert!((gelu_one(1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((gelu_one(-1.0) + 0.158_655_25).abs() < 1e-6);
        assert!(gelu_one(-100.0).abs() < 1e-30);
        assert_eq!(gelu_one(100.0), 100.0);
        assert!(gelu_one(f32::NAN).is_nan());
    }

    #[cfg(feature = "flex")]
    #[test]
    fn flex_path_agrees_with_burns_gelu() {
        use burn::tensor::{Device, TensorData};
        let values: Vec<f32> = (0..3000).map(|i| (i as f32 - 1500.0) / 150.0).collect();
        let shape = [3, 10, 100];
        let data = TensorData::new(values, shape);
        let device = Device::flex();
        let ours: Vec<f32> = gelu(Tensor::<3>::from_data(data.clone(), &device))
            .into_data()
            .try_into_vec()
            .unwrap();
        let burns: Vec<f32> = activation::gelu(Tensor::<3>::from_data(data, &device))
            .into_data()
            .try_into_vec()
            .unwrap();
        let worst = ours
            .iter()
            .zip(&burns)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 2e-6, "max abs diff {worst:e}");
    }
}
