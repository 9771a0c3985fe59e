//! Hyper-parameter search: random search over a declared [`SearchSpace`] with successive
//! halving, selected by validation loss, reproducible from a seed.
//!
//! ## How it works
//!
//! 1. `trials` configurations are drawn from the space with the search's seed.
//! 2. **Successive halving** (the synchronous form of ASHA): every configuration trains for
//!    `min_epochs`; the best `1/eta` by validation loss are **promoted** and trained on —
//!    resumed from their checkpoint, not restarted — to `min_epochs × eta`, then
//!    `× eta²` …, up to `max_epochs`. Each run's learning-rate schedule is planned for
//!    `max_epochs` from the start, so a promoted run continues exactly as an uninterrupted
//!    one would.
//! 3. Every run is scored by the **same validation loss** — [`SearchConfig::valid_loss`] on
//!    the validation pairs with the trainer's fixed uniform negatives
//!    ([`VALID_NEGATIVES`](crate::trainer::VALID_NEGATIVES)) — so runs with different
//!    training losses, sampling or batch sizes compare like with like. Its best epoch counts.
//! 4. The result is a [`Leaderboard`] (JSON, CSV, Markdown) and the best model and training
//!    configs.
//!
//! Training on the CPU is deterministic for a seed, and so is the whole search: the same
//! seed, space and data give the same leaderboard.
//!
//! ```
//! use burn::tensor::Device;
//! use deeprecs_core::synthetic::{generate, SyntheticConfig};
//! use deeprecs_train::tune::{SearchConfig, SearchSpace};
//! use deeprecs_train::{DataConfig, Experiment};
//!
//! let data = generate(&SyntheticConfig { products: 150, users: 300, ..SyntheticConfig::default() })?;
//! let exp = Experiment::prepare(data.schema, data.catalog, data.events, &DataConfig::default())?;
//! let search = SearchConfig {
//!     trials: 3,
//!     min_epochs: 1,
//!     max_epochs: 2,
//!     eta: 2,
//!     space: SearchSpace { dim: vec![8, 16], ..SearchSpace::default() },
//!     ..SearchConfig::default()
//! }
//! .check()?;
//! let dir = tempfile::tempdir()?;
//! let board = search.run(&exp, &Device::flex().autodiff(), dir.path(), &mut |_| {})?;
//! assert_eq!(board.trials.len(), 3);
//! assert!(board.best().is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use burn::tensor::Device;
use deeprecs_core::rng::SeededRng;
use deeprecs_encoders::{EncoderConfig, FusionConfig, FusionKind, TowerConfig, TwoTowerConfig};
use serde::{Deserialize, Serialize};

use crate::data::NegativeSampling;
use crate::error::{Error, Result, config};
use crate::experiment::Experiment;
use crate::loss::Loss;
use crate::trainer::{EpochRecord, TrainConfig, TrainObserver};

/// A log-uniform range of learning rates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogRange {
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

/// The options the search draws from: each list is sampled uniformly, the learning rate
/// log-uniformly. A list of one value fixes that option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSpace {
    /// Encoders of text fields (e.g. attention text, or BERT + dense when a model folder is
    /// given); other fields keep their kind's default encoder.
    pub text_encoders: Vec<EncoderConfig>,
    /// Fusion of the field vectors.
    pub fusion: Vec<FusionKind>,
    /// Size of the field vectors and of the product vector.
    pub dim: Vec<usize>,
    /// Dense layers after fusion (the last one outputs `dim`).
    pub dense_depth: Vec<usize>,
    /// Width of the hidden dense layers.
    pub dense_width: Vec<usize>,
    /// Dropout before dense layers.
    pub dropout: Vec<f64>,
    /// One set of weights for both towers, or two.
    pub shared_towers: Vec<bool>,
    /// The training loss.
    pub loss: Vec<Loss>,
    /// Where negatives come from.
    pub sampling: Vec<NegativeSampling>,
    /// The base learning rate.
    pub learning_rate: LogRange,
}

impl Default for SearchSpace {
    fn default() -> Self {
        Self {
            text_encoders: vec![EncoderConfig::default_for(
                deeprecs_core::FieldKindName::Text,
            )],
            fusion: vec![FusionKind::WeightedSum, FusionKind::Attention],
            dim: vec![32, 64, 128],
            dense_depth: vec![1, 2],
            dense_width: vec![128, 256],
            dropout: vec![0.0, 0.1],
            shared_towers: vec![true, false],
            loss: vec![
                Loss::default(),
                Loss::MarginRanking {
                    margin: 0.1,
                    margin_per_score: 0.2,
                },
            ],
            sampling: vec![
                NegativeSampling::InBatch,
                NegativeSampling::Uniform,
                NegativeSampling::default(),
            ],
            learning_rate: LogRange {
                min: 1e-3,
                max: 1e-2,
            },
        }
    }
}

