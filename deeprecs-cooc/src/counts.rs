//! The result of counting: [`PairCounts`] (a sparse seed → partner table of counts), the
//! per-product [`Marginals`] the scorers need, and the [`CoocReport`] of what was counted.

use std::fmt;

use deeprecs_core::ProductIdx;
use deeprecs_core::time::format_timestamp;
use serde::{Deserialize, Serialize};

use crate::config::{CoocConfig, Counting, Pairing};
use crate::error::{Error, Result};
use crate::score::{PairScorer, PairStats};
use crate::table::PairScores;

/// A compressed sparse row table: for each seed, its partners sorted by product index, with
/// their counts. The shared core of [`PairCounts`] and [`PairScores`].
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Csr {
    /// Row starts, `n_products + 1` entries, the last one = number of pairs.
    pub offsets: Vec<u64>,
    /// Partner product indices, row by row, ascending within a row.
    pub recs: Vec<u32>,
    /// The co-occurrence count of each pair.
    pub counts: Vec<f32>,
}

impl Csr {
    pub fn n_products(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// The index range of a seed's row (empty for an out-of-range seed).
    pub fn row(&self, seed: u32) -> std::ops::Range<usize> {
        let s = seed as usize;
        match (self.offsets.get(s), self.offsets.get(s + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
    }

    /// Position of `rec` in `seed`'s row.
    pub fn find(&self, seed: u32, rec: u32) -> Option<usize> {
        let r = self.row(seed);
        let start = r.start;
        self.recs[r].binary_search(&rec).ok().map(|i| start + i)
    }

    /// The seed whose row holds pair position `i`.
    pub fn seed_of(&self, i: usize) -> u32 {
        // The last row start ≤ i; empty rows share starts, so take the last of equal starts.
        (self.offsets.partition_point(|&o| o as usize <= i) - 1) as u32
    }

    /// Checks the structure: offsets monotone from 0 to the number of pairs, partners in
    /// range, strictly ascending, never the seed itself, counts finite and positive.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let n = self.n_products();
        if self.offsets.first() != Some(&0) {
            return Err("the first row offset must be 0".into());
        }
        if self.recs.len() != self.counts.len() {
            return Err(format!(
                "{} partners but {} counts",
                self.recs.len(),
                self.counts.len()
            ));
        }
        if self.offsets.last().map(|&o| o as usize) != Some(self.recs.len()) {
            return Err(format!(
                "the last row offset must equal the number of pairs ({})",
                self.recs.len()
            ));
        }
        for seed in 0..n {
            let (a, b) = (self.offsets[seed], self.offsets[seed + 1]);
            if a > b {
                return Err(format!("row offsets decrease at seed #{seed}"));
            }
            let row = &self.recs[a as usize..b as usize];
            for (k, &r) in row.iter().enumerate() {
                if r as usize >= n {
                    return Err(format!(
                        "seed #{seed} has partner #{r}, outside the {n} products"
                    ));
                }
                if r as usize == seed {
                    return Err(format!("seed #{seed} is paired with itself"));
                }
                if k > 0 && row[k - 1] >= r {
                    return Err(format!(
                        "the partners of seed #{seed} are not strictly ascending"
                    ));
                }
            }
        }
        if let Some((i, c)) = self
            .counts
            .iter()
            .enumerate()
            .find(|(_, c)| !(c.is_finite() && **c > 0.0))
        {
            return Err(format!(
                "count {c} of pair #{i} (seed #{}) is not a positive number",
                self.seed_of(i)
            ));
        }
        Ok(())
    }

    pub fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * 8 + self.recs.capacity() * 4 + self.counts.capacity() * 4
    }
}

/// Per-product totals that turn a count into a score (see [`PairStats`]), computed over all
/// pairs before pruning by `min_count` / `top_k`.
///
/// | counting | `seed_total[p]` | `rec_total[p]` | `total` |
/// | --- | --- | --- | --- |
/// | per user | users with an event of `p` (weighted: sum of each user's largest weight of `p`) | same | users with an event |
/// | per occurrence | `Σ_q C[p][q]` (row sum) | `Σ_s C[s][p]` (column sum; = row sum when symmetric) | `Σ C` |
///
/// Either way `C[p1][p2] ≤ min(seed_total[p1], rec_total[p2]) ≤ total`, which keeps every
/// built-in score within `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Marginals {
    pub(crate) seed_max: Vec<f64>,
    pub(crate) seed_total: Vec<f64>,
    pub(crate) rec_total: Vec<f64>,
    pub(crate) total: f64,
}

