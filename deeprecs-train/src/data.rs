//! Training examples: positive pairs from a [`PairScores`] table with their scores, plus
//! negatives (score 0), shuffled by seed and grouped into batches of product indices. Product
//! features are encoded once per product ([`EncodedCatalog`](deeprecs_core::EncodedCatalog))
//! and gathered per batch, never per pair.

use deeprecs_cooc::{NegativeSampler, PairScores, Sampling};
use deeprecs_core::ProductIdx;
use deeprecs_core::rng::SeededRng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, config};

/// Where negatives come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NegativeSampling {
    /// Uniform over products with training events.
    Uniform,
    /// Proportional to training popularity^alpha (default, alpha 0.75: popular products are
    /// shown as negatives more often, so the model cannot score by popularity alone).
    Popularity {
        /// The exponent in [0, 4].
        alpha: f64,
    },
    /// The other positives of the batch serve as negatives (no sampling cost; popular
    /// products appear in proportion to their positives).
    InBatch,
}

impl NegativeSampling {
    /// A short name for reports: `uniform`, `popularity(0.75)`, `in_batch`.
    pub fn name(&self) -> String {
        match self {
            Self::Uniform => "uniform".into(),
            Self::Popularity { alpha } => format!("popularity({alpha})"),
            Self::InBatch => "in_batch".into(),
        }
    }
}

impl Default for NegativeSampling {
    fn default() -> Self {
        Self::Popularity { alpha: 0.75 }
    }
}

/// One batch: `seeds[i]` is paired with `recs[i * (1 + k) .. (i + 1) * (1 + k)]` — its
/// positive first, then `k` negatives — with `targets` of the same layout (the positive's
/// score, then 0). For in-batch negatives `k = 0` and the trainer uses the other rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PairBatch {
    /// Seed products.
    pub seeds: Vec<ProductIdx>,
    /// Rec products, `1 + k` per seed.
    pub recs: Vec<ProductIdx>,
    /// Targets, `1 + k` per seed.
    pub targets: Vec<f32>,
    /// Negatives per seed.
    pub negatives: usize,
}

/// The positive pairs of a table, ready to be shuffled and batched.
#[derive(Debug, Clone)]
pub struct TrainingPairs {
    pairs: Vec<(ProductIdx, ProductIdx, f32)>,
    sampler: Option<NegativeSampler>,
    sampling: NegativeSampling,
}

impl TrainingPairs {
    /// Every pair of `scores` with a positive score becomes a positive example; negatives are
    /// drawn among products with `popularity > 0` (training events per product, so cold-start
    /// products never serve as negatives).
    pub fn new(
        scores: &PairScores,
        popularity: &[u32],
        sampling: NegativeSampling,
    ) -> Result<Self> {
        let pairs: Vec<_> = scores
            .iter()
            .filter(|p| p.score > 0.0 && p.score.is_finite())
            .map(|p| (p.seed, p.rec, p.score))
            .collect();
        if pairs.is_empty() {
            return Err(Error::Data(
                "the co-occurrence table has no positive pair to learn from".into(),
            ));
        }
        let sampler = match sampling {
            NegativeSampling::InBatch => None,
            NegativeSampling::Uniform => Some(NegativeSampler::new(popularity, Sampling::Uniform)?),
            NegativeSampling::Popularity { alpha } => Some(NegativeSampler::new(
                popularity,
                Sampling::Popularity { alpha },
            )?),
        };
        Ok(Self {
            pairs,
            sampler,
            sampling,
        })
    }

    /// Number of positive pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Never true (construction fails without positives).
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The positive pairs.
    pub fn pairs(&self) -> &[(ProductIdx, ProductIdx, f32)] {
        &self.pairs
    }

    /// The negative sampling in use.
    pub fn sampling(&self) -> NegativeSampling {
        self.sampling
    }

