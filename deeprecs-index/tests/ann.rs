//! The approximate (HNSW) index: recall against exact, exact re-scoring, filters with
//! over-fetch and fallback, incremental updates.

mod common;

use common::*;
use deeprecs_core::rng::SeededRng;
use deeprecs_index::{
    Artifact, Error, ExactIndex, Exclusions, HnswIndex, HnswParams, Index, RowSet, recall_at_k,
};
use ndarray::{Array2, Axis, array};

fn data(seed: u64, n: usize, d: usize) -> (Array2<f32>, Array2<f32>) {
    let mut rng = SeededRng::new(seed);
    let all = clustered_matrix(&mut rng, n + 100, d, 40, 0.6);
    let queries = all
        .slice_axis(Axis(0), ndarray::Slice::from(n..))
        .to_owned();
    let vectors = all
        .slice_axis(Axis(0), ndarray::Slice::from(..n))
        .to_owned();
    (vectors, queries)
}

fn build(vectors: &Array2<f32>, params: HnswParams) -> HnswIndex {
    HnswIndex::build(store_of(vectors), params).unwrap()
}

#[test]
fn recall_against_exact_and_exact_scores() {
    let (vectors, queries) = data(1, 5000, 32);
    let exact = ExactIndex::new(store_of(&vectors));
    let ann = build(&vectors, HnswParams::default());
    let ex = Exclusions::none();
    let truth = exact.top_k_batch(queries.view(), 10, &ex, &[]).unwrap();
    let approx = ann.top_k_batch(queries.view(), 10, &ex, &[]).unwrap();
    let recall = recall_at_k(&truth, &approx);
    assert!(recall >= 0.95, "recall@10 = {recall}");
    // Found rows carry exactly the exact index's single-query scores, sorted with row ties.
    for (q, hits) in queries.rows().into_iter().zip(&approx) {
        assert_eq!(hits.len(), 10);
        let exact_all = exact.top_k(q, 5000, &ex).unwrap();
        for h in hits {
            let e = exact_all.iter().find(|e| e.row == h.row).unwrap();
            assert_eq!(e.score, h.score);
        }
        for w in hits.windows(2) {
            assert!(w[0].ranks_before(&w[1]));
        }
    }
    // Single and batch agree.
    assert_eq!(ann.top_k(queries.row(0), 10, &ex).unwrap(), approx[0]);
}

#[test]
fn recall_helper() {
    use deeprecs_index::Hit;
    let h = |row| Hit { row, score: 0.0 };
    assert_eq!(
        recall_at_k(&[vec![h(1), h(2)], vec![]], &[vec![h(2), h(9)], vec![h(3)]]),
        0.5
    );
    assert_eq!(recall_at_k(&[], &[]), 1.0);
}

