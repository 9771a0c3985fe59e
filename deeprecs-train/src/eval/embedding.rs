//! [`EmbeddingRecommender`]: cosine similarity of dense product vectors — how any embedding
//! model enters the harness, and the extension point for the frozen-BERT baseline.
//!
//! * **Two-tower model**: embed every product with the seed tower and with the rec tower and
//!   pass both matrices to [`EmbeddingRecommender::new`]; the score of (seed, rec) is then the
//!   model's own cosine score.
//! * **Frozen pre-trained BERT** (the baseline "frozen MiniLM/BERT cosine", to be added with
//!   the BERT encoder of `deeprecs-encoders`; not part of this crate yet): embed every
//!   product's text with the frozen checkpoint (mean-pooled last layer, no training) and pass
//!   the one matrix to [`EmbeddingRecommender::symmetric`] with the name `"bert"`. Nothing
//!   else changes: the same [`EvalSet`](super::EvalSet), the same table.

use deeprecs_core::ProductIdx;

use super::error::{EvalError, config};
use super::recommender::Recommender;

/// Cosine similarity of a seed vector and every rec vector (row-major matrices, one row of
/// `dim` values per catalog product). Rows are L2-normalised once, at construction. A seed
/// whose vector is all zeros cannot be scored; a rec whose vector is all zeros scores 0.
///
/// ```
/// use deeprecs_core::ProductIdx;
/// use deeprecs_train::eval::{EmbeddingRecommender, Recommender};
///
/// // Three products in 2-d: 0 and 1 point the same way, 2 is orthogonal.
/// let vectors = vec![1.0, 0.0, 3.0, 0.1, 0.0, 2.0];
/// let model = EmbeddingRecommender::symmetric("toy", 2, vectors)?;
/// let mut scores = vec![0.0; 3];
/// assert!(model.score_all(ProductIdx(0), &mut scores));
/// assert!(scores[1] > 0.99 && scores[2].abs() < 1e-6);
/// # Ok::<(), deeprecs_train::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingRecommender {
    name: String,
    dim: usize,
    seeds: Vec<f32>,
    /// `None` when seed and rec vectors are the same matrix.
    recs: Option<Vec<f32>>,
    seed_ok: Vec<bool>,
}

impl EmbeddingRecommender {
    /// Separate seed and rec vectors (a two-tower model). Both must have the same length, a
    /// multiple of `dim`, and only finite values.
    pub fn new(
        name: impl Into<String>,
        dim: usize,
        seed_vectors: Vec<f32>,
        rec_vectors: Vec<f32>,
    ) -> Result<Self, EvalError> {
        if seed_vectors.len() != rec_vectors.len() {
            return Err(EvalError::Data(format!(
                "{} seed-vector values but {} rec-vector values",
                seed_vectors.len(),
                rec_vectors.len()
            )));
        }
        let (seeds, seed_ok) = normalised(dim, seed_vectors, "seed")?;
        let (recs, _) = normalised(dim, rec_vectors, "rec")?;
        Ok(Self {
            name: name.into(),
            dim,
            seeds,
            recs: Some(recs),
            seed_ok,
        })
    }

    /// One vector per product, used for seeds and recs alike (frozen text embeddings).
    pub fn symmetric(
        name: impl Into<String>,
        dim: usize,
        vectors: Vec<f32>,
    ) -> Result<Self, EvalError> {
        let (seeds, seed_ok) = normalised(dim, vectors, "product")?;
        Ok(Self {
            name: name.into(),
            dim,
            seeds,
            recs: None,
            seed_ok,
        })
    }

    /// The vector size.
    pub fn dim(&self) -> usize {
        self.dim
    }
}

/// Checks the matrix and L2-normalises its rows; also says which rows are non-zero.
fn normalised(dim: usize, mut v: Vec<f32>, what: &str) -> Result<(Vec<f32>, Vec<bool>), EvalError> {
    if dim == 0 {
        return Err(config("dim", "the vector size must be at least 1"));
    }
    if !v.len().is_multiple_of(dim) {
        return Err(EvalError::Data(format!(
            "{} {what}-vector values are not a whole number of {dim}-d vectors",
            v.len()
        )));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(EvalError::Data(format!(
            "{what} vector of product #{} has a non-finite value ({})",
            i / dim,
            v[i]
        )));
    }
    let mut ok = Vec::with_capacity(v.len() / dim);
    for row in v.chunks_exact_mut(dim) {
        let norm = row
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt();
        ok.push(norm > 0.0);
        if norm > 0.0 {
            for x in row.iter_mut() {
                *x = (f64::from(*x) / norm) as f32;
            }
        }
    }
    Ok((v, ok))
}

impl Recommender for EmbeddingRecommender {
    fn name(&self) -> &str {
        &self.name
    }

    fn n_products(&self) -> usize {
        self.seed_ok.len()
    }

    fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool {
        if !self.seed_ok.get(seed.index()).copied().unwrap_or(false) {
            return false;
        }
        let at = seed.index() * self.dim;
        let Some(s) = self.seeds.get(at..at + self.dim) else {
            return false;
        };
        let recs = self.recs.as_deref().unwrap_or(&self.seeds);
        for (o, r) in out.iter_mut().zip(recs.chunks_exact(self.dim)) {
            *o = s.iter().zip(r).map(|(a, b)| a * b).sum();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tower_scores_use_seed_and_rec_vectors() {
        // Seed vectors point along x, rec vectors vary.
        let seeds = vec![1.0, 0.0, 2.0, 0.0, 0.0, 0.0];
        let recs = vec![0.0, 1.0, 1.0, 1.0, -5.0, 0.0];
        let m = EmbeddingRecommender::new("tt", 2, seeds, recs).unwrap();
        let mut out = vec![0.0; 3];
        assert!(m.score_all(ProductIdx(1), &mut out));
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!(
            (out[0] - 0.0).abs() < 1e-6 && (out[1] - h).abs() < 1e-6 && (out[2] + 1.0).abs() < 1e-6
        );
        // Product 2 has a zero seed vector: it cannot be scored.
        assert!(!m.score_all(ProductIdx(2), &mut out));
        assert!(!m.score_all(ProductIdx(7), &mut out));
        assert_eq!((m.n_products(), m.dim(), m.name()), (3, 2, "tt"));
    }

    #[test]
    fn bad_matrices_are_errors() {
        assert!(matches!(
            EmbeddingRecommender::symmetric("x", 0, vec![]),
            Err(EvalError::Config { name: "dim", .. })
        ));
        assert!(matches!(
            EmbeddingRecommender::symmetric("x", 2, vec![1.0; 3]),
            Err(EvalError::Data(_))
        ));
        assert!(matches!(
            EmbeddingRecommender::symmetric("x", 1, vec![1.0, f32::NAN]),
            Err(EvalError::Data(m)) if m.contains("#1")
        ));
        assert!(matches!(
            EmbeddingRecommender::new("x", 1, vec![1.0], vec![1.0, 2.0]),
            Err(EvalError::Data(_))
        ));
    }
}