impl Marginals {
    /// The largest count in a seed's row, before pruning (0 for a seed without partners).
    pub fn seed_max(&self, seed: ProductIdx) -> f64 {
        self.seed_max.get(seed.index()).copied().unwrap_or(0.0)
    }

    /// The seed-side total of a product (see the table above).
    pub fn seed_total(&self, p: ProductIdx) -> f64 {
        self.seed_total.get(p.index()).copied().unwrap_or(0.0)
    }

    /// The rec-side total of a product (see the table above).
    pub fn rec_total(&self, p: ProductIdx) -> f64 {
        self.rec_total.get(p.index()).copied().unwrap_or(0.0)
    }

    /// The grand total: users with an event (per user) or all pair counts (per occurrence).
    pub fn total(&self) -> f64 {
        self.total
    }

    /// The statistics of one pair with the given count.
    pub fn stats(&self, seed: u32, rec: u32, count: f64) -> PairStats {
        let at = |v: &[f64], i: u32| v.get(i as usize).copied().unwrap_or(0.0);
        PairStats {
            count,
            seed_max: at(&self.seed_max, seed),
            seed_total: at(&self.seed_total, seed),
            rec_total: at(&self.rec_total, rec),
            total: self.total,
        }
    }

    pub(crate) fn validate(&self, n: usize) -> std::result::Result<(), String> {
        for (name, v) in [
            ("seed_max", &self.seed_max),
            ("seed_total", &self.seed_total),
            ("rec_total", &self.rec_total),
        ] {
            if v.len() != n {
                return Err(format!(
                    "marginal `{name}` has {} entries for {n} products",
                    v.len()
                ));
            }
            if let Some(i) = v.iter().position(|x| !(x.is_finite() && *x >= 0.0)) {
                return Err(format!(
                    "marginal `{name}` of product #{i} is {}, not a finite number ≥ 0",
                    v[i]
                ));
            }
        }
        if !(self.total.is_finite() && self.total >= 0.0) {
            return Err(format!(
                "the grand total {} is not a finite number ≥ 0",
                self.total
            ));
        }
        Ok(())
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        (self.seed_max.capacity() + self.seed_total.capacity() + self.rec_total.capacity()) * 8
    }
}

/// Co-occurrence counts `C[seed][rec]` of every kept pair, in a compact sparse table (CSR):
/// rows by seed product, partners ascending by product index. Produced by
/// [`CoocCounter::count`](crate::CoocCounter::count); turned into scores with
/// [`PairCounts::into_scores`].
///
/// Counts are accumulated in `f64` and stored as `f32` (4 bytes a pair): whole counts are
/// exact up to 16,777,216; the marginals stay `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct PairCounts {
    pub(crate) csr: Csr,
    pub(crate) marginals: Marginals,
    pub(crate) pairing: Pairing,
    pub(crate) config: CoocConfig,
}

impl PairCounts {
    /// Number of products (rows) of the table, the catalog size it was counted for.
    pub fn n_products(&self) -> usize {
        self.csr.n_products()
    }

    /// Number of kept pairs.
    pub fn len(&self) -> usize {
        self.csr.len()
    }

    /// True when no pair was kept.
    pub fn is_empty(&self) -> bool {
        self.csr.len() == 0
    }

    /// The count of a pair, if it was kept.
    pub fn count(&self, seed: ProductIdx, rec: ProductIdx) -> Option<f32> {
        self.csr.find(seed.0, rec.0).map(|i| self.csr.counts[i])
    }

