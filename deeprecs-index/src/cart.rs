//! Cart queries: recommendations for several seeds at once.
//!
//! Each seed vector (the seed tower's output for one cart item) is first checked and
//! L2-normalised, so every item weighs the same; then the seeds are combined as
//! [`CartAggregation`] says. The cart's items are always excluded, whatever the aggregation.
//!
//! ## The options and their trade-offs
//!
//! Write `q̂ᵢ` for the normalised seed vectors and `r` for a (normalised) rec vector, so that
//! `cos(qᵢ, r) = q̂ᵢ · r`.
//!
//! | option | score of `r` | cost | favours |
//! | --- | --- | --- | --- |
//! | [`MeanVector`](CartAggregation::MeanVector) (default) | `cos(mean, r)` with `mean = Σ q̂ᵢ / n` | one query | products that go with the cart *as a whole* |
//! | [`SumScore`](CartAggregation::SumScore) | `Σᵢ cos(qᵢ, r)` | one query | the same ranking as `MeanVector` (see below) |
//! | [`MaxScore`](CartAggregation::MaxScore) | `maxᵢ cos(qᵢ, r)` | `n` queries (one batch) | the best match for *any one* item |
//!
//! **Sum and mean rank alike.** Scores are linear in the query:
//! `Σᵢ q̂ᵢ · r = (Σᵢ q̂ᵢ) · r = ‖Σᵢ q̂ᵢ‖ · cos(mean, r)`. So summing per-seed cosines ranks
//! the catalog exactly as the mean vector does; only the reported score differs (a sum in
//! `[-n, n]` instead of a cosine in `[-1, 1]`). `SumScore` is computed that way — one query —
//! and is offered for callers who want the summed scores, e.g. to compare carts of different
//! sizes on one scale.
//!
//! **Mean versus max.** The mean vector finds products that complement every item at once
//! (a case and a screen protector for a cart of two phones). For a cart of unrelated items —
//! a phone and dog food — the mean lies between them and can surface products that fit
//! neither, and one item's direction can be washed out by the others. `MaxScore` keeps each
//! item's own best complements, so a heterogeneous cart gets recommendations for each of its
//! items; its drawback is that one item with many strong neighbours can fill the whole list,
//! and it costs one query per item.
//!
//! **`MaxScore` is exact with an exact index.** It takes each seed's top k and keeps, per
//! product, the best score found. A product in the true top k by maximum reaches its maximum
//! with some seed `j`, and is in seed `j`'s own top k (any product ranking before it for
//! seed `j` would also rank before it by maximum); so the merge loses nothing. With an
//! approximate index it is as approximate as the per-seed searches.

use ndarray::{Array1, ArrayView2};

use crate::error::{Error, Result};
use crate::filter::Exclusions;
use crate::index::Index;
use crate::store::normalized;
use crate::topk::{Hit, rank_cmp};

/// How a cart's seed vectors are combined into one ranking. See the [module docs](self) for
/// the trade-offs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CartAggregation {
    /// One query with the normalised mean of the normalised seeds; the score is the cosine
    /// with that mean.
    #[default]
    MeanVector,
    /// The sum of per-seed cosine scores (ranks like `MeanVector`; computed with one query).
    SumScore,
    /// The maximum of per-seed cosine scores (one search per seed, merged).
    MaxScore,
}

/// The mean of the normalised rows of `seeds` (unnormalised) and the norm of their sum.
///
/// Errors when there is no seed, a seed is bad (wrong dimension, NaN, zero), or the seeds
/// cancel out (their sum is zero, so the cart has no direction).
pub fn cart_mean(seeds: ArrayView2<'_, f32>, dim: usize) -> Result<(Array1<f32>, f32)> {
    if seeds.nrows() == 0 {
        return Err(Error::EmptyCart);
    }
    let mut sum = Array1::<f64>::zeros(dim);
    for (i, seed) in seeds.outer_iter().enumerate() {
        let q = normalized(seed, dim, || format!("cart seed {i}"))?;
        sum.zip_mut_with(&q, |s, &x| *s += f64::from(x));
    }
    let norm = sum.iter().map(|x| x * x).sum::<f64>().sqrt();
    // Far below any real cart's sum; above it a direction survives f32 rounding.
    if norm <= 1e-6 {
        return Err(Error::ZeroVector {
            what: "the cart's summed seed vector (the seeds cancel out)".to_owned(),
        });
    }
    let n = seeds.nrows() as f64;
    Ok((sum.mapv(|x| (x / n) as f32), norm as f32))
}

