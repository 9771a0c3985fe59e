//! A feature encoder of your own, without touching the crates: hashed character trigrams of
//! the product name, fed to the towers as precomputed per-product vectors and trained with
//! the trainer.
//!
//! The recipe (see `docs/src/extending.md`):
//!
//! 1. Write the feature extractor: any code that turns a product's metadata into a fixed-width
//!    vector (here [`TrigramHasher`]; it could be a price band and colour one-hot, image
//!    features, another language model …).
//! 2. Compute every product's vector ([`ProductVectors`]) and say which schema field they
//!    stand for ([`FieldVectors`]).
//! 3. In the tower config, give that field the encoder `{"type": "vectors", "input_dim": N}`
//!    ([`EncoderConfig::Vectors`]): dense layers from your vector to the tower's field width,
//!    trained with the rest of the tower.
//! 4. Train with [`TrainParams::fit_with_vectors`](deeprecs_train::TrainParams::fit_with_vectors)
//!    and embed the catalog with [`CatalogEmbeddings::compute_with_vectors`]. A new product
//!    gets its vector from the same extractor: no retraining.
//!
//! ```sh
//! cargo run -p deeprecs-examples --example custom_encoder
//! ```
//! It trains two models on the synthetic catalog — the default (word-level attention over
//! the name) and one with the name read by the trigram encoder — and prints both, with the
//! baselines, on the test period's cold, tail and warm seeds.

use burn::module::Module;
use burn::tensor::Device;
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_core::{EncodedCatalog, FieldValue, ProductIdx};
use deeprecs_encoders::{
    EncoderConfig, FieldVectors, ProductVectors, TowerConfig, TowerInput, TwoTowerConfig,
};
use deeprecs_train::eval::{comparison_markdown, evaluate};
use deeprecs_train::{CatalogEmbeddings, DataConfig, Experiment, TrainConfig};

/// The custom feature extractor: counts of hashed character trigrams (FNV-1a into
/// `buckets` slots), L2-normalised. Robust to typos and unseen words, which word-level
/// vocabularies map to `<unk>`.
struct TrigramHasher {
    buckets: usize,
}

impl TrigramHasher {
    fn vector(&self, text: &str) -> Vec<f32> {
        let chars: Vec<char> = format!("  {} ", text.to_lowercase()).chars().collect();
        let mut v = vec![0.0f32; self.buckets];
        for w in chars.windows(3) {
            let hash = w.iter().fold(0x811c_9dc5_u32, |h, &c| {
                (h ^ c as u32).wrapping_mul(0x0100_0193)
            });
            v[hash as usize % self.buckets] += 1.0;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.into_iter().map(|x| x / norm).collect()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = generate(&SyntheticConfig {
        products: 400,
        users: 1_000,
        ..SyntheticConfig::default()
    })?;
    let exp = Experiment::prepare(
        data.schema,
        data.catalog,
        data.events,
        &DataConfig::default(),
    )?;
    let (schema, catalog) = (exp.schema(), exp.catalog());
    let name = schema.field_index("name")?;

    // Steps 1 and 2: every product's name vector.
    let hasher = TrigramHasher { buckets: 256 };
    let rows = catalog
        .iter()
        .map(|p| hasher.vector(&catalog.value(p.idx, name).display()));
    let vectors =
        FieldVectors::new().with(schema, "name", ProductVectors::from_rows(256, rows)?)?;

    // Step 3: the name field reads the vectors; the other fields keep their encoders.
    let mut tower = TowerConfig::for_schema(schema).with_dim(32);
    tower.fields[name].encoder = EncoderConfig::Vectors {
        input_dim: 256,
        hidden: vec![],
    };
    let custom = TwoTowerConfig::new(tower);
    println!(
        "tower fields: {}",
        serde_json::to_string(&custom.tower.fields)?
    );

    // Step 4: train both models the same way.
    let train = TrainConfig {
        epochs: 3,
        ..TrainConfig::default()
    }
    .check()?;
    let device = Device::flex().autodiff();
    let bundle = exp.bundle(&custom)?;
    let outcome =
        train.fit_with_vectors(&bundle, exp.train_data(), &vectors, &device, None, &mut ())?;
    let cpu = Device::flex();
    let model = outcome.model.valid().to_device(&cpu);
    let embeddings = CatalogEmbeddings::compute_with_vectors(
        &model,
        exp.encoded(),
        &vectors,
        &cpu,
        256,
        |_, _| {},
    )?;

    let default = TwoTowerConfig::new(TowerConfig::for_schema(schema).with_dim(32));
    let (_, plain) = exp.fit(&default, &train, &device, None, &mut ())?;
    let mut results = vec![
        evaluate(
            &embeddings.clone().into_recommender("name trigrams")?,
            exp.eval_set(),
        )?,
        exp.evaluate_model("name attention (default)", &plain.model)?,
    ];
    results.extend(exp.baselines()?);
    println!("\n{}", comparison_markdown(&results));

    // A brand-new product: its vector comes from the same extractor, no retraining.
    let text = "Knitted wool beanie hat";
    let values = vec![
        FieldValue::Text(text.into()),
        FieldValue::Missing,
        FieldValue::Missing,
        FieldValue::Multi(vec!["Accessories".into()]),
    ];
    let encoded = EncodedCatalog::encode_values(schema, exp.vocabularies(), &[values])?;
    let product = [ProductIdx(0)];
    let new_vectors = FieldVectors::new().with(
        schema,
        "name",
        ProductVectors::from_rows(256, [hasher.vector(text)])?,
    )?;
    let input = new_vectors.apply(
        TowerInput::new(&encoded.batch(&product)?, &cpu),
        &product,
        &cpu,
    )?;
    let seed: Vec<f32> = model
        .embed_seed(&input)?
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    let mut scored: Vec<(f32, ProductIdx)> = catalog
        .iter()
        .map(|p| {
            let rec = embeddings.rec(p.idx);
            (seed.iter().zip(rec).map(|(a, b)| a * b).sum(), p.idx)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("new product \"{text}\":");
    for (score, p) in scored.iter().take(5) {
        println!("  {score:.3}  {}  {}", catalog.id(*p), catalog.label(*p));
    }
    Ok(())
}
