//! The evaluation harness through its public API: every metric on hand-computed rankings,
//! ties, unscorable seeds, errors, determinism and the report formats.

use deeprecs_cooc::{CoocConfig, Scorer, Window};
use deeprecs_core::{Catalog, EventLog, FeatureSchema, ProductIdx};
use deeprecs_train::eval::{
    CoocRecommender, EvalConfig, EvalError, EvalParams, EvalResult, EvalSet, RandomRecommender,
    Recommender, ResultSlice, SeedCase, Slice, comparison_json, comparison_markdown,
    comparison_rows, evaluate, evaluate_all,
};

const EPS: f64 = 1e-9;

/// Fixed scores per seed; seeds without a row cannot be scored.
struct Fixed {
    name: &'static str,
    rows: Vec<Option<Vec<f32>>>,
}

impl Recommender for Fixed {
    fn name(&self) -> &str {
        self.name
    }
    fn n_products(&self) -> usize {
        self.rows.len()
    }
    fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool {
        match &self.rows[seed.index()] {
            Some(row) => {
                out.copy_from_slice(row);
                true
            }
            None => false,
        }
    }
}

/// The same score for every product.
struct Constant(usize);

impl Recommender for Constant {
    fn name(&self) -> &str {
        "constant"
    }
    fn n_products(&self) -> usize {
        self.0
    }
    fn score_all(&self, _seed: ProductIdx, out: &mut [f32]) -> bool {
        out.fill(1.0);
        true
    }
}

fn case(seed: u32, slice: Slice, positives: &[u32]) -> SeedCase {
    SeedCase {
        seed: ProductIdx(seed),
        slice,
        positives: positives.iter().map(|&p| ProductIdx(p)).collect(),
    }
}

fn g(rank: f64) -> f64 {
    1.0 / (rank + 1.0).log2()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < EPS
}

/// Six products; popularity [10, 0, 5, 3, 1, 0]; k ∈ {1, 3}; lists of 2.
fn toy() -> (EvalSet, Fixed) {
    let params = EvalConfig {
        ks: vec![3, 1],
        list_len: 2,
        ..EvalConfig::default()
    }
    .check()
    .unwrap();
    let set = EvalSet::from_cases(
        &params,
        6,
        vec![10, 0, 5, 3, 1, 0],
        vec![
            case(0, Slice::Warm, &[2, 4]),
            case(1, Slice::Cold, &[3]),
            case(5, Slice::Cold, &[0]),
        ],
    )
    .unwrap();
    let model = Fixed {
        name: "fixed",
        rows: vec![
            // Seed 0 (own score ignored): ranking 1, 2, 3, 4, 5 → positives 2 and 4 at ranks 2, 4.
            Some(vec![9.0, 0.9, 0.8, 0.7, 0.5, 0.1]),
            // Seed 1: ranking 5, 4, 3, 0, 2 → positive 3 at rank 3.
            Some(vec![0.2, 0.0, 0.1, 0.3, 0.4, 0.5]),
            None,
            None,
            None,
            // Seed 5: cannot be scored.
            None,
        ],
    };
    (set, model)
}

