//! Serving: load a DeepRecs artifact and answer cart and new-product queries.
//!
//! The artifact is one file holding the model, its vocabularies and every product's vectors,
//! as `deeprecs index build` or [`CrossSellIndex::save`] write it. The example
//!
//! - recommends for a cart with the two aggregations: the mean of the items' seed vectors
//!   (`MeanVector`, one search) and the best per-item score (`MaxScore`, one search per item);
//! - filters results: here, every product whose label shares a word with a cart item's label
//!   is excluded (a caller's predicate; allow and deny sets of rows work the same way);
//! - recommends for a brand-new product given as JSON metadata, embedded on the fly.
//!
//! ```sh
//! cargo run -p deeprecs-examples --example serve_cart -- [ARTIFACT] [NEW_PRODUCT_JSON]
//! ```
//! Without an artifact it first trains a small model on the synthetic catalog (one epoch)
//! and saves it in a temporary folder, so the example runs on its own. Without the JSON the
//! new product is a synthetic one (for the standalone artifact) or a copy of the first
//! product's metadata under a new id.

use std::collections::HashSet;
use std::path::PathBuf;

use burn::tensor::Device;
use deeprecs_core::FieldValue;
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_encoders::{TowerConfig, TwoTowerConfig};
use deeprecs_index::{
    BuildOptions, CartAggregation, CrossSellIndex, CrossSellRecommendation, Exclusions,
    QueryOptions,
};
use deeprecs_train::{DataConfig, Experiment, TrainConfig};

/// A brand-new product of the synthetic catalog's schema.
const SYNTHETIC_NEW_PRODUCT: &str = r#"{
    "product_id": "NEW-1",
    "name": "Trail running shoes",
    "description": "Lightweight running shoes with a grippy sole for trail runs",
    "brand": "Stridewell",
    "categories": "Sports|Running"
}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tmp = tempfile::tempdir()?;
    let (path, standalone) = match args.next() {
        Some(p) => (PathBuf::from(p), false),
        None => (build_small_artifact(tmp.path())?, true),
    };
    let index = CrossSellIndex::load(&path, &Device::flex())?;
    println!(
        "loaded {}: {} products, {}-dimensional vectors",
        path.display(),
        index.len(),
        index.dim()
    );

    // A cart of three products from the index.
    let store = index.rec_store();
    let cart: Vec<String> = store
        .live_rows()
        .take(3)
        .filter_map(|row| store.id_of(row).map(str::to_owned))
        .collect();
    println!("\ncart:");
    for id in &cart {
        println!("  {id}  {}", index.label(id).unwrap_or(""));
    }
    let top = QueryOptions::top(5);
    for aggregation in [CartAggregation::MeanVector, CartAggregation::MaxScore] {
        let recs = index.recommend_for_cart(&cart, aggregation, &top)?;
        show(&format!("{aggregation:?}"), &recs);
    }

    // The caller's filter: no product whose label shares a word with a cart item's label.
    let words: HashSet<String> = cart
        .iter()
        .filter_map(|id| index.label(id))
        .flat_map(|l| l.split_whitespace().map(str::to_lowercase))
        .collect();
    let labels: Vec<String> = (0..store.row_count())
        .map(|row| {
            store
                .id_of(row)
                .and_then(|id| index.label(id))
                .unwrap_or("")
                .to_lowercase()
        })
        .collect();
    let filter = Exclusions::none().keep_if(move |row, _id| {
        labels
            .get(row)
            .is_none_or(|l| l.split_whitespace().all(|w| !words.contains(w)))
    });
    let recs = index.recommend_for_cart(
        &cart,
        CartAggregation::MeanVector,
        &top.clone().with_exclusions(filter),
    )?;
    show("MeanVector, no product sharing a word with the cart", &recs);

    // A brand-new product, from its metadata alone.
    let json = match args.next() {
        Some(json) => json,
        None if standalone => SYNTHETIC_NEW_PRODUCT.to_owned(),
        None => copy_of_first_product(&index, &cart[0])?,
    };
    let recs = index.recommend_for_new_product(&json, &top.with_explanations(true))?;
    let (id, values) = index.parse_product(&json)?;
    let name = values.first().map(FieldValue::display).unwrap_or_default();
    show(&format!("new product {id} ({name})"), &recs);
    if let Some(e) = recs.first().and_then(|r| r.explanation.as_ref()) {
        let parts: Vec<String> = e
            .contributions
            .iter()
            .map(|c| format!("{} {:+.3}", c.field, c.contribution))
            .collect();
        println!("  why the first ({:?}): {}", e.method, parts.join(", "));
    }
    Ok(())
}

fn show(title: &str, recs: &[CrossSellRecommendation]) {
    println!("\n{title}:");
    for r in recs {
        println!("  {:.3}  {}  {}", r.score, r.product, r.label);
    }
}

/// Trains a small model on the synthetic catalog and saves its artifact in `dir`.
fn build_small_artifact(dir: &std::path::Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    println!("no artifact given: training a small one on the synthetic catalog");
    let data = generate(&SyntheticConfig {
        products: 300,
        users: 600,
        ..SyntheticConfig::default()
    })?;
    let exp = Experiment::prepare(
        data.schema,
        data.catalog,
        data.events,
        &DataConfig::default(),
    )?;
    let model = TwoTowerConfig::new(TowerConfig::for_schema(exp.schema()).with_dim(16));
    let train = TrainConfig {
        epochs: 1,
        ..TrainConfig::default()
    }
    .check()?;
    let (bundle, outcome) = exp.fit(&model, &train, &Device::flex().autodiff(), None, &mut ())?;
    let index = CrossSellIndex::build_with_model(
        bundle,
        &outcome.model,
        exp.catalog(),
        &BuildOptions::new(),
        |_, _| {},
    )?;
    let path = dir.join("synthetic.deeprecs");
    index.save(&path)?;
    Ok(path)
}

/// A JSON object with the metadata of product `id` under the id `NEW-1`.
fn copy_of_first_product(
    index: &CrossSellIndex,
    id: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let schema = &index.bundle().schema;
    let values = index
        .product_values(id)
        .ok_or("the cart's product has no metadata")?;
    let mut product = serde_json::Map::new();
    product.insert(schema.id_column().to_owned(), "NEW-1".into());
    for (field, value) in schema.fields().iter().zip(values) {
        let v = match value {
            FieldValue::Missing => continue,
            FieldValue::Categorical(s) | FieldValue::Text(s) => s.as_str().into(),
            FieldValue::Multi(items) => items.clone().into(),
        };
        product.insert(field.column.clone(), v);
    }
    Ok(serde_json::Value::Object(product).to_string())
}
