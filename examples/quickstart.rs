//! Quickstart: the DeepRecs library API end to end, on the built-in synthetic catalog.
//!
//! Generates a small catalog with purchase history, prepares it (time split, co-occurrence
//! scores, vocabularies, test set), trains the two towers for 2 epochs, builds the serving
//! index, recommends for a cold-start product (no purchase in training) and for a cart, then
//! compares the model with the baselines on the test period.
//!
//! ```sh
//! cargo run -p deeprecs-examples --example quickstart
//! ```

use burn::tensor::Device;
use deeprecs_cooc::{Cutoff, ProductRole, SplitConfig};
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_encoders::{TowerConfig, TwoTowerConfig};
use deeprecs_index::{BuildOptions, CartAggregation, CrossSellIndex, QueryOptions};
use deeprecs_train::eval::{EvalConfig, comparison_markdown};
use deeprecs_train::{DataConfig, Experiment, TrainConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Data: products with metadata (name, description, brand, categories) and events.
    let data = generate(&SyntheticConfig {
        products: 400,
        users: 1_000,
        ..SyntheticConfig::default()
    })?;
    // Train before the cold-start period, validate on its first 10 days, test on the rest.
    let from = data.truth.cold_start_from;
    let config = DataConfig {
        split: SplitConfig {
            train_until: Cutoff::At(from.to_string()),
            valid_until: Cutoff::At((from + 10 * 86_400).to_string()),
            ..SplitConfig::default()
        },
        eval: EvalConfig {
            min_support: 2.0,
            ..EvalConfig::default()
        },
        ..DataConfig::default()
    };
    let exp = Experiment::prepare(data.schema, data.catalog, data.events, &config)?;
    println!("{:?}", exp.summary());

    // 2. Train: every schema field with its kind's default encoder, 32-wide vectors.
    let model = TwoTowerConfig::new(TowerConfig::for_schema(exp.schema()).with_dim(32));
    let train = TrainConfig {
        epochs: 2,
        ..TrainConfig::default()
    }
    .check()?;
    let (bundle, outcome) = exp.fit(&model, &train, &Device::flex().autodiff(), None, &mut ())?;
    for r in &outcome.history {
        println!(
            "epoch {}: train loss {:.4}, validation loss {:?}",
            r.epoch, r.train_loss, r.valid_loss
        );
    }

    // 3. Serve: embed the catalog into an index; query a cold-start product and a cart.
    let index = CrossSellIndex::build_with_model(
        bundle,
        &outcome.model,
        exp.catalog(),
        &BuildOptions::new(),
        |_, _| {},
    )?;
    let catalog = exp.catalog();
    let cold = exp
        .split()
        .products(ProductRole::Cold)
        .next()
        .ok_or("no cold product")?;
    println!(
        "\ncold-start product {} ({}):",
        catalog.id(cold),
        catalog.label(cold)
    );
    for r in index.recommend_for_product(catalog.id(cold), &QueryOptions::top(5))? {
        println!("  {:.3}  {}  {}", r.score, r.product, r.label);
    }
    let cart: Vec<&str> = catalog.ids().iter().take(2).map(String::as_str).collect();
    println!("\ncart {cart:?}:");
    for r in index.recommend_for_cart(&cart, CartAggregation::MeanVector, &QueryOptions::top(5))? {
        println!("  {:.3}  {}  {}", r.score, r.product, r.label);
    }

    // 4. Evaluate on the test period, per slice (cold, tail, warm, all), against baselines.
    let mut results = vec![exp.evaluate_model("deeprecs", &outcome.model)?];
    results.extend(exp.baselines()?);
    println!("\n{}", comparison_markdown(&results));
    Ok(())
}
