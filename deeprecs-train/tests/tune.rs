//! Hyper-parameter search: successive halving promotes the best by validation loss, resumed
//! runs continue where they stopped, the search is reproducible from its seed, and bad
//! spaces are rejected before any training.

use burn::tensor::Device;
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_encoders::FusionKind;
use deeprecs_train::tune::{LogRange, SearchConfig, SearchSpace};
use deeprecs_train::{DataConfig, Error, Experiment, NegativeSampling, TrainConfig};

// Training seeds the device's global RNG: tests that train take turns.
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn experiment() -> Experiment {
    let data = generate(&SyntheticConfig {
        products: 150,
        users: 400,
        ..SyntheticConfig::default()
    })
    .unwrap();
    Experiment::prepare(
        data.schema,
        data.catalog,
        data.events,
        &DataConfig::default(),
    )
    .unwrap()
}

fn small_search(seed: u64) -> SearchConfig {
    SearchConfig {
        space: SearchSpace {
            dim: vec![8, 16],
            dense_width: vec![16],
            fusion: vec![FusionKind::WeightedSum, FusionKind::Attention],
            sampling: vec![NegativeSampling::Uniform, NegativeSampling::InBatch],
            learning_rate: LogRange {
                min: 1e-3,
                max: 1e-2,
            },
            ..SearchSpace::default()
        },
        trials: 4,
        min_epochs: 1,
        max_epochs: 2,
        eta: 2,
        base: TrainConfig {
            batch_size: 64,
            patience: None,
            ..TrainConfig::default()
        },
        seed,
        ..SearchConfig::default()
    }
}

#[test]
fn successive_halving_is_reproducible_and_resumes_promoted_trials() {
    let _guard = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let exp = experiment();
    let search = small_search(7).check().unwrap();
    assert_eq!(search.rungs(), &[1, 2]);
    let run = || {
        let dir = tempfile::tempdir().unwrap();
        let mut events = 0;
        let board = search
            .run(&exp, &Device::flex().autodiff(), dir.path(), &mut |_| {
                events += 1
            })
            .unwrap();
        // 4 starts + 4 ends at rung 0, one rung end, 2 starts + 2 ends at rung 1.
        assert_eq!(events, 13);
        board
    };
    let a = run();
    let b = run();
    let key = |board: &deeprecs_train::tune::Leaderboard| {
        board
            .trials
            .iter()
            .map(|t| (t.id, t.epochs_trained, t.valid_losses.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&a), key(&b), "the same seed must give the same search");

    // Two trials were promoted to 2 epochs and lead the board; the others stopped at 1.
    let promoted: Vec<_> = a.trials.iter().filter(|t| t.rung == 1).collect();
    assert_eq!(promoted.len(), 2);
    assert!(
        a.trials[..2]
            .iter()
            .all(|t| t.rung == 1 && t.epochs_trained == 2)
    );
    assert!(
        a.trials[2..]
            .iter()
            .all(|t| t.rung == 0 && t.epochs_trained == 1)
    );
    // Promotion went to the two best of rung 0 by their epoch-1 validation loss.
    let worst_promoted = promoted
        .iter()
        .map(|t| t.valid_losses[0])
        .fold(f32::MIN, f32::max);
    assert!(
        a.trials[2..]
            .iter()
            .all(|t| t.valid_losses[0] >= worst_promoted)
    );
    // The board is ordered by best validation loss within a rung.
    assert!(a.trials[0].best_valid_loss <= a.trials[1].best_valid_loss);

    // A resumed trial continues: its loss after epoch 2 equals an uninterrupted 2-epoch run.
    let best = a.best().unwrap();
    let params = best.train.clone().check().unwrap();
    let (_, outcome) = exp
        .fit(
            &best.model,
            &params,
            &Device::flex().autodiff(),
            None,
            &mut (),
        )
        .unwrap();
    let straight: Vec<f32> = outcome
        .history
        .iter()
        .filter_map(|r| r.valid_loss)
        .collect();
    assert_eq!(straight, best.valid_losses);

    // The written files parse back.
    let dir = tempfile::tempdir().unwrap();
    a.write(dir.path()).unwrap();
    let model: deeprecs_encoders::TwoTowerConfig =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("best_model.json")).unwrap())
            .unwrap();
    assert_eq!(model.tower.dim, best.model.tower.dim);
    let train: TrainConfig =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("best_train.json")).unwrap())
            .unwrap();
    assert_eq!(train.epochs, best.best_epoch);
    let csv = std::fs::read_to_string(dir.path().join("leaderboard.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);

    // Another seed draws other trials.
    let other = small_search(8).check().unwrap().draw(&exp);
    let drawn = search.draw(&exp);
    assert_ne!(
        other.iter().map(|t| &t.summary).collect::<Vec<_>>(),
        drawn.iter().map(|t| &t.summary).collect::<Vec<_>>()
    );
}

#[test]
fn bad_search_options_are_rejected_before_training() {
    let bad = |c: SearchConfig| match c.check() {
        Err(Error::Config { name, .. }) => name,
        other => panic!("expected a config error, got {other:?}"),
    };
    let mut c = small_search(1);
    c.space.dim.clear();
    assert_eq!(bad(c), "space.dim");
    let mut c = small_search(1);
    c.eta = 1;
    assert_eq!(bad(c), "eta");
    let mut c = small_search(1);
    c.max_epochs = 0;
    assert_eq!(bad(c), "min_epochs");
    let mut c = small_search(1);
    c.space.dropout = vec![1.5];
    assert_eq!(bad(c), "space.dropout");
    let mut c = small_search(1);
    c.space.learning_rate = LogRange {
        min: 0.1,
        max: 0.01,
    };
    assert_eq!(bad(c), "space.learning_rate");
    let mut c = small_search(1);
    c.space.text_encoders = vec![deeprecs_encoders::EncoderConfig::Categorical { max_norm: None }];
    assert_eq!(bad(c), "space.text_encoders");
    // Rungs: 1, 3, 9 for the defaults.
    assert_eq!(SearchConfig::default().check().unwrap().rungs(), &[1, 3, 9]);
}
