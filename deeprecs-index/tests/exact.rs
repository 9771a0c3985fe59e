//! The exact index against a full-sort oracle: blocked, single and naive paths, exclusions,
//! filters, block sizes and thread counts.

mod common;

use std::sync::Arc;

use common::*;
use deeprecs_core::rng::SeededRng;
use deeprecs_index::{
    BlockSizes, EmbeddingStore, Error, ExactIndex, Exclusions, Hit, Index, Parallelism, RowSet,
};
use ndarray::{Array2, array};
use proptest::prelude::*;

/// Random exclusions over `n` rows: explicit rows, sometimes an allow set (large or small),
/// a deny set, a predicate.
fn random_exclusions(rng: &mut SeededRng, n: usize) -> Exclusions {
    let mut ex = Exclusions::none();
    if rng.chance(0.5) {
        ex = ex.exclude_rows((0..rng.index(4)).map(|_| rng.index(n)));
    }
    if rng.chance(0.3) {
        // Small allow sets take the gather path; large ones the filter path.
        let p = if rng.chance(0.5) { 0.1 } else { 0.8 };
        ex = ex.allow(RowSet::from_rows((0..n).filter(|_| rng.chance(p))));
    }
    if rng.chance(0.3) {
        ex = ex.deny(RowSet::from_rows((0..n).filter(|_| rng.chance(0.2))));
    }
    if rng.chance(0.3) {
        let m = 2 + rng.index(3);
        ex = ex.keep_if(move |row, _id| row % m != 0);
    }
    ex
}

proptest! {
    #![proptest_config(proptest_config(96))]

    /// On tie-heavy data every score is exact, so blocked, single and naive results must equal
    /// the full sort exactly — rows, scores and the order of ties.
    #[test]
    fn exact_equals_full_sort_with_ties(
        n in 1usize..300,
        d in 4usize..24,
        nq in 1usize..12,
        k in 0usize..15,
        qb in 1usize..9,
        rb in 1usize..70,
        seed in any::<u64>(),
    ) {
        let mut rng = SeededRng::new(seed);
        let vectors = tie_matrix(&mut rng, n, d);
        let queries = tie_matrix(&mut rng, nq, d);
        let exclusions = random_exclusions(&mut rng, n);
        let per_query: Vec<Vec<usize>> = (0..nq).map(|_| vec![rng.index(n)]).collect();
        let index = ExactIndex::new(store_of(&vectors))
            .with_block_sizes(BlockSizes::new(qb, rb).unwrap());

        let blocked = index.top_k_batch(queries.view(), k, &exclusions, &per_query).unwrap();
        let naive = index.top_k_naive_batch(queries.view(), k, &exclusions, &per_query).unwrap();
        for (i, q) in queries.rows().into_iter().enumerate() {
            let ex_i = exclusions.clone().exclude_rows(per_query[i].clone());
            let oracle = full_sort_top_k(index.store(), q, k, &ex_i);
            assert_same_as_oracle(&blocked[i], &oracle);
            assert_same_as_oracle(&naive[i], &oracle);
            assert_same_as_oracle(&index.top_k(q, k, &ex_i).unwrap(), &oracle);
        }
    }

    /// On general (Gaussian) data scores differ from the oracle's f64 ones only by rounding.
    #[test]
    fn exact_matches_full_sort_on_random_data(
        n in 1usize..400,
        d in 1usize..80,
        nq in 1usize..10,
        k in 1usize..20,
        seed in any::<u64>(),
    ) {
        let mut rng = SeededRng::new(seed);
        let vectors = gaussian_matrix(&mut rng, n, d);
        let queries = gaussian_matrix(&mut rng, nq, d);
        let exclusions = random_exclusions(&mut rng, n);
        let index = ExactIndex::new(store_of(&vectors))
            .with_block_sizes(BlockSizes::new(4, 32).unwrap());
        let blocked = index.top_k_batch(queries.view(), k, &exclusions, &[]).unwrap();
        let naive = index.top_k_naive_batch(queries.view(), k, &exclusions, &[]).unwrap();
        for (i, q) in queries.rows().into_iter().enumerate() {
            let oracle = full_sort_top_k(index.store(), q, k, &exclusions);
            assert_close_to_oracle(index.store(), q, &blocked[i], &oracle, &exclusions, 1e-5);
            assert_close_to_oracle(index.store(), q, &naive[i], &oracle, &exclusions, 1e-5);
            let single = index.top_k(q, k, &exclusions).unwrap();
            assert_close_to_oracle(index.store(), q, &single, &oracle, &exclusions, 1e-5);
        }
    }
}

