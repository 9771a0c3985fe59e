//! The baselines on the synthetic catalog, whose complements share words (a "phone case" for
//! a "mobile phone", "coffee beans" for a "coffee maker"): text must beat chance on cold-start
//! seeds by a wide margin, co-occurrence must admit it cannot score them, and popularity must
//! beat chance on warm seeds.

use deeprecs_cooc::{CoocConfig, Scorer, SplitConfig};
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_train::eval::{
    CoocRecommender, EvalConfig, EvalSet, PopularityRecommender, RandomRecommender, ResultSlice,
    Slice, TfIdfConfig, TfIdfRecommender, comparison_markdown, evaluate,
};

#[test]
fn text_beats_chance_on_cold_seeds_and_cooc_reports_what_it_cannot_score() {
    let data = generate(&SyntheticConfig {
        products: 2_000,
        users: 8_000,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let n = data.catalog.len();
    let split = SplitConfig::default()
        .check()
        .unwrap()
        .split(&data.events, n)
        .unwrap();
    let counter = CoocConfig::default().check().unwrap();
    let params = EvalConfig {
        min_support: 2.0,
        ..EvalConfig::default()
    }
    .check()
    .unwrap();
    let (set, _) = EvalSet::from_split(&params, &split, &data.events, &counter).unwrap();
    let cold_seeds = set.seeds_in(Slice::Cold);
    eprintln!(
        "{} test seeds: cold {cold_seeds}, tail {}, warm {}; {} positives",
        set.cases().len(),
        set.seeds_in(Slice::Tail),
        set.seeds_in(Slice::Warm),
        set.positives_total()
    );
    assert!(
        cold_seeds >= 50,
        "too few cold seeds to compare: {cold_seeds}"
    );

    let random = evaluate(&RandomRecommender::new(n, 1), &set).unwrap();
    let popularity = evaluate(&PopularityRecommender::from_split(&split), &set).unwrap();
    let cooc = evaluate(
        &CoocRecommender::fit(&counter, &split, &data.events, &Scorer::default()).unwrap(),
        &set,
    )
    .unwrap();
    let tfidf = evaluate(
        &TfIdfRecommender::fit(&data.catalog, &TfIdfConfig::default()).unwrap(),
        &set,
    )
    .unwrap();
    eprintln!(
        "{}",
        comparison_markdown(&[
            random.clone(),
            popularity.clone(),
            cooc.clone(),
            tfidf.clone()
        ])
    );

    let cold = |r: &deeprecs_train::eval::EvalResult| r.slice(ResultSlice::Cold).unwrap().clone();
    let (rc, tc) = (cold(&random), cold(&tfidf));
    // TF-IDF beats random by a wide margin on cold seeds.
    for (k, factor) in [(10, 3.0), (50, 5.0)] {
        let (t, r) = (tc.recall(k).unwrap(), rc.recall(k).unwrap());
        assert!(
            t > factor * r && t > 0.03,
            "cold recall@{k}: tfidf {t}, random {r}"
        );
        let (t, r) = (tc.ndcg(k).unwrap(), rc.ndcg(k).unwrap());
        assert!(t > factor * r, "cold NDCG@{k}: tfidf {t}, random {r}");
    }
    assert!(
        tc.auc > rc.auc + 0.1,
        "cold AUC: tfidf {}, random {}",
        tc.auc,
        rc.auc
    );
    assert_eq!(tc.unscorable_seeds, 0, "every synthetic product has a name");
    // Co-occurrence cannot score a cold seed, and says so.
    let cc = cold(&cooc);
    assert_eq!(cc.unscorable_seeds, cc.seeds);
    assert_eq!((cc.mrr, cc.auc), (0.0, 0.0));
    // Popularity beats chance on warm seeds and recommends popular products.
    let warm = |r: &deeprecs_train::eval::EvalResult| r.slice(ResultSlice::Warm).unwrap().clone();
    let (pw, rw) = (warm(&popularity), warm(&random));
    assert!(pw.recall(50).unwrap() > rw.recall(50).unwrap());
    assert!(pw.avg_popularity.unwrap() > 3.0 * rw.avg_popularity.unwrap());
    assert!(pw.coverage < rw.coverage);
    // Random is near its expectation k / (n − 1) over all seeds.
    let expected = 10.0 / (n - 1) as f64;
    let got = random.all().unwrap().recall(10).unwrap();
    assert!(
        (got - expected).abs() < 0.01,
        "random recall@10 {got}, expected ≈ {expected}"
    );
    // Every mean is a fraction.
    for r in [&random, &popularity, &cooc, &tfidf] {
        for s in &r.slices {
            for a in &s.at_k {
                assert!((0.0..=1.0).contains(&a.recall) && (0.0..=1.0).contains(&a.ndcg));
                assert!((0.0..=1.0).contains(&a.hit_rate));
            }
            assert!((0.0..=1.0).contains(&s.mrr) && (0.0..=1.0).contains(&s.auc));
        }
    }
}
