//! The [`Recommender`] trait: what the harness needs from a model or a baseline.

use deeprecs_core::ProductIdx;

/// Anything that scores every catalog product as a recommendation for a seed product: the
/// two-tower model (seed vector · rec vectors), an embedding table, every baseline.
///
/// The trait is object-safe: the harness takes `&dyn Recommender` as well as concrete types.
/// It is `Sync` because seeds are scored in parallel from several threads; implementations
/// hold no per-call state (write scores only into `out`).
///
/// ```
/// use deeprecs_core::ProductIdx;
/// use deeprecs_train::eval::Recommender;
///
/// /// Recommends the products next to the seed in catalog order (a toy).
/// struct Neighbours { n: usize }
///
/// impl Recommender for Neighbours {
///     fn name(&self) -> &str { "neighbours" }
///     fn n_products(&self) -> usize { self.n }
///     fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool {
///         for (p, s) in out.iter_mut().enumerate() {
///             *s = -(p as f32 - seed.0 as f32).abs();
///         }
///         true
///     }
/// }
///
/// let model = Neighbours { n: 5 };
/// let mut out = vec![0.0; 5];
/// assert!(model.score_all(ProductIdx(2), &mut out));
/// assert_eq!(out, [-2.0, -1.0, 0.0, -1.0, -2.0]);
/// ```
pub trait Recommender: Sync {
    /// The name shown in tables and JSON rows (`model`).
    fn name(&self) -> &str;

    /// The size of the catalog the recommender scores; must equal the evaluation set's, or
    /// [`evaluate`](crate::eval::evaluate) fails with
    /// [`EvalError::CatalogMismatch`](crate::eval::EvalError::CatalogMismatch).
    fn n_products(&self) -> usize;

    /// Writes the score of every catalog product as a rec for `seed` into `out`
    /// (`out.len() == n_products()`, indexed by [`ProductIdx`]; it arrives filled with `0.0`).
    /// Higher is better; only the order matters. The seed's own entry is ignored. NaN is an
    /// error ([`EvalError::NanScore`](crate::eval::EvalError::NanScore)); infinities are
    /// ordered like any other value.
    ///
    /// Returns `false` when the recommender cannot score this seed at all (item-item
    /// co-occurrence on a seed without training history, a text model on a product without
    /// text): the harness then counts every metric of the seed as 0 and reports the seed as
    /// unscorable, so that no method hides the seeds it cannot serve.
    fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool;
}

impl<R: Recommender + ?Sized> Recommender for &R {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn n_products(&self) -> usize {
        (**self).n_products()
    }

    fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool {
        (**self).score_all(seed, out)
    }
}

impl<R: Recommender + ?Sized> Recommender for Box<R> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn n_products(&self) -> usize {
        (**self).n_products()
    }

    fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool {
        (**self).score_all(seed, out)
    }
}