/// Search options as plain data; check them with [`SearchConfig::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// The space.
    pub space: SearchSpace,
    /// Configurations drawn (the first rung's size).
    pub trials: usize,
    /// Epochs of the first rung.
    pub min_epochs: usize,
    /// Epochs of the last rung; every run's schedule is planned for this many.
    pub max_epochs: usize,
    /// Keep the best `1/eta` at each rung; rungs grow by `eta`.
    pub eta: usize,
    /// The loss all runs are compared by on the validation pairs.
    pub valid_loss: Loss,
    /// Options not searched (batch size, optimiser, clipping …); its `epochs`, `loss`,
    /// `sampling`, `learning_rate` and `valid_loss` are set per trial.
    pub base: TrainConfig,
    /// Seed of the draws (each run trains with `base.seed`).
    pub seed: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            space: SearchSpace::default(),
            trials: 12,
            min_epochs: 1,
            max_epochs: 9,
            eta: 3,
            valid_loss: Loss::default(),
            base: TrainConfig {
                patience: None,
                ..TrainConfig::default()
            },
            seed: 42,
        }
    }
}

/// A checked [`SearchConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchParams {
    config: SearchConfig,
    rungs: Vec<usize>,
}

fn nonempty<T>(name: &'static str, v: &[T]) -> Result<()> {
    if v.is_empty() {
        return Err(config(name, "the search space needs at least one value"));
    }
    Ok(())
}

impl SearchConfig {
    /// Checks the options and the space before any training.
    pub fn check(self) -> Result<SearchParams> {
        let s = &self.space;
        nonempty("space.text_encoders", &s.text_encoders)?;
        nonempty("space.fusion", &s.fusion)?;
        nonempty("space.dim", &s.dim)?;
        nonempty("space.dense_depth", &s.dense_depth)?;
        nonempty("space.dense_width", &s.dense_width)?;
        nonempty("space.dropout", &s.dropout)?;
        nonempty("space.shared_towers", &s.shared_towers)?;
        nonempty("space.loss", &s.loss)?;
        nonempty("space.sampling", &s.sampling)?;
        if s.dim.contains(&0) || s.dense_width.contains(&0) || s.dense_depth.contains(&0) {
            return Err(config(
                "space",
                "dim, dense_depth and dense_width must be positive",
            ));
        }
        if let Some(d) = s.dropout.iter().find(|d| !(0.0..1.0).contains(*d)) {
            return Err(config(
                "space.dropout",
                format!("must be in [0, 1), got {d}"),
            ));
        }
        let lr = s.learning_rate;
        if !(lr.min.is_finite() && lr.min > 0.0 && lr.max.is_finite() && lr.max >= lr.min) {
            return Err(config(
                "space.learning_rate",
                format!("needs 0 < min ≤ max, got {} .. {}", lr.min, lr.max),
            ));
        }
        for l in &s.loss {
            l.check()?;
        }
        if let Some(e) = s
            .text_encoders
            .iter()
            .find(|e| e.field_kind() != Some(deeprecs_core::FieldKindName::Text))
        {
            return Err(config(
                "space.text_encoders",
                format!("{} does not encode text fields", e.name()),
            ));
        }
        if self.trials == 0 {
            return Err(config("trials", "must be at least 1"));
        }
        if self.eta < 2 {
            return Err(config(
                "eta",
                format!("must be at least 2, got {}", self.eta),
            ));
        }
        if self.min_epochs == 0 || self.max_epochs < self.min_epochs {
            return Err(config(
                "min_epochs",
                format!(
                    "needs 1 ≤ min_epochs ≤ max_epochs, got {} and {}",
                    self.min_epochs, self.max_epochs
                ),
            ));
        }
        self.valid_loss.check()?;
        // The base options must make a valid run on their own.
        TrainConfig {
            epochs: self.max_epochs,
            ..self.base.clone()
        }
        .check()?;
        let mut rungs = vec![self.min_epochs];
        while let Some(&last) = rungs.last()
            && last < self.max_epochs
        {
            rungs.push((last * self.eta).min(self.max_epochs));
        }
        Ok(SearchParams {
            config: self,
            rungs,
        })
    }
}

/// One drawn configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trial {
    /// 0-based, in draw order.
    pub id: usize,
    /// The model.
    pub model: TwoTowerConfig,
    /// The training options (with `epochs` = the search's `max_epochs`).
    pub train: TrainConfig,
    /// Epochs trained.
    pub epochs_trained: usize,
    /// Validation loss after each epoch trained.
    pub valid_losses: Vec<f32>,
    /// The best validation loss so far (`None` before any epoch).
    pub best_valid_loss: Option<f32>,
    /// The epoch of the best validation loss.
    pub best_epoch: usize,
    /// The last rung (0-based) this trial reached.
    pub rung: usize,
    /// A one-line description of the drawn options.
    pub summary: String,
}