#[test]
fn every_metric_on_a_hand_computed_ranking() {
    let (set, model) = toy();
    let r = evaluate(&model, &set).unwrap();
    assert_eq!(r.model, "fixed");
    assert_eq!(r.ks, [1, 3]);
    assert_eq!(
        r.slices.iter().map(|s| s.slice).collect::<Vec<_>>(),
        [ResultSlice::Cold, ResultSlice::Warm, ResultSlice::All],
        "the tail slice has no seed and is left out"
    );

    // Warm: seed 0 alone. Ranks 2 and 4 of 5 candidates.
    let w = r.slice(ResultSlice::Warm).unwrap();
    assert_eq!((w.seeds, w.unscorable_seeds), (1, 0));
    assert_eq!(w.recall(1), Some(0.0));
    assert_eq!(w.recall(3), Some(0.5));
    assert_eq!(w.hit_rate(1), Some(0.0));
    assert_eq!(w.hit_rate(3), Some(1.0));
    assert!(close(w.ndcg(3).unwrap(), g(2.0) / (g(1.0) + g(2.0))));
    assert_eq!(w.ndcg(1), Some(0.0));
    assert!(close(w.mrr, 0.5));
    // Negatives 1, 3, 5: positive 2 beats 3 and 5, positive 4 beats 5 → 3 of 6 pairs.
    assert!(close(w.auc, 0.5));
    // Top-2 list [1, 2]: popularity 0 and 5.
    assert!(close(w.coverage, 2.0 / 6.0));
    assert!(close(w.avg_popularity.unwrap(), 2.5));
    // Frequencies [0,0,0,0,1,1] sorted: (3·1 + 5·1) / (6·2).
    assert!(close(w.gini.unwrap(), 8.0 / 12.0));

    // Cold: seed 1 (rank 3 of 5) and seed 5 (unscorable, all metrics 0).
    let c = r.slice(ResultSlice::Cold).unwrap();
    assert_eq!((c.seeds, c.unscorable_seeds), (2, 1));
    assert_eq!(c.recall(1), Some(0.0));
    assert!(close(c.recall(3).unwrap(), 0.5));
    assert!(close(c.hit_rate(3).unwrap(), 0.5));
    // NDCG@3 of seed 1: g(3) / g(1) = 0.5.
    assert!(close(c.ndcg(3).unwrap(), 0.25));
    assert!(close(c.mrr, (1.0 / 3.0) / 2.0));
    // Seed 1: negatives 0, 2, 4, 5; positive 3 (0.3) beats 0 (0.2) and 2 (0.1) → ½.
    assert!(close(c.auc, 0.25));
    // Only seed 1 has a list: [5, 4] with popularity 0 and 1.
    assert!(close(c.coverage, 2.0 / 6.0));
    assert!(close(c.avg_popularity.unwrap(), 0.5));
    assert!(close(c.gini.unwrap(), 8.0 / 12.0));

    // All three seeds.
    let a = r.all().unwrap();
    assert_eq!((a.seeds, a.unscorable_seeds), (3, 1));
    assert_eq!((r.seeds(), r.unscorable_seeds()), (3, 1));
    assert!(close(a.recall(3).unwrap(), (0.5 + 1.0 + 0.0) / 3.0));
    assert!(close(a.hit_rate(3).unwrap(), 2.0 / 3.0));
    assert!(close(
        a.ndcg(3).unwrap(),
        (g(2.0) / (g(1.0) + g(2.0)) + 0.5) / 3.0
    ));
    assert!(close(a.mrr, (0.5 + 1.0 / 3.0) / 3.0));
    assert!(close(a.auc, (0.5 + 0.5) / 3.0));
    // Lists [1, 2] and [5, 4]: four products once each.
    assert!(close(a.coverage, 4.0 / 6.0));
    assert!(close(
        a.avg_popularity.unwrap(),
        (0.0 + 5.0 + 0.0 + 1.0) / 4.0
    ));
    // Sorted [0,0,1,1,1,1]: (−1 + 1 + 3 + 5) / (6·4).
    assert!(close(a.gini.unwrap(), 8.0 / 24.0));
}

#[test]
fn a_slice_without_any_scorable_seed_has_no_list_statistics() {
    let params = EvalParams::default();
    let set = EvalSet::from_cases(
        &params,
        4,
        vec![1; 4],
        vec![case(0, Slice::Cold, &[1]), case(2, Slice::Warm, &[3])],
    )
    .unwrap();
    let model = Fixed {
        name: "warm only",
        rows: vec![None, None, Some(vec![0.0, 0.1, 0.0, 0.9]), None],
    };
    let r = evaluate(&model, &set).unwrap();
    let c = r.slice(ResultSlice::Cold).unwrap();
    assert_eq!((c.seeds, c.unscorable_seeds), (1, 1));
    assert_eq!((c.mrr, c.auc, c.coverage), (0.0, 0.0, 0.0));
    assert_eq!((c.gini, c.avg_popularity), (None, None));
    let w = r.slice(ResultSlice::Warm).unwrap();
    assert_eq!((w.mrr, w.auc), (1.0, 1.0));
    // JSON: gini and avg_popularity of the cold slice are null.
    let rows = comparison_rows(std::slice::from_ref(&r));
    let gini = rows
        .iter()
        .find(|row| row.slice == "cold" && row.metric == "gini")
        .unwrap();
    assert_eq!(gini.value, None);
    assert!(comparison_markdown(&[r]).contains("| – |"));
}

