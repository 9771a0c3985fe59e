//! Per-seed ranking metrics and recommendation-list statistics (the definitions are in the
//! [module documentation](super)).
//!
//! Everything here works on one seed's score vector. Scores are compared as `f32` after the
//! harness has rejected NaN and turned `-0.0` into `0.0`, so `==` and [`f32::total_cmp`]
//! agree. The full ranking of the candidates (every product but the seed) is: higher score
//! first, equal scores in the [`TieOrder`].

use deeprecs_core::ProductIdx;
use deeprecs_core::rng::SeededRng;

/// The order in which products with equal scores are ranked: a fixed permutation of the
/// catalog. [`TieOrder::seeded`] (what [`EvalSet`](super::EvalSet) uses) draws it at random
/// from a seed, so that a recommender that gives many products the same score (popularity on
/// products without history, TF-IDF on products sharing no word with the seed) gets no luck
/// from the catalog order; a constant recommender ranks like a random one. The permutation
/// is the same for every seed, so a constant recommender still recommends the same products to
/// everybody, as it would in production (its coverage stays minimal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TieOrder {
    /// `keys[p]`: position of product `p` in the permutation (distinct).
    keys: Vec<u32>,
}

impl TieOrder {
    /// A random permutation of `n_products` products drawn from `seed` with
    /// [`SeededRng`].
    pub fn seeded(n_products: usize, seed: u64) -> Self {
        let mut order: Vec<u32> = (0..n_products as u32).collect();
        SeededRng::fork(seed, 0x7135).shuffle(&mut order);
        let mut keys = vec![0u32; n_products];
        for (position, &p) in order.iter().enumerate() {
            keys[p as usize] = position as u32;
        }
        Self { keys }
    }

    /// Ties broken by the product index (the smaller index ranks first): predictable, for
    /// hand-computed examples.
    pub fn by_index(n_products: usize) -> Self {
        Self {
            keys: (0..n_products as u32).collect(),
        }
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True for an empty catalog.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The position of `p` among equal scores (smaller ranks first); `None` outside the
    /// catalog.
    pub fn key(&self, p: ProductIdx) -> Option<u32> {
        self.keys.get(p.index()).copied()
    }

    pub(crate) fn keys(&self) -> &[u32] {
        &self.keys
    }
}

/// The metrics of one seed, each `k` in the order of the cut-offs given.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeedMetrics {
    pub recall: Vec<f64>,
    pub ndcg: Vec<f64>,
    pub hit: Vec<f64>,
    pub mrr: f64,
    pub auc: f64,
}

impl SeedMetrics {
    /// All metrics 0: a seed the recommender cannot score.
    pub fn zero(n_ks: usize) -> Self {
        Self {
            recall: vec![0.0; n_ks],
            ndcg: vec![0.0; n_ks],
            hit: vec![0.0; n_ks],
            mrr: 0.0,
            auc: 0.0,
        }
    }
}

/// The positives' places in the full ranking.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ranked {
    /// 1-based ranks of the positives among all candidates, ascending.
    pub ranks: Vec<u32>,
    /// Fraction of (positive, negative) pairs with the positive scored higher, ties ½.
    pub auc: f64,
}

/// Ranks the positives of `seed` among all candidates (every product but the seed).
///
/// `positives` must be sorted ascending, distinct, in range and without the seed (the
/// [`EvalSet`](super::EvalSet) guarantees it); `scores` and `ties` have one entry per product.
/// `counts` is scratch space. O(n log m) for n products and m positives: the positives are
/// sorted in ranking order once, then each negative finds by binary search how many positives
/// rank before it.
pub(crate) fn rank_positives(
    scores: &[f32],
    seed: usize,
    positives: &[u32],
    ties: &[u32],
    counts: &mut Vec<u32>,
) -> Ranked {
    let m = positives.len();
    // (score, tie key) of each positive, in ranking order: score descending, key ascending.
    let mut pos: Vec<(f32, u32)> = positives
        .iter()
        .map(|&p| (scores[p as usize], ties[p as usize]))
        .collect();
    pos.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    // counts[t]: negatives ranked after exactly t positives.
    counts.clear();
    counts.resize(m + 1, 0);
    let mut correct = 0.0f64;
    let mut negatives = 0u64;
    let mut next_positive = 0usize;
    for (q, (&s, &key)) in scores.iter().zip(ties).enumerate() {
        if q == seed {
            continue;
        }
        if positives
            .get(next_positive)
            .is_some_and(|&p| p as usize == q)
        {
            next_positive += 1;
            continue;
        }
        negatives += 1;
        // Most candidates score below every positive: no search needed.
        if pos.last().is_some_and(|&(lowest, _)| s < lowest) {
            counts[m] += 1;
            correct += m as f64;
            continue;
        }
        let above = pos.partition_point(|&(ps, _)| ps > s);
        let tied = pos[above..].partition_point(|&(ps, _)| ps == s);
        let before = above + pos[above..above + tied].partition_point(|&(_, pk)| pk < key);
        counts[before] += 1;
        correct += above as f64 + 0.5 * tied as f64;
    }
    let mut ranks = Vec::with_capacity(m);
    let mut negatives_before = 0u64;
    for (j, &c) in counts.iter().take(m).enumerate() {
        // The j-th positive (0-based, ranking order) follows j positives and every negative
        // that fewer than j + 1 positives precede.
        negatives_before += u64::from(c);
        ranks.push((1 + j as u64 + negatives_before).min(u64::from(u32::MAX)) as u32);
    }
    let auc = if negatives == 0 || m == 0 {
        // No (positive, negative) pair exists, so none is misordered; the evaluation set
        // rules this out (every seed has a negative).
        1.0
    } else {
        correct / (m as f64 * negatives as f64)
    };
    Ranked { ranks, auc }
}

