//! [`evaluate`]: scores every test seed of an [`EvalSet`] with a [`Recommender`], in
//! parallel, into an [`EvalResult`].

use std::fmt;
use std::time::Instant;

use deeprecs_core::ProductIdx;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::EvalError;
use super::metrics::{SeedMetrics, gini, metrics_from_ranks, rank_positives, top_list};
use super::recommender::Recommender;
use super::set::{EvalSet, Slice};

/// A slice of the results: one of the seed [`Slice`]s, or all seeds together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultSlice {
    /// Cold-start seeds.
    Cold,
    /// Long-tail seeds.
    Tail,
    /// Warm seeds.
    Warm,
    /// All seeds.
    All,
}

impl ResultSlice {
    /// The four slices in report order.
    pub const ALL: [Self; 4] = [Self::Cold, Self::Tail, Self::Warm, Self::All];

    /// The name used in tables and JSON rows: `cold`, `tail`, `warm`, `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::Tail => "tail",
            Self::Warm => "warm",
            Self::All => "all",
        }
    }

    /// True when a seed of slice `s` belongs to this result slice.
    pub fn contains(self, s: Slice) -> bool {
        match self {
            Self::All => true,
            Self::Cold => s == Slice::Cold,
            Self::Tail => s == Slice::Tail,
            Self::Warm => s == Slice::Warm,
        }
    }
}

impl From<Slice> for ResultSlice {
    fn from(s: Slice) -> Self {
        match s {
            Slice::Cold => Self::Cold,
            Slice::Tail => Self::Tail,
            Slice::Warm => Self::Warm,
        }
    }
}

impl fmt::Display for ResultSlice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Recall, NDCG and hit rate at one cut-off, averaged over a slice's seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AtK {
    /// The cut-off.
    pub k: usize,
    /// Mean recall@k.
    pub recall: f64,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// Mean hit rate@k.
    pub hit_rate: f64,
}

/// The metrics of one slice (definitions in the [module documentation](super)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceMetrics {
    /// Which seeds.
    pub slice: ResultSlice,
    /// Test seeds in the slice (scorable or not).
    pub seeds: usize,
    /// Seeds the recommender could not score (their metrics count as 0).
    pub unscorable_seeds: usize,
    /// Recall, NDCG and hit rate per cut-off, ascending by `k`.
    pub at_k: Vec<AtK>,
    /// Mean reciprocal rank of the first positive in the full ranking.
    pub mrr: f64,
    /// Mean AUC.
    pub auc: f64,
    /// Distinct products in the slice's top-`list_len` lists / catalog size.
    pub coverage: f64,
    /// Gini index of how often each catalog product appears in those lists; `None` when no
    /// seed of the slice could be scored.
    pub gini: Option<f64>,
    /// Mean training-event count of the recommended items (each list slot counts once);
    /// `None` when no seed of the slice could be scored.
    pub avg_popularity: Option<f64>,
}

impl SliceMetrics {
    /// The metrics at cut-off `k`, if it was evaluated.
    pub fn at(&self, k: usize) -> Option<&AtK> {
        self.at_k.iter().find(|a| a.k == k)
    }

    /// Mean recall@k, if `k` was evaluated.
    pub fn recall(&self, k: usize) -> Option<f64> {
        self.at(k).map(|a| a.recall)
    }

    /// Mean NDCG@k, if `k` was evaluated.
    pub fn ndcg(&self, k: usize) -> Option<f64> {
        self.at(k).map(|a| a.ndcg)
    }

    /// Mean hit rate@k, if `k` was evaluated.
    pub fn hit_rate(&self, k: usize) -> Option<f64> {
        self.at(k).map(|a| a.hit_rate)
    }
}

/// The evaluation of one recommender on one [`EvalSet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// The recommender's name.
    pub model: String,
    /// The cut-offs evaluated, ascending.
    pub ks: Vec<usize>,
    /// The length of the lists behind coverage, Gini index and average popularity.
    pub list_len: usize,
    /// The catalog size.
    pub n_products: usize,
    /// Metrics per slice, in the order cold, tail, warm, all; a slice without seeds is left
    /// out.
    pub slices: Vec<SliceMetrics>,
    /// Wall-clock seconds the evaluation took (scoring included).
    pub seconds: f64,
}

impl EvalResult {
    /// The metrics of a slice, if it has seeds.
    pub fn slice(&self, slice: ResultSlice) -> Option<&SliceMetrics> {
        self.slices.iter().find(|s| s.slice == slice)
    }

    /// The metrics over all seeds.
    pub fn all(&self) -> Option<&SliceMetrics> {
        self.slice(ResultSlice::All)
    }

    /// Test seeds evaluated.
    pub fn seeds(&self) -> usize {
        self.all().map_or(0, |s| s.seeds)
    }

    /// Seeds the recommender could not score.
    pub fn unscorable_seeds(&self) -> usize {
        self.all().map_or(0, |s| s.unscorable_seeds)
    }
}

/// What one seed contributes.
struct SeedOutcome {
    metrics: SeedMetrics,
    /// The top list, or `None` when the seed could not be scored.
    top: Option<Vec<u32>>,
}

/// Per-thread scratch space.
struct Scratch {
    scores: Vec<f32>,
    counts: Vec<u32>,
    order: Vec<u32>,
}

/// Sums of one slice while aggregating.
struct Accumulator {
    seeds: usize,
    unscorable: usize,
    recall: Vec<f64>,
    ndcg: Vec<f64>,
    hit: Vec<f64>,
    mrr: f64,
    auc: f64,
    freq: Vec<u32>,
    slots: u64,
    popularity: f64,
}