#[test]
fn ties_are_broken_by_the_seeded_order_so_a_constant_recommender_gets_no_luck() {
    // Every seed's positives are the five lowest product indices: ties broken by index would
    // put them all in the top 10 of a constant recommender.
    let n = 100;
    let cases: Vec<SeedCase> = (10..60)
        .map(|s| case(s, Slice::Warm, &[0, 1, 2, 3, 4]))
        .collect();
    let mut recalls = Vec::new();
    for tie_seed in 0..30 {
        let params = EvalConfig {
            tie_seed,
            ..EvalConfig::default()
        }
        .check()
        .unwrap();
        let set = EvalSet::from_cases(&params, n, vec![0; n], cases.clone()).unwrap();
        let r = evaluate(&Constant(n), &set).unwrap();
        let a = r.all().unwrap();
        // AUC ignores the tie order: every pair ties.
        assert_eq!(a.auc, 0.5);
        // The ranks are the positions in the tie order (seed excluded).
        let order = set.tie_order();
        let seed = ProductIdx(10);
        let mut cands: Vec<u32> = (0..n as u32).filter(|&p| p != seed.0).collect();
        cands.sort_by_key(|&p| order.key(ProductIdx(p)).unwrap());
        let first = cands.iter().position(|&p| p < 5).unwrap() + 1;
        let seed_10 = Fixed {
            name: "constant",
            rows: (0..n).map(|_| Some(vec![1.0; n])).collect(),
        };
        let one = EvalSet::from_cases(&params, n, vec![0; n], vec![cases[0].clone()]).unwrap();
        assert!(close(
            evaluate(&seed_10, &one).unwrap().all().unwrap().mrr,
            1.0 / first as f64
        ));
        recalls.push(a.recall(10).unwrap());
        // A constant recommender recommends the same ten products to everybody.
        assert!(close(a.coverage, 10.0 / n as f64) || close(a.coverage, 11.0 / n as f64));
    }
    assert!(recalls.iter().any(|&r| r < 1.0));
    let mean = recalls.iter().sum::<f64>() / recalls.len() as f64;
    // Expected about 10 / 99 ≈ 0.10, as for a random ranking; index order would give 1.0.
    assert!((0.03..0.2).contains(&mean), "mean recall@10 {mean}");
}

#[test]
fn the_random_baseline_is_near_its_expectation() {
    // 200 seeds, 200 products, 10 positives each: recall@10 ≈ 10 / 199, AUC ≈ 0.5.
    let n = 200;
    let cases: Vec<SeedCase> = (0..n as u32)
        .map(|s| {
            let pos: Vec<u32> = (1..=10).map(|i| (s + 7 * i) % n as u32).collect();
            case(s, Slice::Warm, &pos)
        })
        .collect();
    let set = EvalSet::from_cases(&EvalParams::default(), n, vec![1; n], cases).unwrap();
    let r = evaluate(&RandomRecommender::new(n, 3), &set).unwrap();
    let a = r.all().unwrap();
    let expected = 10.0 / 199.0;
    assert!((a.recall(10).unwrap() - expected).abs() < 0.015, "{a:?}");
    assert!((a.auc - 0.5).abs() < 0.03, "{a:?}");
    assert!(a.coverage > 0.9);
}

