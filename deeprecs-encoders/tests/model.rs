//! The encoders, tower and two-tower model on the flex (CPU) backend: shapes, masking,
//! unknown and empty inputs, config round-trips, save/load, schema mismatches, explanations.

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::{fixture, idx, max_abs_diff, widen};
use deeprecs_core::{
    CategoricalBatch, EncodedBatch, FeatureSchema, FieldBatch, FieldKindName, PaddedBatch,
    Vocabularies,
};
use deeprecs_encoders::{
    AttentionTextEncoderConfig, BagPooling, EncoderConfig, Error, ExplainMethod,
    FieldEncoderConfig, FusionConfig, FusionKind, LuongScore, ModelBundle, MultiHotEmbeddingConfig,
    TowerConfig, TowerInput, TwoTowerConfig,
};

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn device() -> Device {
    Device::flex()
}

#[test]
fn tower_output_shape_and_unit_norm() {
    let fx = fixture(120, 20);
    let config = TwoTowerConfig::new(TowerConfig::for_schema(&fx.data.schema));
    let model = config.init(&fx.data.schema, &fx.vocabs, &device()).unwrap();
    let input = TowerInput::new(&fx.encoded.batch(&idx(0..7)).unwrap(), &device());
    let out = model.embed_rec(&input).unwrap();
    assert_eq!(out.dims(), [7, 64]);
    let v = values(out);
    for row in v.chunks(64) {
        let norm: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
    let scores = model
        .score(&input, &input)
        .unwrap()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert!(scores.iter().all(|s| (-1.0..=1.0 + 1e-6).contains(s)));
}

#[test]
fn extra_padding_does_not_change_outputs() {
    let fx = fixture(120, 20);
    for (fusion, score, pooling) in [
        (
            FusionKind::WeightedSum,
            LuongScore::General,
            BagPooling::Mean,
        ),
        (
            FusionKind::Attention,
            LuongScore::Concat,
            BagPooling::Learned,
        ),
        (FusionKind::WeightedSum, LuongScore::Dot, BagPooling::Sum),
    ] {
        let mut tower = TowerConfig::for_schema(&fx.data.schema)
            .with_fusion(FusionConfig::new().with_kind(fusion));
        for f in &mut tower.fields {
            f.encoder = match f.encoder {
                EncoderConfig::AttentionText { .. } => EncoderConfig::AttentionText {
                    max_positions: Some(64),
                    score,
                },
                EncoderConfig::MultiHot { .. } => EncoderConfig::MultiHot { pooling },
                ref other => other.clone(),
            };
        }
        let model = TwoTowerConfig::new(tower)
            .init(&fx.data.schema, &fx.vocabs, &device())
            .unwrap();
        let batch = fx.encoded.batch(&idx(0..9)).unwrap();
        let a = values(
            model
                .embed_seed(&TowerInput::new(&batch, &device()))
                .unwrap(),
        );
        let b = values(
            model
                .embed_seed(&TowerInput::new(&widen(&batch, 5), &device()))
                .unwrap(),
        );
        let diff = max_abs_diff(&a, &b);
        assert!(diff <= 1e-6, "{fusion:?}/{score:?}/{pooling:?}: {diff}");
    }
}

#[test]
fn masked_positions_get_exactly_zero_attention() {
    let d = device();
    let enc = AttentionTextEncoderConfig::new(50, 8).init(&d);
    let ids =
        Tensor::<2, Int>::from_data(TensorData::new(vec![5i64, 6, 0, 0, 7, 0, 0, 0], [2, 4]), &d);
    let mask = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [2, 4]),
        &d,
    );
    let (_, w) = enc.forward_with_weights(ids, mask);
    let w = w.into_data().try_into_vec::<f32>().unwrap();
    assert_eq!(&w[2..4], [0.0, 0.0]);
    assert_eq!(&w[5..8], [0.0, 0.0, 0.0]);
    assert!((w[0] + w[1] - 1.0).abs() < 1e-6);
    assert!((w[4] - 1.0).abs() < 1e-6);
}

#[test]
fn empty_inputs_give_the_unknown_vector_not_nan() {
    let d = device();
    let unk = 1i64;
    for pooling in [BagPooling::Mean, BagPooling::Sum, BagPooling::Learned] {
        let bag = MultiHotEmbeddingConfig::new(10, 4)
            .with_pooling(pooling)
            .init(&d);
        let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 0, unk, 0], [2, 2]), &d);
        let mask = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, 1.0, 0.0], [2, 2]), &d);
        let out = values(bag.forward(ids, mask));
        assert!(out.iter().all(|x| x.is_finite()), "{pooling:?}: {out:?}");
        // The empty row equals the row holding just the unknown id.
        assert!(
            max_abs_diff(&out[0..4], &out[4..8]) < 1e-6,
            "{pooling:?}: {out:?}"
        );
    }
    let text = AttentionTextEncoderConfig::new(10, 4)
        .with_max_positions(Some(4))
        .init(&d);
    let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64; 3], [1, 3]), &d);
    let mask = Tensor::<2>::zeros([1, 3], &d);
    let out = values(text.forward(ids, mask));
    assert!(out.iter().all(|x| x.is_finite()), "{out:?}");
    assert!(out.iter().any(|x| *x != 0.0));
}