    /// The partners of a seed with their counts, ascending by product index.
    pub fn partners(
        &self,
        seed: ProductIdx,
    ) -> impl ExactSizeIterator<Item = (ProductIdx, f32)> + '_ {
        let r = self.csr.row(seed.0);
        self.csr.recs[r.clone()]
            .iter()
            .zip(&self.csr.counts[r])
            .map(|(&q, &c)| (ProductIdx(q), c))
    }

    /// Every kept pair as `(seed, rec, count)`, seed by seed.
    pub fn iter(&self) -> impl Iterator<Item = (ProductIdx, ProductIdx, f32)> + '_ {
        (0..self.n_products() as u32).flat_map(move |s| {
            self.partners(ProductIdx(s))
                .map(move |(q, c)| (ProductIdx(s), q, c))
        })
    }

    /// The per-product totals used by the scorers.
    pub fn marginals(&self) -> &Marginals {
        &self.marginals
    }

    /// What "within the window" meant for the log counted.
    pub fn pairing(&self) -> Pairing {
        self.pairing
    }

    /// The options the counts were made with.
    pub fn config(&self) -> &CoocConfig {
        &self.config
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.csr.heap_bytes() + self.marginals.heap_bytes()
    }

    /// Scores every pair with `scorer` (in parallel), giving the final table. Fails with
    /// [`Error::InvalidScore`] if the scorer returns a value outside `[0, 1]` or not finite.
    pub fn into_scores(self, scorer: &dyn PairScorer) -> Result<PairScores> {
        let scores = compute_scores(&self.csr, &self.marginals, scorer)?;
        Ok(PairScores::from_parts(
            self.csr,
            scores,
            self.marginals,
            scorer.name(),
            self.pairing,
            self.config,
        ))
    }
}

/// Scores of every pair of `csr`, in the same order.
pub(crate) fn compute_scores(
    csr: &Csr,
    marginals: &Marginals,
    scorer: &dyn PairScorer,
) -> Result<Vec<f32>> {
    use rayon::prelude::*;
    const BLOCK: usize = 1 << 16;
    let mut scores = vec![0f32; csr.len()];
    scores
        .par_chunks_mut(BLOCK)
        .enumerate()
        .try_for_each(|(b, block)| {
            let start = b * BLOCK;
            let mut seed = csr.seed_of(start);
            let mut row_end = csr.offsets[seed as usize + 1] as usize;
            for (k, slot) in block.iter_mut().enumerate() {
                let i = start + k;
                while i >= row_end {
                    seed += 1;
                    row_end = csr.offsets[seed as usize + 1] as usize;
                }
                let rec = csr.recs[i];
                let s = scorer.score(&marginals.stats(seed, rec, f64::from(csr.counts[i])));
                if !(s.is_finite() && (0.0..=1.0).contains(&s)) {
                    return Err(Error::InvalidScore {
                        scorer: scorer.name(),
                        seed,
                        rec,
                        value: s,
                    });
                }
                *slot = s as f32;
            }
            Ok(())
        })?;
    Ok(scores)
}

/// How far counting has got, reported to a progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Work done, in estimated event-pair visits.
    pub done: u64,
    /// Total work.
    pub total: u64,
}