#[test]
fn errors_are_typed() {
    let (set, _) = toy();
    let wrong_size = Constant(7);
    match evaluate(&wrong_size, &set) {
        Err(EvalError::CatalogMismatch {
            model,
            expected,
            found,
        }) => assert_eq!((model.as_str(), expected, found), ("constant", 6, 7)),
        other => panic!("expected a catalog mismatch, got {other:?}"),
    }
    let nan = Fixed {
        name: "nan",
        rows: vec![Some(vec![0.0, 0.1, f32::NAN, 0.0, 0.0, 0.0]); 6],
    };
    match evaluate(&nan, &set) {
        Err(EvalError::NanScore { model, product, .. }) => {
            assert_eq!((model.as_str(), product), ("nan", ProductIdx(2)));
        }
        other => panic!("expected a NaN error, got {other:?}"),
    }
    assert!(evaluate_all(&[&Constant(6), &wrong_size], &set).is_err());
}

#[test]
fn negative_zero_ties_with_zero() {
    // Product 1 scores -0.0, the others 0.0: all tie, so the results equal those of an
    // all-zero recommender, top lists included (product 1 is popular, so a misplaced -0.0
    // would change the average popularity of the top-1 lists).
    let neg = Fixed {
        name: "same",
        rows: vec![Some(vec![0.0, -0.0, 0.0, 0.0]); 4],
    };
    let pos = Fixed {
        name: "same",
        rows: vec![Some(vec![0.0; 4]); 4],
    };
    for tie_seed in 0..20 {
        let params = EvalConfig {
            tie_seed,
            list_len: 1,
            ..EvalConfig::default()
        }
        .check()
        .unwrap();
        let set = EvalSet::from_cases(
            &params,
            4,
            vec![0, 5, 0, 0],
            vec![case(0, Slice::Warm, &[1])],
        )
        .unwrap();
        let a = without_time(evaluate(&neg, &set).unwrap());
        assert_eq!(a.all().unwrap().auc, 0.5);
        assert_eq!(a, without_time(evaluate(&pos, &set).unwrap()));
    }
}

fn without_time(mut r: EvalResult) -> EvalResult {
    r.seconds = 0.0;
    r
}

#[test]
fn results_do_not_depend_on_the_number_of_threads() {
    let n = 300;
    let cases: Vec<SeedCase> = (0..n as u32)
        .step_by(3)
        .map(|s| {
            case(
                s,
                [Slice::Cold, Slice::Tail, Slice::Warm][(s as usize / 3) % 3],
                &[(s + 1) % 300, (s + 50) % 300],
            )
        })
        .collect();
    let set =
        EvalSet::from_cases(&EvalParams::default(), n, (0..n as u32).collect(), cases).unwrap();
    let model = RandomRecommender::new(n, 11);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| without_time(evaluate(&model, &set).unwrap()))
    };
    let one = run(1);
    assert_eq!(one, run(3));
    assert_eq!(one.slices.len(), 4);
}