#[test]
fn unknown_values_share_one_vector() {
    let fx = fixture(120, 20);
    let model = TwoTowerConfig::new(TowerConfig::for_schema(&fx.data.schema))
        .init(&fx.data.schema, &fx.vocabs, &device())
        .unwrap();
    // Two products whose every id is "unknown" (or empty) encode identically.
    let unknown = |n: usize| EncodedBatch {
        size: n,
        fields: fx
            .data
            .schema
            .fields()
            .iter()
            .map(|f| {
                let padded = PaddedBatch {
                    ids: vec![1; n],
                    mask: vec![1.0; n],
                    lengths: vec![1; n],
                    width: 1,
                };
                match f.kind.name() {
                    FieldKindName::Categorical => {
                        FieldBatch::Categorical(CategoricalBatch { ids: vec![1; n] })
                    }
                    FieldKindName::MultiCategorical => FieldBatch::Multi(padded),
                    FieldKindName::Text => FieldBatch::Text(padded),
                }
            })
            .collect(),
    };
    let out = values(
        model
            .embed_seed(&TowerInput::new(&unknown(2), &device()))
            .unwrap(),
    );
    assert!(max_abs_diff(&out[..64], &out[64..]) < 1e-6);
    assert!(out.iter().all(|x| x.is_finite()));
}

#[test]
fn config_round_trips_through_json() {
    let fx = fixture(80, 10);
    let mut tower = TowerConfig::for_schema(&fx.data.schema)
        .with_dim(32)
        .with_fusion(
            FusionConfig::new()
                .with_kind(FusionKind::Attention)
                .with_dense(vec![48, 16])
                .with_dropout(0.1)
                .with_layer_norm(true),
        );
    tower.fields[0].encoder = EncoderConfig::AttentionText {
        max_positions: Some(16),
        score: LuongScore::Concat,
    };
    let config = TwoTowerConfig::new(tower).with_shared(true);
    let json = serde_json::to_string(&config).unwrap();
    let back: TwoTowerConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert!(json.contains("\"type\":\"attention_text\""), "{json}");
    assert_eq!(back.tower.fields, config.tower.fields);
    // A field encoder as a user writes it.
    let fe: FieldEncoderConfig =
        serde_json::from_str(r#"{"field": "brand", "type": "categorical", "max_norm": 2.0}"#)
            .unwrap();
    assert_eq!(
        fe.encoder,
        EncoderConfig::Categorical {
            max_norm: Some(2.0)
        }
    );
    assert!(
        serde_json::from_str::<FieldEncoderConfig>(r#"{"field": "brand", "type": "gpt"}"#).is_err()
    );
}

#[test]
fn save_load_gives_identical_scores() {
    let fx = fixture(120, 20);
    let config = TwoTowerConfig::new(TowerConfig::for_schema(&fx.data.schema));
    let bundle = ModelBundle::new(config, fx.data.schema.clone(), fx.vocabs.clone()).unwrap();
    let model = bundle.init(&device()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cfg, weights) = (
        dir.path().join("model.json"),
        dir.path().join("weights.bpk"),
    );
    bundle.save(&model, &cfg, &weights).unwrap();
    let (loaded_bundle, loaded) = ModelBundle::load(&cfg, &weights, &device()).unwrap();
    assert_eq!(loaded_bundle.vocabularies, fx.vocabs);
    let seeds = TowerInput::new(&fx.encoded.batch(&idx(0..16)).unwrap(), &device());
    let recs = TowerInput::new(&fx.encoded.batch(&idx(16..32)).unwrap(), &device());
    let a = model
        .score(&seeds, &recs)
        .unwrap()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let b = loaded
        .score(&seeds, &recs)
        .unwrap()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert!(max_abs_diff(&a, &b) <= 1e-6);

    // Weights of another architecture are rejected, naming the problem.
    let other = TwoTowerConfig::new(TowerConfig::for_schema(&fx.data.schema).with_dim(32));
    let other_bundle = ModelBundle::new(other, fx.data.schema.clone(), fx.vocabs.clone()).unwrap();
    let other_weights = dir.path().join("other.bpk");
    other_bundle
        .save(
            &other_bundle.init(&device()).unwrap(),
            &dir.path().join("other.json"),
            &other_weights,
        )
        .unwrap();
    let e = ModelBundle::load(&cfg, &other_weights, &device()).unwrap_err();
    assert!(matches!(e, Error::Load { .. }), "{e}");
    assert!(e.to_string().contains("other.bpk"), "{e}");
    // Corrupt weights are an error, not a panic.
    std::fs::write(&weights, b"not burnpack").unwrap();
    assert!(ModelBundle::load(&cfg, &weights, &device()).is_err());
    // A config whose vocabularies do not fit the schema is rejected on load.
    let json = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("\"format_version\": 1", "\"format_version\": 99");
    std::fs::write(&cfg, json).unwrap();
    let e = ModelBundle::load(&cfg, &other_weights, &device()).unwrap_err();
    assert!(e.to_string().contains("version 99"), "{e}");
}

#[test]
fn schema_mismatches_name_field_and_kinds() {
    let fx = fixture(80, 10);
    let mut tower = TowerConfig::for_schema(&fx.data.schema);
    tower.fields[2].encoder = EncoderConfig::AttentionText {
        max_positions: None,
        score: LuongScore::Dot,
    };
    let e = TwoTowerConfig::new(tower)
        .init(&fx.data.schema, &fx.vocabs, &device())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "tower field `brand`: encoder `attention_text` reads text fields, but the schema declares this field categorical"
    );
    let mut tower = TowerConfig::for_schema(&fx.data.schema);
    tower.fields[0].field = "title".into();
    let e = TwoTowerConfig::new(tower)
        .init(&fx.data.schema, &fx.vocabs, &device())
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("tower field `title`: the schema has no such field"),
        "{e}"
    );
    // Vocabularies of another schema.
    let other = FeatureSchema::from_toml_str(
        "id = \"x\"\n[[fields]]\nname = \"t\"\nkind = \"text\"\n",
        "s",
    )
    .unwrap();
    let (cat, _) = deeprecs_core::Catalog::from_csv_str("x,t\nA,b\n", &other).unwrap();
    let v = Vocabularies::fit(&cat, cat.iter().map(|p| p.idx)).unwrap();
    let e = TwoTowerConfig::new(TowerConfig::for_schema(&fx.data.schema))
        .init(&fx.data.schema, &v, &device())
        .unwrap_err();
    assert!(matches!(e, Error::Core(_)), "{e}");
    // A batch of another schema.
    let model = TwoTowerConfig::new(TowerConfig::for_schema(&other))
        .init(&other, &v, &device())
        .unwrap();
    let input = TowerInput::new(&fx.encoded.batch(&idx(0..2)).unwrap(), &device());
    let e = model.embed_seed(&input).unwrap_err();
    assert!(matches!(e, Error::Input(_)), "{e}");
}

