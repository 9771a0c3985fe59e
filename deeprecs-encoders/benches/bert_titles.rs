//! Catalog encoding throughput of the Burn BERT: titles per second for 1,000 Online Retail
//! product names, on flex (CPU) — and, with the `rust-bert` feature, of rust-bert on libtorch
//! in the same process, on the same titles and batches.
//!
//! ```text
//! DEEPRECS_BERT_DIR=…/all-MiniLM-L6-v2 RAYON_NUM_THREADS=1 \
//!   cargo bench -p deeprecs-encoders --bench bert_titles
//! # both engines (libtorch from .ci/libtorch.sh):
//! source .ci/libtorch.sh && deeprecs_libtorch_setup
//! DEEPRECS_BERT_DIR=… RAYON_NUM_THREADS=1 \
//!   cargo bench -p deeprecs-encoders --features rust-bert --bench bert_titles
//! ```
//!
//! Names come from `$DEEPRECS_DATA_DIR/online-retail/online_retail.csv.gz` (default
//! `../shared/data`), read with `examples/online_retail.schema.toml`: the first 1,000 products.
//! Batch sizes: `BERT_BATCHES` (default `32,128`). Threads: set `RAYON_NUM_THREADS` per process
//! (the thread pool is fixed once per process); with `rust-bert`, libtorch gets the same
//! number of intra-op threads. Reports the time spent tokenising and in the network
//! separately (Burn), and each engine's best of 3 passes over the 1,000 titles.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use deeprecs_core::{Catalog, FeatureSchema};
use deeprecs_encoders::bert::BertModel;

const TITLES: usize = 1_000;

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let Some(bert_dir) = std::env::var_os("DEEPRECS_BERT_DIR").map(PathBuf::from) else {
        eprintln!("bert_titles: skipped, DEEPRECS_BERT_DIR is not set (see .ci/run)");
        return;
    };
    let data_dir = std::env::var_os("DEEPRECS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"));
    let csv = data_dir.join("online-retail/online_retail.csv.gz");
    if !csv.is_file() {
        eprintln!("bert_titles: skipped, {} not found", csv.display());
        return;
    }
    let schema = FeatureSchema::from_path(root.join("examples/online_retail.schema.toml"))
        .expect("online retail schema");
    let (catalog, _) = Catalog::read(&csv, &schema).expect("online retail catalog");
    let field = schema
        .field_index("description")
        .expect("description field");
    let titles: Vec<String> = catalog
        .iter()
        .take(TITLES)
        .map(|p| catalog.value(p.idx, field).display())
        .collect();
    assert_eq!(titles.len(), TITLES);

    let device = Device::flex();
    let model = BertModel::from_dir(&bert_dir, &device).expect("BERT model folder");
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    let batches: Vec<usize> = std::env::var("BERT_BATCHES")
        .unwrap_or_else(|_| "32,128".into())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("BERT_BATCHES: comma-separated sizes")
        })
        .collect();
    // Warm-up (allocations, thread pool).
    model.embed(&titles[..64], 32).expect("warm-up");

    for &batch in &batches {
        // Tokeniser alone.
        let t = Instant::now();
        for chunk in titles.chunks(batch) {
            std::hint::black_box(model.tokenize(chunk).expect("tokenize"));
        }
        let tokenize_s = t.elapsed().as_secs_f64();
        // The whole path (tokenise + network + read back), best of 3.
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            let v = model.embed(&titles, batch).expect("embed");
            std::hint::black_box(v);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "bert_titles flex threads={threads} batch={batch}: {:.0} titles/s \
             ({TITLES} titles in {best:.2} s; tokenizer {:.1} % of it)",
            TITLES as f64 / best,
            100.0 * tokenize_s / best
        );
    }

    #[cfg(feature = "rust-bert")]
    rust_bert_engine(&bert_dir, &titles, &batches, &threads);
}

/// The same measurement for rust-bert (libtorch, CPU).
#[cfg(feature = "rust-bert")]
fn rust_bert_engine(
    bert_dir: &std::path::Path,
    titles: &[String],
    batches: &[usize],
    threads: &str,
) {
    use deeprecs_encoders::bert::libtorch::{
        RustBertEmbedder, libtorch_threads, set_libtorch_threads,
    };
    if let Ok(n) = threads.parse::<usize>() {
        set_libtorch_threads(n);
    }
    let model = RustBertEmbedder::from_dir(bert_dir).expect("BERT model folder (rust-bert)");
    model.embed(&titles[..64], 32).expect("warm-up");
    for &batch in batches {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            let v = model.embed(titles, batch).expect("embed");
            std::hint::black_box(v);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "bert_titles rust-bert threads={} batch={batch}: {:.0} titles/s ({TITLES} titles in {best:.2} s)",
            libtorch_threads(),
            TITLES as f64 / best
        );
    }
}
