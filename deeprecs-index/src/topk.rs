//! Results ([`Hit`]) and the bounded selection every index uses to keep the best k.
//!
//! **Order.** Results are sorted by score, highest first; equal scores are ordered by row,
//! lowest first. This is a total order (scores are never NaN: every stored and query vector is
//! finite and normalised), so a top k is unique and every path — exact, naive, approximate
//! re-ranked, one thread or many — breaks ties the same way.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One recommended product: its row in the store and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The product's row in the [`EmbeddingStore`](crate::EmbeddingStore) (see
    /// [`EmbeddingStore::id_of`](crate::EmbeddingStore::id_of)).
    pub row: usize,
    /// The score: the cosine similarity for single queries (see
    /// [`CartAggregation`](crate::CartAggregation) for cart scores).
    pub score: f32,
}

impl Hit {
    /// True when `self` ranks before `other`: a higher score, or an equal score and a lower
    /// row.
    #[inline]
    pub fn ranks_before(&self, other: &Hit) -> bool {
        rank_cmp(self.score, self.row, other.score, other.row) == Ordering::Less
    }
}

/// `Less` when `(sa, ra)` ranks before `(sb, rb)`.
#[inline]
pub(crate) fn rank_cmp(sa: f32, ra: usize, sb: f32, rb: usize) -> Ordering {
    // Scores are finite (never NaN) by construction; an incomparable pair would fall back to
    // the row order rather than panic.
    sb.partial_cmp(&sa)
        .unwrap_or(Ordering::Equal)
        .then(ra.cmp(&rb))
}

/// A heap entry ordered so that the *worst* candidate is the maximum (the heap's root).
#[derive(Debug, Clone, Copy)]
struct Worst {
    score: f32,
    row: u32,
}

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        // Greater = ranks later.
        rank_cmp(
            self.score,
            self.row as usize,
            other.score,
            other.row as usize,
        )
    }
}

/// The best `k` candidates seen so far: a bounded binary heap whose root is the worst kept.
#[derive(Debug, Clone)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }

    /// The number of candidates kept.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// A score a candidate must reach (`>=`) to possibly enter; `-inf` until k are kept.
    #[inline]
    pub(crate) fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |w| w.score)
        }
    }

    /// True when a candidate with this score and row would be kept.
    #[inline]
    pub(crate) fn would_accept(&self, score: f32, row: u32) -> bool {
        if self.heap.len() < self.k {
            return self.k > 0;
        }
        self.heap.peek().is_some_and(|w| {
            rank_cmp(score, row as usize, w.score, w.row as usize) == Ordering::Less
        })
    }

    /// Offers a candidate; it is kept if it ranks before the worst kept one (or fewer than k
    /// are kept).
    #[inline]
    pub(crate) fn push(&mut self, score: f32, row: u32) {
        if self.heap.len() < self.k {
            self.heap.push(Worst { score, row });
        } else if let Some(mut worst) = self.heap.peek_mut()
            && rank_cmp(score, row as usize, worst.score, worst.row as usize) == Ordering::Less
        {
            *worst = Worst { score, row };
        }
    }

    /// Adds every candidate of `other` (for merging per-thread partial results).
    pub(crate) fn merge(&mut self, other: TopK) {
        for w in other.heap {
            self.push(w.score, w.row);
        }
    }

    /// The kept candidates, best first.
    pub(crate) fn into_hits(self) -> Vec<Hit> {
        // `into_sorted_vec` is ascending in `Ord`, i.e. best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|w| Hit {
                row: w.row as usize,
                score: w.score,
            })
            .collect()
    }
}

/// Offers `scores[j]` (the score of row `first_row + j`) to `top`, checking `admit` only for
/// rows that would be kept. The common case — most scores below the current threshold — is a
/// branch-free comparison over chunks of 16 that the compiler vectorises.
#[inline]
pub(crate) fn scan_scores(
    scores: &[f32],
    first_row: usize,
    top: &mut TopK,
    mut admit: impl FnMut(usize) -> bool,
) {
    const CHUNK: usize = 16;
    let mut threshold = top.threshold();
    let mut base = first_row;
    let mut chunks = scores.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        let any = chunk.iter().fold(false, |acc, &s| acc | (s >= threshold));
        if any {
            for (j, &s) in chunk.iter().enumerate() {
                let row = base + j;
                if s >= threshold && top.would_accept(s, row as u32) && admit(row) {
                    top.push(s, row as u32);
                    threshold = top.threshold();
                }
            }
        }
        base += CHUNK;
    }
    for (j, &s) in chunks.remainder().iter().enumerate() {
        let row = base + j;
        if s >= threshold && top.would_accept(s, row as u32) && admit(row) {
            top.push(s, row as u32);
            threshold = top.threshold();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_k_with_row_tie_break() {
        let mut top = TopK::new(3);
        for (row, s) in [
            (5u32, 0.5f32),
            (1, 0.9),
            (7, 0.5),
            (2, 0.5),
            (9, 0.1),
            (0, 0.9),
        ] {
            top.push(s, row);
        }
        let hits = top.into_hits();
        let got: Vec<(usize, f32)> = hits.iter().map(|h| (h.row, h.score)).collect();
        assert_eq!(got, vec![(0, 0.9), (1, 0.9), (2, 0.5)]);
    }

    #[test]
    fn scan_matches_push_everything_and_respects_admit() {
        let scores: Vec<f32> = (0..100).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        let mut scanned = TopK::new(7);
        scan_scores(&scores, 1000, &mut scanned, |row| row % 3 != 0);
        let mut pushed = TopK::new(7);
        for (j, &s) in scores.iter().enumerate() {
            if (1000 + j) % 3 != 0 {
                pushed.push(s, (1000 + j) as u32);
            }
        }
        assert_eq!(scanned.into_hits(), pushed.into_hits());
    }

    #[test]
    fn k_zero_keeps_nothing() {
        let mut top = TopK::new(0);
        top.push(1.0, 0);
        assert!(!top.would_accept(2.0, 1));
        assert!(top.into_hits().is_empty());
    }
}
