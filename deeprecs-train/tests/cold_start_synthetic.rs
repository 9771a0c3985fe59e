//! On the synthetic catalog the true complement types are known: a model trained on the
//! purchase history before the cold-start period must recommend complements for products
//! introduced after it — products it never saw bought — far above chance, and above text
//! similarity (which finds same-type products, not complements).

use burn::tensor::Device;
use deeprecs_cooc::{Cutoff, SplitConfig};
use deeprecs_core::ProductIdx;
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_encoders::TwoTowerConfig;
use deeprecs_train::eval::{
    EvalConfig, EvalSet, ResultSlice, SeedCase, Slice, TfIdfConfig, TfIdfRecommender, evaluate,
};
use deeprecs_train::{DataConfig, Experiment, TrainConfig};

/// Recall@10 that the test asserts for cold-start seeds (chance is about 0.012 here; see the
/// assertion message for the measured value).
const COLD_RECALL_AT_10: f64 = 0.15;

#[test]
fn cold_start_products_get_their_true_complements() {
    let data = generate(&SyntheticConfig {
        products: 800,
        users: 2_000,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let truth = data.truth.clone();
    let n = data.catalog.len();
    // Train before the cold-start period: cold products have no training event.
    let config = DataConfig {
        split: SplitConfig {
            train_until: Cutoff::At(truth.cold_start_from.to_string()),
            valid_until: Cutoff::At((truth.cold_start_from + 10 * 86_400).to_string()),
            ..SplitConfig::default()
        },
        ..DataConfig::default()
    };
    let exp = Experiment::prepare(data.schema, data.catalog, data.events, &config).unwrap();
    assert!(exp.summary().cold_products > 50, "{:?}", exp.summary());

    // Ground truth: a cold seed's positives are all products of its complement types.
    let cases: Vec<SeedCase> = (0..n as u32)
        .map(ProductIdx)
        .filter(|&p| truth.cold_start[p.index()])
        .map(|seed| SeedCase {
            seed,
            slice: Slice::Cold,
            positives: (0..n as u32)
                .map(ProductIdx)
                .filter(|&r| r != seed && truth.is_complement(seed, r))
                .collect(),
        })
        .filter(|c| !c.positives.is_empty())
        .collect();
    let seeds = cases.len();
    let mean_positives =
        cases.iter().map(|c| c.positives.len()).sum::<usize>() as f64 / seeds as f64;
    let params = EvalConfig::default().check().unwrap();
    let set = EvalSet::from_cases(&params, n, exp.popularity().to_vec(), cases).unwrap();

    let model =
        TwoTowerConfig::new(deeprecs_encoders::TowerConfig::for_schema(exp.schema()).with_dim(32));
    let train = TrainConfig {
        epochs: 4,
        ..TrainConfig::default()
    }
    .check()
    .unwrap();
    let (_, outcome) = exp
        .fit(&model, &train, &Device::flex().autodiff(), None, &mut ())
        .unwrap();
    let embeddings = exp.embed(&outcome.model).unwrap();
    let deeprecs = evaluate(&embeddings.into_recommender("deeprecs").unwrap(), &set).unwrap();
    let tfidf = evaluate(
        &TfIdfRecommender::fit(exp.catalog(), &TfIdfConfig::default()).unwrap(),
        &set,
    )
    .unwrap();
    let recall = |r: &deeprecs_train::eval::EvalResult| {
        r.slice(ResultSlice::Cold).unwrap().recall(10).unwrap()
    };
    // A random ranking's expected recall@10 is 10 / (n − 1).
    let chance = 10.0 / (n - 1) as f64;
    eprintln!(
        "{seeds} cold seeds, {mean_positives:.1} true complements each; recall@10: \
         deeprecs {:.4}, tf-idf {:.4}, chance {chance:.4}",
        recall(&deeprecs),
        recall(&tfidf)
    );
    assert!(
        recall(&deeprecs) >= COLD_RECALL_AT_10,
        "cold recall@10 {:.4} < {COLD_RECALL_AT_10}",
        recall(&deeprecs)
    );
    assert!(recall(&deeprecs) > 10.0 * chance);
    assert!(
        recall(&deeprecs) > recall(&tfidf),
        "deeprecs {:.4} vs tf-idf {:.4}",
        recall(&deeprecs),
        recall(&tfidf)
    );
}
