//! The serving index: a random-init two-tower model over a small synthetic catalog, queried by
//! product, by new product and by cart; explanations; incremental updates; the artifact.

use deeprecs_core::synthetic::{SyntheticConfig, SyntheticData, generate};
use deeprecs_core::{Catalog, FeatureSchema, FieldValue, Vocabularies};
use deeprecs_encoders::{ExplainMethod, ModelBundle, TowerConfig, TwoTowerConfig};
use deeprecs_index::artifact::{Artifact, ArtifactBuilder, names};
use deeprecs_index::serve::sections;
use deeprecs_index::{
    BuildOptions, CartAggregation, CrossSellIndex, CrossSellRecommendation, Error, Exclusions,
    HnswParams, QueryOptions, RowSet, SearchKind, Upserted,
};

const AGGREGATIONS: [CartAggregation; 3] = [
    CartAggregation::MeanVector,
    CartAggregation::SumScore,
    CartAggregation::MaxScore,
];

struct Fixture {
    data: SyntheticData,
    bundle: ModelBundle,
}

/// A synthetic catalog of `products` and an untrained model bundle over it: 16-d field
/// vectors, then `dense` layers (empty: the linear tower, explained exactly).
fn fixture(products: usize, dense: Vec<usize>) -> Fixture {
    let data = generate(&SyntheticConfig {
        products,
        users: 40,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx)).unwrap();
    let mut tower = TowerConfig::for_schema(&data.schema);
    tower.dim = 16;
    tower.fusion.dense = dense;
    let bundle = ModelBundle::new(TwoTowerConfig::new(tower), data.schema.clone(), vocabs).unwrap();
    Fixture { data, bundle }
}

/// The first `n` products of a catalog as a catalog of their own.
fn first_products(catalog: &Catalog, n: usize) -> Catalog {
    let mut out = Catalog::new(catalog.schema().clone());
    for p in catalog.iter().take(n) {
        out.push(p.id, p.values.to_vec()).unwrap();
    }
    out
}

fn build(fx: &Fixture, catalog: &Catalog, search: SearchKind) -> CrossSellIndex {
    let options = BuildOptions::default()
        .with_batch_size(32)
        .with_search(search);
    let model = fx.bundle.init(&options.device).unwrap();
    let mut calls = Vec::new();
    let index = CrossSellIndex::build_with_model(
        fx.bundle.clone(),
        &model,
        catalog,
        &options,
        |done, total| calls.push((done, total)),
    )
    .unwrap();
    // Progress: one call per batch, ending at the total.
    assert_eq!(calls.len(), catalog.len().div_ceil(32));
    assert_eq!(calls.last(), Some(&(catalog.len(), catalog.len())));
    assert_eq!(index.len(), catalog.len());
    index
}

fn small_hnsw() -> SearchKind {
    SearchKind::Hnsw(HnswParams::new(8, 64, 64).unwrap())
}

/// Product ids and score bits: equal means identical results.
fn signature(recs: &[CrossSellRecommendation]) -> Vec<(String, u32)> {
    recs.iter()
        .map(|r| (r.product.clone(), r.score.to_bits()))
        .collect()
}

/// A product's values as the JSON object a shop would send.
fn product_json(schema: &FeatureSchema, id: &str, values: &[FieldValue]) -> String {
    let mut map = serde_json::Map::new();
    map.insert(schema.id_column().to_owned(), id.into());
    for (f, v) in schema.fields().iter().zip(values) {
        let json = match v {
            FieldValue::Missing => continue,
            FieldValue::Categorical(s) | FieldValue::Text(s) => s.clone().into(),
            FieldValue::Multi(items) => items.clone().into(),
        };
        map.insert(f.column.clone(), json);
    }
    serde_json::Value::Object(map).to_string()
}