/// What a count did: events used and set aside by reason, users, pairs. Every input event is
/// either used or counted under one reason here.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CoocReport {
    /// What "within the window" meant.
    pub pairing: Option<Pairing>,
    /// How pairs were counted.
    pub counting: Counting,
    /// Events in the log.
    pub events_in: u64,
    /// Events whose product index is not in the catalog (set aside).
    pub unknown_product_events: u64,
    /// Events of a kind with no (or zero) weight in `kind_weights` (set aside).
    pub ignored_kind_events: u64,
    /// Events without a basket id when pairing by basket (set aside).
    pub missing_basket_events: u64,
    /// Repeated (user, product, timestamp) events — (user, product, basket) when pairing by
    /// basket — merged into one (keeping the largest kind weight).
    pub duplicate_events: u64,
    /// Distinct events used for pairing.
    pub events_used: u64,
    /// Users with at least one used event.
    pub users: u64,
    /// Users with exactly one used event (they form no pair).
    pub single_event_users: u64,
    /// Events with more window neighbours on one side than the neighbour cap allows.
    pub capped_events: u64,
    /// Earliest and latest timestamp of the used events.
    pub time_span: Option<(i64, i64)>,
    /// Event pairs examined (the work done).
    pub pair_visits: u64,
    /// Counts added: (pair, user) incidences per user, event pairs per occurrence.
    pub pair_incidences: u64,
    /// Distinct ordered pairs with a count, before pruning.
    pub distinct_pairs: u64,
    /// Pairs dropped because their count was below `min_count`.
    pub pruned_min_count: u64,
    /// Pairs dropped by the `top_k` limit.
    pub pruned_top_k: u64,
    /// Pairs kept in the table.
    pub kept_pairs: u64,
    /// Seeds with at least one kept partner.
    pub seeds: u64,
    /// Threads used.
    pub threads: usize,
    /// Seconds spent preparing (filtering, sorting, de-duplicating, indexing).
    pub prepare_secs: f64,
    /// Seconds spent counting.
    pub count_secs: f64,
}

impl CoocReport {
    /// Events set aside, all reasons together (duplicates are merged, not set aside).
    pub fn events_set_aside(&self) -> u64 {
        self.unknown_product_events + self.ignored_kind_events + self.missing_basket_events
    }

    /// Input events per second of counting (preparation included).
    pub fn events_per_sec(&self) -> f64 {
        rate(self.events_in, self.prepare_secs + self.count_secs)
    }

    /// Pair incidences per second of counting (preparation included).
    pub fn pairs_per_sec(&self) -> f64 {
        rate(self.pair_incidences, self.prepare_secs + self.count_secs)
    }
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

impl fmt::Display for CoocReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairing = self
            .pairing
            .map_or_else(|| "-".to_owned(), |p| p.to_string());
        let counting = match self.counting {
            Counting::PerUser => "once per user",
            Counting::PerOccurrence => "once per window co-occurrence",
        };
        writeln!(f, "pairing             {pairing}, {counting}")?;
        writeln!(f, "events in           {}", self.events_in)?;
        for (n, why) in [
            (self.unknown_product_events, "product not in catalog"),
            (self.ignored_kind_events, "event kind without weight"),
            (self.missing_basket_events, "no basket id"),
        ] {
            if n > 0 {
                writeln!(f, "  set aside         {n} ({why})")?;
            }
        }
        if self.duplicate_events > 0 {
            writeln!(
                f,
                "  merged            {} repeated (user, product, time) events",
                self.duplicate_events
            )?;
        }
        writeln!(f, "events used         {}", self.events_used)?;
        match self.time_span {
            Some((a, b)) => writeln!(
                f,
                "time span           {} .. {}",
                format_timestamp(a),
                format_timestamp(b)
            )?,
            None => writeln!(f, "time span           (no events)")?,
        }
        writeln!(
            f,
            "users               {} ({} with a single event: no pairs)",
            self.users, self.single_event_users
        )?;
        if self.capped_events > 0 {
            writeln!(
                f,
                "capped events       {} (window truncated by the neighbour cap)",
                self.capped_events
            )?;
        }
        writeln!(f, "pair incidences     {}", self.pair_incidences)?;
        writeln!(f, "distinct pairs      {}", self.distinct_pairs)?;
        if self.pruned_min_count > 0 {
            writeln!(f, "  below min_count   {}", self.pruned_min_count)?;
        }
        if self.pruned_top_k > 0 {
            writeln!(f, "  beyond top_k      {}", self.pruned_top_k)?;
        }
        writeln!(f, "kept pairs          {}", self.kept_pairs)?;
        writeln!(f, "seeds               {}", self.seeds)?;
        write!(
            f,
            "time                {:.2} s prepare + {:.2} s count on {} thread(s): {:.0} events/s, {:.0} pairs/s",
            self.prepare_secs,
            self.count_secs,
            self.threads,
            self.events_per_sec(),
            self.pairs_per_sec()
        )
    }
}