/// All trials, best first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Leaderboard {
    /// The search's options.
    pub search: SearchConfig,
    /// Epochs of each rung.
    pub rungs: Vec<usize>,
    /// The trials, sorted by (last rung reached, best validation loss) — best first.
    pub trials: Vec<Trial>,
}

impl Leaderboard {
    /// The winner: the best trial of the last rung.
    pub fn best(&self) -> Option<&Trial> {
        self.trials.first()
    }

    /// The leaderboard as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| rank | trial | rung | epochs | best valid loss | best epoch | options |\n\
             | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
        );
        for (rank, t) in self.trials.iter().enumerate() {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                rank + 1,
                t.id,
                t.rung,
                t.epochs_trained,
                t.best_valid_loss
                    .map_or_else(|| "–".to_string(), |l| format!("{l:.5}")),
                t.best_epoch,
                t.summary
            ));
        }
        out
    }

    /// The leaderboard as CSV (one row per trial, best first).
    pub fn csv(&self) -> String {
        let mut out = String::from("rank,trial,rung,epochs,best_valid_loss,best_epoch,options\n");
        for (rank, t) in self.trials.iter().enumerate() {
            out.push_str(&format!(
                "{},{},{},{},{},{},\"{}\"\n",
                rank + 1,
                t.id,
                t.rung,
                t.epochs_trained,
                t.best_valid_loss
                    .map_or_else(String::new, |l| l.to_string()),
                t.best_epoch,
                t.summary.replace('"', "\"\"")
            ));
        }
        out
    }

    /// Writes `leaderboard.json`, `leaderboard.csv`, `leaderboard.md`, and the winner's
    /// `best_model.json` (a [`TwoTowerConfig`]) and `best_train.json` (a [`TrainConfig`] with
    /// `epochs` set to its best epoch) into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            file: dir.display().to_string(),
            source,
        })?;
        let write = |name: &str, text: String| {
            let f = dir.join(name);
            std::fs::write(&f, text).map_err(|source| Error::Io {
                file: f.display().to_string(),
                source,
            })
        };
        write("leaderboard.json", pretty(self))?;
        write("leaderboard.csv", self.csv())?;
        write("leaderboard.md", self.markdown())?;
        if let Some(best) = self.best() {
            write("best_model.json", pretty(&best.model))?;
            let train = TrainConfig {
                epochs: best.best_epoch.max(1),
                ..best.train.clone()
            };
            write("best_train.json", pretty(&train))?;
        }
        Ok(())
    }
}

/// Pretty JSON of plain data (string keys only: serialisation cannot fail).
fn pretty<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// What the search reports as it goes.
#[derive(Debug, Clone)]
pub enum SearchEvent<'a> {
    /// A trial starts (or resumes) training up to `epochs` in rung `rung`.
    TrialStart {
        /// The trial.
        trial: &'a Trial,
        /// The rung (0-based).
        rung: usize,
        /// Train up to this many epochs.
        epochs: usize,
    },
    /// A trial finished its rung.
    TrialEnd {
        /// The trial, with its losses updated.
        trial: &'a Trial,
    },
    /// A rung is done; `promoted` trial ids go on.
    RungEnd {
        /// The rung (0-based).
        rung: usize,
        /// Ids of the promoted trials.
        promoted: Vec<usize>,
    },
}

/// Stops a run after a rung's epochs (the trainer checkpoints after every epoch).
struct RungBudget {
    until: usize,
    records: Vec<EpochRecord>,
}

impl TrainObserver for RungBudget {
    fn epoch_end(&mut self, record: &EpochRecord) {
        self.records.push(record.clone());
    }
    fn should_stop(&mut self) -> bool {
        self.records.last().is_some_and(|r| r.epoch >= self.until)
    }
}

impl SearchParams {
    /// The options.
    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    /// Epochs of each rung, e.g. `[1, 3, 9]`.
    pub fn rungs(&self) -> &[usize] {
        &self.rungs
    }