#[test]
fn exclusions_over_fetch_and_fallback() {
    let (vectors, queries) = data(2, 3000, 16);
    let exact = ExactIndex::new(store_of(&vectors));
    let ann = build(&vectors, HnswParams::new(16, 200, 200).unwrap());
    let n = 3000;
    let cases = vec![
        Exclusions::none().exclude_rows(0..40),
        Exclusions::none().deny(RowSet::from_rows((0..n).step_by(2))),
        // A large allow set: over-fetch and filter.
        Exclusions::none().allow(RowSet::from_rows((0..n).filter(|r| r % 4 != 0))),
        // A small allow set: scanned exactly.
        Exclusions::none().allow(RowSet::from_rows((0..n).step_by(50))),
        // A very selective predicate: falls back to an exact scan.
        Exclusions::none().keep_if(|row, _| row % 997 == 0),
        Exclusions::none().keep_if(|_, id| id.ends_with('7')),
    ];
    for ex in &cases {
        let truth = exact.top_k_batch(queries.view(), 10, ex, &[]).unwrap();
        let approx = ann.top_k_batch(queries.view(), 10, ex, &[]).unwrap();
        for (t, a) in truth.iter().zip(&approx) {
            assert_eq!(a.len(), t.len(), "{ex:?}: as many hits as exist");
            assert!(a.iter().all(|h| ex.admits(ann.store(), h.row)), "{ex:?}");
        }
        let recall = recall_at_k(&truth, &approx);
        assert!(recall >= 0.9, "{ex:?}: recall {recall}");
    }
    // Exhaustive fallbacks are exact: the same hits as the exact single-query path.
    for ex in &cases[3..5] {
        let approx = ann.top_k_batch(queries.view(), 10, ex, &[]).unwrap();
        for (q, a) in queries.rows().into_iter().zip(&approx) {
            assert!(exact.top_k(q, 10, ex).unwrap() == *a, "{ex:?}");
        }
    }
    // Allow sets naming rows the store does not have: ignored, not a panic.
    let odd = Exclusions::none().allow(RowSet::from_rows([5, 6, 3000, 1 << 20]));
    for hits in [
        ann.top_k(queries.row(0), 10, &odd).unwrap(),
        exact.top_k(queries.row(0), 10, &odd).unwrap(),
    ] {
        let mut rows: Vec<usize> = hits.iter().map(|h| h.row).collect();
        rows.sort_unstable();
        assert_eq!(rows, [5, 6]);
    }
    // Per-query exclusions: each seed excludes itself.
    let id_strings = ids(20);
    let id_refs: Vec<&str> = id_strings.iter().map(String::as_str).collect();
    let seeds = vectors.slice_axis(Axis(0), ndarray::Slice::from(..20));
    let hits = ann
        .top_k_for_products(&id_refs, seeds, 5, &Exclusions::none())
        .unwrap();
    for (row, h) in hits.iter().enumerate() {
        assert_eq!(h.len(), 5);
        assert!(h.iter().all(|x| x.row != row));
    }
}

#[test]
fn incremental_insert_update_remove() {
    let (vectors, _) = data(3, 2000, 16);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut ann = pool.install(|| build(&vectors, HnswParams::default()));
    let ex = Exclusions::none();
    // Insert many new products (beyond the graph's initial capacity) and find each.
    let mut rng = SeededRng::new(30);
    let extra = gaussian_matrix(&mut rng, 300, 16);
    for (i, v) in extra.rows().into_iter().enumerate() {
        let row = ann.insert(&format!("new{i}"), v).unwrap();
        assert_eq!(ann.top_k(v, 1, &ex).unwrap()[0].row, row);
    }
    assert_eq!(ann.len(), 2300);
    // Update: the product moves; its old neighbourhood no longer finds it first.
    let old = ann.store().vector_of("new0").unwrap().to_owned();
    let target = ann.store().vector_of("p5").unwrap().to_owned();
    let row = ann.update("new0", (&target * -1.0).view()).unwrap();
    assert_ne!(ann.top_k(old.view(), 1, &ex).unwrap()[0].row, row);
    assert_eq!(
        ann.top_k((&target * -1.0).view(), 1, &ex).unwrap()[0].row,
        row
    );
    // Remove: never returned again, even by a query equal to its vector.
    let v1 = ann.store().vector_of("new1").unwrap().to_owned();
    let row1 = ann.remove("new1").unwrap();
    let hits = ann.top_k(v1.view(), 50, &ex).unwrap();
    assert!(hits.iter().all(|h| h.row != row1));
    assert!(ann.stale_fraction() > 0.0);
    assert!(matches!(ann.remove("new1"), Err(Error::UnknownProduct(_))));
    assert!(matches!(
        ann.insert("p1", v1.view()),
        Err(Error::DuplicateProduct(_))
    ));
    assert!(matches!(
        ann.upsert("bad", ndarray::Array1::from_elem(16, f32::NAN).view()),
        Err(Error::NonFiniteVector { .. })
    ));
    assert_eq!(ann.len(), 2299);

    // Compaction renumbers rows and rebuilds the graph; results by id are unchanged.
    let before = ann.recommendations(&ann.top_k(target.view(), 10, &ex).unwrap());
    let remap = ann.compact().unwrap();
    assert_eq!(remap.get(row1), None);
    assert_eq!(ann.stale_fraction(), 0.0);
    let after = ann.recommendations(&ann.top_k(target.view(), 10, &ex).unwrap());
    assert_eq!(before, after);
}

