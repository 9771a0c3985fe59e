//! A field encoded by the caller's own feature extractor: `EncoderConfig::Vectors` in the
//! tower, per-product vectors given to the trainer (`TrainParams::fit_with_vectors`) and to
//! catalog embedding (`CatalogEmbeddings::compute_with_vectors`).

use burn::module::Module;
use burn::tensor::Device;
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_encoders::{
    EncoderConfig, FieldVectors, ModelBundle, ProductVectors, TowerConfig, TwoTowerConfig,
};
use deeprecs_train::eval::evaluate;
use deeprecs_train::{CatalogEmbeddings, DataConfig, Experiment, TrainConfig};

const BUCKETS: usize = 64;

/// Hashed character trigrams of a text, L2-normalised.
fn trigrams(text: &str) -> Vec<f32> {
    let chars: Vec<char> = format!("  {} ", text.to_lowercase()).chars().collect();
    let mut v = vec![0.0f32; BUCKETS];
    for w in chars.windows(3) {
        let h = w
            .iter()
            .fold(2166136261u32, |h, &c| (h ^ c as u32).wrapping_mul(16777619));
        v[h as usize % BUCKETS] += 1.0;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter().map(|x| x / norm).collect()
}

fn setup() -> (Experiment, FieldVectors, TwoTowerConfig) {
    let data = generate(&SyntheticConfig {
        products: 200,
        users: 400,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let exp = Experiment::prepare(
        data.schema,
        data.catalog,
        data.events,
        &DataConfig::default(),
    )
    .unwrap();
    let slot = exp.schema().field_index("name").unwrap();
    let rows = exp
        .catalog()
        .iter()
        .map(|p| trigrams(&exp.catalog().value(p.idx, slot).display()));
    let vectors = FieldVectors::new()
        .with(
            exp.schema(),
            "name",
            ProductVectors::from_rows(BUCKETS, rows).unwrap(),
        )
        .unwrap();
    let mut tower = TowerConfig::for_schema(exp.schema()).with_dim(16);
    let field = tower.fields.iter_mut().find(|f| f.field == "name").unwrap();
    field.encoder = EncoderConfig::Vectors {
        input_dim: BUCKETS,
        hidden: vec![],
    };
    (exp, vectors, TwoTowerConfig::new(tower))
}

#[test]
fn a_vectors_field_trains_and_evaluates() {
    let (exp, vectors, model) = setup();
    let bundle = exp.bundle(&model).unwrap();
    let params = TrainConfig {
        epochs: 3,
        patience: None,
        ..TrainConfig::default()
    }
    .check()
    .unwrap();
    let device = Device::flex().autodiff();
    let outcome = params
        .fit_with_vectors(&bundle, exp.train_data(), &vectors, &device, None, &mut ())
        .unwrap();
    let losses: Vec<f32> = outcome.history.iter().map(|r| r.train_loss).collect();
    assert_eq!(losses.len(), 3);
    assert!(
        losses[2] < losses[0],
        "training loss should fall, got {losses:?}"
    );

    let inner = Device::flex();
    let trained = outcome.model.valid().to_device(&inner);
    let embeddings = CatalogEmbeddings::compute_with_vectors(
        &trained,
        exp.encoded(),
        &vectors,
        &inner,
        64,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(embeddings.len(), exp.catalog().len());
    let result = evaluate(
        &embeddings.into_recommender("trigrams").unwrap(),
        exp.eval_set(),
    )
    .unwrap();
    assert_eq!(result.seeds(), exp.eval_set().cases().len());

    // Without the vectors the field has no input: an error naming the field, not a panic.
    let err = CatalogEmbeddings::compute(&trained, exp.encoded(), &inner, 64).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("name") && message.contains("vectors"),
        "{message}"
    );
    let err = params
        .fit(&bundle, exp.train_data(), &device, None, &mut ())
        .unwrap_err();
    assert!(err.to_string().contains("vectors encoder"), "{err}");
}

#[test]
fn vectors_config_round_trips_and_is_checked() {
    let (exp, vectors, model) = setup();
    // Plain data: the model JSON names the encoder kind and its width.
    let bundle = exp.bundle(&model).unwrap();
    let json = bundle.to_json();
    assert!(json.contains("\"type\": \"vectors\"") || json.contains("\"type\":\"vectors\""));
    let back = ModelBundle::from_json(&json, "model.json").unwrap();
    assert_eq!(back.to_json(), json);

    // Any field kind may read vectors (here the categorical brand).
    let mut tower = TowerConfig::for_schema(exp.schema()).with_dim(8);
    let brand = tower
        .fields
        .iter_mut()
        .find(|f| f.field == "brand")
        .unwrap();
    brand.encoder = EncoderConfig::Vectors {
        input_dim: 3,
        hidden: vec![4],
    };
    assert!(exp.bundle(&TwoTowerConfig::new(tower.clone())).is_ok());

    // A zero width is a config error before any work.
    let brand = tower
        .fields
        .iter_mut()
        .find(|f| f.field == "brand")
        .unwrap();
    brand.encoder = EncoderConfig::Vectors {
        input_dim: 0,
        hidden: vec![],
    };
    let err = exp.bundle(&TwoTowerConfig::new(tower)).unwrap_err();
    assert!(err.to_string().contains("brand"), "{err}");

    // Vectors of the wrong width are an input error naming the field.
    let narrow = FieldVectors::new()
        .with(
            exp.schema(),
            "name",
            ProductVectors::from_values(2, vec![0.5; 2 * exp.catalog().len()]).unwrap(),
        )
        .unwrap();
    let inner = Device::flex();
    let m = bundle.init(&inner).unwrap();
    let err =
        CatalogEmbeddings::compute_with_vectors(&m, exp.encoded(), &narrow, &inner, 64, |_, _| {})
            .unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    assert_eq!(vectors.len(), 1);

    // Bad vectors and unknown fields are errors.
    assert!(ProductVectors::from_values(2, vec![0.0, f32::NAN]).is_err());
    assert!(ProductVectors::from_rows(2, vec![vec![0.0; 3]]).is_err());
    assert!(
        FieldVectors::new()
            .with(
                exp.schema(),
                "colour",
                ProductVectors::from_values(1, vec![0.0]).unwrap()
            )
            .is_err()
    );
}