impl Accumulator {
    fn new(n_ks: usize, n_products: usize) -> Self {
        Self {
            seeds: 0,
            unscorable: 0,
            recall: vec![0.0; n_ks],
            ndcg: vec![0.0; n_ks],
            hit: vec![0.0; n_ks],
            mrr: 0.0,
            auc: 0.0,
            freq: vec![0; n_products],
            slots: 0,
            popularity: 0.0,
        }
    }

    fn add(&mut self, o: &SeedOutcome, popularity: &[u32]) {
        self.seeds += 1;
        let m = &o.metrics;
        for (sum, v) in [
            (&mut self.recall, &m.recall),
            (&mut self.ndcg, &m.ndcg),
            (&mut self.hit, &m.hit),
        ] {
            for (s, x) in sum.iter_mut().zip(v) {
                *s += x;
            }
        }
        self.mrr += m.mrr;
        self.auc += m.auc;
        match &o.top {
            None => self.unscorable += 1,
            Some(top) => {
                for &p in top {
                    self.freq[p as usize] += 1;
                    self.popularity += f64::from(popularity[p as usize]);
                }
                self.slots += top.len() as u64;
            }
        }
    }

    fn finish(self, slice: ResultSlice, ks: &[usize]) -> SliceMetrics {
        let n = self.seeds.max(1) as f64;
        let n_products = self.freq.len();
        let covered = self.freq.iter().filter(|&&f| f > 0).count();
        SliceMetrics {
            slice,
            seeds: self.seeds,
            unscorable_seeds: self.unscorable,
            at_k: ks
                .iter()
                .enumerate()
                .map(|(i, &k)| AtK {
                    k,
                    recall: self.recall[i] / n,
                    ndcg: self.ndcg[i] / n,
                    hit_rate: self.hit[i] / n,
                })
                .collect(),
            mrr: self.mrr / n,
            auc: self.auc / n,
            coverage: if n_products == 0 {
                0.0
            } else {
                covered as f64 / n_products as f64
            },
            gini: gini(&self.freq),
            avg_popularity: (self.slots > 0).then(|| self.popularity / self.slots as f64),
        }
    }
}

/// Evaluates `recommender` on every test seed of `set`, in parallel (rayon's global pool).
///
/// Per seed: the recommender scores every product; the candidates are all products but the
/// seed (cold ones included); the positives' ranks in the full ranking (ties in the set's
/// [`TieOrder`](super::TieOrder)) give recall, NDCG and hit rate at each `k`, the reciprocal
/// rank and AUC; the top-`list_len` list feeds coverage, Gini index and average popularity.
/// A seed the recommender cannot score counts 0 in every ranking metric and contributes no
/// list. Means are over all seeds of a slice, scorable or not. Deterministic: results do not
/// depend on the number of threads.
///
/// Fails when the recommender's catalog size differs from the set's or it returns NaN.
pub fn evaluate<R: Recommender + ?Sized>(
    recommender: &R,
    set: &EvalSet,
) -> Result<EvalResult, EvalError> {
    let started = Instant::now();
    let n = set.n_products();
    let model = recommender.name().to_owned();
    if recommender.n_products() != n {
        return Err(EvalError::CatalogMismatch {
            model,
            expected: n,
            found: recommender.n_products(),
        });
    }
    let ks = set.params().ks().to_vec();
    let list_len = set.params().list_len();
    let ties = set.tie_order().keys();
    let outcomes: Vec<SeedOutcome> = (0..set.cases().len())
        .into_par_iter()
        .map_init(
            || Scratch {
                scores: vec![0.0; n],
                counts: Vec::new(),
                order: Vec::with_capacity(n),
            },
            |scratch, i| {
                let case = &set.cases()[i];
                let seed = case.seed;
                scratch.scores.fill(0.0);
                if !recommender.score_all(seed, &mut scratch.scores) {
                    return Ok(SeedOutcome {
                        metrics: SeedMetrics::zero(ks.len()),
                        top: None,
                    });
                }
                for (p, s) in scratch.scores.iter_mut().enumerate() {
                    if s.is_nan() {
                        return Err(EvalError::NanScore {
                            model: model.clone(),
                            seed,
                            product: ProductIdx(p as u32),
                        });
                    }
                    if *s == 0.0 {
                        // -0.0 and 0.0 tie.
                        *s = 0.0;
                    }
                }
                let ranked = rank_positives(
                    &scratch.scores,
                    seed.index(),
                    set.positives_u32(i),
                    ties,
                    &mut scratch.counts,
                );
                let top = top_list(
                    &scratch.scores,
                    seed.index(),
                    ties,
                    list_len,
                    &mut scratch.order,
                );
                Ok(SeedOutcome {
                    metrics: metrics_from_ranks(&ranked, &ks),
                    top: Some(top),
                })
            },
        )
        .collect::<Result<_, EvalError>>()?;

    let popularity = set.popularity();
    let mut slices = Vec::with_capacity(4);
    for slice in ResultSlice::ALL {
        let mut acc = Accumulator::new(ks.len(), n);
        for (case, o) in set.cases().iter().zip(&outcomes) {
            if slice.contains(case.slice) {
                acc.add(o, popularity);
            }
        }
        if acc.seeds > 0 {
            slices.push(acc.finish(slice, &ks));
        }
    }
    Ok(EvalResult {
        model,
        ks,
        list_len,
        n_products: n,
        slices,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Evaluates several recommenders on the same set, in order (each one in parallel over seeds).
pub fn evaluate_all(
    recommenders: &[&dyn Recommender],
    set: &EvalSet,
) -> Result<Vec<EvalResult>, EvalError> {
    recommenders.iter().map(|r| evaluate(*r, set)).collect()
}
