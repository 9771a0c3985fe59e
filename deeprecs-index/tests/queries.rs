//! Cart queries and brand-new products, on the exact and the approximate index.

mod common;

use common::*;
use deeprecs_core::rng::SeededRng;
use deeprecs_index::{
    CartAggregation, Error, ExactIndex, Exclusions, Hit, HnswIndex, HnswParams, Index, RowSet,
};
use ndarray::{Array1, Array2, Axis, array};
use proptest::prelude::*;

const AGGREGATIONS: [CartAggregation; 3] = [
    CartAggregation::MeanVector,
    CartAggregation::SumScore,
    CartAggregation::MaxScore,
];

fn cart_of(rng: &mut SeededRng, n: usize, size: usize) -> (Vec<String>, Vec<usize>) {
    let mut rows: Vec<usize> = (0..size).map(|_| rng.index(n)).collect();
    rows.sort_unstable();
    rows.dedup();
    (rows.iter().map(|r| format!("p{r}")).collect(), rows)
}

proptest! {
    #![proptest_config(proptest_config(48))]

    /// Cart queries never return a cart item, whatever the aggregation, k and filter — also
    /// when the seeds are the cart items' own rec vectors (their best matches).
    #[test]
    fn cart_queries_never_return_cart_items(
        n in 2usize..200,
        d in 2usize..20,
        size in 1usize..6,
        k in 1usize..30,
        seed in any::<u64>(),
    ) {
        let mut rng = SeededRng::new(seed);
        let vectors = gaussian_matrix(&mut rng, n, d);
        let index = ExactIndex::new(store_of(&vectors));
        let (cart, rows) = cart_of(&mut rng, n, size);
        let cart_refs: Vec<&str> = cart.iter().map(String::as_str).collect();
        let seeds = vectors.select(Axis(0), &rows);
        let ex = if rng.chance(0.5) { Exclusions::none() } else { Exclusions::none().deny(RowSet::from_rows([0])) };
        for agg in AGGREGATIONS {
            let hits = match index.top_k_cart(&cart_refs, seeds.view(), k, agg, &ex) {
                Ok(h) => h,
                // Opposite seeds can cancel out; that is a typed error, not a result.
                Err(Error::ZeroVector { .. }) => continue,
                Err(e) => panic!("{e}"),
            };
            prop_assert!(hits.iter().all(|h| !rows.contains(&h.row)), "{agg:?} returned a cart item");
            prop_assert_eq!(hits.len(), k.min(n - rows.len() - usize::from(!ex.admits(index.store(), 0) && !rows.contains(&0))));
        }
    }
}

#[test]
fn mean_vector_is_the_normalised_mean_query() {
    let mut rng = SeededRng::new(3);
    let vectors = gaussian_matrix(&mut rng, 400, 12);
    let index = ExactIndex::new(store_of(&vectors));
    let seeds = gaussian_matrix(&mut rng, 3, 12);
    let cart = ["p1", "p2", "p3"];
    let hits = index
        .top_k_cart(
            &cart,
            seeds.view(),
            10,
            CartAggregation::MeanVector,
            &Exclusions::none(),
        )
        .unwrap();
    // By hand: normalise each seed, average, query with the cart excluded.
    let mut mean = Array1::<f32>::zeros(12);
    for s in seeds.rows() {
        mean += &Array1::from(normalise(s));
    }
    let ex = Exclusions::none().exclude_ids(index.store(), cart);
    let oracle = full_sort_top_k(index.store(), mean.view(), 10, &ex);
    assert_close_to_oracle(index.store(), mean.view(), &hits, &oracle, &ex, 1e-5);
}

#[test]
fn sum_score_ranks_like_mean_vector_with_summed_scores() {
    let mut rng = SeededRng::new(4);
    let vectors = gaussian_matrix(&mut rng, 500, 10);
    let index = ExactIndex::new(store_of(&vectors));
    let seeds = gaussian_matrix(&mut rng, 4, 10);
    let cart = ["a", "b", "c", "d"]; // not in the index: nothing extra excluded
    let ex = Exclusions::none();
    let mean = index
        .top_k_cart(&cart, seeds.view(), 15, CartAggregation::MeanVector, &ex)
        .unwrap();
    let sum = index
        .top_k_cart(&cart, seeds.view(), 15, CartAggregation::SumScore, &ex)
        .unwrap();
    assert_eq!(
        mean.iter().map(|h| h.row).collect::<Vec<_>>(),
        sum.iter().map(|h| h.row).collect::<Vec<_>>()
    );
    // The sum's score is the sum of per-seed cosines, computed directly.
    let normalised: Vec<Vec<f32>> = seeds.rows().into_iter().map(normalise).collect();
    for h in &sum {
        let v = index.store().vector(h.row).unwrap();
        let direct: f64 = normalised
            .iter()
            .map(|q| {
                v.iter()
                    .zip(q)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum::<f64>()
            })
            .sum();
        assert!(
            (f64::from(h.score) - direct).abs() < 1e-5,
            "{} vs {direct}",
            h.score
        );
    }
}