/// Recall, NDCG and hit rate at each `k`, and the reciprocal rank, from the positives' ranks
/// (ascending, 1-based).
pub(crate) fn metrics_from_ranks(ranked: &Ranked, ks: &[usize]) -> SeedMetrics {
    let ranks = &ranked.ranks;
    let m = ranks.len();
    if m == 0 {
        return SeedMetrics {
            auc: ranked.auc,
            ..SeedMetrics::zero(ks.len())
        };
    }
    let gain = |rank: usize| 1.0 / ((rank + 1) as f64).log2();
    let mut out = SeedMetrics {
        recall: Vec::with_capacity(ks.len()),
        ndcg: Vec::with_capacity(ks.len()),
        hit: Vec::with_capacity(ks.len()),
        mrr: 1.0 / f64::from(ranks[0]),
        auc: ranked.auc,
    };
    for &k in ks {
        let hits = ranks.partition_point(|&r| r as usize <= k);
        let dcg: f64 = ranks[..hits].iter().map(|&r| gain(r as usize)).sum();
        let ideal: f64 = (1..=k.min(m)).map(gain).sum();
        out.recall.push(hits as f64 / m as f64);
        out.ndcg.push(if ideal > 0.0 { dcg / ideal } else { 0.0 });
        out.hit.push(if hits > 0 { 1.0 } else { 0.0 });
    }
    out
}

/// The `len` best candidates for `seed` (every product but the seed), best first, in the
/// ranking order. `buffer` is scratch space.
pub(crate) fn top_list(
    scores: &[f32],
    seed: usize,
    ties: &[u32],
    len: usize,
    buffer: &mut Vec<u32>,
) -> Vec<u32> {
    buffer.clear();
    buffer.extend((0..scores.len() as u32).filter(|&p| p as usize != seed));
    let order = |a: &u32, b: &u32| {
        scores[*b as usize]
            .total_cmp(&scores[*a as usize])
            .then(ties[*a as usize].cmp(&ties[*b as usize]))
    };
    if len == 0 {
        return Vec::new();
    }
    if len < buffer.len() {
        buffer.select_nth_unstable_by(len - 1, order);
        buffer.truncate(len);
    }
    buffer.sort_unstable_by(order);
    buffer.clone()
}

