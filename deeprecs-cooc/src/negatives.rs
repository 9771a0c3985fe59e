//! Negative candidates for training: products drawn uniformly or by popularity^α, never the
//! seed itself nor one of its known positives.
//!
//! ```
//! use deeprecs_core::rng::SeededRng;
//! use deeprecs_core::{EventLogBuilder, ProductIdx};
//! use deeprecs_cooc::{CoocConfig, NegativeSampler, Sampling, Scorer};
//!
//! let mut b = EventLogBuilder::new();
//! for (u, p) in [("a", 0), ("a", 1), ("b", 2), ("c", 3), ("c", 3)] {
//!     b.push(u, ProductIdx(p), 0, "purchase", 1.0, None)?;
//! }
//! let log = b.build();
//! let (counts, _) = CoocConfig::default().check()?.count(&log, 5)?;
//! let positives = counts.into_scores(&Scorer::default())?;
//! let popularity = log.events_per_product(5); // product 4 has no event: never drawn
//! let sampler = NegativeSampler::new(&popularity, Sampling::Popularity { alpha: 0.75 })?;
//! let mut rng = SeededRng::new(7);
//! let negatives = sampler.sample(ProductIdx(0), &positives, 100, &mut rng)?;
//! assert_eq!(negatives.len(), 100);
//! assert!(negatives.iter().all(|p| [2, 3].contains(&p.0))); // not 0 (seed), 1 (positive), 4
//! # Ok::<(), deeprecs_cooc::Error>(())
//! ```

use deeprecs_core::ProductIdx;
use deeprecs_core::rng::{SeededRng, WeightedIndex};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, invalid};
use crate::table::PairScores;

/// The distribution negatives are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Every candidate equally likely.
    Uniform,
    /// Proportional to `popularity^alpha` (word2vec's 0.75 flattens the head; 1 follows
    /// popularity; 0 is uniform).
    Popularity {
        /// The exponent, in `[0, 4]`.
        alpha: f64,
    },
}

impl Default for Sampling {
    fn default() -> Self {
        Self::Popularity { alpha: 0.75 }
    }
}

/// Rejected draws per negative before switching to sampling from the explicit list of
/// allowed products (for seeds whose positives cover most of the mass).
const MAX_TRIES: u32 = 32;

/// Draws negative products for a seed. Candidates are the products with a positive popularity
/// (pass training events per product, so that cold-start products never become negatives).
#[derive(Debug, Clone, PartialEq)]
pub struct NegativeSampler {
    candidates: Vec<u32>,
    weights: Vec<f64>,
    dist: Option<WeightedIndex>,
    sampling: Sampling,
    n_products: usize,
}

impl NegativeSampler {
    /// A sampler over the products with `popularity[p] > 0` (indexed by product).
    pub fn new(popularity: &[u32], sampling: Sampling) -> Result<Self> {
        if let Sampling::Popularity { alpha } = sampling
            && !(alpha.is_finite() && (0.0..=4.0).contains(&alpha))
        {
            return Err(invalid(
                "alpha",
                format!("must be a finite number in [0, 4], got {alpha}"),
            ));
        }
        let candidates: Vec<u32> = popularity
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(p, _)| p as u32)
            .collect();
        if candidates.is_empty() {
            return Err(invalid(
                "popularity",
                "no product has a positive popularity: there is no negative to draw",
            ));
        }
        let weights: Vec<f64> = match sampling {
            Sampling::Uniform => vec![1.0; candidates.len()],
            Sampling::Popularity { alpha } => candidates
                .iter()
                .map(|&p| f64::from(popularity[p as usize]).powf(alpha))
                .collect(),
        };
        let dist = match sampling {
            Sampling::Uniform => None,
            Sampling::Popularity { .. } => {
                Some(WeightedIndex::new(weights.iter().copied()).ok_or_else(|| {
                    invalid("popularity", "the weights do not form a distribution")
                })?)
            }
        };
        Ok(Self {
            candidates,
            weights,
            dist,
            sampling,
            n_products: popularity.len(),
        })
    }

    /// The distribution.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// The products that can be drawn, ascending.
    pub fn candidates(&self) -> impl ExactSizeIterator<Item = ProductIdx> + '_ {
        self.candidates.iter().map(|&p| ProductIdx(p))
    }

    /// The probability of drawing `p` when nothing is excluded.
    pub fn probability(&self, p: ProductIdx) -> f64 {
        let total: f64 = self.weights.iter().sum();
        match self.candidates.binary_search(&p.0) {
            Ok(i) if total > 0.0 => self.weights[i] / total,
            _ => 0.0,
        }
    }

    fn draw(&self, rng: &mut SeededRng) -> u32 {
        let i = match &self.dist {
            Some(d) => d.sample(rng),
            None => rng.index(self.candidates.len()),
        };
        self.candidates[i]
    }

    /// `k` negatives for `seed` (with replacement), excluding the seed and its partners in
    /// `positives`. Fewer (possibly none) only when every candidate is excluded.
    pub fn sample(
        &self,
        seed: ProductIdx,
        positives: &PairScores,
        k: usize,
        rng: &mut SeededRng,
    ) -> Result<Vec<ProductIdx>> {
        positives.check_product(seed)?;
        if positives.n_products() != self.n_products {
            return Err(invalid(
                "positives",
                format!(
                    "the table has {} products, the sampler {}",
                    positives.n_products(),
                    self.n_products
                ),
            ));
        }
        self.sample_excluding(seed, k, rng, |p| positives.contains(seed, p))
    }

    /// `k` negatives for `seed` (with replacement), excluding the seed and every product for
    /// which `is_positive` is true. Draws follow the sampler's distribution restricted to the
    /// allowed products.
    pub fn sample_excluding(
        &self,
        seed: ProductIdx,
        k: usize,
        rng: &mut SeededRng,
        is_positive: impl Fn(ProductIdx) -> bool,
    ) -> Result<Vec<ProductIdx>> {
        if seed.index() >= self.n_products {
            return Err(Error::ProductOutOfRange {
                index: seed.0,
                n_products: self.n_products,
            });
        }
        let allowed = |p: u32| p != seed.0 && !is_positive(ProductIdx(p));
        let mut out = Vec::with_capacity(k);
        // Rejection sampling: exact for the restricted distribution, fast while the excluded
        // products hold little of the mass.
        'draws: while out.len() < k {
            for _ in 0..MAX_TRIES {
                let p = self.draw(rng);
                if allowed(p) {
                    out.push(ProductIdx(p));
                    continue 'draws;
                }
            }
            break;
        }
        if out.len() < k {
            // The excluded products hold most of the mass: draw from the explicit rest.
            let (rest, w): (Vec<u32>, Vec<f64>) = self
                .candidates
                .iter()
                .zip(&self.weights)
                .filter(|(p, _)| allowed(**p))
                .map(|(p, w)| (*p, *w))
                .unzip();
            if let Some(dist) = WeightedIndex::new(w) {
                while out.len() < k {
                    out.push(ProductIdx(rest[dist.sample(rng)]));
                }
            }
        }
        Ok(out)
    }
}
