//! All-seeds top-10 over synthetic catalogs: the blocked exact path against the naive
//! per-seed loop on 1 and 2 threads (seeds/s, GFLOP/s, % of the fp32 FMA peak), and the HNSW
//! index's build time, queries/s and recall@10 beside exact search.
//!
//! `cargo bench -p deeprecs-index --bench topk`. Settings (environment variables):
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `TOPK_PRODUCTS` | 100000 | rec vectors in the index |
//! | `TOPK_SEEDS` | 10000 | seeds for the blocked path (seed `i` is product `i`, excluded from its own list) |
//! | `TOPK_NAIVE_SEEDS` | 1000 at 64-d, 250 at 384-d | seeds for the naive loop (it is slow) |
//! | `TOPK_DIMS` | `64,384` | dimensions |
//! | `TOPK_THREADS` | `1,2` | thread counts |
//! | `TOPK_ANN` | `1` | `0` skips the HNSW part |
//! | `TOPK_ANN_QUERIES` | 1000 | queries for recall and QPS |
//! | `TOPK_DATA` | `clustered` | `clustered` (1000 clusters) or `gaussian` (isotropic: hardest for HNSW) |
//! | `TOPK_SWEEP` | `0` | `1` also times several block sizes (4000 seeds, `TOPK_SWEEP_THREADS` threads, default 1) |
//! | `TOPK_REPEATS` | 2 | timed runs per measurement; the fastest is reported |
//!
//! **Peak.** fp32 FMA peak = cores × clock × FMA pipes × fp32 lanes per pipe × 2 FLOP. The
//! clock is measured (a chain of dependent f64 additions, 3 cycles each on AMD Zen 4 and Intel
//! since Skylake); pipes × lanes is 2 × 8 for AVX2/FMA (AMD Zen 2–4, where AVX-512 runs as two
//! 256-bit halves, and Intel client cores) and 2 × 16 on Intel server cores with two AVX-512
//! FMA units — override with `TOPK_FLOPS_PER_CYCLE` (FLOP per cycle per core; 32 for the
//! former, 64 for the latter).
//!
//! A note on the numbers: this machine may be shared; each measurement is the fastest of
//! `TOPK_REPEATS` runs, and the 1-minute load average is printed before each part.

use std::hint::black_box;
use std::time::Instant;

use deeprecs_core::rng::SeededRng;
use deeprecs_index::{
    BlockSizes, EmbeddingStore, ExactIndex, Exclusions, Hit, HnswIndex, HnswParams, Index,
    Parallelism, recall_at_k,
};
use ndarray::{Array2, ArrayView2, Axis, Slice};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_list(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn cpu_model_and_flags() -> (String, Vec<String>) {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        info.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let model = format!(
        "{} (family {}, model {})",
        field("model name"),
        field("cpu family"),
        field("model\t")
    );
    let flags = field("flags")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (model, flags)
}

/// Core clock in GHz from a dependent chain of f64 additions (3 cycles of latency each): the
/// fastest of many short trials, since a trial that loses the core to another process only
/// reads lower.
fn measure_ghz() -> f64 {
    let n: u64 = 10_000_000;
    let mut best = 0.0f64;
    for _ in 0..100 {
        let mut x = black_box(1.0f64);
        let y = black_box(1e-12f64);
        let t = Instant::now();
        for _ in 0..n {
            x += y;
        }
        black_box(x);
        best = best.max(3.0 * n as f64 / t.elapsed().as_secs_f64() / 1e9);
    }
    best
}

fn gauss(rng: &mut SeededRng) -> f32 {
    let u = 1.0 - rng.next_f64();
    let v = rng.next_f64();
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}

/// Synthetic vectors: isotropic Gaussian, or 1000 Gaussian clusters (centre + noise of about
/// 1.4 times the centre's norm), the latter closer to learned embeddings.
fn synthetic(rng: &mut SeededRng, n: usize, d: usize, clustered: bool) -> Array2<f32> {
    if !clustered {
        return Array2::from_shape_fn((n, d), |_| gauss(rng));
    }
    let clusters = 1000;
    let centres = Array2::from_shape_fn((clusters, d), |_| gauss(rng) / (d as f32).sqrt());
    let noise = 1.4 / (d as f32).sqrt();
    let mut m = Array2::zeros((n, d));
    for mut row in m.rows_mut() {
        let c = centres.row(rng.index(clusters));
        for (x, &cx) in row.iter_mut().zip(c) {
            *x = cx + noise * gauss(rng);
        }
    }
    m
}

fn best_of<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
}

fn rows(m: &Array2<f32>, n: usize) -> ArrayView2<'_, f32> {
    m.slice_axis(Axis(0), Slice::from(0..n.min(m.nrows())))
}