#[test]
fn max_score_equals_brute_force_maximum() {
    // Tie-heavy data: every score exact, so the merge must match a brute-force max exactly.
    let mut rng = SeededRng::new(9);
    for _ in 0..20 {
        let n = 60 + rng.index(200);
        let vectors = tie_matrix(&mut rng, n, 8);
        let index = ExactIndex::new(store_of(&vectors));
        let (cart, rows) = cart_of(&mut rng, n, 4);
        let cart_refs: Vec<&str> = cart.iter().map(String::as_str).collect();
        let seeds = tie_matrix(&mut rng, rows.len(), 8);
        let k = 1 + rng.index(12);
        let got = index
            .top_k_cart(
                &cart_refs,
                seeds.view(),
                k,
                CartAggregation::MaxScore,
                &Exclusions::none(),
            )
            .unwrap();
        let mut all: Vec<(usize, f64)> = (0..n)
            .filter(|r| !rows.contains(r))
            .map(|r| {
                let v = index.store().vector(r).unwrap();
                let best = seeds
                    .rows()
                    .into_iter()
                    .map(|s| {
                        v.iter()
                            .zip(normalise(s))
                            .map(|(&a, b)| f64::from(a) * f64::from(b))
                            .sum::<f64>()
                    })
                    .fold(f64::NEG_INFINITY, f64::max);
                (r, best)
            })
            .collect();
        all.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
        all.truncate(k);
        assert_same_as_oracle(&got, &all);
    }
}

#[test]
fn cart_errors() {
    let index = ExactIndex::new(store_of(&array![[1.0, 0.0], [0.0, 1.0]]));
    let ex = Exclusions::none();
    for agg in AGGREGATIONS {
        assert!(matches!(
            index.top_k_cart(&[], Array2::<f32>::zeros((0, 2)).view(), 1, agg, &ex),
            Err(Error::EmptyCart)
        ));
        assert!(matches!(
            index.top_k_cart(&["p0"], array![[1.0, 0.0], [0.0, 1.0]].view(), 1, agg, &ex),
            Err(Error::IdCountMismatch { ids: 1, rows: 2 })
        ));
        assert!(matches!(
            index.top_k_cart(
                &["a", "b"],
                array![[1.0, f32::NAN], [0.0, 1.0]].view(),
                1,
                agg,
                &ex
            ),
            Err(Error::NonFiniteVector { .. })
        ));
    }
    assert!(matches!(
        index.top_k_cart(
            &["a", "b"],
            array![[1.0, 0.0], [-2.0, 0.0]].view(),
            1,
            CartAggregation::MeanVector,
            &ex
        ),
        Err(Error::ZeroVector { .. })
    ));
}

/// The same new product, queried on the fly (not in the index) and again after its rec vector
/// was inserted, gets the same recommendations — and never itself.
fn new_product_same_before_and_after_insertion(
    index: &mut dyn Index,
    seed: &Array1<f32>,
    rec: &Array1<f32>,
) {
    let ex = Exclusions::none().deny(RowSet::from_rows([5, 6]));
    let before: Vec<Hit> = index
        .top_k_for_product("brand-new", seed.view(), 10, &ex)
        .unwrap();
    let on_the_fly = index.top_k(seed.view(), 10, &ex).unwrap();
    assert_eq!(before, on_the_fly);
    let row = index.insert("brand-new", rec.view()).unwrap();
    let after = index
        .top_k_for_product("brand-new", seed.view(), 10, &ex)
        .unwrap();
    assert_eq!(before, after);
    assert!(after.iter().all(|h| h.row != row));
    // Inserted, it is a candidate for other queries: its own rec vector finds it first.
    let found = index.top_k(rec.view(), 1, &Exclusions::none()).unwrap();
    assert_eq!(found[0].row, row);
}

#[test]
fn new_product_exact() {
    let mut rng = SeededRng::new(12);
    let vectors = gaussian_matrix(&mut rng, 2000, 16);
    let mut index = ExactIndex::new(store_of(&vectors));
    let seed = Array1::from(gaussian_matrix(&mut rng, 1, 16).row(0).to_vec());
    // A rec vector close to the seed, so that it would rank first if it were not excluded.
    let rec = &seed + &(Array1::from(gaussian_matrix(&mut rng, 1, 16).row(0).to_vec()) * 0.01);
    new_product_same_before_and_after_insertion(&mut index, &seed, &rec);
}

#[test]
fn new_product_approximate() {
    let mut rng = SeededRng::new(13);
    let vectors = clustered_matrix(&mut rng, 2000, 16, 20, 0.5);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    // With ef above the catalog size the graph search is exhaustive, so the guarantee holds
    // for the approximate index too (with a smaller ef it holds up to the graph's recall).
    let params = HnswParams::new(16, 200, 4096).unwrap();
    let mut index = pool.install(|| HnswIndex::build(store_of(&vectors), params).unwrap());
    let seed = Array1::from(vectors.row(7).to_vec()) + 0.05;
    let rec = seed.clone();
    new_product_same_before_and_after_insertion(&mut index, &seed, &rec);
}
