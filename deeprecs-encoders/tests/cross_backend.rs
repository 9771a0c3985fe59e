//! The same model, weights and batch give the same scores on every compiled backend.
//!
//! Run with the backends enabled:
//! `cargo test -p deeprecs-encoders --features wgpu,ndarray --test cross_backend`
//! (wgpu runs on lavapipe's software Vulkan where there is no GPU).

mod common;

use burn::tensor::Device;
use common::{fixture, idx, max_abs_diff};
use deeprecs_encoders::{
    EncoderConfig, FusionConfig, FusionKind, LuongScore, ModelBundle, TowerConfig, TowerInput,
    TwoTowerConfig, weights_to_bytes,
};

/// Scores of a fixed model and batch on `device`, with weights made on flex.
fn scores_on(devices: &[(&str, Device)]) -> Vec<(String, Vec<f32>, Vec<f32>)> {
    let fx = fixture(150, 30);
    let mut tower = TowerConfig::for_schema(&fx.data.schema).with_fusion(
        FusionConfig::new()
            .with_kind(FusionKind::Attention)
            .with_layer_norm(true),
    );
    tower.fields[0].encoder = EncoderConfig::AttentionText {
        max_positions: Some(16),
        score: LuongScore::Concat,
    };
    let bundle = ModelBundle::new(
        TwoTowerConfig::new(tower),
        fx.data.schema.clone(),
        fx.vocabs.clone(),
    )
    .unwrap();
    let flex = Device::flex();
    flex.seed(11);
    let bytes = weights_to_bytes(&bundle.init(&flex).unwrap()).unwrap();
    let seeds = fx.encoded.batch(&idx(0..64)).unwrap();
    let recs = fx.encoded.batch(&idx(64..128)).unwrap();
    devices
        .iter()
        .map(|(name, device)| {
            let model = bundle.load_weights(&bytes, "<weights>", device).unwrap();
            let s = TowerInput::new(&seeds, device);
            let r = TowerInput::new(&recs, device);
            let scores = model
                .score(&s, &r)
                .unwrap()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            let emb = model
                .embed_rec(&r)
                .unwrap()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap();
            (name.to_string(), scores, emb)
        })
        .collect()
}

#[test]
fn backends_agree_with_flex() {
    #[allow(unused_mut)]
    let mut devices = vec![("flex", Device::flex())];
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    devices.push(("ndarray", Device::ndarray()));
    #[cfg(feature = "wgpu")]
    devices.push((
        "wgpu",
        Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
    ));
    let results = scores_on(&devices);
    let (_, ref_scores, ref_emb) = &results[0];
    assert!(ref_scores.iter().all(|s| s.is_finite()));
    for (name, scores, emb) in &results[1..] {
        let ds = max_abs_diff(ref_scores, scores);
        let de = max_abs_diff(ref_emb, emb);
        eprintln!("{name}: max |score diff| {ds:e}, max |embedding diff| {de:e}");
        assert!(ds <= 1e-4, "{name}: scores differ by {ds}");
        assert!(de <= 1e-4, "{name}: embeddings differ by {de}");
    }
    if cfg!(any(feature = "ndarray", feature = "wgpu")) {
        assert!(
            results.len() > 1,
            "a backend feature is on but was not compared"
        );
    }
}