    /// Draws the trials (no training): the same seed, the same trials.
    pub fn draw(&self, exp: &Experiment) -> Vec<Trial> {
        let c = &self.config;
        let s = &c.space;
        let mut rng = SeededRng::new(c.seed);
        let mut pick = |n: usize| rng.below(n as u64) as usize;
        (0..c.trials)
            .map(|id| {
                let text = s.text_encoders[pick(s.text_encoders.len())].clone();
                let fusion = s.fusion[pick(s.fusion.len())];
                let dim = s.dim[pick(s.dim.len())];
                let depth = s.dense_depth[pick(s.dense_depth.len())];
                let width = s.dense_width[pick(s.dense_width.len())];
                let dropout = s.dropout[pick(s.dropout.len())];
                let shared = s.shared_towers[pick(s.shared_towers.len())];
                let loss = s.loss[pick(s.loss.len())];
                let sampling = s.sampling[pick(s.sampling.len())];
                let u = pick(1 << 20) as f64 / f64::from(1u32 << 20);
                let lr = (s.learning_rate.min.ln()
                    + u * (s.learning_rate.max.ln() - s.learning_rate.min.ln()))
                .exp();
                let mut tower = TowerConfig::for_schema(exp.schema()).with_dim(dim);
                for f in &mut tower.fields {
                    if f.encoder.field_kind() == Some(deeprecs_core::FieldKindName::Text) {
                        f.encoder = text.clone();
                    }
                }
                let mut dense = vec![width; depth - 1];
                dense.push(dim);
                let tower = tower.with_fusion(
                    FusionConfig::new()
                        .with_kind(fusion)
                        .with_dense(dense)
                        .with_dropout(dropout),
                );
                let model = TwoTowerConfig::new(tower).with_shared(shared);
                let train = TrainConfig {
                    epochs: c.max_epochs,
                    loss,
                    sampling,
                    learning_rate: lr,
                    valid_loss: Some(c.valid_loss),
                    patience: None,
                    ..c.base.clone()
                };
                let summary = format!(
                    "text={} fusion={} dim={dim} dense={depth}x{width} dropout={dropout} \
                     shared={shared} loss={} sampling={} lr={lr:.2e}",
                    text.name(),
                    match fusion {
                        FusionKind::WeightedSum => "weighted_sum",
                        FusionKind::Attention => "attention",
                    },
                    loss.name(),
                    sampling.name(),
                );
                Trial {
                    id,
                    model,
                    train,
                    epochs_trained: 0,
                    valid_losses: Vec::new(),
                    best_valid_loss: None,
                    best_epoch: 0,
                    rung: 0,
                    summary,
                }
            })
            .collect()
    }

    /// Runs the search on `exp` (which needs validation pairs) on `device` (an autodiff
    /// device), keeping each trial's checkpoints under `work_dir/trial-N`; `report` hears
    /// every step. Returns the leaderboard, best first.
    pub fn run(
        &self,
        exp: &Experiment,
        device: &Device,
        work_dir: &Path,
        report: &mut dyn FnMut(SearchEvent<'_>),
    ) -> Result<Leaderboard> {
        if exp.valid_pairs().is_none() {
            return Err(Error::Data(
                "the search needs validation pairs: the validation period (between the \
                 split's train_until and valid_until) has no co-occurring pairs"
                    .into(),
            ));
        }
        let mut trials = self.draw(exp);
        let mut alive: Vec<usize> = (0..trials.len()).collect();
        for (rung, &epochs) in self.rungs.iter().enumerate() {
            for &i in &alive {
                let t = &mut trials[i];
                t.rung = rung;
                report(SearchEvent::TrialStart {
                    trial: t,
                    rung,
                    epochs,
                });
                let params = t.train.clone().check()?;
                let bundle = exp.bundle(&t.model)?;
                let dir = work_dir.join(format!("trial-{}", t.id));
                let mut budget = RungBudget {
                    until: epochs,
                    records: Vec::new(),
                };
                let outcome = if t.epochs_trained == 0 {
                    params.fit(&bundle, exp.train_data(), device, Some(&dir), &mut budget)?
                } else {
                    params.resume(&bundle, exp.train_data(), device, &dir, &mut budget)?
                };
                t.epochs_trained = outcome.history.len();
                t.valid_losses = outcome
                    .history
                    .iter()
                    .filter_map(|r| r.valid_loss)
                    .collect();
                t.best_epoch = outcome.best_epoch;
                t.best_valid_loss = outcome
                    .history
                    .get(outcome.best_epoch.wrapping_sub(1))
                    .and_then(|r| r.valid_loss);
                report(SearchEvent::TrialEnd { trial: t });
            }
            if rung + 1 == self.rungs.len() {
                break;
            }
            let keep = (alive.len() / self.config.eta).max(1);
            alive.sort_by(|&a, &b| order(&trials[a], &trials[b]));
            alive.truncate(keep);
            alive.sort_unstable();
            report(SearchEvent::RungEnd {
                rung,
                promoted: alive.iter().map(|&i| trials[i].id).collect(),
            });
        }
        trials.sort_by(|a, b| b.rung.cmp(&a.rung).then_with(|| order(a, b)));
        Ok(Leaderboard {
            search: self.config.clone(),
            rungs: self.rungs.clone(),
            trials,
        })
    }
}

/// Lower validation loss first; a trial without one last; ties by id.
fn order(a: &Trial, b: &Trial) -> std::cmp::Ordering {
    let key = |t: &Trial| t.best_valid_loss.unwrap_or(f32::INFINITY);
    key(a).total_cmp(&key(b)).then(a.id.cmp(&b.id))
}