#[test]
fn known_top_k() {
    let store = EmbeddingStore::from_rows(
        ["a", "b", "c", "d"],
        array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]].view(),
    )
    .unwrap();
    let index = ExactIndex::new(store);
    let hits = index
        .top_k(array![2.0, 0.0].view(), 3, &Exclusions::none())
        .unwrap();
    let rows: Vec<usize> = hits.iter().map(|h| h.row).collect();
    assert_eq!(rows, [0, 2, 1]);
    assert_eq!(hits[0].score, 1.0);
    assert!((hits[1].score - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    assert_eq!(hits[2].score, 0.0);
    // k larger than the catalog: everything, sorted.
    let all = index
        .top_k(array![2.0, 0.0].view(), 10, &Exclusions::none())
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].row, 3);
    assert_eq!(all[3].score, -1.0);
}

#[test]
fn all_seeds_query_never_returns_the_seed_itself() {
    let mut rng = SeededRng::new(11);
    let vectors = gaussian_matrix(&mut rng, 500, 16);
    let index = ExactIndex::new(store_of(&vectors));
    let names = ids(500);
    let id_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // Seeds equal to the rec vectors: each seed's best match would be itself.
    let hits = index
        .top_k_for_products(&id_refs, vectors.view(), 5, &Exclusions::none())
        .unwrap();
    for (row, h) in hits.iter().enumerate() {
        assert_eq!(h.len(), 5);
        assert!(h.iter().all(|x| x.row != row), "seed {row} returned itself");
        let oracle = full_sort_top_k(
            index.store(),
            vectors.row(row),
            5,
            &Exclusions::none().exclude_rows([row]),
        );
        assert_close_to_oracle(
            index.store(),
            vectors.row(row),
            h,
            &oracle,
            &Exclusions::none(),
            1e-5,
        );
    }
}

#[test]
fn each_exclusion_kind_is_respected() {
    let mut rng = SeededRng::new(5);
    let vectors = gaussian_matrix(&mut rng, 300, 8);
    let mut index = ExactIndex::new(store_of(&vectors));
    let q = vectors.row(0).to_owned();
    let top_all = index.top_k(q.view(), 300, &Exclusions::none()).unwrap();
    assert_eq!(top_all.len(), 300);

    type Expect = Box<dyn Fn(usize) -> bool>;
    let cases: Vec<(Exclusions, Expect)> = vec![
        (
            Exclusions::none().exclude_ids(index.store(), ["p0", "p7", "not-in-index"]),
            Box::new(|r| r != 0 && r != 7),
        ),
        (
            Exclusions::none().allow(RowSet::from_rows(0..20)),
            Box::new(|r| r < 20),
        ),
        (
            Exclusions::none().allow(RowSet::from_rows(0..250)),
            Box::new(|r| r < 250),
        ),
        (
            Exclusions::none().deny(RowSet::from_rows((0..300).step_by(2))),
            Box::new(|r| r % 2 == 1),
        ),
        (
            Exclusions::none().keep_if(|_, id| id.ends_with('3')),
            Box::new(|r| r % 10 == 3),
        ),
    ];
    for (ex, keep) in &cases {
        let expected: Vec<Hit> = top_all
            .iter()
            .copied()
            .filter(|h| keep(h.row))
            .take(10)
            .collect();
        let single = index.top_k(q.view(), 10, ex).unwrap();
        let batch = index
            .top_k_batch(q.view().insert_axis(ndarray::Axis(0)), 10, ex, &[])
            .unwrap();
        let naive = index
            .top_k_naive_batch(q.view().insert_axis(ndarray::Axis(0)), 10, ex, &[])
            .unwrap();
        for got in [&single, &batch[0], &naive[0]] {
            let got_rows: Vec<usize> = got.iter().map(|h| h.row).collect();
            let exp_rows: Vec<usize> = expected.iter().map(|h| h.row).collect();
            assert_eq!(got_rows, exp_rows, "{ex:?}");
        }
    }

    // Removed rows are never returned, whatever the filter.
    index.remove("p1").unwrap();
    let after = index.top_k(q.view(), 300, &Exclusions::none()).unwrap();
    assert_eq!(after.len(), 299);
    assert!(after.iter().all(|h| h.row != 1));
    let batch = index
        .top_k_batch(
            q.view().insert_axis(ndarray::Axis(0)),
            300,
            &Exclusions::none().allow(RowSet::from_rows([1, 2])),
            &[],
        )
        .unwrap();
    assert_eq!(batch[0].iter().map(|h| h.row).collect::<Vec<_>>(), [2]);
}

