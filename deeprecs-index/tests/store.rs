//! The embedding store: validation, normalisation, add / update / remove / compact.

mod common;

use common::*;
use deeprecs_core::rng::SeededRng;
use deeprecs_index::{EmbeddingStore, Error, ExactIndex, Exclusions, Index, RowSet, Upserted};
use ndarray::{Array2, array};

#[test]
fn vectors_are_normalised_and_checked() {
    let mut store = EmbeddingStore::new(3).unwrap();
    let row = store.insert("a", array![0.0, 3.0, 4.0].view()).unwrap();
    assert_eq!(store.vector(row).unwrap().to_vec(), vec![0.0, 0.6, 0.8]);
    // Tiny and huge (finite) vectors normalise without underflow or overflow.
    store
        .insert("tiny", array![1e-30, 0.0, 0.0].view())
        .unwrap();
    store
        .insert("huge", array![3e38, 3e38, 0.0].view())
        .unwrap();
    for (_, _, v) in store.iter() {
        let n: f32 = v.dot(&v);
        assert!((n - 1.0).abs() < 1e-6);
    }

    type Check = fn(&Error) -> bool;
    let cases: Vec<(ndarray::Array1<f32>, Check)> = vec![
        (array![1.0, 2.0], |e| {
            matches!(
                e,
                Error::DimensionMismatch {
                    expected: 3,
                    got: 2,
                    ..
                }
            )
        }),
        (array![1.0, f32::NAN, 0.0], |e| {
            matches!(e, Error::NonFiniteVector { component: 1, .. })
        }),
        (array![f32::NEG_INFINITY, 0.0, 0.0], |e| {
            matches!(e, Error::NonFiniteVector { component: 0, .. })
        }),
        (array![0.0, 0.0, 0.0], |e| {
            matches!(e, Error::ZeroVector { .. })
        }),
    ];
    for (v, is_expected) in cases {
        let err = store.insert("bad", v.view()).unwrap_err();
        assert!(is_expected(&err), "{err:?}");
        assert!(err.to_string().contains("product `bad`"), "{err}");
    }
    assert_eq!(store.len(), 3, "a failed insert changes nothing");
    assert!(matches!(
        store.insert("", array![1.0, 0.0, 0.0].view()),
        Err(Error::EmptyProductId)
    ));
    assert!(matches!(
        store.insert("a", array![1.0, 0.0, 0.0].view()),
        Err(Error::DuplicateProduct(_))
    ));
    assert!(matches!(
        store.update("zzz", array![1.0, 0.0, 0.0].view()),
        Err(Error::UnknownProduct(_))
    ));
    assert!(matches!(store.remove("zzz"), Err(Error::UnknownProduct(_))));
    assert!(matches!(EmbeddingStore::new(0), Err(Error::ZeroDimension)));
}

#[test]
fn from_rows_checks_ids_and_vectors() {
    let m = array![[1.0, 0.0], [0.0, 2.0]];
    assert!(matches!(
        EmbeddingStore::from_rows(["a"], m.view()),
        Err(Error::IdCountMismatch { ids: 1, rows: 2 })
    ));
    assert!(matches!(
        EmbeddingStore::from_rows(["a", "a"], m.view()),
        Err(Error::DuplicateProduct(id)) if id == "a"
    ));
    let err =
        EmbeddingStore::from_rows(["a", "b"], array![[1.0, 0.0], [0.0, 0.0]].view()).unwrap_err();
    assert!(err.to_string().contains("product `b`"), "{err}");
    assert!(matches!(
        EmbeddingStore::from_rows(Vec::<String>::new(), Array2::<f32>::zeros((0, 0)).view()),
        Err(Error::ZeroDimension)
    ));
    // A column-major (transposed) input is accepted and stored row-major.
    let t = array![[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]].reversed_axes();
    let store = EmbeddingStore::from_rows(["x", "y"], t.view()).unwrap();
    assert!(store.vectors().is_standard_layout());
    assert_eq!(
        store.vector_of("y").unwrap().to_vec(),
        vec![0.0, 0.5547002, 0.8320503]
    );
}

