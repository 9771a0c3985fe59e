//! [`PairScores`]: the final seed → [(rec, score, count)] table.

use std::fmt;

use deeprecs_core::ProductIdx;
use serde::{Deserialize, Serialize};

use crate::config::{CoocConfig, Pairing};
use crate::counts::{Csr, Marginals, PairCounts, compute_scores};
use crate::error::{Error, Result};
use crate::score::PairScorer;

/// One partner of a seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Partner {
    /// The recommended product.
    pub rec: ProductIdx,
    /// Its score in `[0, 1]`.
    pub score: f32,
    /// Its co-occurrence count with the seed.
    pub count: f32,
}

/// One pair of the table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoredPair {
    /// The seed product.
    pub seed: ProductIdx,
    /// The recommended product.
    pub rec: ProductIdx,
    /// The score in `[0, 1]`.
    pub score: f32,
    /// The co-occurrence count.
    pub count: f32,
}

/// A seed's row as parallel slices, ascending by product index (for batching without copies).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    /// Partner product indices.
    pub recs: &'a [u32],
    /// Their scores.
    pub scores: &'a [f32],
    /// Their counts.
    pub counts: &'a [f32],
}

impl Row<'_> {
    /// Number of partners.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// True when the seed has no partner.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }
}

/// Bytes held by a [`PairScores`] table, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// Pairs in the table.
    pub pairs: u64,
    /// Products (rows).
    pub products: u64,
    /// Row offsets (8 bytes per product).
    pub offsets_bytes: u64,
    /// Partner indices, counts and scores (12 bytes per pair).
    pub pair_bytes: u64,
    /// Per-product marginals (24 bytes per product).
    pub marginal_bytes: u64,
}

impl MemoryReport {
    /// All parts together.
    pub fn total_bytes(&self) -> u64 {
        self.offsets_bytes + self.pair_bytes + self.marginal_bytes
    }

    /// Total bytes per pair (0 for an empty table).
    pub fn bytes_per_pair(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            self.total_bytes() as f64 / self.pairs as f64
        }
    }
}

impl fmt::Display for MemoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1} MiB ({} pairs × 12 B + {} products × 32 B; {:.2} B per pair)",
            self.total_bytes() as f64 / (1u64 << 20) as f64,
            self.pairs,
            self.products,
            self.bytes_per_pair()
        )
    }
}

/// The training target: for every seed product, its partners with a score in `[0, 1]` and the
/// co-occurrence count behind it, in a compact sparse table (CSR, 12 bytes per pair).
///
/// Rows are sorted by partner index, so [`get`](Self::get) is a binary search; use
/// [`top`](Self::top) for the best partners of a seed and [`iter`](Self::iter) or
/// [`row`](Self::row) to feed training. Persist it with [`write`](Self::write) (a versioned
/// little-endian binary format, see [`crate::io`]) or serde.
///
/// ```
/// use deeprecs_core::{EventLogBuilder, ProductIdx};
/// use deeprecs_cooc::{CoocConfig, Scorer};
///
/// let mut b = EventLogBuilder::new();
/// for (user, product, day) in [("u1", 0, 0), ("u1", 1, 1), ("u2", 0, 5), ("u2", 1, 5), ("u2", 2, 30)] {
///     b.push(user, ProductIdx(product), day * 86_400, "purchase", 1.0, None)?;
/// }
/// let (counts, _) = CoocConfig::default().check()?.count(&b.build(), 3)?;
/// let scores = counts.into_scores(&Scorer::Max)?;
/// assert_eq!(scores.len(), 2); // 0 ↔ 1; product 2 came 25 days later
/// let p = scores.get(ProductIdx(0), ProductIdx(1)).unwrap();
/// assert_eq!((p.count, p.score), (2.0, 1.0));
/// # Ok::<(), deeprecs_cooc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PairScoresData", into = "PairScoresData")]
pub struct PairScores {
    pub(crate) csr: Csr,
    pub(crate) scores: Vec<f32>,
    pub(crate) marginals: Marginals,
    pub(crate) scorer: String,
    pub(crate) pairing: Pairing,
    pub(crate) config: CoocConfig,
}

/// The serde form of [`PairScores`], checked on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PairScoresData {
    pub scorer: String,
    pub pairing: Pairing,
    pub config: CoocConfig,
    pub offsets: Vec<u64>,
    pub recs: Vec<u32>,
    pub counts: Vec<f32>,
    pub scores: Vec<f32>,
    pub marginals: Marginals,
}

