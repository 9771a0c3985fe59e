//! Shared test helpers: deterministic data and the full-sort oracle.
#![allow(dead_code)]

use deeprecs_core::rng::SeededRng;
use deeprecs_index::{EmbeddingStore, Exclusions, Hit};
use ndarray::{Array2, ArrayView1};
use proptest::test_runner::{Config, RngSeed};

/// proptest settings: fixed seed, no persistence files, `cases` cases.
pub fn proptest_config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5EED_DEEB),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A standard normal draw (Box–Muller).
pub fn gauss(rng: &mut SeededRng) -> f32 {
    let u = 1.0 - rng.next_f64();
    let v = rng.next_f64();
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}

/// `n × d` standard normal values.
pub fn gaussian_matrix(rng: &mut SeededRng, n: usize, d: usize) -> Array2<f32> {
    Array2::from_shape_fn((n, d), |_| gauss(rng))
}

/// `n × d` vectors with exactly four non-zero components, each ±1 (`d ≥ 4`). Normalised,
/// every component is 0 or ±0.5, so every dot product is a multiple of 0.25 computed exactly
/// in any summation order — and ties are everywhere.
pub fn tie_matrix(rng: &mut SeededRng, n: usize, d: usize) -> Array2<f32> {
    assert!(d >= 4);
    let mut m = Array2::zeros((n, d));
    for mut row in m.rows_mut() {
        let mut positions: Vec<usize> = (0..d).collect();
        rng.shuffle(&mut positions);
        for &p in &positions[..4] {
            row[p] = if rng.chance(0.5) { 1.0 } else { -1.0 };
        }
    }
    m
}

/// Clustered vectors: `clusters` random unit centres, each point a centre plus noise.
pub fn clustered_matrix(
    rng: &mut SeededRng,
    n: usize,
    d: usize,
    clusters: usize,
    noise: f32,
) -> Array2<f32> {
    let centres = gaussian_matrix(rng, clusters, d);
    let scale = noise / (d as f32).sqrt();
    let mut m = Array2::zeros((n, d));
    for mut row in m.rows_mut() {
        let c = centres.row(rng.index(clusters));
        let norm = c.dot(&c).sqrt();
        for (x, &cx) in row.iter_mut().zip(c) {
            *x = cx / norm + scale * gauss(rng);
        }
    }
    m
}

/// Product ids `p0, p1, …`.
pub fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("p{i}")).collect()
}

/// A store of `vectors` with ids `p0…`.
pub fn store_of(vectors: &Array2<f32>) -> EmbeddingStore {
    EmbeddingStore::from_rows(ids(vectors.nrows()), vectors.view()).unwrap()
}

/// The L2-normalised copy of a query, as the index normalises it (f64 norm).
pub fn normalise(q: ArrayView1<'_, f32>) -> Vec<f32> {
    let norm = q
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    q.iter().map(|&x| (f64::from(x) / norm) as f32).collect()
}

/// The oracle: score every admitted row in f64, sort all of them fully by (score desc, row
/// asc), keep k.
pub fn full_sort_top_k(
    store: &EmbeddingStore,
    query: ArrayView1<'_, f32>,
    k: usize,
    exclusions: &Exclusions,
) -> Vec<(usize, f64)> {
    let q = normalise(query);
    let mut all: Vec<(usize, f64)> = (0..store.row_count())
        .filter(|&row| exclusions.admits(store, row))
        .map(|row| {
            let v = store.vector(row).unwrap();
            let s: f64 = v
                .iter()
                .zip(&q)
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .sum();
            (row, s)
        })
        .collect();
    all.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

/// Exact comparison (for tie data, where every path computes identical scores).
pub fn assert_same_as_oracle(got: &[Hit], oracle: &[(usize, f64)]) {
    let got: Vec<(usize, f64)> = got.iter().map(|h| (h.row, f64::from(h.score))).collect();
    assert_eq!(got, oracle);
}

/// Tolerant comparison (for general data): same length, scores rank by rank within `tol`,
/// every returned row admitted, distinct, and scored within `tol` of its true score.
pub fn assert_close_to_oracle(
    store: &EmbeddingStore,
    query: ArrayView1<'_, f32>,
    got: &[Hit],
    oracle: &[(usize, f64)],
    exclusions: &Exclusions,
    tol: f64,
) {
    assert_eq!(got.len(), oracle.len(), "result length");
    let q = normalise(query);
    let mut seen = std::collections::HashSet::new();
    for (h, (_, s)) in got.iter().zip(oracle) {
        assert!(
            (f64::from(h.score) - s).abs() <= tol,
            "rank score {} vs {}",
            h.score,
            s
        );
        assert!(
            exclusions.admits(store, h.row),
            "row {} not admitted",
            h.row
        );
        assert!(seen.insert(h.row), "row {} twice", h.row);
        let v = store.vector(h.row).unwrap();
        let true_score: f64 = v
            .iter()
            .zip(&q)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        assert!((f64::from(h.score) - true_score).abs() <= tol);
    }
    for w in got.windows(2) {
        assert!(w[0].score >= w[1].score, "not sorted");
    }
}