#[test]
fn explanations_add_up_without_dense_layers() {
    let fx = fixture(120, 20);
    let tower = TowerConfig::for_schema(&fx.data.schema)
        .with_fusion(FusionConfig::new().with_dense(vec![]));
    let model = TwoTowerConfig::new(tower)
        .init(&fx.data.schema, &fx.vocabs, &device())
        .unwrap();
    let seeds = TowerInput::new(&fx.encoded.batch(&idx(0..5)).unwrap(), &device());
    let recs = TowerInput::new(&fx.encoded.batch(&idx(5..10)).unwrap(), &device());
    let ex = model.explain(&seeds, &recs).unwrap();
    let scores = model
        .score(&seeds, &recs)
        .unwrap()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    for (e, s) in ex.iter().zip(&scores) {
        assert_eq!(e.method, ExplainMethod::Exact);
        let sum: f32 = e.contributions.iter().map(|(_, c)| c).sum();
        assert!((sum - e.score).abs() < 1e-5, "{sum} vs {}", e.score);
        assert!((e.score - s).abs() < 1e-6);
        assert_eq!(
            e.contributions
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["name", "description", "brand", "categories"]
        );
    }
    // With dense layers the method is occlusion, and scores still match.
    let model = TwoTowerConfig::new(TowerConfig::for_schema(&fx.data.schema))
        .init(&fx.data.schema, &fx.vocabs, &device())
        .unwrap();
    let ex = model.explain(&seeds, &recs).unwrap();
    assert!(
        ex.iter()
            .all(|e| e.method == ExplainMethod::Occlusion && e.contributions.len() == 4)
    );
}

#[test]
fn shared_towers_give_symmetric_scores() {
    let fx = fixture(80, 10);
    let model = TwoTowerConfig::new(TowerConfig::for_schema(&fx.data.schema))
        .with_shared(true)
        .init(&fx.data.schema, &fx.vocabs, &device())
        .unwrap();
    assert!(model.is_shared());
    let a = TowerInput::new(&fx.encoded.batch(&idx(0..4)).unwrap(), &device());
    let b = TowerInput::new(&fx.encoded.batch(&idx(4..8)).unwrap(), &device());
    let ab = model
        .score(&a, &b)
        .unwrap()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let ba = model
        .score(&b, &a)
        .unwrap()
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert!(max_abs_diff(&ab, &ba) < 1e-6);
    let m = model.score_matrix(&a, &b).unwrap();
    assert_eq!(m.dims(), [4, 4]);
    let diag: Vec<f32> = values(m)
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 == 0)
        .map(|(_, v)| *v)
        .collect();
    assert!(max_abs_diff(&diag, &ab) < 1e-6);
}
