//! The training loop: determinism, resume from a checkpoint, early stopping, the best
//! checkpoint, option checks.

use burn::tensor::Device;
use deeprecs_cooc::{CoocConfig, PairScores, Part, Scorer, SplitConfig};
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_core::{EncodedCatalog, Vocabularies};
use deeprecs_encoders::{FusionConfig, ModelBundle, TowerConfig, TwoTowerConfig};
use deeprecs_train::{
    EarlyStopping, EpochRecord, Error, Loss, NegativeSampling, TrainConfig, TrainData,
    TrainObserver, TrainOutcome, TrainParams,
};

/// Burn keeps one random number generator per device; tests in one process run in parallel
/// threads and would race on it. Every test that trains holds this lock.
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner())
}

struct Setup {
    bundle: ModelBundle,
    encoded: EncodedCatalog,
    train: PairScores,
    valid: PairScores,
    popularity: Vec<u32>,
}

fn setup() -> Setup {
    let data = generate(&SyntheticConfig {
        products: 240,
        users: 500,
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
    let train_log = split.log(&data.events, Part::Train);
    let (train, _) = counter.count(&train_log, n).unwrap();
    let (valid, _) = counter
        .count(&split.log(&data.events, Part::Validation), n)
        .unwrap();
    let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx)).unwrap();
    let encoded = EncodedCatalog::encode(&data.catalog, &vocabs).unwrap();
    let tower = TowerConfig::for_schema(&data.schema)
        .with_dim(16)
        .with_fusion(FusionConfig::new().with_dense(vec![32, 16]));
    Setup {
        bundle: ModelBundle::new(TwoTowerConfig::new(tower), data.schema.clone(), vocabs).unwrap(),
        encoded,
        train: train.into_scores(&Scorer::default()).unwrap(),
        valid: valid.into_scores(&Scorer::default()).unwrap(),
        popularity: train_log.events_per_product(n),
    }
}

fn data(s: &Setup) -> TrainData<'_> {
    TrainData {
        encoded: &s.encoded,
        train: &s.train,
        valid: Some(&s.valid),
        popularity: &s.popularity,
    }
}

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 64,
        patience: None,
        ..TrainConfig::default()
    }
}

/// Trains a fresh model on flex without checkpoints.
fn fit(params: &TrainParams, s: &Setup) -> TrainOutcome {
    params
        .fit(
            &s.bundle,
            data(s),
            &Device::flex().autodiff(),
            None,
            &mut (),
        )
        .unwrap()
}

fn losses(h: &[EpochRecord]) -> Vec<(f32, Option<f32>)> {
    h.iter().map(|r| (r.train_loss, r.valid_loss)).collect()
}

struct StopAfter(usize, usize);
impl TrainObserver for StopAfter {
    fn epoch_end(&mut self, _: &EpochRecord) {
        self.1 += 1;
    }
    fn should_stop(&mut self) -> bool {
        self.1 >= self.0
    }
}

#[test]
fn training_is_deterministic_and_loss_falls() {
    let _guard = lock();
    let s = setup();
    let params = config().check().unwrap();
    let a = fit(&params, &s);
    let b = fit(&params, &s);
    assert_eq!(losses(&a.history), losses(&b.history));
    assert_eq!(a.history.len(), 3);
    assert!(
        a.history[2].train_loss < a.history[0].train_loss,
        "{:?}",
        losses(&a.history)
    );
    assert!(a.history.iter().all(|r| r.pairs == s.train.len()));
}