    /// The order of positives in `epoch` (0-based): a seeded shuffle, at most `limit` pairs.
    /// The same seed and epoch always give the same order.
    pub fn epoch_order(&self, seed: u64, epoch: usize, limit: Option<usize>) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.pairs.len() as u32).collect();
        let mut rng = SeededRng::fork(seed, 1_000 + epoch as u64);
        rng.shuffle(&mut order);
        if let Some(limit) = limit {
            order.truncate(limit);
        }
        order
    }

    /// Builds the batch of positives `order[range]` with `k` negatives each (none for
    /// in-batch sampling). Negatives exclude the seed and its known positives in `table`.
    /// `rng` should be derived from the seed, epoch and batch number for reproducibility.
    pub fn batch(
        &self,
        order: &[u32],
        k: usize,
        table: &PairScores,
        rng: &mut SeededRng,
    ) -> Result<PairBatch> {
        let k = if self.sampler.is_some() { k } else { 0 };
        let mut batch = PairBatch {
            seeds: Vec::with_capacity(order.len()),
            recs: Vec::with_capacity(order.len() * (1 + k)),
            targets: Vec::with_capacity(order.len() * (1 + k)),
            negatives: k,
        };
        for &i in order {
            let (seed, rec, score) = self.pairs[i as usize];
            batch.seeds.push(seed);
            batch.recs.push(rec);
            batch.targets.push(score);
            if let Some(sampler) = &self.sampler {
                let negs = sampler.sample(seed, table, k, rng)?;
                if negs.len() < k {
                    return Err(Error::Data(format!(
                        "seed #{} has too few negative candidates ({} of {k})",
                        seed.0,
                        negs.len()
                    )));
                }
                batch.recs.extend(negs);
                batch.targets.extend(std::iter::repeat_n(0.0, k));
            }
        }
        Ok(batch)
    }
}

pub(crate) fn check_sampling(s: NegativeSampling) -> Result<()> {
    match s {
        NegativeSampling::Popularity { alpha }
            if !(alpha.is_finite() && (0.0..=4.0).contains(&alpha)) =>
        {
            Err(config(
                "sampling.alpha",
                format!("must be in [0, 4], got {alpha}"),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deeprecs_cooc::{CoocConfig, Scorer};
    use deeprecs_core::EventLogBuilder;

    fn table() -> (PairScores, Vec<u32>) {
        let mut b = EventLogBuilder::new();
        for (u, p, t) in [
            ("a", 0, 0),
            ("a", 1, 10),
            ("a", 2, 20),
            ("b", 0, 0),
            ("b", 1, 5),
            ("c", 3, 0),
            ("c", 4, 1),
            ("d", 5, 0),
        ] {
            b.push(u, ProductIdx(p), t, "purchase", 1.0, None).unwrap();
        }
        let log = b.build();
        let (counts, _) = CoocConfig::default()
            .check()
            .unwrap()
            .count(&log, 6)
            .unwrap();
        (
            counts.into_scores(&Scorer::default()).unwrap(),
            log.events_per_product(6),
        )
    }

    #[test]
    fn every_positive_once_per_epoch_and_reproducible() {
        let (t, pop) = table();
        let tp = TrainingPairs::new(&t, &pop, NegativeSampling::Uniform).unwrap();
        let order = tp.epoch_order(5, 0, None);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..tp.len() as u32).collect::<Vec<_>>());
        assert_eq!(order, tp.epoch_order(5, 0, None));
        assert_ne!(order, tp.epoch_order(5, 1, None));
        assert_eq!(tp.epoch_order(5, 0, Some(3)).len(), 3);
    }

    #[test]
    fn batches_hold_positives_then_valid_negatives() {
        let (t, pop) = table();
        let tp =
            TrainingPairs::new(&t, &pop, NegativeSampling::Popularity { alpha: 0.75 }).unwrap();
        let order = tp.epoch_order(1, 0, None);
        let b = tp.batch(&order, 3, &t, &mut SeededRng::new(2)).unwrap();
        assert_eq!(b.seeds.len(), tp.len());
        assert_eq!(b.recs.len(), tp.len() * 4);
        for (i, seed) in b.seeds.iter().enumerate() {
            let group = &b.recs[i * 4..i * 4 + 4];
            assert!(t.contains(*seed, group[0]));
            assert!(b.targets[i * 4] > 0.0);
            for neg in &group[1..] {
                assert_ne!(neg, seed);
                assert!(
                    !t.contains(*seed, *neg),
                    "negative {neg:?} is a positive of {seed:?}"
                );
            }
            assert_eq!(&b.targets[i * 4 + 1..i * 4 + 4], [0.0, 0.0, 0.0]);
        }
        let inb = TrainingPairs::new(&t, &pop, NegativeSampling::InBatch).unwrap();
        let b = inb.batch(&order, 3, &t, &mut SeededRng::new(2)).unwrap();
        assert_eq!((b.negatives, b.recs.len()), (0, tp.len()));
    }
}
