//! Behaviour-based baselines: [`RandomRecommender`] (the floor), [`PopularityRecommender`]
//! and [`CoocRecommender`] (item-item co-occurrence). They may use only the training part of
//! the split; the text baseline is in [`tfidf`](super::tfidf).

use deeprecs_cooc::{CoocCounter, PairScorer, PairScores, Part, Split};
use deeprecs_core::rng::SeededRng;
use deeprecs_core::{EventLog, ProductIdx};

use super::error::EvalError;
use super::recommender::Recommender;

/// Uniform random scores, drawn per seed from a [`SeededRng`] stream of `(seed, seed
/// product)`: reproducible and independent of the thread that scores the seed. The floor every
/// method must beat: its expected recall@k is about `k / (n − 1)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomRecommender {
    n_products: usize,
    seed: u64,
}

impl RandomRecommender {
    /// A random ranking of `n_products` products.
    pub fn new(n_products: usize, seed: u64) -> Self {
        Self { n_products, seed }
    }
}

impl Recommender for RandomRecommender {
    fn name(&self) -> &str {
        "random"
    }

    fn n_products(&self) -> usize {
        self.n_products
    }

    fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool {
        let mut rng = SeededRng::fork(self.seed, u64::from(seed.0));
        for s in out.iter_mut() {
            *s = rng.next_f64() as f32;
        }
        true
    }
}

/// Recommends the most popular products to everybody: the score of a product is its number of
/// training-period events ([`Split::train_events`]; 0 for cold products, which then rank in
/// the evaluation's random tie order). Scores every seed, cold ones included.
#[derive(Debug, Clone, PartialEq)]
pub struct PopularityRecommender {
    scores: Vec<f32>,
}

impl PopularityRecommender {
    /// Popularity from event counts per product.
    pub fn new(counts: &[u32]) -> Self {
        Self {
            scores: counts.iter().map(|&c| c as f32).collect(),
        }
    }

    /// Popularity from the split's training events.
    pub fn from_split(split: &Split) -> Self {
        Self::new(split.train_events())
    }
}

impl Recommender for PopularityRecommender {
    fn name(&self) -> &str {
        "popularity"
    }

    fn n_products(&self) -> usize {
        self.scores.len()
    }

    fn score_all(&self, _seed: ProductIdx, out: &mut [f32]) -> bool {
        for (o, s) in out.iter_mut().zip(&self.scores) {
            *o = *s;
        }
        true
    }
}

/// Item-item co-occurrence: ranks a seed's training-period partners by their pair score
/// ([`PairScores`], e.g. log-max normalised counts), above every product that never
/// co-occurred with it (those tie and follow in the evaluation's random tie order).
///
/// It **cannot score** a seed without any training partner — every cold-start product and the
/// long-tail products whose few events paired with nothing: [`score_all`](Recommender::score_all)
/// returns `false` and the harness counts the seed as a miss and reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CoocRecommender {
    scores: PairScores,
}

impl CoocRecommender {
    /// Wraps a scored pair table (counted on training events only!).
    pub fn new(scores: PairScores) -> Self {
        Self { scores }
    }

    /// Counts the pairs of the split's training part of `log` with `counter` (use the same
    /// options as the evaluation pairs) and scores them with `scorer`.
    pub fn fit(
        counter: &CoocCounter,
        split: &Split,
        log: &EventLog,
        scorer: &dyn PairScorer,
    ) -> Result<Self, EvalError> {
        let train = split.log(log, Part::Train);
        let (counts, _) = counter.count(&train, split.n_products())?;
        Ok(Self::new(counts.into_scores(scorer)?))
    }

    /// The pair table.
    pub fn scores(&self) -> &PairScores {
        &self.scores
    }
}

impl Recommender for CoocRecommender {
    fn name(&self) -> &str {
        "cooc"
    }

    fn n_products(&self) -> usize {
        self.scores.n_products()
    }

    fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool {
        let row = self.scores.row(seed);
        if row.is_empty() {
            return false;
        }
        for (&rec, &score) in row.recs.iter().zip(row.scores) {
            if let Some(s) = out.get_mut(rec as usize) {
                // Pair scores are in [0, 1]; 1 + score keeps every partner (even one a
                // normaliser scores 0) above every non-partner (0).
                *s = 1.0 + score;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_scores_are_reproducible_per_seed() {
        let r = RandomRecommender::new(50, 9);
        let (mut a, mut b, mut c) = (vec![0.0; 50], vec![0.0; 50], vec![0.0; 50]);
        assert!(r.score_all(ProductIdx(3), &mut a));
        assert!(r.score_all(ProductIdx(3), &mut b));
        assert!(r.score_all(ProductIdx(4), &mut c));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|s| (0.0..1.0).contains(s)));
        assert_ne!(
            a,
            RandomRecommender::new(50, 10).score_all_vec(ProductIdx(3))
        );
    }

    impl RandomRecommender {
        fn score_all_vec(&self, seed: ProductIdx) -> Vec<f32> {
            let mut v = vec![0.0; self.n_products];
            self.score_all(seed, &mut v);
            v
        }
    }

    #[test]
    fn popularity_scores_are_the_counts() {
        let p = PopularityRecommender::new(&[3, 0, 7]);
        let mut out = vec![0.0; 3];
        assert!(p.score_all(ProductIdx(0), &mut out));
        assert_eq!(out, [3.0, 0.0, 7.0]);
        assert_eq!((p.name(), p.n_products()), ("popularity", 3));
    }
}
