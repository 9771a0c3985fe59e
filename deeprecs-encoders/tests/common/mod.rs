//! Shared test fixtures: a small synthetic catalog, encoded, and batch helpers.
#![allow(dead_code)]

use deeprecs_core::synthetic::{SyntheticConfig, SyntheticData, generate};
use deeprecs_core::{
    EncodedBatch, EncodedCatalog, FieldBatch, PaddedBatch, ProductIdx, Vocabularies,
};

pub struct Fixture {
    pub data: SyntheticData,
    pub vocabs: Vocabularies,
    pub encoded: EncodedCatalog,
}

pub fn fixture(products: usize, users: usize) -> Fixture {
    let data = generate(&SyntheticConfig {
        products,
        users,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx)).unwrap();
    let encoded = EncodedCatalog::encode(&data.catalog, &vocabs).unwrap();
    Fixture {
        data,
        vocabs,
        encoded,
    }
}

pub fn idx(range: std::ops::Range<u32>) -> Vec<ProductIdx> {
    range.map(ProductIdx).collect()
}

/// The same batch with `extra` more padding columns in every padded field.
pub fn widen(batch: &EncodedBatch, extra: usize) -> EncodedBatch {
    let fields = batch
        .fields
        .iter()
        .map(|f| match f {
            FieldBatch::Categorical(c) => FieldBatch::Categorical(c.clone()),
            FieldBatch::Multi(p) => FieldBatch::Multi(widen_padded(p, extra)),
            FieldBatch::Text(p) => FieldBatch::Text(widen_padded(p, extra)),
        })
        .collect();
    EncodedBatch {
        size: batch.size,
        fields,
    }
}

fn widen_padded(p: &PaddedBatch, extra: usize) -> PaddedBatch {
    let width = p.width + extra;
    let mut ids = vec![0; p.rows() * width];
    let mut mask = vec![0.0; p.rows() * width];
    for r in 0..p.rows() {
        let row = p.row(r);
        ids[r * width..r * width + row.len()].copy_from_slice(row);
        mask[r * width..r * width + row.len()].fill(1.0);
    }
    PaddedBatch {
        ids,
        mask,
        lengths: p.lengths.clone(),
        width,
    }
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
