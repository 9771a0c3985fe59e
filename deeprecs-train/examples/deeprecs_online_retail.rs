//! Trains DeepRecs on UCI Online Retail and compares it with the baselines on the issue's
//! protocol: time split at 2011-10-01, 7-day window, 10 % of products cold at random (seed 42),
//! min support 3, every StockCode with a purchase in the catalog.
//!
//! ```sh
//! cargo run --release -p deeprecs-train --example deeprecs_online_retail -- ../shared/data [epochs] [hinge|rank]
//! ```
//! Download the data from the UCI Machine Learning Repository ("Online Retail"); the folder must
//! hold `online-retail/online_retail.csv.gz` (see docs/src/online-retail.md).

use std::error::Error;

use burn::module::Module;
use burn::tensor::Device;
use deeprecs_cooc::{ColdStart, CoocConfig, Cutoff, Part, Scorer, SplitConfig};
use deeprecs_core::{Catalog, EncodedCatalog, EventLog, FeatureSchema, Vocabularies};
use deeprecs_encoders::{FusionConfig, ModelBundle, TowerConfig, TwoTowerConfig};
use deeprecs_train::eval::{
    CoocRecommender, EvalConfig, EvalSet, PopularityRecommender, RandomRecommender, TfIdfConfig,
    TfIdfRecommender, comparison_markdown, evaluate,
};
use deeprecs_train::{
    CatalogEmbeddings, Loss, NegativeSampling, ProgressBarObserver, TrainConfig, TrainData,
};

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data".into());
    let epochs: usize = std::env::args()
        .nth(2)
        .and_then(|e| e.parse().ok())
        .unwrap_or(4);
    let loss = match std::env::args().nth(3).as_deref() {
        Some("rank") => Loss::MarginRanking {
            margin: 0.1,
            margin_per_score: 0.2,
        },
        _ => Loss::default(),
    };
    let file = format!("{dir}/online-retail/online_retail.csv.gz");
    let schema = FeatureSchema::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/online_retail.schema.toml"
    ))?;
    let (catalog, _) = Catalog::read(&file, &schema)?;
    let (log, _) = EventLog::read(&file, &schema, &catalog)?;
    let n = catalog.len();
    let split = SplitConfig {
        train_until: Cutoff::At("2011-10-01".into()),
        valid_until: Cutoff::At("2011-10-01".into()),
        cold_start: ColdStart::RandomShare(0.1),
        long_tail_below: 5,
        seed: 42,
    }
    .check()?
    .split(&log, n)?;
    let counter = CoocConfig::default().check()?;
    let params = EvalConfig::default().check()?;
    let (set, _) = EvalSet::from_split(&params, &split, &log, &counter)?;

    // Training data: co-occurrence scores of the training period only (cold products have no
    // training events), the 50 strongest partners of each seed.
    let train_log = split.log(&log, Part::Train);
    let top = CoocConfig {
        top_k: Some(
            std::env::var("DR_TOPK")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(50),
        ),
        min_count: std::env::var("DR_MINC")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0),
        ..CoocConfig::default()
    }
    .check()?;
    let (counts, report) = top.count(&train_log, n)?;
    let scores = counts.into_scores(&Scorer::default())?;
    eprintln!(
        "training pairs: {} (of {} distinct)",
        scores.len(),
        report.distinct_pairs
    );
    let popularity = train_log.events_per_product(n);
    // Vocabularies from training products' text (cold products' words may still be known
    // from other products).
    let train_products: Vec<_> = catalog
        .iter()
        .map(|p| p.idx)
        .filter(|p| popularity[p.index()] > 0)
        .collect();
    let vocabs = Vocabularies::fit(&catalog, train_products)?;
    let encoded = EncodedCatalog::encode(&catalog, &vocabs)?;
    let tower = TowerConfig::for_schema(&schema)
        .with_dim(
            std::env::var("DR_DIM")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(64),
        )
        .with_fusion(FusionConfig::new().with_dense(vec![128, 64]));
    let env = |k: &str| std::env::var(k).ok();
    let shared = env("DR_SHARED").is_some_and(|v| v == "1");
    let bundle = ModelBundle::new(
        TwoTowerConfig::new(tower).with_shared(shared),
        schema.clone(),
        vocabs,
    )?;
    let train = TrainConfig {
        epochs,
        batch_size: env("DR_BATCH").and_then(|v| v.parse().ok()).unwrap_or(256),
        learning_rate: env("DR_LR").and_then(|v| v.parse().ok()).unwrap_or(3e-3),
        sampling: match env("DR_SAMPLING").as_deref() {
            Some("uniform") => NegativeSampling::Uniform,
            Some("pop") => NegativeSampling::Popularity { alpha: 0.75 },
            _ => NegativeSampling::InBatch,
        },
        negatives: env("DR_NEG").and_then(|v| v.parse().ok()).unwrap_or(4),
        loss,
        patience: None,
        ..TrainConfig::default()
    }
    .check()?;
    let device = Device::flex().autodiff();
    let outcome = train.fit(
        &bundle,
        TrainData {
            encoded: &encoded,
            train: &scores,
            valid: None,
            popularity: &popularity,
        },
        &device,
        None,
        &mut ProgressBarObserver::new(),
    )?;
    let inner = Device::flex();
    let model = outcome.model.valid();
    let embeddings = CatalogEmbeddings::compute(&model, &encoded, &inner, 1024)?;
    let deeprecs = embeddings.into_recommender("deeprecs (attention text)")?;

    let results = vec![
        evaluate(&deeprecs, &set)?,
        evaluate(
            &TfIdfRecommender::fit(&catalog, &TfIdfConfig::default())?,
            &set,
        )?,
        evaluate(
            &CoocRecommender::fit(&counter, &split, &log, &Scorer::default())?,
            &set,
        )?,
        evaluate(&PopularityRecommender::from_split(&split), &set)?,
        evaluate(&RandomRecommender::new(n, 42), &set)?,
    ];
    println!("{}", comparison_markdown(&results));
    Ok(())
}