#[test]
fn filters_that_admit_fewer_than_k_return_fewer() {
    let mut rng = SeededRng::new(8);
    let vectors = gaussian_matrix(&mut rng, 100, 4);
    let index = ExactIndex::new(store_of(&vectors));
    let ex = Exclusions::none().allow(RowSet::from_rows([3, 50, 99]));
    let hits = index.top_k(vectors.row(0), 10, &ex).unwrap();
    let mut rows: Vec<usize> = hits.iter().map(|h| h.row).collect();
    rows.sort_unstable();
    assert_eq!(rows, [3, 50, 99]);
    let none = index
        .top_k(
            vectors.row(0),
            10,
            &Exclusions::none().keep_if(|_, _| false),
        )
        .unwrap();
    assert!(none.is_empty());
    assert!(
        index
            .top_k(vectors.row(0), 0, &Exclusions::none())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn thread_counts_and_parallelism_give_identical_results() {
    let mut rng = SeededRng::new(21);
    let vectors = gaussian_matrix(&mut rng, 3000, 24);
    let queries = gaussian_matrix(&mut rng, 150, 24);
    let ex = Exclusions::none().deny(RowSet::from_rows((0..3000).step_by(7)));
    let index =
        ExactIndex::new(store_of(&vectors)).with_block_sizes(BlockSizes::new(16, 256).unwrap());
    let default = index.top_k_batch(queries.view(), 10, &ex, &[]).unwrap();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let got = pool.install(|| index.top_k_batch(queries.view(), 10, &ex, &[]).unwrap());
        assert_eq!(got, default, "{threads} threads");
        let single = pool.install(|| index.top_k(queries.row(3), 10, &ex).unwrap());
        let sequential = index
            .clone()
            .with_parallelism(Parallelism::Sequential)
            .top_k(queries.row(3), 10, &ex)
            .unwrap();
        assert_eq!(single, sequential);
    }
    let sequential = index
        .clone()
        .with_parallelism(Parallelism::Sequential)
        .top_k_batch(queries.view(), 10, &ex, &[])
        .unwrap();
    assert_eq!(sequential, default);
}

#[test]
fn bad_queries_are_typed_errors() {
    let index = ExactIndex::new(store_of(&array![[1.0, 0.0], [0.0, 1.0]]));
    let ex = Exclusions::none();
    assert!(matches!(
        index.top_k(array![1.0, 0.0, 0.0].view(), 1, &ex),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 3,
            ..
        })
    ));
    assert!(matches!(
        index.top_k(array![f32::NAN, 0.0].view(), 1, &ex),
        Err(Error::NonFiniteVector { component: 0, .. })
    ));
    assert!(matches!(
        index.top_k(array![0.0, 0.0].view(), 1, &ex),
        Err(Error::ZeroVector { .. })
    ));
    let bad_batch = array![[1.0, 0.0], [0.0, f32::INFINITY]];
    let err = index
        .top_k_batch(bad_batch.view(), 1, &ex, &[])
        .unwrap_err();
    assert!(err.to_string().contains("query 1"), "{err}");
    assert!(matches!(
        index.top_k_batch(Array2::<f32>::zeros((2, 3)).view(), 1, &ex, &[]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        index.top_k_batch(array![[1.0, 0.0]].view(), 1, &ex, &[vec![], vec![]]),
        Err(Error::BatchLength {
            expected: 1,
            got: 2,
            ..
        })
    ));
    assert!(matches!(
        index.top_k_for_products(&["p0", "p1"], array![[1.0, 0.0]].view(), 1, &ex),
        Err(Error::IdCountMismatch { ids: 2, rows: 1 })
    ));
    assert!(BlockSizes::new(0, 4).is_err());
    // An empty batch is fine.
    assert!(
        index
            .top_k_batch(Array2::<f32>::zeros((0, 2)).view(), 3, &ex, &[])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn shared_predicate_is_called_only_for_contenders() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut rng = SeededRng::new(2);
    let vectors = gaussian_matrix(&mut rng, 20_000, 16);
    let index = ExactIndex::new(store_of(&vectors));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let ex = Exclusions::none().keep_if(move |_, _| {
        c.fetch_add(1, Ordering::Relaxed);
        true
    });
    let hits = index
        .top_k_batch(
            vectors
                .rows()
                .into_iter()
                .take(64)
                .map(|r| r.to_owned())
                .fold(Array2::zeros((0, 16)), |mut m, r| {
                    m.push_row(r.view()).unwrap();
                    m
                })
                .view(),
            10,
            &ex,
            &[],
        )
        .unwrap();
    assert_eq!(hits.len(), 64);
    // 64 queries × 20 000 rows = 1 280 000 scores; the predicate sees a small fraction.
    let n = calls.load(Ordering::Relaxed);
    assert!(n < 64 * 20_000 / 20, "predicate called {n} times");
}
