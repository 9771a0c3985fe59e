//! Embedding a whole catalog with a trained model, for evaluation and serving.

use burn::tensor::Device;
use deeprecs_core::{EncodedCatalog, ProductIdx};
use deeprecs_encoders::{CatalogVectors, FieldVectors, TwoTower, embed_catalog_with};

use crate::error::{Error, Result};

/// Every product's seed and rec vectors, row-major `[products, dim]`, L2-normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEmbeddings {
    /// The vector size.
    pub dim: usize,
    /// Seed-tower vectors.
    pub seeds: Vec<f32>,
    /// Rec-tower vectors.
    pub recs: Vec<f32>,
}

impl CatalogEmbeddings {
    /// Runs both towers over `encoded` in batches of `batch_size` on `device` (a plain,
    /// non-autodiff device is fastest: pass `model.valid()` and its device).
    ///
    /// This is [`deeprecs_encoders::embed_catalog`], the routine the serving index uses too,
    /// without a progress callback; [`compute_with_progress`](Self::compute_with_progress)
    /// takes one.
    pub fn compute(
        model: &TwoTower,
        encoded: &EncodedCatalog,
        device: &Device,
        batch_size: usize,
    ) -> Result<Self> {
        Self::compute_with_progress(model, encoded, device, batch_size, |_, _| {})
    }

    /// Like [`compute`](Self::compute), calling `progress(done, total)` after each batch.
    pub fn compute_with_progress(
        model: &TwoTower,
        encoded: &EncodedCatalog,
        device: &Device,
        batch_size: usize,
        progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        Self::compute_with_vectors(
            model,
            encoded,
            &FieldVectors::new(),
            device,
            batch_size,
            progress,
        )
    }

    /// Like [`compute_with_progress`](Self::compute_with_progress) for a model with fields
    /// that read precomputed per-product vectors (see
    /// [`TrainParams::fit_with_vectors`](crate::TrainParams::fit_with_vectors)).
    pub fn compute_with_vectors(
        model: &TwoTower,
        encoded: &EncodedCatalog,
        vectors: &FieldVectors,
        device: &Device,
        batch_size: usize,
        progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        let CatalogVectors { dim, seeds, recs } =
            embed_catalog_with(model, encoded, vectors, device, batch_size, progress)?;
        Ok(Self { dim, seeds, recs })
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.recs.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when there is no product.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The seed vector of a product.
    pub fn seed(&self, p: ProductIdx) -> &[f32] {
        &self.seeds[p.index() * self.dim..(p.index() + 1) * self.dim]
    }

    /// The rec vector of a product.
    pub fn rec(&self, p: ProductIdx) -> &[f32] {
        &self.recs[p.index() * self.dim..(p.index() + 1) * self.dim]
    }

    /// Cosine of `seed` with every product's rec vector into `out` (length = products).
    pub fn score_all(&self, seed: ProductIdx, out: &mut [f32]) {
        let s = self.seed(seed);
        for (o, r) in out.iter_mut().zip(self.recs.chunks_exact(self.dim)) {
            *o = s.iter().zip(r).map(|(a, b)| a * b).sum();
        }
    }
}

impl CatalogEmbeddings {
    /// The embeddings as an evaluation [`EmbeddingRecommender`](crate::eval::EmbeddingRecommender)
    /// named `name`: a seed is scored against every rec vector by cosine similarity, cold
    /// seeds included — the point of a content-based model.
    pub fn into_recommender(
        self,
        name: impl Into<String>,
    ) -> Result<crate::eval::EmbeddingRecommender> {
        crate::eval::EmbeddingRecommender::new(name, self.dim, self.seeds, self.recs)
            .map_err(Error::from)
    }
}
