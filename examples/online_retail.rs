//! Real data: DeepRecs on UCI Online Retail, compared with the baselines.
//!
//! Online Retail is a year of a UK online gift shop's invoices (about 540,000 lines, 4,000
//! products, 4,300 customers). The example reads it with `examples/online_retail.schema.toml`
//! (customers' purchases are the events, the product description is the only text), prepares
//! it on the protocol of `docs/src/online-retail.md` — train before 2011-10-01, test from
//! then on, pairs bought by the same customer within 7 days, 10 % of the products made cold
//! at random (seed 42), test positives bought by at least 3 customers — trains the two towers
//! and prints the evaluation table (DeepRecs vs co-occurrence, TF-IDF, popularity, random,
//! per slice: cold, tail, warm, all).
//!
//! ```sh
//! cargo run --release -p deeprecs-examples --example online_retail -- [DATA_DIR] [EPOCHS]
//! ```
//! `DATA_DIR` (default: `$DEEPRECS_DATA_DIR`, else `../shared/data`) must hold
//! `online-retail/online_retail.csv.gz`; `EPOCHS` defaults to 4.
//!
//! ## Getting the data
//! 1. Download "Online Retail" from the UCI Machine Learning Repository,
//!    <https://archive.ics.uci.edu/dataset/352/online+retail> (`online+retail.zip`, which
//!    holds `Online Retail.xlsx`).
//! 2. Save the sheet as CSV with its header row (`InvoiceNo,StockCode,Description,Quantity,
//!    InvoiceDate,UnitPrice,CustomerID,Country`), e.g. with LibreOffice
//!    (`soffice --headless --convert-to csv "Online Retail.xlsx"`) or pandas
//!    (`pd.read_excel("Online Retail.xlsx").to_csv("online_retail.csv", index=False)`).
//! 3. `mkdir -p DATA_DIR/online-retail && gzip -c online_retail.csv > DATA_DIR/online-retail/online_retail.csv.gz`
//!
//! A debug build takes several minutes per epoch; use `--release` for real runs.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use deeprecs_cooc::{ColdStart, Cutoff, SplitConfig};
use deeprecs_core::{Catalog, EventLog, FeatureSchema};
use deeprecs_encoders::{FusionConfig, TowerConfig, TwoTowerConfig};
use deeprecs_train::eval::comparison_markdown;
use deeprecs_train::{DataConfig, Experiment, ProgressBarObserver, TrainConfig};

/// The schema of the Online Retail CSV (also used by the CLI and the tests).
const SCHEMA: &str = include_str!("online_retail.schema.toml");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("DEEPRECS_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let epochs: usize = match args.next() {
        Some(e) => e
            .parse()
            .map_err(|_| format!("EPOCHS must be a number, got {e:?}"))?,
        None => 4,
    };
    let file = dir.join("online-retail/online_retail.csv.gz");
    if !file.exists() {
        return Err(format!(
            "{} not found: download Online Retail from UCI and gzip its CSV there (see the \
             doc comment of examples/online_retail.rs), or pass the data folder",
            file.display()
        )
        .into());
    }

    let t = Instant::now();
    let schema = FeatureSchema::from_toml_str(SCHEMA, "online_retail.schema.toml")?;
    let (catalog, report) = Catalog::read(&file, &schema)?;
    println!("catalog  {report}");
    let (log, report) = EventLog::read(&file, &schema, &catalog)?;
    println!("events   {report}");
    let config = DataConfig {
        split: SplitConfig {
            train_until: Cutoff::At("2011-10-01".into()),
            valid_until: Cutoff::At("2011-10-01".into()), // no validation period
            cold_start: ColdStart::RandomShare(0.1),
            long_tail_below: 5,
            seed: 42,
        },
        ..DataConfig::default() // 7-day window, min support 3
    };
    let exp = Experiment::prepare(schema, catalog, log, &config)?;
    let s = exp.summary();
    println!(
        "prepared in {:.1} s: {} products ({} cold), {} training pairs; test seeds: {} cold, \
         {} tail, {} warm",
        t.elapsed().as_secs_f64(),
        s.products,
        s.cold_products,
        s.train_pairs,
        s.test_seeds[0],
        s.test_seeds[1],
        s.test_seeds[2]
    );

    // Every field with its kind's default encoder (attention pooling over the description's
    // words), 64-wide, weighted-sum fusion and dense 128 → 64.
    let tower = TowerConfig::for_schema(exp.schema())
        .with_dim(64)
        .with_fusion(FusionConfig::new().with_dense(vec![128, 64]));
    let train = TrainConfig {
        epochs,
        patience: None,
        ..TrainConfig::default()
    }
    .check()?;
    let t = Instant::now();
    let (_, outcome) = exp.fit(
        &TwoTowerConfig::new(tower),
        &train,
        &Device::flex().autodiff(),
        None,
        &mut ProgressBarObserver::new(),
    )?;
    println!(
        "trained {} epochs in {:.1} s",
        outcome.history.len(),
        t.elapsed().as_secs_f64()
    );

    let mut results = vec![exp.evaluate_model("deeprecs", &outcome.model)?];
    results.extend(exp.baselines()?);
    println!("\n{}", comparison_markdown(&results));
    Ok(())
}
