//! Prints the baseline comparison table on UCI Online Retail, with the reference protocol:
//! training until 2011-10-01, test from then on (no validation period), 7-day window counted
//! once per customer with no neighbour cap (exactly "pairs bought by the same customer within
//! the window"), 10 % of the products with training events cold at random (plus the products
//! first seen after the cutoff), split seed 42, long tail below 5 training events, positives
//! bought by at least 3 distinct customers. The co-occurrence baseline is counted on the
//! training events with the same options.
//!
//! ```text
//! cargo run --release -p deeprecs-train --example baselines_online_retail -- ../shared/data
//! cargo run --release -p deeprecs-train --example baselines_online_retail -- ../shared/data --neighbour-cap 100 --json
//! ```
//!
//! The data folder holds `online-retail/online_retail.csv.gz`; without an argument
//! `DEEPRECS_DATA_DIR` or `../shared/data` is used.

use std::path::PathBuf;
use std::time::Instant;

use deeprecs_cooc::{ColdStart, CoocConfig, Cutoff, Scorer, SplitConfig};
use deeprecs_core::{Catalog, EventLog, FeatureSchema};
use deeprecs_train::eval::{
    CoocRecommender, EvalConfig, EvalSet, PopularityRecommender, RandomRecommender, Recommender,
    ResultSlice, SeedCase, Slice, TfIdfConfig, TfIdfRecommender, comparison_json,
    comparison_markdown, evaluate,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut dir = None;
    let mut cap: Option<u32> = None;
    let mut json = false;
    let mut split_seed = 42u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => json = true,
            "--neighbour-cap" => {
                let v = args
                    .next()
                    .ok_or("--neighbour-cap needs a value (a number or none)")?;
                cap = if v == "none" { None } else { Some(v.parse()?) };
            }
            "--split-seed" => {
                split_seed = args.next().ok_or("--split-seed needs a number")?.parse()?;
            }
            "-h" | "--help" => {
                eprintln!(
                    "usage: baselines_online_retail [DATA_DIR] [--neighbour-cap N|none] [--split-seed N] [--json]"
                );
                return Ok(());
            }
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let dir = dir
        .or_else(|| std::env::var_os("DEEPRECS_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
        });
    let file = dir.join("online-retail/online_retail.csv.gz");
    if !file.exists() {
        return Err(format!(
            "{} not found: pass the data folder as the first argument",
            file.display()
        )
        .into());
    }
    let schema = FeatureSchema::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/online_retail.schema.toml"
    ))?;

    let t = Instant::now();
    let (catalog, _) = Catalog::read(&file, &schema)?;
    let (log, _) = EventLog::read(&file, &schema, &catalog)?;
    let n = catalog.len();
    eprintln!(
        "read {n} products, {} events in {:.2} s",
        log.len(),
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let split = SplitConfig {
        train_until: Cutoff::At("2011-10-01".into()),
        valid_until: Cutoff::At("2011-10-01".into()),
        cold_start: ColdStart::RandomShare(0.1),
        long_tail_below: 5,
        seed: split_seed,
    }
    .check()?
    .split(&log, n)?;
    let counter = CoocConfig {
        neighbour_cap: cap,
        ..CoocConfig::default()
    }
    .check()?;
    let params = EvalConfig::default().check()?;
    let (set, _) = EvalSet::from_split(&params, &split, &log, &counter)?;
    eprintln!(
        "split and test pairs in {:.2} s: {} test seeds (cold {}, tail {}, warm {}), {} positive pairs; cold products {} ({} drawn at random, {} first seen after the cutoff); neighbour cap {cap:?}",
        t.elapsed().as_secs_f64(),
        set.cases().len(),
        set.seeds_in(Slice::Cold),
        set.seeds_in(Slice::Tail),
        set.seeds_in(Slice::Warm),
        set.positives_total(),
        split.summary().cold_random + split.summary().cold_unseen,
        split.summary().cold_random,
        split.summary().cold_unseen,
    );

    let t = Instant::now();
    let mut models: Vec<Box<dyn Recommender>> = vec![
        Box::new(RandomRecommender::new(n, 42)),
        Box::new(PopularityRecommender::from_split(&split)),
        Box::new(CoocRecommender::fit(
            &counter,
            &split,
            &log,
            &Scorer::default(),
        )?),
        Box::new(TfIdfRecommender::fit(&catalog, &TfIdfConfig::default())?),
    ];
    eprintln!("baselines fit in {:.2} s", t.elapsed().as_secs_f64());

    // The cold seeds drawn at random (they have training-period events in the raw log),
    // without the products first seen after the cutoff: a diagnostic subset.
    let (train_until, _) = split.cutoffs();
    let mut had_history = vec![false; n];
    for e in log.events() {
        if e.timestamp < train_until {
            had_history[e.product.index()] = true;
        }
    }
    let drawn_cold: Vec<SeedCase> = set
        .cases()
        .iter()
        .filter(|c| c.slice == Slice::Cold && had_history[c.seed.index()])
        .cloned()
        .collect();
    let drawn_set = EvalSet::from_cases(&params, n, set.popularity().to_vec(), drawn_cold)?;

    let mut results = Vec::new();
    let mut drawn = Vec::new();
    for m in models.drain(..) {
        let r = evaluate(&m, &set)?;
        eprintln!("evaluated {:<10} in {:.3} s", r.model, r.seconds);
        results.push(r);
        let mut d = evaluate(&m, &drawn_set)?;
        d.slices.retain(|s| s.slice == ResultSlice::Cold);
        drawn.push(d);
    }
    if json {
        println!("{}", comparison_json(&results)?);
    } else {
        println!("{}", comparison_markdown(&results));
        println!(
            "Cold seeds drawn at random only ({} of the {} cold seeds; the others were first seen after the cutoff):\n",
            drawn_set.cases().len(),
            set.seeds_in(Slice::Cold)
        );
        println!("{}", comparison_markdown(&drawn));
    }
    Ok(())
}