#[test]
fn upsert_update_remove_and_compact() {
    let mut store = store_of(&array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
    assert_eq!(
        store.upsert("p1", array![1.0, 0.0].view()).unwrap(),
        Upserted::Updated(1)
    );
    assert_eq!(store.vector_of("p1").unwrap().to_vec(), vec![1.0, 0.0]);
    assert_eq!(
        store.upsert("new", array![0.0, 5.0].view()).unwrap(),
        Upserted::Inserted(3)
    );

    assert_eq!(store.remove("p0").unwrap(), 0);
    assert_eq!(
        (store.len(), store.row_count(), store.tombstones()),
        (3, 4, 1)
    );
    assert!(!store.is_live(0));
    assert_eq!(store.id_of(0), None);
    assert_eq!(store.row_of("p0"), None);
    assert!(store.vector(0).is_none());
    assert_eq!(
        store.vectors().row(0).to_vec(),
        vec![0.0, 0.0],
        "removed rows are zeroed"
    );
    assert_eq!(store.live_rows().collect::<Vec<_>>(), [1, 2, 3]);

    // Re-inserting a removed id appends a new row.
    assert_eq!(
        store.upsert("p0", array![1.0, 1.0].view()).unwrap(),
        Upserted::Inserted(4)
    );

    let before: Vec<(String, Vec<f32>)> = store
        .iter()
        .map(|(_, id, v)| (id.to_owned(), v.to_vec()))
        .collect();
    let remap = store.compact();
    assert_eq!(remap.get(0), None);
    assert_eq!(remap.get(1), Some(0));
    assert_eq!(remap.get(4), Some(3));
    assert_eq!(remap.old_row_count(), 5);
    assert!(!remap.is_identity());
    assert_eq!(
        (store.len(), store.row_count(), store.tombstones()),
        (4, 4, 0)
    );
    assert!(store.vectors().is_standard_layout());
    let after: Vec<(String, Vec<f32>)> = store
        .iter()
        .map(|(_, id, v)| (id.to_owned(), v.to_vec()))
        .collect();
    assert_eq!(before, after, "compaction keeps ids, vectors and order");
    for (row, id, _) in store.iter() {
        assert_eq!(store.row_of(id), Some(row));
    }
    assert!(store.compact().is_identity());
}

#[test]
fn matrix_stays_row_major_through_growth() {
    let mut rng = SeededRng::new(1);
    let mut store = EmbeddingStore::new(7).unwrap();
    let m = gaussian_matrix(&mut rng, 1000, 7);
    for (i, row) in m.rows().into_iter().enumerate() {
        store.insert(&format!("x{i}"), row).unwrap();
        if i % 97 == 0 {
            store.remove(&format!("x{}", i / 2)).ok();
        }
    }
    assert!(store.vectors().is_standard_layout());
    store.compact();
    assert!(store.vectors().is_standard_layout());
    assert_eq!(store.vectors().nrows(), store.len());
}

#[test]
fn row_sets() {
    let store = store_of(&array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]);
    assert!(matches!(
        RowSet::from_ids(&store, ["p0", "nope"]),
        Err(Error::UnknownProduct(_))
    ));
    let (set, unknown) = RowSet::from_known_ids(&store, ["p0", "nope", "p2"]);
    assert_eq!((set.iter().collect::<Vec<_>>(), unknown), (vec![0, 2], 1));
    let mut s: RowSet = [1000, 3, 64, 3].into_iter().collect();
    assert_eq!(s.len(), 3);
    assert_eq!(s.iter().collect::<Vec<_>>(), [3, 64, 1000]);
    assert!(s.remove(64) && !s.remove(64) && !s.remove(1 << 20));
    assert!(!s.contains(64) && s.contains(1000) && !s.contains(5000));
    assert_eq!(format!("{s:?}"), "{3, 1000}");
    // Rows no store can have are ignored rather than allocated for.
    assert!(!s.insert(usize::MAX));
    assert!(!s.contains(usize::MAX));
    assert_eq!(s.len(), 2);
}

#[test]
fn updates_change_results_without_rebuilding() {
    let mut index = ExactIndex::new(store_of(&array![[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]));
    let q = array![0.0, 1.0];
    let top = |index: &ExactIndex| {
        index.recommendations(&index.top_k(q.view(), 1, &Exclusions::none()).unwrap())[0]
            .product
            .clone()
    };
    assert_eq!(top(&index), "p1");
    index.update("p0", array![0.0, 1.0].view()).unwrap();
    assert_eq!(top(&index), "p0", "tie at 1.0: the lower row wins");
    index.remove("p0").unwrap();
    assert_eq!(top(&index), "p1");
    index.remove("p1").unwrap();
    assert_eq!(top(&index), "p2");
    assert!(matches!(
        index.insert("p2", q.view()),
        Err(Error::DuplicateProduct(_))
    ));
    assert!(matches!(
        index.update("p1", q.view()),
        Err(Error::UnknownProduct(_))
    ));
    let remap = index.compact();
    assert_eq!(remap.get(2), Some(0));
    assert_eq!(top(&index), "p2");
}