/// Recommendations for a cart (see [`Index::top_k_cart`]): `seeds` row `i` is the seed
/// vector of `cart_ids[i]`; cart items in the index are never returned.
pub fn top_k_cart<I: Index + ?Sized>(
    index: &I,
    cart_ids: &[&str],
    seeds: ArrayView2<'_, f32>,
    k: usize,
    aggregation: CartAggregation,
    exclusions: &Exclusions,
) -> Result<Vec<Hit>> {
    if cart_ids.len() != seeds.nrows() {
        return Err(Error::IdCountMismatch {
            ids: cart_ids.len(),
            rows: seeds.nrows(),
        });
    }
    let store = index.store();
    let exclusions = exclusions
        .clone()
        .exclude_ids(store, cart_ids.iter().copied());
    match aggregation {
        CartAggregation::MeanVector => {
            let (mean, _) = cart_mean(seeds, store.dim())?;
            index.top_k(mean.view(), k, &exclusions)
        }
        CartAggregation::SumScore => {
            let (mean, sum_norm) = cart_mean(seeds, store.dim())?;
            let mut hits = index.top_k(mean.view(), k, &exclusions)?;
            for h in &mut hits {
                h.score *= sum_norm;
            }
            Ok(hits)
        }
        CartAggregation::MaxScore => {
            if seeds.nrows() == 0 {
                return Err(Error::EmptyCart);
            }
            let per_seed = index.top_k_batch(seeds, k, &exclusions, &[])?;
            Ok(merge_max(per_seed.into_iter().flatten().collect(), k))
        }
    }
}

/// Keeps the best score per row, then the best `k` rows in rank order.
fn merge_max(mut hits: Vec<Hit>, k: usize) -> Vec<Hit> {
    // Per row, best score first; then keep the first of each row.
    hits.sort_by(|a, b| {
        a.row
            .cmp(&b.row)
            .then(rank_cmp(a.score, a.row, b.score, b.row))
    });
    hits.dedup_by_key(|h| h.row);
    hits.sort_by(|a, b| rank_cmp(a.score, a.row, b.score, b.row));
    hits.truncate(k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn mean_of_normalised_seeds() {
        let (mean, norm) = cart_mean(array![[2.0, 0.0], [0.0, 5.0]].view(), 2).unwrap();
        assert_eq!(mean.to_vec(), vec![0.5, 0.5]);
        assert!((norm - 2f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn cancelling_and_empty_carts_are_errors() {
        assert!(matches!(
            cart_mean(array![[1.0, 0.0], [-1.0, 0.0]].view(), 2),
            Err(Error::ZeroVector { .. })
        ));
        assert!(matches!(
            cart_mean(ArrayView2::from_shape((0, 2), &[]).unwrap(), 2),
            Err(Error::EmptyCart)
        ));
        assert!(matches!(
            cart_mean(array![[1.0, f32::NAN]].view(), 2),
            Err(Error::NonFiniteVector { .. })
        ));
    }

    #[test]
    fn merge_max_keeps_best_score_per_row() {
        let h = |row, score| Hit { row, score };
        let merged = merge_max(
            vec![h(3, 0.5), h(1, 0.7), h(3, 0.9), h(2, 0.7), h(1, 0.2)],
            2,
        );
        assert_eq!(merged, vec![h(3, 0.9), h(1, 0.7)]);
    }
}
