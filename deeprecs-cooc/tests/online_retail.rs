//! Reproduces the independent DuckDB reference figures on the UCI Online Retail file (see
//! `shared/data/README.md`): 387,797 distinct (customer, StockCode, InvoiceDate) events,
//! 5,144,230 distinct ordered pairs and 18,739,330 (pair, customer) incidences for a 7-day
//! window counted once per customer, and the top partners of 85123A.
//!
//! The data folder comes from `DEEPRECS_DATA_DIR` (default `../shared/data` next to the
//! workspace). Without the file the test is skipped with a message — unless `CI=true`, where a
//! missing file fails it.

use std::path::PathBuf;

use deeprecs_cooc::{CoocConfig, Counting, Pairing, Scorer, Window};
use deeprecs_core::{Catalog, EventLog, FeatureSchema, SkipReason};

fn data_file() -> Option<PathBuf> {
    let dir = std::env::var_os("DEEPRECS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
        });
    let file = dir.join("online-retail/online_retail.csv.gz");
    if file.exists() {
        return Some(file);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    assert!(
        !ci,
        "CI=true but {} is missing (set DEEPRECS_DATA_DIR)",
        file.display()
    );
    eprintln!(
        "skipping the Online Retail reference test: {} not found (set DEEPRECS_DATA_DIR)",
        file.display()
    );
    None
}

#[test]
fn reproduces_the_duckdb_reference_counts() {
    let Some(file) = data_file() else { return };
    let schema = FeatureSchema::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/online_retail.schema.toml"
    ))
    .unwrap();
    let (catalog, _) = Catalog::read(&file, &schema).unwrap();
    let (log, read) = EventLog::read(&file, &schema, &catalog).unwrap();
    assert_eq!(read.rows_kept, 397_924, "usable purchase lines");
    assert_eq!(read.skipped_for(&SkipReason::UnknownProduct), 0);

    // The reference: no neighbour cap, 7 days inclusive, once per customer, both orders.
    let config = CoocConfig {
        window: Window::days(7),
        counting: Counting::PerUser,
        neighbour_cap: None,
        ..CoocConfig::default()
    };
    let counter = config.check().unwrap();
    let (counts, report) = counter.count(&log, catalog.len()).unwrap();
    assert_eq!(report.pairing, Some(Pairing::TimeWindow { secs: 604_800 }));
    assert_eq!(report.events_in, 397_924);
    assert_eq!(
        report.events_used, 387_797,
        "distinct (customer, StockCode, InvoiceDate)"
    );
    assert_eq!(report.duplicate_events, 397_924 - 387_797);
    assert_eq!(report.users, 4_339);
    assert_eq!(report.distinct_pairs, 5_144_230, "distinct ordered pairs");
    assert_eq!(
        report.pair_incidences, 18_739_330,
        "(pair, customer) incidences"
    );
    assert_eq!(counts.len(), 5_144_230);
    eprintln!("{report}");

    let heart = catalog.require("85123A").unwrap();
    let mut partners: Vec<(f32, &str)> = counts
        .partners(heart)
        .map(|(q, c)| (c, catalog.id(q)))
        .collect();
    partners.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let top: Vec<(&str, f32)> = partners[..5].iter().map(|&(c, id)| (id, c)).collect();
    assert_eq!(
        top,
        [
            ("21733", 275.0),
            ("22804", 202.0),
            ("22470", 201.0),
            ("22469", 195.0),
            ("22457", 189.0)
        ]
    );

    // The default scorer ranks a seed's partners as the counts do; its best scores 1.
    let scores = counts.into_scores(&Scorer::default()).unwrap();
    let best = scores.top(heart, 5);
    let ids: Vec<&str> = best.iter().map(|p| catalog.id(p.rec)).collect();
    assert_eq!(ids, ["21733", "22804", "22470", "22469", "22457"]);
    assert_eq!(best[0].score, 1.0);
    assert!(best.windows(2).all(|w| w[0].score >= w[1].score));
    for p in &best {
        eprintln!(
            "{:<8} {:<40} {:>4} customers  score {:.4}",
            catalog.id(p.rec),
            catalog.label(p.rec),
            p.count,
            p.score
        );
    }

    // The default neighbour cap only trims the bulk buyers' windows.
    let (capped, capped_report) = CoocConfig::default()
        .check()
        .unwrap()
        .count(&log, catalog.len())
        .unwrap();
    assert!(capped_report.pair_incidences < report.pair_incidences);
    assert!(capped_report.capped_events > 0);
    let capped_top: Vec<f32> = {
        let mut c: Vec<f32> = capped.partners(heart).map(|(_, c)| c).collect();
        c.sort_by(|a, b| b.total_cmp(a));
        c.truncate(5);
        c
    };
    eprintln!(
        "default cap {}: {} distinct pairs, {} incidences, {} capped events; top counts of 85123A {:?}",
        deeprecs_cooc::DEFAULT_NEIGHBOUR_CAP,
        capped_report.distinct_pairs,
        capped_report.pair_incidences,
        capped_report.capped_events,
        capped_top
    );
}