/// The fraction of (query, rank) positions where two result lists name the same row.
fn agreement(a: &[Vec<Hit>], b: &[Vec<Hit>]) -> f64 {
    let mut same = 0usize;
    let mut total = 0usize;
    for (x, y) in a.iter().zip(b) {
        total += x.len().max(y.len());
        same += x.iter().zip(y).filter(|(p, q)| p.row == q.row).count();
    }
    same as f64 / total.max(1) as f64
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: keep that quick.
    if std::env::args().any(|a| a == "--test") || cfg!(debug_assertions) {
        println!("topk bench: skipped (run with `cargo bench`)");
        return;
    }
    let products = env_usize("TOPK_PRODUCTS", 100_000);
    let n_seeds = env_usize("TOPK_SEEDS", 10_000).min(products);
    let dims = env_list("TOPK_DIMS", "64,384");
    let threads_list = env_list("TOPK_THREADS", "1,2");
    let run_ann = env_usize("TOPK_ANN", 1) == 1;
    let ann_queries = env_usize("TOPK_ANN_QUERIES", 1000);
    let sweep = env_usize("TOPK_SWEEP", 0) == 1;
    let repeats = env_usize("TOPK_REPEATS", 2);
    let clustered = std::env::var("TOPK_DATA").map_or(true, |v| v != "gaussian");
    let k = 10;

    let (model, flags) = cpu_model_and_flags();
    let has = |f: &str| flags.iter().any(|x| x == f);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let ghz = measure_ghz();
    let flops_per_cycle = env_usize(
        "TOPK_FLOPS_PER_CYCLE",
        if has("fma") && has("avx2") { 32 } else { 8 },
    );
    let core_peak = ghz * flops_per_cycle as f64;
    println!("# deeprecs-index top-k benchmark");
    println!(
        "cpu: {model}; {cores} cores visible; avx2={} fma={} avx512f={}",
        has("avx2"),
        has("fma"),
        has("avx512f")
    );
    println!(
        "clock (measured, dependent f64 adds): {ghz:.2} GHz; fp32 FMA peak = {flops_per_cycle} FLOP/cycle/core x {ghz:.2} GHz = {core_peak:.1} GFLOP/s per core, {:.1} GFLOP/s for {cores} cores",
        core_peak * cores as f64
    );
    println!(
        "matrixmultiply-threading feature: {} (MATMUL_NUM_THREADS={}; with the feature, every matrix product also runs on that many threads)",
        cfg!(feature = "matrixmultiply-threading"),
        std::env::var("MATMUL_NUM_THREADS").unwrap_or_else(|_| "unset: physical cores".to_owned())
    );
    println!(
        "data: {} synthetic vectors, {products} products, {n_seeds} seeds (blocked), k = {k}",
        if clustered {
            "clustered"
        } else {
            "isotropic Gaussian"
        }
    );

    for &d in &dims {
        println!("\n## d = {d}  (load average {})", load_average());
        // Recs and seeds from one distribution (the same clusters), as a trained seed tower
        // puts a product's seed vector near the rec vectors of its complements.
        let mut rng = SeededRng::new(d as u64);
        let n_query_rows = n_seeds.max(ann_queries);
        let all = synthetic(&mut rng, products + n_query_rows, d, clustered);
        let recs = all.slice_axis(Axis(0), Slice::from(..products)).to_owned();
        let seeds = all.slice_axis(Axis(0), Slice::from(products..)).to_owned();
        drop(all);
        let ids: Vec<String> = (0..products).map(|i| format!("p{i}")).collect();
        let store =
            EmbeddingStore::from_rows(ids.iter().map(String::as_str), recs.view()).expect("store");
        let index = ExactIndex::new(store);
        let own: Vec<Vec<usize>> = (0..n_seeds).map(|i| vec![i]).collect();
        let ex = Exclusions::none();
        let flop_per_seed = 2.0 * products as f64 * d as f64;

        let report = |what: &str, threads: usize, seeds_done: usize, secs: f64| {
            let gflops = flop_per_seed * seeds_done as f64 / secs / 1e9;
            let peak = core_peak * threads as f64;
            println!(
                "| {what:<28} | {threads} | {seeds_done:>6} | {secs:>8.3} s | {:>10.0} seeds/s | {gflops:>7.1} GFLOP/s | {:>5.1} % of {peak:.0} |",
                seeds_done as f64 / secs,
                100.0 * gflops / peak
            );
        };
        println!("| path | threads | seeds | time | throughput | GFLOP/s | % of fp32 FMA peak |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");

        let mut blocked_results = None;
        for &threads in &threads_list {
            let p = pool(threads);
            let (secs, hits) = best_of(repeats, || {
                p.install(|| {
                    index
                        .top_k_batch(rows(&seeds, n_seeds), k, &ex, &own)
                        .expect("blocked")
                })
            });
            report("blocked (rayon over tiles)", threads, n_seeds, secs);
            blocked_results = Some(hits);
        }
        if cfg!(feature = "matrixmultiply-threading") {
            let seq = index.clone().with_parallelism(Parallelism::Sequential);
            let (secs, _) = best_of(repeats, || {
                seq.top_k_batch(rows(&seeds, n_seeds), k, &ex, &own)
                    .expect("sequential")
            });
            let t =
                std::env::var("MATMUL_NUM_THREADS").unwrap_or_else(|_| "physical cores".to_owned());
            report(
                &format!("blocked, GEMM threads ({t})"),
                cores,
                n_seeds,
                secs,
            );
        }

        let naive_seeds =
            env_usize("TOPK_NAIVE_SEEDS", if d <= 64 { 1000 } else { 250 }).min(n_seeds);
        for &threads in &threads_list {
            let p = pool(threads);
            let (secs, naive) = best_of(repeats, || {
                p.install(|| {
                    index
                        .top_k_naive_batch(rows(&seeds, naive_seeds), k, &ex, &own[..naive_seeds])
                        .expect("naive")
                })
            });
            report("naive per-seed loop", threads, naive_seeds, secs);
            if let Some(b) = &blocked_results {
                let agree = agreement(&b[..naive_seeds], &naive);
                if agree < 1.0 {
                    println!(
                        "(blocked and naive agree on {:.4} of ranks: near-ties in the last bits)",
                        agree
                    );
                }
            }
        }

        if sweep {
            let threads = env_usize("TOPK_SWEEP_THREADS", 1);
            let m = 4000.min(n_seeds);
            println!("\nblock-size sweep ({m} seeds, {threads} threads):");
            let p = pool(threads);
            for (qb, rb) in [
                (64, 2048),
                (128, 2048),
                (128, 4096),
                (256, 1024),
                (256, 2048),
                (256, 4096),
                (512, 1024),
                (512, 2048),
            ] {
                let idx = index
                    .clone()
                    .with_block_sizes(BlockSizes::new(qb, rb).expect("sizes"));
                let (secs, _) = best_of(repeats, || {
                    p.install(|| {
                        idx.top_k_batch(rows(&seeds, m), k, &ex, &own[..m])
                            .expect("sweep")
                    })
                });
                let gflops = flop_per_seed * m as f64 / secs / 1e9;
                println!(
                    "  {qb:>4} x {rb:<5}: {gflops:.1} GFLOP/s ({:.1} % of peak)",
                    100.0 * gflops / (core_peak * threads as f64)
                );
            }
        }

        if run_ann {
            println!(
                "\nHNSW (usearch), {} queries not in the index  (load average {})",
                ann_queries,
                load_average()
            );
            let queries = rows(&seeds, ann_queries).to_owned();
            let maxt = *threads_list.iter().max().unwrap_or(&1);
            let p = pool(maxt);
            let (exact_batch_secs, truth) = best_of(repeats, || {
                p.install(|| {
                    index
                        .top_k_batch(queries.view(), k, &ex, &[])
                        .expect("exact")
                })
            });
            let single = index.clone().with_parallelism(Parallelism::Sequential);
            let (exact_single_secs, _) = best_of(1, || {
                for q in queries.rows().into_iter().take(200) {
                    black_box(single.top_k(q, k, &ex).expect("exact single"));
                }
            });
            println!(
                "exact: batched {:.0} queries/s ({maxt} threads); one query at a time {:.0} queries/s (1 thread)",
                ann_queries as f64 / exact_batch_secs,
                200.0 / exact_single_secs
            );
            let params = HnswParams::new(16, 200, 64).expect("params");
            let t = Instant::now();
            let mut ann =
                p.install(|| HnswIndex::build(index.store().clone(), params).expect("build"));
            println!(
                "build: {:.1} s ({maxt} threads, M = {}, ef_construction = {})",
                t.elapsed().as_secs_f64(),
                params.connectivity(),
                params.expansion_add()
            );
            println!(
                "| ef | recall@10 | queries/s, 1 thread, one at a time | queries/s, {maxt} threads, batched |"
            );
            println!("| --- | --- | --- | --- |");
            for ef in [16, 32, 64, 128, 256] {
                ann.set_expansion_search(ef).expect("ef");
                let one = pool(1);
                let (single_secs, approx) = best_of(1, || {
                    one.install(|| {
                        queries
                            .rows()
                            .into_iter()
                            .map(|q| ann.top_k(q, k, &ex).expect("ann"))
                            .collect::<Vec<_>>()
                    })
                });
                let (batch_secs, _) = best_of(repeats, || {
                    p.install(|| {
                        ann.top_k_batch(queries.view(), k, &ex, &[])
                            .expect("ann batch")
                    })
                });
                println!(
                    "| {ef} | {:.4} | {:.0} | {:.0} |",
                    recall_at_k(&truth, &approx),
                    ann_queries as f64 / single_secs,
                    ann_queries as f64 / batch_secs
                );
            }
        }
    }
}
