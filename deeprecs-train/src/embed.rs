//! Embedding a whole catalog with a trained model, for evaluation and serving.

use burn::tensor::Device;
use deeprecs_core::{EncodedCatalog, ProductIdx};
use deeprecs_encoders::{TowerInput, TwoTower};

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
    pub fn compute(
        model: &TwoTower,
        encoded: &EncodedCatalog,
        device: &Device,
        batch_size: usize,
    ) -> Result<Self> {
        let n = encoded.len();
        let mut seeds = Vec::new();
        let mut recs = Vec::new();
        let mut dim = 0;
        let all: Vec<ProductIdx> = (0..n as u32).map(ProductIdx).collect();
        for chunk in all.chunks(batch_size.max(1)) {
            let input = TowerInput::new(&encoded.batch(chunk)?, device);
            let s = model.embed_seed(&input)?;
            dim = s.dims()[1];
            let r = model.embed_rec(&input)?;
            let read = |t: burn::tensor::Tensor<2>| {
                t.into_data()
                    .try_into_vec::<f32>()
                    .map_err(|e| Error::Data(format!("cannot read embeddings: {e:?}")))
            };
            seeds.extend(read(s)?);
            recs.extend(read(r)?);
        }
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
