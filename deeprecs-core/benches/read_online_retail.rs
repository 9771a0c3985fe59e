//! Reading throughput of the catalog and event readers on the UCI Online Retail file
//! (541,909 gzip-compressed CSV rows). The data folder comes from `DEEPRECS_DATA_DIR`
//! (default `../shared/data` relative to the workspace root).
//!
//! `cargo bench -p deeprecs-core --bench read_online_retail`

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use deeprecs_core::{Catalog, EventLog, FeatureSchema};

fn data_dir() -> PathBuf {
    std::env::var_os("DEEPRECS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")))
}

fn bench(c: &mut Criterion) {
    let file = data_dir().join("online-retail/online_retail.csv.gz");
    if !file.exists() {
        eprintln!(
            "skipping: {} not found (set DEEPRECS_DATA_DIR)",
            file.display()
        );
        return;
    }
    let schema = FeatureSchema::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/online_retail.schema.toml"
    ))
    .expect("schema");
    let (catalog, report) = Catalog::read(&file, &schema).expect("catalog");
    let rows = report.rows_read;
    let mut group = c.benchmark_group("online_retail");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(rows));
    group.bench_function("catalog", |b| {
        b.iter(|| Catalog::read(&file, &schema).expect("catalog").0.len())
    });
    group.bench_function("events", |b| {
        b.iter(|| {
            EventLog::read(&file, &schema, &catalog)
                .expect("events")
                .0
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