#[test]
fn product_query_excludes_itself_and_returns_k_sorted() {
    let fx = fixture(120, vec![32, 16]);
    let index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    for id in fx.data.catalog.ids().iter().step_by(7) {
        let recs = index
            .recommend_for_product(id, &QueryOptions::top(10))
            .unwrap();
        assert_eq!(recs.len(), 10);
        assert!(recs.iter().all(|r| &r.product != id), "{id} recommended");
        assert!(recs.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(recs.iter().all(|r| r.explanation.is_none()));
        // Labels are the product names (the first text field).
        let idx = fx.data.catalog.require(&recs[0].product).unwrap();
        assert_eq!(recs[0].label, fx.data.catalog.label(idx));
    }
    // All products: everything but the product itself.
    let id = &fx.data.catalog.ids()[3];
    let all = index
        .recommend_for_product(id, &QueryOptions::top(1000))
        .unwrap();
    assert_eq!(all.len(), 119);
    assert!(matches!(
        index.recommend_for_product("no-such-product", &QueryOptions::top(5)),
        Err(Error::UnknownProduct(p)) if p == "no-such-product"
    ));
}

#[test]
fn new_product_gets_the_same_recs_on_the_fly_and_after_insertion() {
    let fx = fixture(120, vec![32, 16]);
    let catalog = first_products(&fx.data.catalog, 110);
    let mut index = build(&fx, &catalog, SearchKind::Exact);
    let schema = &fx.data.schema;

    // Held-out products of the catalog, by values and by JSON, plus a product with words,
    // a brand and a category the vocabularies have never seen (→ <unk>).
    let mut cases: Vec<(String, String)> = fx
        .data
        .catalog
        .iter()
        .skip(110)
        .take(4)
        .map(|p| (p.id.to_owned(), product_json(schema, p.id, p.values)))
        .collect();
    cases.push((
        "NEW-1".to_owned(),
        r#"{"product_id": "NEW-1", "name": "zorblax quantum rain jacket", "brand": "NoSuchBrand", "categories": "Unheard|Of"}"#
            .to_owned(),
    ));

    let query = QueryOptions::top(10);
    for (id, json) in &cases {
        assert!(!index.contains(id));
        let on_the_fly = index.recommend_for_new_product(json, &query).unwrap();
        assert_eq!(on_the_fly.len(), 10);
        let (_, values) = index.parse_product(json).unwrap();
        assert_eq!(
            signature(&index.recommend_for_values(id, &values, &query).unwrap()),
            signature(&on_the_fly)
        );

        let (got_id, upserted) = index.upsert_product_json(json).unwrap();
        assert_eq!(&got_id, id);
        assert!(matches!(upserted, Upserted::Inserted(_)));
        // Same products, same score bits, same labels.
        let after = index.recommend_for_product(id, &query).unwrap();
        assert_eq!(after, on_the_fly, "{id}");
        // And on the fly once more, now that it is in the index (itself excluded).
        let again = index.recommend_for_new_product(json, &query).unwrap();
        assert_eq!(again, after);
    }
    assert_eq!(index.len(), 115);
    // Earlier new products are candidates for later ones' queries.
    let all = index
        .recommend_for_product("NEW-1", &QueryOptions::top(1000))
        .unwrap();
    assert_eq!(all.len(), 114);
    assert!(all.iter().any(|r| r.product == cases[0].0));
    // The new product is now a candidate for others, with a label from its name.
    assert_eq!(index.label("NEW-1"), Some("zorblax quantum rain jacket"));
}

#[test]
fn cart_queries_never_return_cart_items() {
    let fx = fixture(120, vec![32, 16]);
    let mut index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    let ids = fx.data.catalog.ids();
    let carts: Vec<Vec<&str>> = vec![
        vec![&ids[0]],
        vec![&ids[1], &ids[2]],
        vec![&ids[5], &ids[50], &ids[99], &ids[17]],
        vec![&ids[8], &ids[8], &ids[9]], // repeated item counts once
    ];
    for search in ["exact", "hnsw"] {
        if search == "hnsw" {
            index = build(&fx, &fx.data.catalog, small_hnsw());
        }
        for cart in &carts {
            let distinct: std::collections::HashSet<&str> = cart.iter().copied().collect();
            for agg in AGGREGATIONS {
                for k in [5, 1000] {
                    let recs = index
                        .recommend_for_cart(cart, agg, &QueryOptions::top(k))
                        .unwrap();
                    assert!(
                        recs.iter().all(|r| !distinct.contains(r.product.as_str())),
                        "{search} {agg:?} returned a cart item for {cart:?}"
                    );
                    if search == "exact" {
                        assert_eq!(recs.len(), k.min(120 - distinct.len()));
                    }
                    assert!(recs.windows(2).all(|w| w[0].score >= w[1].score));
                }
            }
        }
    }
    let no_cart: [&str; 0] = [];
    assert!(matches!(
        index.recommend_for_cart(&no_cart, CartAggregation::MeanVector, &QueryOptions::top(5)),
        Err(Error::EmptyCart)
    ));
    assert!(matches!(
        index.recommend_for_cart(&[ids[0].as_str(), "ghost"], CartAggregation::MaxScore, &QueryOptions::top(5)),
        Err(Error::UnknownProduct(p)) if p == "ghost"
    ));
}

#[test]
fn single_item_cart_equals_product_query() {
    let fx = fixture(80, vec![32, 16]);
    let index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    let id = &fx.data.catalog.ids()[4];
    let by_product = index
        .recommend_for_product(id, &QueryOptions::top(10))
        .unwrap();
    for agg in [CartAggregation::MaxScore, CartAggregation::MeanVector] {
        let by_cart = index
            .recommend_for_cart(&[id], agg, &QueryOptions::top(10))
            .unwrap();
        let products =
            |r: &[CrossSellRecommendation]| r.iter().map(|x| x.product.clone()).collect::<Vec<_>>();
        assert_eq!(products(&by_cart), products(&by_product), "{agg:?}");
        for (a, b) in by_cart.iter().zip(&by_product) {
            assert!((a.score - b.score).abs() < 1e-5);
        }
    }
}

#[test]
fn filters_apply_to_served_queries() {
    let fx = fixture(100, vec![32, 16]);
    let index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    let id = &fx.data.catalog.ids()[0];
    let plain = index
        .recommend_for_product(id, &QueryOptions::top(10))
        .unwrap();
    // Deny the two best: the rest move up.
    let denied =
        RowSet::from_ids(index.rec_store(), [&plain[0].product, &plain[1].product]).unwrap();
    let recs = index
        .recommend_for_product(
            id,
            &QueryOptions::top(8).with_exclusions(Exclusions::none().deny(denied)),
        )
        .unwrap();
    assert_eq!(signature(&recs), signature(&plain[2..10]));
    // Allow only five products (one of them the seed itself, which stays excluded).
    let allowed: Vec<&str> = fx.data.catalog.ids()[..5]
        .iter()
        .map(String::as_str)
        .collect();
    let allow = RowSet::from_ids(index.rec_store(), allowed.iter().copied()).unwrap();
    let recs = index
        .recommend_for_product(
            id,
            &QueryOptions::top(10).with_exclusions(Exclusions::none().allow(allow)),
        )
        .unwrap();
    assert_eq!(recs.len(), 4);
    assert!(
        recs.iter()
            .all(|r| allowed.contains(&r.product.as_str()) && &r.product != id)
    );
    // A predicate on the id, for a new product too.
    let json = product_json(
        &fx.data.schema,
        "N",
        fx.data.catalog.values(deeprecs_core::ProductIdx(3)),
    );
    let odd_last = |p: &str| p.bytes().last().is_some_and(|b| b % 2 == 1);
    let odd = Exclusions::none().keep_if(move |_, p| odd_last(p));
    let recs = index
        .recommend_for_new_product(&json, &QueryOptions::top(10).with_exclusions(odd))
        .unwrap();
    assert!(!recs.is_empty());
    assert_eq!(recs.len(), 10);
    assert!(recs.iter().all(|r| odd_last(&r.product)));
}

#[test]
fn exact_explanations_add_up_to_the_score() {
    let fx = fixture(80, Vec::new()); // no dense layers: exact split
    let index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    let fields: Vec<String> = fx
        .data
        .schema
        .fields()
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let id = fx.data.catalog.ids()[6].clone();
    let query = QueryOptions::top(6).with_explanations(true);

    let check = |recs: &[CrossSellRecommendation], seeds: &[&str], same_score: bool| {
        assert_eq!(recs.len(), 6);
        for r in recs {
            let e = r.explanation.as_ref().expect("explanation asked for");
            assert_eq!(e.method, ExplainMethod::Exact);
            assert!(seeds.contains(&e.seed.as_str()), "seed {}", e.seed);
            let names: Vec<&str> = e.contributions.iter().map(|c| c.field.as_str()).collect();
            assert_eq!(names, fields.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(
                (e.total() - e.score).abs() < 1e-4,
                "contributions {} vs score {}",
                e.total(),
                e.score
            );
            if same_score {
                assert!(
                    (e.score - r.score).abs() < 1e-4,
                    "{} vs {}",
                    e.score,
                    r.score
                );
            }
        }
    };
    check(
        &index.recommend_for_product(&id, &query).unwrap(),
        &[&id],
        true,
    );
    let json = r#"{"product_id": "NEW", "name": "kids rain jacket", "brand": "Acme"}"#;
    check(
        &index.recommend_for_new_product(json, &query).unwrap(),
        &["NEW"],
        true,
    );
    let ids = fx.data.catalog.ids();
    let cart = [ids[1].as_str(), ids[2].as_str(), ids[3].as_str()];
    let recs = index
        .recommend_for_cart(&cart, CartAggregation::MaxScore, &query)
        .unwrap();
    check(&recs, &cart, false);
    // Under MaxScore the explained pair is the item that gives the score.
    for r in &recs {
        let e = r.explanation.as_ref().unwrap();
        assert!((e.score - r.score).abs() < 1e-4);
    }
    // Explanations only on request, and they do not change the results.
    let plain = index
        .recommend_for_product(&id, &QueryOptions::top(6))
        .unwrap();
    assert!(plain.iter().all(|r| r.explanation.is_none()));
    let explained = index.recommend_for_product(&id, &query).unwrap();
    assert_eq!(signature(&plain), signature(&explained));
}

#[test]
fn occlusion_explanations_with_dense_layers() {
    let fx = fixture(80, vec![32, 16]);
    let index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    let id = fx.data.catalog.ids()[9].clone();
    let recs = index
        .recommend_for_product(&id, &QueryOptions::top(5).with_explanations(true))
        .unwrap();
    for r in &recs {
        let e = r.explanation.as_ref().unwrap();
        assert_eq!(e.method, ExplainMethod::Occlusion);
        assert_eq!(e.seed, id);
        assert_eq!(e.contributions.len(), 4);
        assert!(e.contributions.iter().all(|c| c.contribution.is_finite()));
        assert!((e.score - r.score).abs() < 1e-4);
    }
    // Serialised as documented.
    let json = serde_json::to_value(&recs[0]).unwrap();
    assert!(json["explanation"]["contributions"][0]["field"].is_string());
    assert!(json["explanation"]["method"] == "occlusion");
}

#[test]
fn updates_and_removals() {
    let fx = fixture(100, vec![32, 16]);
    let mut index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    let ids = fx.data.catalog.ids().to_vec();
    let gone = ids[1].clone();
    index.remove_product(&gone).unwrap();
    assert!(!index.contains(&gone));
    assert!(matches!(
        index.recommend_for_product(&gone, &QueryOptions::top(3)),
        Err(Error::UnknownProduct(_))
    ));
    for id in ids.iter().filter(|id| **id != gone).step_by(9) {
        let recs = index
            .recommend_for_product(id, &QueryOptions::top(1000))
            .unwrap();
        assert!(recs.iter().all(|r| r.product != gone));
        assert_eq!(recs.len(), 98);
    }
    assert!(matches!(
        index.remove_product(&gone),
        Err(Error::UnknownProduct(_))
    ));

    // An update: new metadata, new vectors, same product.
    let target = ids[2].clone();
    let before = index.seed_store().vector_of(&target).unwrap().to_owned();
    let new_values = fx
        .data
        .catalog
        .values(deeprecs_core::ProductIdx(40))
        .to_vec();
    let upserted = index.upsert_product(&target, new_values.clone()).unwrap();
    assert!(matches!(upserted, Upserted::Updated(_)));
    assert_ne!(
        index.seed_store().vector_of(&target).unwrap(),
        before.view()
    );
    assert_eq!(index.product_values(&target), Some(new_values.as_slice()));
    // Now it is embedded like product 40 (same metadata): same recommendations apart from
    // the two products themselves.
    let strip = |recs: Vec<CrossSellRecommendation>| {
        recs.into_iter()
            .filter(|r| r.product != target && r.product != ids[40])
            .map(|r| r.product)
            .collect::<Vec<_>>()
    };
    let a = strip(
        index
            .recommend_for_product(&target, &QueryOptions::top(12))
            .unwrap(),
    );
    let b = strip(
        index
            .recommend_for_values(&target, &new_values, &QueryOptions::top(12))
            .unwrap(),
    );
    assert_eq!(a, b);

    // Bad metadata: typed error naming the product, index unchanged.
    let bad = r#"{"product_id": "BAD", "brand": ["a", "b"]}"#;
    match index.upsert_product_json(bad) {
        Err(Error::ProductData { product, .. }) => assert_eq!(product, "BAD"),
        other => panic!("expected ProductData, got {other:?}"),
    }
    assert!(!index.contains("BAD"));
    assert!(matches!(
        index.recommend_for_new_product("not json", &QueryOptions::top(3)),
        Err(Error::ProductData { .. })
    ));
}

#[test]
fn hnsw_index_needs_compaction_before_saving() {
    let fx = fixture(90, vec![32, 16]);
    let mut index = build(&fx, &fx.data.catalog, small_hnsw());
    index.remove_product(&fx.data.catalog.ids()[0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dra");
    assert!(matches!(
        index.save(&path),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(!path.exists());
    index.compact().unwrap();
    index.save(&path).unwrap();
    let loaded = CrossSellIndex::load(&path, &BuildOptions::default().device).unwrap();
    assert_eq!(loaded.len(), 89);
    assert_eq!(loaded.search_kind(), index.search_kind());
}

fn assert_same_answers(a: &CrossSellIndex, b: &CrossSellIndex, ids: &[String]) {
    for id in ids {
        assert_eq!(
            signature(&a.recommend_for_product(id, &QueryOptions::top(10)).unwrap()),
            signature(&b.recommend_for_product(id, &QueryOptions::top(10)).unwrap()),
            "{id}"
        );
    }
    let cart = [ids[0].as_str(), ids[1].as_str()];
    for agg in AGGREGATIONS {
        assert_eq!(
            signature(
                &a.recommend_for_cart(&cart, agg, &QueryOptions::top(10))
                    .unwrap()
            ),
            signature(
                &b.recommend_for_cart(&cart, agg, &QueryOptions::top(10))
                    .unwrap()
            ),
        );
    }
    let json = r#"{"product_id": "NEW", "name": "wooden toy train", "categories": ["Toys"]}"#;
    let query = QueryOptions::top(10).with_explanations(true);
    assert_eq!(
        a.recommend_for_new_product(json, &query).unwrap(),
        b.recommend_for_new_product(json, &query).unwrap()
    );
}

#[test]
fn artifact_round_trip_is_bit_identical() {
    let fx = fixture(100, vec![32, 16]);
    let ids: Vec<String> = fx.data.catalog.ids()[..95]
        .iter()
        .step_by(11)
        .cloned()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for (name, search) in [("exact", SearchKind::Exact), ("hnsw", small_hnsw())] {
        let mut index = build(&fx, &first_products(&fx.data.catalog, 95), search);
        // Incremental changes are saved too.
        let new = fx.data.catalog.product(deeprecs_core::ProductIdx(97));
        index.upsert_product(new.id, new.values.to_vec()).unwrap();
        let path = dir.path().join(format!("{name}.dra"));
        index.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            index.to_bytes().unwrap(),
            bytes,
            "{name}: save is deterministic"
        );

        let loaded = CrossSellIndex::load(&path, &BuildOptions::default().device).unwrap();
        assert_eq!(loaded.len(), 96);
        assert_eq!(loaded.search_kind(), search);
        assert_eq!(loaded.label(new.id), index.label(new.id));
        assert_same_answers(&index, &loaded, &ids);
        // Same bytes when re-saved.
        assert_eq!(
            loaded.to_bytes().unwrap(),
            bytes,
            "{name}: re-saved bytes differ"
        );
        let again = dir.path().join(format!("{name}-again.dra"));
        loaded.save(&again).unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), bytes);
        // The artifact has the documented sections.
        let artifact = Artifact::read(&path).unwrap();
        for s in [
            sections::SERVING_META,
            names::MODEL_CONFIG,
            names::WEIGHTS,
            names::IDS,
            names::EMBEDDINGS,
            sections::SEED_EMBEDDINGS,
            sections::LABELS,
            sections::PRODUCT_VALUES,
        ] {
            assert!(artifact.section(s).is_some(), "{name}: no section {s}");
        }
    }
}

#[test]
fn truncated_and_bit_flipped_artifacts_are_errors() {
    let fx = fixture(70, vec![32, 16]);
    let index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    let bytes = index.to_bytes().unwrap();
    let device = BuildOptions::default().device;
    let load = |b: Vec<u8>| CrossSellIndex::from_bytes(b, "damaged.dra", &device);
    assert!(load(bytes.clone()).is_ok());

    let len = bytes.len();
    let mut cuts: Vec<usize> = (0..len).step_by(len / 97 + 1).collect();
    cuts.extend([
        0,
        1,
        7,
        8,
        31,
        32,
        33,
        len - 17,
        len - 16,
        len - 9,
        len - 8,
        len - 1,
    ]);
    for cut in cuts {
        match load(bytes[..cut].to_vec()) {
            Err(
                Error::Truncated { .. }
                | Error::ChecksumMismatch { .. }
                | Error::NotAnArtifact { .. },
            ) => {}
            Err(e) => panic!("cut at {cut}: unexpected error {e}"),
            Ok(_) => panic!("cut at {cut}: loaded a truncated artifact"),
        }
    }
    let mut positions: Vec<usize> = (0..len).step_by(len / 211 + 1).collect();
    positions.extend([0, 8, 12, 16, 24, 40, len - 12, len - 1]);
    for pos in positions {
        for bit in [0u8, 5] {
            let mut damaged = bytes.clone();
            damaged[pos] ^= 1 << bit;
            let result = load(damaged);
            assert!(
                result.is_err(),
                "flipping bit {bit} of byte {pos} went unnoticed"
            );
            let message = result.unwrap_err().to_string();
            assert!(message.contains("damaged.dra"), "{message}");
        }
    }
}

/// Rebuilds an artifact with one section replaced (checksums recomputed: the file is intact
/// but its content does not fit).
fn with_section(artifact: &Artifact, name: &str, payload: Vec<u8>) -> Vec<u8> {
    let mut b = ArtifactBuilder::new();
    for s in artifact.section_names() {
        let bytes = if s == name {
            payload.clone()
        } else {
            artifact.section(s).unwrap().to_vec()
        };
        b = b.section(s, bytes).unwrap();
    }
    b.to_bytes()
}

#[test]
fn mismatched_artifacts_are_typed_errors_naming_the_section() {
    let fx = fixture(70, vec![32, 16]);
    let index = build(&fx, &fx.data.catalog, SearchKind::Exact);
    let artifact = Artifact::from_bytes(index.to_bytes().unwrap(), "a.dra").unwrap();
    let device = BuildOptions::default().device;
    let load = |b: Vec<u8>| CrossSellIndex::from_bytes(b, "a.dra", &device);

    // A newer serving format.
    let meta = String::from_utf8(artifact.section(sections::SERVING_META).unwrap().to_vec())
        .unwrap()
        .replace("\"serving_format\":1", "\"serving_format\":9");
    match load(with_section(
        &artifact,
        sections::SERVING_META,
        meta.into_bytes(),
    )) {
        Err(Error::UnsupportedVersion { found: 9, what, .. }) => {
            assert!(what.contains("serving_meta"))
        }
        other => panic!("{other:?}"),
    }
    // The weights of another architecture.
    let other = fixture(70, vec![8]);
    let other_model = other.bundle.init(&device).unwrap();
    let other_weights = deeprecs_encoders::weights_to_bytes(&other_model).unwrap();
    let section_of = |r: Result<CrossSellIndex, Error>| match r {
        Err(Error::Mismatch { section, .. }) => section,
        Err(e) => panic!("expected a mismatch, got {e}"),
        Ok(_) => panic!("expected a mismatch, loaded"),
    };
    assert_eq!(
        section_of(load(with_section(&artifact, names::WEIGHTS, other_weights))),
        names::WEIGHTS
    );
    // Another model config (output dimension 8, not 16).
    assert_eq!(
        section_of(load(with_section(
            &artifact,
            names::MODEL_CONFIG,
            other.bundle.to_json().into_bytes()
        ))),
        sections::SERVING_META
    );
    // Seed vectors of the wrong size, labels of the wrong count, values of the wrong kind.
    assert_eq!(
        section_of(load(with_section(
            &artifact,
            sections::SEED_EMBEDDINGS,
            vec![0; 64]
        ))),
        sections::SEED_EMBEDDINGS
    );
    assert_eq!(
        section_of(load(with_section(
            &artifact,
            sections::LABELS,
            b"[\"x\"]".to_vec()
        ))),
        sections::LABELS
    );
    let values = String::from_utf8(artifact.section(sections::PRODUCT_VALUES).unwrap().to_vec())
        .unwrap()
        .replacen("{\"text\":", "{\"categorical\":", 1);
    assert_eq!(
        section_of(load(with_section(
            &artifact,
            sections::PRODUCT_VALUES,
            values.into_bytes()
        ))),
        sections::PRODUCT_VALUES
    );
    // A missing section.
    let mut b = ArtifactBuilder::new();
    for s in artifact.section_names().filter(|s| *s != sections::LABELS) {
        b = b.section(s, artifact.section(s).unwrap().to_vec()).unwrap();
    }
    assert!(
        matches!(load(b.to_bytes()), Err(Error::MissingSection { section, .. }) if section == sections::LABELS)
    );
}

#[test]
fn building_checks_the_catalog_and_the_weights() {
    let fx = fixture(70, vec![32, 16]);
    let options = BuildOptions::default();
    // Weights of another architecture.
    let other = fixture(70, vec![8]);
    let weights =
        deeprecs_encoders::weights_to_bytes(&other.bundle.init(&options.device).unwrap()).unwrap();
    assert!(matches!(
        CrossSellIndex::build(
            fx.bundle.clone(),
            &weights,
            &fx.data.catalog,
            &options,
            |_, _| {}
        ),
        Err(Error::Model { .. })
    ));
    // The right weights build the same index as the model in memory.
    let model = fx.bundle.init(&options.device).unwrap();
    let weights = deeprecs_encoders::weights_to_bytes(&model).unwrap();
    let a = CrossSellIndex::build(
        fx.bundle.clone(),
        &weights,
        &fx.data.catalog,
        &options,
        |_, _| {},
    )
    .unwrap();
    let b = CrossSellIndex::build_with_model(
        fx.bundle.clone(),
        &model,
        &fx.data.catalog,
        &options,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
    // A catalog read with another schema.
    let schema = FeatureSchema::from_toml_str(
        "id = \"product_id\"\n[[fields]]\nname = \"name\"\nkind = \"text\"\n",
        "<other>",
    )
    .unwrap();
    let (catalog, _) = Catalog::from_csv_str("product_id,name\nP1,red mug\n", &schema).unwrap();
    assert!(matches!(
        CrossSellIndex::build(fx.bundle.clone(), &weights, &catalog, &options, |_, _| {}),
        Err(Error::CatalogMismatch { .. })
    ));
}