impl TryFrom<PairScoresData> for PairScores {
    type Error = String;
    fn try_from(d: PairScoresData) -> std::result::Result<Self, String> {
        let table = Self {
            csr: Csr {
                offsets: d.offsets,
                recs: d.recs,
                counts: d.counts,
            },
            scores: d.scores,
            marginals: d.marginals,
            scorer: d.scorer,
            pairing: d.pairing,
            config: d.config,
        };
        table.validate()?;
        Ok(table)
    }
}

impl From<PairScores> for PairScoresData {
    fn from(t: PairScores) -> Self {
        Self {
            scorer: t.scorer,
            pairing: t.pairing,
            config: t.config,
            offsets: t.csr.offsets,
            recs: t.csr.recs,
            counts: t.csr.counts,
            scores: t.scores,
            marginals: t.marginals,
        }
    }
}

impl PairScores {
    pub(crate) fn from_parts(
        csr: Csr,
        scores: Vec<f32>,
        marginals: Marginals,
        scorer: String,
        pairing: Pairing,
        config: CoocConfig,
    ) -> Self {
        Self {
            csr,
            scores,
            marginals,
            scorer,
            pairing,
            config,
        }
    }

    /// Checks every invariant (used when data comes from a file).
    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.csr.validate()?;
        if self.scores.len() != self.csr.len() {
            return Err(format!(
                "{} pairs but {} scores",
                self.csr.len(),
                self.scores.len()
            ));
        }
        if let Some(i) = self
            .scores
            .iter()
            .position(|s| !(s.is_finite() && (0.0..=1.0).contains(s)))
        {
            return Err(format!(
                "score {} of pair #{i} (seed #{}) is not within [0, 1]",
                self.scores[i],
                self.csr.seed_of(i)
            ));
        }
        self.marginals.validate(self.csr.n_products())
    }

    /// Number of products (rows): the size of the catalog the table was counted for.
    pub fn n_products(&self) -> usize {
        self.csr.n_products()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.csr.len()
    }

    /// True when the table has no pair.
    pub fn is_empty(&self) -> bool {
        self.csr.len() == 0
    }

    /// The name of the scorer that produced the scores.
    pub fn scorer(&self) -> &str {
        &self.scorer
    }

    /// What "within the window" meant.
    pub fn pairing(&self) -> Pairing {
        self.pairing
    }

    /// The counting options.
    pub fn config(&self) -> &CoocConfig {
        &self.config
    }

    /// The per-product totals behind the scores.
    pub fn marginals(&self) -> &Marginals {
        &self.marginals
    }

    /// The seed's row as slices (empty for a seed without partners or out of range).
    pub fn row(&self, seed: ProductIdx) -> Row<'_> {
        let r = self.csr.row(seed.0);
        Row {
            recs: &self.csr.recs[r.clone()],
            scores: &self.scores[r.clone()],
            counts: &self.csr.counts[r],
        }
    }

    /// The partners of a seed, ascending by product index.
    pub fn partners(&self, seed: ProductIdx) -> impl ExactSizeIterator<Item = Partner> + '_ {
        let row = self.row(seed);
        (0..row.len()).map(move |i| Partner {
            rec: ProductIdx(row.recs[i]),
            score: row.scores[i],
            count: row.counts[i],
        })
    }

    /// The pair `(seed, rec)`, if in the table.
    pub fn get(&self, seed: ProductIdx, rec: ProductIdx) -> Option<Partner> {
        self.csr.find(seed.0, rec.0).map(|i| Partner {
            rec,
            score: self.scores[i],
            count: self.csr.counts[i],
        })
    }

    /// True when `(seed, rec)` is a pair of the table (a known positive).
    pub fn contains(&self, seed: ProductIdx, rec: ProductIdx) -> bool {
        self.csr.find(seed.0, rec.0).is_some()
    }

    /// The `k` best partners of a seed: by score, then count, descending, then product index.
    pub fn top(&self, seed: ProductIdx, k: usize) -> Vec<Partner> {
        let mut all: Vec<Partner> = self.partners(seed).collect();
        let order = |a: &Partner, b: &Partner| {
            b.score
                .total_cmp(&a.score)
                .then(b.count.total_cmp(&a.count))
                .then(a.rec.cmp(&b.rec))
        };
        if k < all.len() {
            if k == 0 {
                return Vec::new();
            }
            all.select_nth_unstable_by(k - 1, order);
            all.truncate(k);
        }
        all.sort_unstable_by(order);
        all
    }

    /// The `k` best pairs of the whole table, ordered as in [`top`](Self::top).
    pub fn top_pairs(&self, k: usize) -> Vec<ScoredPair> {
        use std::cmp::Ordering;
        use std::collections::BinaryHeap;
        #[derive(PartialEq)]
        struct Entry(ScoredPair);
        impl Eq for Entry {}
        impl Ord for Entry {
            // "Greater" = better, so the heap's top is the worst kept pair.
            fn cmp(&self, o: &Self) -> Ordering {
                let (a, b) = (&self.0, &o.0);
                a.score
                    .total_cmp(&b.score)
                    .then(a.count.total_cmp(&b.count))
                    .then(b.seed.cmp(&a.seed))
                    .then(b.rec.cmp(&a.rec))
            }
        }
        impl PartialOrd for Entry {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        if k == 0 {
            return Vec::new();
        }
        let mut heap = BinaryHeap::with_capacity(k + 1);
        for p in self.iter() {
            heap.push(std::cmp::Reverse(Entry(p)));
            if heap.len() > k {
                heap.pop();
            }
        }
        let mut best: Vec<ScoredPair> = heap.into_iter().map(|e| e.0.0).collect();
        best.sort_unstable_by_key(|p| std::cmp::Reverse(Entry(*p)));
        best
    }

    /// Every pair, seed by seed, partners ascending: the training stream.
    pub fn iter(&self) -> impl Iterator<Item = ScoredPair> + '_ {
        (0..self.n_products() as u32).flat_map(move |s| {
            self.partners(ProductIdx(s)).map(move |p| ScoredPair {
                seed: ProductIdx(s),
                rec: p.rec,
                score: p.score,
                count: p.count,
            })
        })
    }

    /// Seeds with at least one partner.
    pub fn seeds(&self) -> impl Iterator<Item = ProductIdx> + '_ {
        self.csr
            .offsets
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[1] > w[0])
            .map(|(s, _)| ProductIdx(s as u32))
    }

    /// Number of seeds with at least one partner.
    pub fn seed_count(&self) -> usize {
        self.seeds().count()
    }

    /// Recomputes every score with another scorer (the counts and marginals are kept).
    pub fn rescore(&mut self, scorer: &dyn PairScorer) -> Result<()> {
        self.scores = compute_scores(&self.csr, &self.marginals, scorer)?;
        self.scorer = scorer.name();
        Ok(())
    }

    /// The counts behind the scores, as a [`PairCounts`].
    pub fn into_counts(self) -> PairCounts {
        PairCounts {
            csr: self.csr,
            marginals: self.marginals,
            pairing: self.pairing,
            config: self.config,
        }
    }

    /// A table with only the pairs for which `keep(seed, rec)` is true (e.g. warm products
    /// only); marginals are kept as they are.
    pub fn filter(&self, mut keep: impl FnMut(ProductIdx, ProductIdx) -> bool) -> Self {
        let n = self.n_products();
        let mut csr = Csr {
            offsets: Vec::with_capacity(n + 1),
            recs: Vec::new(),
            counts: Vec::new(),
        };
        csr.offsets.push(0);
        let mut scores = Vec::new();
        for s in 0..n as u32 {
            for i in self.csr.row(s) {
                if keep(ProductIdx(s), ProductIdx(self.csr.recs[i])) {
                    csr.recs.push(self.csr.recs[i]);
                    csr.counts.push(self.csr.counts[i]);
                    scores.push(self.scores[i]);
                }
            }
            csr.offsets.push(csr.recs.len() as u64);
        }
        Self {
            csr,
            scores,
            marginals: self.marginals.clone(),
            scorer: self.scorer.clone(),
            pairing: self.pairing,
            config: self.config.clone(),
        }
    }

    /// Bytes held, by part.
    pub fn memory(&self) -> MemoryReport {
        MemoryReport {
            pairs: self.len() as u64,
            products: self.n_products() as u64,
            offsets_bytes: self.csr.offsets.capacity() as u64 * 8,
            pair_bytes: (self.csr.recs.capacity() * 4
                + self.csr.counts.capacity() * 4
                + self.scores.capacity() * 4) as u64,
            marginal_bytes: self.marginals.heap_bytes() as u64,
        }
    }

    /// Errors unless `p` is a product of the table.
    pub fn check_product(&self, p: ProductIdx) -> Result<()> {
        if p.index() < self.n_products() {
            Ok(())
        } else {
            Err(Error::ProductOutOfRange {
                index: p.0,
                n_products: self.n_products(),
            })
        }
    }
}