#[test]
fn parameters_are_checked() {
    assert!(matches!(
        HnswParams::new(1, 100, 100),
        Err(Error::InvalidParameter {
            name: "connectivity",
            ..
        })
    ));
    assert!(matches!(
        HnswParams::new(16, 0, 100),
        Err(Error::InvalidParameter {
            name: "expansion_add",
            ..
        })
    ));
    assert!(matches!(
        HnswParams::new(16, 100, 70_000),
        Err(Error::InvalidParameter {
            name: "expansion_search",
            ..
        })
    ));
    let mut ann = build(&array![[1.0, 0.0], [0.0, 1.0]], HnswParams::default());
    assert!(ann.set_expansion_search(0).is_err());
    ann.set_expansion_search(10).unwrap();
    assert_eq!(ann.params().expansion_search(), 10);
    assert!(matches!(
        ann.top_k(array![1.0].view(), 1, &Exclusions::none()),
        Err(Error::DimensionMismatch { .. })
    ));
    // k = 0 and an empty index give no hit.
    assert!(
        ann.top_k(array![1.0, 0.0].view(), 0, &Exclusions::none())
            .unwrap()
            .is_empty()
    );
    let empty = HnswIndex::build(
        deeprecs_index::EmbeddingStore::new(2).unwrap(),
        HnswParams::default(),
    )
    .unwrap();
    assert!(
        empty
            .top_k(array![1.0, 0.0].view(), 3, &Exclusions::none())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn graph_round_trips_through_the_artifact() {
    let (vectors, queries) = data(4, 3000, 16);
    let mut ann = build(&vectors, HnswParams::new(12, 100, 40).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ann.dra");
    ann.save(&path, &[("model_config", b"{}".as_slice())])
        .unwrap();
    let (loaded, artifact) = HnswIndex::load(&path).unwrap();
    assert_eq!(artifact.section("model_config"), Some(b"{}".as_slice()));
    assert_eq!(loaded.params(), ann.params());
    let ex = Exclusions::none();
    // The same graph answers the same, without a rebuild.
    assert_eq!(
        ann.top_k_batch(queries.view(), 10, &ex, &[]).unwrap(),
        loaded.top_k_batch(queries.view(), 10, &ex, &[]).unwrap()
    );
    // The loaded index keeps accepting updates.
    let mut loaded = loaded;
    let row = loaded.insert("late", queries.row(0)).unwrap();
    assert_eq!(loaded.top_k(queries.row(0), 1, &ex).unwrap()[0].row, row);

    // Removed rows: saving the graph needs a compaction first.
    ann.remove("p3").unwrap();
    assert!(matches!(
        ann.save(&path, &[]),
        Err(Error::InvalidParameter { .. })
    ));
    ann.compact().unwrap();
    ann.save(&path, &[]).unwrap();
    assert_eq!(HnswIndex::load(&path).unwrap().0.len(), 2999);

    // A graph that does not fit the store is a mismatch, not a wrong answer.
    let other = build(
        &vectors
            .slice_axis(Axis(0), ndarray::Slice::from(..100))
            .to_owned(),
        HnswParams::default(),
    );
    let other_bytes = other
        .add_to_artifact(deeprecs_index::ArtifactBuilder::new())
        .unwrap()
        .to_bytes();
    let other_graph = Artifact::from_bytes(other_bytes, "other").unwrap();
    let store_only = ann
        .store()
        .add_to_artifact(deeprecs_index::ArtifactBuilder::new())
        .unwrap()
        .section("ann_params", other_graph.section("ann_params").unwrap())
        .unwrap()
        .section("ann_graph", other_graph.section("ann_graph").unwrap())
        .unwrap()
        .to_bytes();
    let err =
        HnswIndex::from_artifact(&Artifact::from_bytes(store_only, "mixed").unwrap()).unwrap_err();
    assert!(
        matches!(&err, Error::Mismatch { section, .. } if section == "ann_graph"),
        "{err:?}"
    );
    // An artifact without a graph cannot be loaded as an HNSW index (build one instead).
    let plain = ann
        .store()
        .add_to_artifact(deeprecs_index::ArtifactBuilder::new())
        .unwrap()
        .to_bytes();
    assert!(matches!(
        HnswIndex::from_artifact(&Artifact::from_bytes(plain, "plain").unwrap()),
        Err(Error::MissingSection { .. })
    ));
}