#[test]
fn resume_gives_the_same_next_epoch_as_an_uninterrupted_run() {
    let _guard = lock();
    let s = setup();
    let params = config().check().unwrap();
    let full = fit(&params, &s);
    let dir = tempfile::tempdir().unwrap();
    let first = params
        .fit(
            &s.bundle,
            data(&s),
            &Device::flex().autodiff(),
            Some(dir.path()),
            &mut StopAfter(2, 0),
        )
        .unwrap();
    assert!(first.interrupted);
    assert_eq!(first.history.len(), 2);
    let resumed = params
        .resume(
            &s.bundle,
            data(&s),
            &Device::flex().autodiff(),
            dir.path(),
            &mut (),
        )
        .unwrap();
    assert_eq!(resumed.history.len(), 3);
    let (a, b) = (losses(&full.history), losses(&resumed.history));
    assert_eq!(a[..2], b[..2]);
    let (ta, tb) = (a[2].0, b[2].0);
    assert!(
        (ta - tb).abs() <= 1e-6,
        "epoch 3 train loss: uninterrupted {ta}, resumed {tb}"
    );
    let (va, vb) = (a[2].1.unwrap(), b[2].1.unwrap());
    assert!((va - vb).abs() <= 1e-6, "epoch 3 valid loss: {va} vs {vb}");
    // Other options cannot resume this checkpoint.
    let other = TrainConfig {
        learning_rate: 1e-2,
        ..config()
    }
    .check()
    .unwrap();
    let e = other
        .resume(
            &s.bundle,
            data(&s),
            &Device::flex().autodiff(),
            dir.path(),
            &mut (),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Checkpoint { .. }), "{e}");
}

#[test]
fn early_stopping_counts_epochs_without_improvement() {
    let mut e = EarlyStopping {
        patience: Some(2),
        best: None,
        since_best: 0,
    };
    assert_eq!(e.update(Some(1.0)), (true, false));
    assert_eq!(e.update(Some(0.8)), (true, false));
    assert_eq!(e.update(Some(0.9)), (false, false));
    assert_eq!(e.update(Some(0.7)), (true, false));
    assert_eq!(e.update(Some(0.7)), (false, false));
    assert_eq!(e.update(Some(0.75)), (false, true));
    assert_eq!(e.best, Some(0.7));
    let mut none = EarlyStopping {
        patience: Some(1),
        best: None,
        since_best: 0,
    };
    assert_eq!(none.update(None), (true, false));
    let mut nan = EarlyStopping {
        patience: Some(1),
        best: None,
        since_best: 0,
    };
    assert_eq!(nan.update(Some(f32::NAN)), (false, true));
}

#[test]
fn the_best_epoch_is_returned() {
    let _guard = lock();
    let s = setup();
    // A learning rate far too high makes later epochs worse on validation.
    let params = TrainConfig {
        epochs: 4,
        learning_rate: 0.3,
        patience: Some(4),
        ..config()
    }
    .check()
    .unwrap();
    let out = fit(&params, &s);
    let best = out
        .history
        .iter()
        .filter_map(|r| r.valid_loss.map(|v| (r.epoch, v)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert_eq!(out.best_epoch, best.0, "{:?}", losses(&out.history));
}

#[test]
fn ranking_loss_and_in_batch_negatives_train() {
    let _guard = lock();
    let s = setup();
    for (loss, sampling) in [
        (
            Loss::MarginRanking {
                margin: 0.1,
                margin_per_score: 0.2,
            },
            NegativeSampling::Uniform,
        ),
        (Loss::default(), NegativeSampling::InBatch),
    ] {
        let params = TrainConfig {
            epochs: 2,
            loss,
            sampling,
            ..config()
        }
        .check()
        .unwrap();
        let out = fit(&params, &s);
        let l = losses(&out.history);
        assert!(l[1].0 < l[0].0, "{loss:?}/{sampling:?}: {l:?}");
    }
}

#[test]
fn invalid_options_are_rejected_before_work() {
    for c in [
        TrainConfig {
            epochs: 0,
            ..config()
        },
        TrainConfig {
            batch_size: 1,
            ..config()
        },
        TrainConfig {
            learning_rate: -1.0,
            ..config()
        },
        TrainConfig {
            grad_clip_norm: Some(0.0),
            ..config()
        },
        TrainConfig {
            loss: Loss::EpsilonHinge { epsilon: -1.0 },
            ..config()
        },
        TrainConfig {
            loss: Loss::MarginRanking {
                margin: 0.1,
                margin_per_score: 0.0,
            },
            negatives: 0,
            ..config()
        },
        TrainConfig {
            sampling: NegativeSampling::Popularity { alpha: 9.0 },
            ..config()
        },
    ] {
        assert!(
            matches!(c.clone().check(), Err(Error::Config { .. })),
            "{c:?}"
        );
    }
    let _guard = lock();
    let s = setup();
    let e = config()
        .check()
        .unwrap()
        .fit(&s.bundle, data(&s), &Device::flex(), None, &mut ())
        .unwrap_err();
    assert!(e.to_string().contains("autodiff"), "{e}");
}
