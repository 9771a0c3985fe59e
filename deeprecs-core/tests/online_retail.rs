//! Reading the real UCI Online Retail file with the schema committed under `examples/`.
//!
//! The data folder comes from `DEEPRECS_DATA_DIR` (default: `../shared/data` next to the
//! workspace). Outside CI a missing file skips the test with a printed reason; in CI
//! (`CI=true`) it fails.

use std::path::PathBuf;

use deeprecs_core::{Catalog, EventLog, FeatureSchema, FieldValue, SkipReason};

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
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "CI: {} is missing (set DEEPRECS_DATA_DIR)",
        file.display()
    );
    eprintln!(
        "skipping: {} not found (set DEEPRECS_DATA_DIR)",
        file.display()
    );
    None
}

#[test]
fn online_retail_counts() {
    let Some(file) = data_file() else { return };
    let schema = FeatureSchema::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/online_retail.schema.toml"
    ))
    .unwrap();

    let (catalog, report) = Catalog::read(&file, &schema).unwrap();
    assert_eq!(report.rows_read, 541_909);
    assert_eq!(
        catalog.len(),
        3_665,
        "products with a Description among usable purchases"
    );
    let no_customer = SkipReason::Rule("no CustomerID".into());
    let cancellation = SkipReason::Rule("cancellation".into());
    let non_positive = SkipReason::Rule("quantity <= 0".into());
    assert_eq!(report.skipped_for(&no_customer), 135_080);
    assert_eq!(report.skipped_for(&cancellation), 8_905);
    // Every non-positive quantity is on a cancellation or has no customer: the earlier rule
    // counts it, so this rule matches nothing on this file.
    assert_eq!(report.skipped_for(&non_positive), 0);
    assert_eq!(report.rows_kept + report.skipped_total(), report.rows_read);
    // 647 StockCodes carry several descriptions; the most frequent one is kept.
    let heart = catalog.require("85123A").unwrap();
    assert_eq!(
        catalog.value(heart, 0),
        &FieldValue::Text("WHITE HANGING HEART T-LIGHT HOLDER".into())
    );

    let (events, report) = EventLog::read(&file, &schema, &catalog).unwrap();
    assert_eq!(report.rows_read, 541_909);
    assert_eq!(report.rows_kept, 397_924);
    assert_eq!(report.skipped_for(&no_customer), 135_080);
    assert_eq!(report.skipped_for(&cancellation), 8_905);
    assert_eq!(report.skipped_for(&SkipReason::UnknownProduct), 0);
    assert_eq!(events.len(), 397_924);
    assert_eq!(events.user_count(), 4_339);
    assert_eq!(events.basket_count(), 18_536);
    let summary = events.summary(&catalog, 5);
    assert_eq!(summary.products_with_events, 3_665);
    // 12.9 % of products have fewer than 5 purchase lines (the data README's figure).
    let share = summary.long_tail_products as f64 / summary.products_with_events as f64;
    assert!((0.1285..0.1295).contains(&share), "{share}");
    let quantity: f64 = events.events().iter().map(|e| f64::from(e.quantity)).sum();
    assert!(quantity > 5_000_000.0, "{quantity}");
}
