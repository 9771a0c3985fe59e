//! Embedding a whole encoded catalog with both towers, in batches: the one routine shared by
//! evaluation (`deeprecs-train`) and serving (`deeprecs-index`).
//!
//! ```
//! use burn::tensor::Device;
//! use deeprecs_core::synthetic::{generate, SyntheticConfig};
//! use deeprecs_core::{EncodedCatalog, Vocabularies};
//! use deeprecs_encoders::{TowerConfig, TwoTowerConfig, embed_catalog};
//!
//! let data = generate(&SyntheticConfig { products: 100, users: 30, ..SyntheticConfig::default() })?;
//! let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx))?;
//! let encoded = EncodedCatalog::encode(&data.catalog, &vocabs)?;
//! let device = Device::flex();
//! let model = TwoTowerConfig::new(TowerConfig::for_schema(&data.schema))
//!     .init(&data.schema, &vocabs, &device)?;
//!
//! let mut calls = 0;
//! let vectors = embed_catalog(&model, &encoded, &device, 32, |done, total| {
//!     calls += 1;
//!     assert!(done <= total);
//! })?;
//! assert_eq!(calls, 4); // 100 products in batches of 32
//! assert_eq!(vectors.len(), 100);
//! let norm: f32 = vectors.rec(7).iter().map(|x| x * x).sum::<f32>().sqrt();
//! assert!((norm - 1.0).abs() < 1e-5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use burn::tensor::{Device, Tensor};
use deeprecs_core::{EncodedCatalog, ProductIdx};

use crate::error::{Error, Result};
use crate::input::{FieldVectors, TowerInput};
use crate::two_tower::TwoTower;

/// Every product's seed and rec vectors, row-major `[products, dim]`, L2-normalised (the
/// towers' outputs as they are), in the encoded catalog's product order.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogVectors {
    /// The vector size (the towers' output size).
    pub dim: usize,
    /// Seed-tower vectors, `products × dim` values.
    pub seeds: Vec<f32>,
    /// Rec-tower vectors, `products × dim` values.
    pub recs: Vec<f32>,
}

impl CatalogVectors {
    /// The number of products.
    pub fn len(&self) -> usize {
        self.recs.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when there is no product.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The seed vector of product `i` (panics if `i` is out of range).
    pub fn seed(&self, i: usize) -> &[f32] {
        &self.seeds[i * self.dim..(i + 1) * self.dim]
    }

    /// The rec vector of product `i` (panics if `i` is out of range).
    pub fn rec(&self, i: usize) -> &[f32] {
        &self.recs[i * self.dim..(i + 1) * self.dim]
    }
}

/// Reads a `[batch, dim]` tensor back to the CPU.
fn read_rows(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data().try_into_vec::<f32>().map_err(|e| {
        Error::Input(format!(
            "cannot read embeddings back from the device: {e:?}"
        ))
    })
}

/// Runs both towers of `model` over every product of `encoded`, `batch_size` products at a
/// time, on `device`, calling `progress(done, total)` after each batch (for a progress bar;
/// the library draws none).
///
/// A plain (non-autodiff) device is fastest: pass an inference model and its device. A
/// `batch_size` of 0 is treated as 1. An empty catalog gives empty matrices and `dim` 0 (no
/// batch ran to tell the size; `TowerConfig::output_dim` says it without running the model).
pub fn embed_catalog(
    model: &TwoTower,
    encoded: &EncodedCatalog,
    device: &Device,
    batch_size: usize,
    progress: impl FnMut(usize, usize),
) -> Result<CatalogVectors> {
    embed_catalog_with(
        model,
        encoded,
        &FieldVectors::new(),
        device,
        batch_size,
        progress,
    )
}

/// [`embed_catalog`] for a model with fields that read precomputed vectors: each batch's
/// inputs of the fields in `vectors` are replaced by the products' vectors
/// ([`FieldVectors::apply`]).
pub fn embed_catalog_with(
    model: &TwoTower,
    encoded: &EncodedCatalog,
    vectors: &FieldVectors,
    device: &Device,
    batch_size: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<CatalogVectors> {
    let total = encoded.len();
    let mut dim = 0;
    let mut seeds = Vec::new();
    let mut recs = Vec::new();
    let batch_size = batch_size.max(1);
    let mut done = 0;
    while done < total {
        let end = (done + batch_size).min(total);
        let chunk: Vec<ProductIdx> = (done..end)
            .map(|i| u32::try_from(i).map(ProductIdx))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Input(format!("product {end} is beyond u32 indices")))?;
        let input = vectors.apply(
            TowerInput::new(&encoded.batch(&chunk)?, device),
            &chunk,
            device,
        )?;
        let s = model.embed_seed(&input)?;
        dim = s.dims()[1];
        let r = model.embed_rec(&input)?;
        if seeds.is_empty() {
            seeds.reserve(total * dim);
            recs.reserve(total * dim);
        }
        seeds.extend(read_rows(s)?);
        recs.extend(read_rows(r)?);
        done = end;
        progress(done, total);
    }
    Ok(CatalogVectors { dim, seeds, recs })
}