#[test]
fn json_rows_and_the_markdown_table() {
    let (set, model) = toy();
    let results = evaluate_all(&[&model, &Constant(6)], &set).unwrap();
    let json = comparison_json(&results).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    // Per slice: seeds, unscorable_seeds, 3 metrics × 2 k, mrr, auc, coverage, gini,
    // avg_popularity = 13 rows; 3 slices; 2 models.
    assert_eq!(rows.len(), 13 * 3 * 2);
    for row in &rows {
        let obj = row.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["k", "metric", "model", "slice", "value"]);
        let metric = row["metric"].as_str().unwrap();
        let k_null = row["k"].is_null();
        match metric {
            "recall" | "ndcg" | "hit_rate" => assert!(!k_null),
            "mrr" | "auc" | "seeds" | "unscorable_seeds" => assert!(k_null),
            "coverage" | "gini" | "avg_popularity" => assert_eq!(row["k"], 2),
            other => panic!("unexpected metric {other}"),
        }
        assert!(["cold", "tail", "warm", "all"].contains(&row["slice"].as_str().unwrap()));
    }
    let find = |model: &str, slice: &str, metric: &str, k: Option<u64>| {
        rows.iter()
            .find(|r| {
                r["model"] == model
                    && r["slice"] == slice
                    && r["metric"] == metric
                    && r["k"].as_u64() == k
            })
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(find("fixed", "warm", "recall", Some(3)), 0.5);
    assert_eq!(find("fixed", "cold", "unscorable_seeds", None), 1.0);
    assert_eq!(find("fixed", "all", "seeds", None), 3.0);

    let md = comparison_markdown(&results);
    let lines: Vec<&str> = md.lines().collect();
    assert!(lines[0].starts_with(
        "| model | slice | seeds | unscorable | recall@1 | NDCG@1 | hit@1 | recall@3"
    ));
    assert!(lines[0].ends_with("| MRR | AUC | coverage@2 | Gini@2 | avg pop@2 |"));
    // Header, alignment, then (cold, warm, all) × 2 models, cold rows first.
    assert_eq!(lines.len(), 2 + 3 * 2);
    assert!(lines[2].starts_with("| fixed | cold | 2 | 1 | 0.0000 |"));
    assert!(lines[3].starts_with("| constant | cold |"));
    assert!(lines[4].starts_with("| fixed | warm | 1 | 0 |"));
    // Every row has as many cells as the header.
    let cells = |l: &str| l.matches('|').count();
    assert!(lines.iter().all(|l| cells(l) == cells(lines[0])));
}

#[test]
fn item_item_cooccurrence_cannot_score_seeds_without_partners() {
    let schema = FeatureSchema::from_toml_str(
        "id = \"sku\"\n[events]\nuser = \"customer\"\nproduct = \"sku\"\ntimestamp = \"time\"\n",
        "<s>",
    )
    .unwrap();
    let (catalog, _) = Catalog::from_csv_str("sku\nP1\nP2\nP3\nP4\nP5\n", &schema).unwrap();
    let (log, _) = EventLog::from_csv_str(
        "customer,sku,time\n\
         c1,P1,2024-03-01\nc1,P2,2024-03-02\nc1,P3,2024-03-03\n\
         c2,P1,2024-03-05\nc2,P2,2024-03-05\n\
         c3,P4,2024-03-07\n",
        &schema,
        &catalog,
    )
    .unwrap();
    let config = CoocConfig {
        window: Window::days(7),
        ..CoocConfig::default()
    };
    let (counts, _) = config.check().unwrap().count(&log, catalog.len()).unwrap();
    let cooc = CoocRecommender::new(counts.into_scores(&Scorer::default()).unwrap());
    assert_eq!((cooc.name(), cooc.n_products()), ("cooc", 5));
    let mut out = vec![0.0; 5];
    assert!(cooc.score_all(ProductIdx(0), &mut out));
    // P2 with 2 customers (log-max 1), P3 with 1 (ln 2 / ln 3); others never co-occurred.
    assert!((out[1] - 2.0).abs() < 1e-6);
    assert!((out[2] - (1.0 + 2f32.ln() / 3f32.ln())).abs() < 1e-6);
    assert_eq!((out[3], out[4]), (0.0, 0.0));
    // P4 was bought alone, P5 never: neither can be scored.
    assert!(!cooc.score_all(ProductIdx(3), &mut [0.0; 5]));
    assert!(!cooc.score_all(ProductIdx(4), &mut [0.0; 5]));

    let set = EvalSet::from_cases(
        &EvalParams::default(),
        5,
        vec![2, 2, 1, 1, 0],
        vec![case(0, Slice::Warm, &[2]), case(4, Slice::Cold, &[0])],
    )
    .unwrap();
    let r = evaluate(&cooc, &set).unwrap();
    assert_eq!(r.unscorable_seeds(), 1);
    let c = r.slice(ResultSlice::Cold).unwrap();
    assert_eq!((c.seeds, c.unscorable_seeds, c.mrr), (1, 1, 0.0));
    // Seed P1: P2 first, P3 (the positive) second.
    assert_eq!(r.slice(ResultSlice::Warm).unwrap().mrr, 0.5);
}