/// The Gini index of how often each product was recommended (`freq` has one entry per catalog
/// product, zeros included): `Σᵢ (2i − n − 1)·xᵢ / (n·Σx)` over the frequencies sorted
/// ascending (`i` from 1). 0 when every product is recommended equally often, `1 − 1/n` when
/// one product takes every slot. `None` when nothing was recommended.
pub(crate) fn gini(freq: &[u32]) -> Option<f64> {
    let total: u64 = freq.iter().map(|&f| u64::from(f)).sum();
    if total == 0 {
        return None;
    }
    let mut sorted = freq.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| (2.0 * (i as f64 + 1.0) - n - 1.0) * f64::from(x))
        .sum();
    Some(weighted / (n * total as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EPS: f64 = 1e-12;

    fn rank(scores: &[f32], seed: usize, positives: &[u32], ties: &[u32]) -> Ranked {
        rank_positives(scores, seed, positives, ties, &mut Vec::new())
    }

    fn by_index(n: usize) -> Vec<u32> {
        (0..n as u32).collect()
    }

    /// The O(n·m) definition: a positive's rank is one plus the candidates that precede it;
    /// AUC compares every (positive, negative) pair.
    fn naive(scores: &[f32], seed: usize, positives: &[u32], ties: &[u32]) -> Ranked {
        let precedes = |a: usize, b: usize| {
            scores[a] > scores[b] || (scores[a] == scores[b] && ties[a] < ties[b])
        };
        let is_pos = |q: usize| positives.contains(&(q as u32));
        let cands: Vec<usize> = (0..scores.len()).filter(|&q| q != seed).collect();
        let mut ranks: Vec<u32> = positives
            .iter()
            .map(|&p| {
                1 + cands
                    .iter()
                    .filter(|&&q| q != p as usize && precedes(q, p as usize))
                    .count() as u32
            })
            .collect();
        ranks.sort_unstable();
        let negs: Vec<usize> = cands.iter().copied().filter(|&q| !is_pos(q)).collect();
        let mut correct = 0.0;
        for &p in positives {
            for &q in &negs {
                let (sp, sq) = (scores[p as usize], scores[q]);
                correct += if sp > sq {
                    1.0
                } else if sp == sq {
                    0.5
                } else {
                    0.0
                };
            }
        }
        let auc = correct / (positives.len() * negs.len()) as f64;
        Ranked { ranks, auc }
    }

    #[test]
    fn hand_computed_ranking() {
        // Seed 0 (its own score 9 is ignored). Ranking: 1 (0.9), 2 (0.8), 3 (0.8, after 2 by
        // index), 4 (0.5), 5 (0.1). Positives 2 and 4 rank 2nd and 4th.
        let scores = [9.0, 0.9, 0.8, 0.8, 0.5, 0.1];
        let r = rank(&scores, 0, &[2, 4], &by_index(6));
        assert_eq!(r.ranks, [2, 4]);
        // Pairs (pos, neg): (2,1) wrong, (2,3) tie ½, (2,5) right, (4,1) (4,3) wrong, (4,5) right.
        assert!((r.auc - 2.5 / 6.0).abs() < EPS);
        let m = metrics_from_ranks(&r, &[1, 2, 4]);
        assert_eq!(m.recall, [0.0, 0.5, 1.0]);
        assert_eq!(m.hit, [0.0, 1.0, 1.0]);
        assert_eq!(m.mrr, 0.5);
        let g = |r: f64| 1.0 / (r + 1.0).log2();
        assert_eq!(m.ndcg[0], 0.0);
        assert!((m.ndcg[1] - g(2.0) / (g(1.0) + g(2.0))).abs() < EPS);
        assert!((m.ndcg[2] - (g(2.0) + g(4.0)) / (g(1.0) + g(2.0))).abs() < EPS);
        // Numbers written out: NDCG@2 = 0.63093 / 1.63093, NDCG@4 = 1.06161 / 1.63093.
        assert!((m.ndcg[1] - 0.386_852_807_234_541_6).abs() < 1e-9);
        assert!((m.ndcg[2] - 0.650_920_929_807_132_6).abs() < 1e-9);
    }

    #[test]
    fn ties_follow_the_tie_order_not_luck() {
        // Positive 3 ties with negative 2. By index, 2 goes first; with the reverse order 3
        // does. AUC counts the tie as ½ either way.
        let scores = [0.0, 0.9, 0.5, 0.5, 0.1];
        let forward = rank(&scores, 0, &[3], &by_index(5));
        assert_eq!(forward.ranks, [3]);
        let reverse = rank(&scores, 0, &[3], &[4, 3, 2, 1, 0]);
        assert_eq!(reverse.ranks, [2]);
        assert!((forward.auc - 1.5 / 3.0).abs() < EPS);
        assert_eq!(forward.auc, reverse.auc);
    }

    #[test]
    fn a_constant_recommender_ranks_by_the_tie_order_only() {
        let scores = [1.0f32; 8];
        let ties = TieOrder::seeded(8, 7);
        let r = rank(&scores, 3, &[0, 6], ties.keys());
        // Every candidate ties: ranks are the positions in the tie order among candidates.
        let mut order: Vec<u32> = (0..8u32).filter(|&p| p != 3).collect();
        order.sort_by_key(|&p| ties.keys()[p as usize]);
        let mut expected: Vec<u32> = [0u32, 6]
            .iter()
            .map(|p| order.iter().position(|q| q == p).unwrap() as u32 + 1)
            .collect();
        expected.sort_unstable();
        assert_eq!(r.ranks, expected);
        assert_eq!(r.auc, 0.5);
    }

    #[test]
    fn perfect_and_worst_rankings() {
        let scores = [0.0, 0.1, 0.2, 0.3, 0.9, 0.8];
        let best = rank(&scores, 0, &[4, 5], &by_index(6));
        assert_eq!(best.ranks, [1, 2]);
        assert_eq!(best.auc, 1.0);
        let m = metrics_from_ranks(&best, &[1, 2]);
        assert_eq!(m.ndcg, [1.0, 1.0]);
        assert_eq!(m.recall, [0.5, 1.0]);
        let worst = rank(&scores, 0, &[1, 2], &by_index(6));
        assert_eq!(worst.ranks, [4, 5]);
        assert_eq!(worst.auc, 0.0);
        let m = metrics_from_ranks(&worst, &[3, 4, 5]);
        assert_eq!(m.recall, [0.0, 0.5, 1.0]);
        assert_eq!(m.mrr, 0.25);
        assert!((m.ndcg[1] - (1.0 / 5f64.log2()) / (1.0 + 1.0 / 3f64.log2())).abs() < EPS);
    }

    #[test]
    fn the_seed_is_never_a_candidate() {
        // The seed has the best score; the positive still ranks first.
        let r = rank(&[0.2, 5.0, 0.1], 1, &[0], &by_index(3));
        assert_eq!(r.ranks, [1]);
        assert_eq!(r.auc, 1.0);
        assert_eq!(
            top_list(&[0.2, 5.0, 0.1], 1, &by_index(3), 5, &mut Vec::new()),
            [0, 2]
        );
    }

    #[test]
    fn infinities_are_ordered() {
        let scores = [0.0, f32::NEG_INFINITY, f32::INFINITY, 1.0];
        let r = rank(&scores, 0, &[1], &by_index(4));
        assert_eq!(r.ranks, [3]);
        assert_eq!(r.auc, 0.0);
    }

    #[test]
    fn top_lists_use_the_same_order() {
        let scores = [0.3, 0.9, 0.5, 0.5, 0.7, 0.5];
        let ties = [0, 1, 5, 2, 3, 4];
        let mut buf = Vec::new();
        assert_eq!(top_list(&scores, 1, &ties, 3, &mut buf), [4, 3, 5]);
        assert_eq!(top_list(&scores, 1, &ties, 10, &mut buf), [4, 3, 5, 2, 0]);
        assert!(top_list(&scores, 1, &ties, 0, &mut buf).is_empty());
    }

    #[test]
    fn gini_of_known_distributions() {
        assert_eq!(gini(&[0, 0, 0]), None);
        assert_eq!(gini(&[5, 5, 5, 5]), Some(0.0));
        // One product takes everything: 1 − 1/n.
        assert!((gini(&[0, 0, 0, 8]).unwrap() - 0.75).abs() < EPS);
        // [1, 3]: (−1·1 + 1·3) / (2·4) = 0.25.
        assert!((gini(&[3, 1]).unwrap() - 0.25).abs() < EPS);
        assert_eq!(gini(&[4]), Some(0.0));
    }

    #[test]
    fn seeded_tie_orders_are_permutations_and_reproducible() {
        let a = TieOrder::seeded(100, 1);
        let mut keys = a.keys().to_vec();
        keys.sort_unstable();
        assert_eq!(keys, by_index(100));
        assert_eq!(a, TieOrder::seeded(100, 1));
        assert_ne!(a, TieOrder::seeded(100, 2));
        assert_ne!(a, TieOrder::by_index(100));
        assert_eq!(a.key(ProductIdx(100)), None);
    }

    proptest! {
        #[test]
        fn fast_ranks_equal_the_definition(
            raw in proptest::collection::vec(0u8..6, 2..40),
            pick in proptest::collection::vec(any::<bool>(), 40),
            seed_pick in any::<u16>(),
            tie_seed in any::<u64>(),
        ) {
            // Few distinct score values, so ties are common.
            let scores: Vec<f32> = raw.iter().map(|&v| f32::from(v) / 4.0).collect();
            let n = scores.len();
            let seed = usize::from(seed_pick) % n;
            let positives: Vec<u32> = (0..n as u32)
                .filter(|&p| p as usize != seed && pick[p as usize])
                .collect();
            prop_assume!(!positives.is_empty() && positives.len() + 1 < n);
            let ties = TieOrder::seeded(n, tie_seed);
            let fast = rank(&scores, seed, &positives, ties.keys());
            let slow = naive(&scores, seed, &positives, ties.keys());
            prop_assert_eq!(&fast.ranks, &slow.ranks);
            prop_assert!((fast.auc - slow.auc).abs() < 1e-12);
            // The top list agrees with the ranks: a positive is in the top k iff rank ≤ k.
            let top = top_list(&scores, seed, ties.keys(), 3, &mut Vec::new());
            let in_top = positives.iter().filter(|p| top.contains(p)).count();
            prop_assert_eq!(in_top, fast.ranks.iter().filter(|&&r| r <= 3).count());
        }
    }
}
