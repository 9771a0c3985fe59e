//! The training loop: any Burn autodiff device, Adam or AdamW, a learning-rate schedule,
//! gradient clipping, early stopping on validation loss with the best weights kept,
//! checkpoints to resume from, deterministic with a seed on CPU, batches prefetched on a CPU
//! thread while the device computes.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Int, Tensor, TensorData};
use deeprecs_cooc::PairScores;
use deeprecs_core::rng::SeededRng;
use deeprecs_core::{EncodedBatch, EncodedCatalog};
use deeprecs_encoders::{FieldVectors, ModelBundle, TowerInput, TwoTower, weights_to_bytes};
use serde::{Deserialize, Serialize};

use crate::data::{NegativeSampling, PairBatch, TrainingPairs, check_sampling};
use crate::error::{Error, Result, config};
use crate::loss::Loss;

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (default).
    Adam,
    /// AdamW with decoupled weight decay.
    AdamW {
        /// The weight decay.
        weight_decay: f32,
    },
}

/// How the learning rate changes over training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// The same rate throughout.
    Constant,
    /// Linear warm-up over `warmup_steps`, then cosine decay to `min_factor` × the rate at the
    /// last planned step (default, with no warm-up and `min_factor` 0.1).
    Cosine {
        /// Steps of linear warm-up.
        warmup_steps: usize,
        /// The final rate as a share of the base rate.
        min_factor: f64,
    },
}

/// Training options as plain data (serde); check them with [`TrainConfig::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Positive pairs per batch.
    pub batch_size: usize,
    /// Negatives per positive (ignored for in-batch sampling; default 8).
    pub negatives: usize,
    /// Where negatives come from.
    pub sampling: NegativeSampling,
    /// The loss. Default: the margin-ranking hinge with margin `0.1 + 0.2·s` — on cold-start
    /// seeds it ranked better than the ε-insensitive hinge on both the synthetic catalog
    /// (recall@10 0.196 vs 0.126, `tests/cold_start_synthetic.rs` set-up) and Online Retail
    /// (0.056 vs 0.051); see the training guide.
    pub loss: Loss,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// The base learning rate.
    pub learning_rate: f64,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Clip the gradient norm to this value (per parameter tensor).
    pub grad_clip_norm: Option<f32>,
    /// Stop after this many epochs without a better validation loss (needs validation pairs).
    pub patience: Option<usize>,
    /// Use at most this many positive pairs per epoch (a fresh random subset each epoch).
    pub max_pairs_per_epoch: Option<usize>,
    /// The loss reported on validation pairs, for early stopping and model selection
    /// (default: the training loss). Set it when validation losses of runs with different
    /// training losses must be compared, as [`crate::tune`] does.
    pub valid_loss: Option<Loss>,
    /// Seed of shuffling, negatives and the device's random number generator.
    pub seed: u64,
}

/// Negatives per validation positive: validation batches always draw this many uniform
/// negatives, whatever the training sampling, so that validation losses of runs with
/// different sampling, batch size or negatives compare like with like.
pub const VALID_NEGATIVES: usize = 4;
/// Positive pairs per validation batch.
pub const VALID_BATCH: usize = 512;
/// At most this many validation positives are scored each epoch (the same ones every epoch).
pub const VALID_MAX_PAIRS: usize = 20_000;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 256,
            negatives: 8,
            sampling: NegativeSampling::default(),
            loss: Loss::MarginRanking {
                margin: 0.1,
                margin_per_score: 0.2,
            },
            optimizer: OptimizerKind::Adam,
            learning_rate: 3e-3,
            schedule: Schedule::Cosine {
                warmup_steps: 0,
                min_factor: 0.1,
            },
            grad_clip_norm: Some(1.0),
            patience: Some(3),
            max_pairs_per_epoch: None,
            valid_loss: None,
            seed: 42,
        }
    }
}

/// Checked training options: the only form [`TrainParams::fit`] accepts.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams {
    config: TrainConfig,
}

impl TrainConfig {
    /// Checks every option before any work.
    pub fn check(self) -> Result<TrainParams> {
        if self.epochs == 0 {
            return Err(config("epochs", "must be at least 1"));
        }
        if self.batch_size < 2 {
            return Err(config(
                "batch_size",
                format!("must be at least 2, got {}", self.batch_size),
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(config(
                "learning_rate",
                format!("must be positive, got {}", self.learning_rate),
            ));
        }
        self.loss.check()?;
        if let Some(l) = &self.valid_loss {
            l.check()?;
        }
        check_sampling(self.sampling)?;
        if self.loss.needs_negatives()
            && self.negatives == 0
            && self.sampling != NegativeSampling::InBatch
        {
            return Err(config(
                "negatives",
                "the margin-ranking loss needs at least one negative per positive",
            ));
        }
        if let Schedule::Cosine { min_factor, .. } = self.schedule
            && !(min_factor.is_finite() && (0.0..=1.0).contains(&min_factor))
        {
            return Err(config(
                "schedule.min_factor",
                format!("must be in [0, 1], got {min_factor}"),
            ));
        }
        if let Some(c) = self.grad_clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return Err(config(
                "grad_clip_norm",
                format!("must be positive, got {c}"),
            ));
        }
        if let OptimizerKind::AdamW { weight_decay } = self.optimizer
            && !(weight_decay.is_finite() && weight_decay >= 0.0)
        {
            return Err(config(
                "optimizer.weight_decay",
                format!("must be ≥ 0, got {weight_decay}"),
            ));
        }
        if self.max_pairs_per_epoch == Some(0) {
            return Err(config("max_pairs_per_epoch", "must be at least 1"));
        }
        if self.patience == Some(0) {
            return Err(config("patience", "must be at least 1"));
        }
        Ok(TrainParams { config: self })
    }
}

/// What the trainer trains on: every product's encoded features, the training pairs with
/// their table (to exclude known positives from negatives), optional validation pairs, and
/// training popularity per product (negative sampling).
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    /// Every product's features.
    pub encoded: &'a EncodedCatalog,
    /// Training-period co-occurrence scores.
    pub train: &'a PairScores,
    /// Validation-period co-occurrence scores (for early stopping and the best checkpoint).
    pub valid: Option<&'a PairScores>,
    /// Training events per product.
    pub popularity: &'a [u32],
}

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// The epoch, 1-based.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f32,
    /// Validation loss, when validation pairs are given.
    pub valid_loss: Option<f32>,
    /// Positive pairs trained on.
    pub pairs: usize,
    /// Positive pairs per second, including data preparation.
    pub pairs_per_sec: f64,
    /// Learning rate at the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
}

/// Receives progress while training (a progress bar, a metrics log, a test probe …).
pub trait TrainObserver {
    /// Called before each epoch with the number of steps it will take.
    fn epoch_start(&mut self, _epoch: usize, _steps: usize) {}
    /// Called after each step.
    fn step(&mut self, _epoch: usize, _step: usize, _loss: f32, _pairs_per_sec: f64) {}
    /// Called after each epoch.
    fn epoch_end(&mut self, _record: &EpochRecord) {}
    /// Asked after each epoch (after its checkpoint is written): true stops training, e.g.
    /// on Ctrl-C or a time budget. The outcome is then marked `interrupted`.
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// Observes nothing.
impl TrainObserver for () {}

impl<A: TrainObserver, B: TrainObserver> TrainObserver for (A, B) {
    fn epoch_start(&mut self, epoch: usize, steps: usize) {
        self.0.epoch_start(epoch, steps);
        self.1.epoch_start(epoch, steps);
    }
    fn step(&mut self, epoch: usize, step: usize, loss: f32, pairs_per_sec: f64) {
        self.0.step(epoch, step, loss, pairs_per_sec);
        self.1.step(epoch, step, loss, pairs_per_sec);
    }
    fn epoch_end(&mut self, record: &EpochRecord) {
        self.0.epoch_end(record);
        self.1.epoch_end(record);
    }
    fn should_stop(&mut self) -> bool {
        // Both are asked, so neither misses the end of an epoch.
        let a = self.0.should_stop();
        let b = self.1.should_stop();
        a || b
    }
}

/// Early stopping on validation loss: tracks the best value and the epochs since.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement after which to stop (`None`: never stop).
    pub patience: Option<usize>,
    /// The best validation loss so far.
    pub best: Option<f32>,
    /// Epochs since the best.
    pub since_best: usize,
}

impl EarlyStopping {
    /// Records an epoch's validation loss (`None` when there is no validation set: every
    /// epoch counts as the best). Returns `(improved, stop)`.
    pub fn update(&mut self, valid_loss: Option<f32>) -> (bool, bool) {
        let improved = match (valid_loss, self.best) {
            (None, _) => true,
            (Some(v), None) => v.is_finite(),
            (Some(v), Some(best)) => v < best,
        };
        if improved {
            self.best = valid_loss.or(self.best);
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        let stop = valid_loss.is_some() && self.patience.is_some_and(|p| self.since_best >= p);
        (improved, stop)
    }
}

/// The result of training.
#[derive(Debug)]
pub struct TrainOutcome {
    /// The model with the best validation loss (the last one without validation pairs), on
    /// the training device.
    pub model: TwoTower,
    /// One record per epoch run.
    pub history: Vec<EpochRecord>,
    /// The epoch of the returned weights (1-based).
    pub best_epoch: usize,
    /// True when early stopping ended training before `epochs`.
    pub stopped_early: bool,
    /// True when the observer asked to stop ([`TrainObserver::should_stop`]).
    pub interrupted: bool,
}

/// What a checkpoint folder holds besides the weight files.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointState {
    format_version: u32,
    config: TrainConfig,
    epochs_done: usize,
    history: Vec<EpochRecord>,
    best_epoch: usize,
    early: EarlyStopping,
}

const CHECKPOINT_VERSION: u32 = 1;

/// Files of a checkpoint folder.
fn ckpt(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn io(file: &Path, source: std::io::Error) -> Error {
    Error::Io {
        file: file.display().to_string(),
        source,
    }
}

/// Prepared batches travel from the CPU thread to the device loop.
struct Prepared {
    batch: PairBatch,
    seeds: EncodedBatch,
    recs: EncodedBatch,
}

impl Prepared {
    /// The seed and rec inputs on `device`, with `vectors` in place of their fields' ids.
    fn inputs(&self, vectors: &FieldVectors, device: &Device) -> Result<(TowerInput, TowerInput)> {
        let seeds = TowerInput::new(&self.seeds, device);
        let recs = TowerInput::new(&self.recs, device);
        if vectors.is_empty() {
            return Ok((seeds, recs));
        }
        Ok((
            vectors.apply(seeds, &self.batch.seeds, device)?,
            vectors.apply(recs, &self.batch.recs, device)?,
        ))
    }
}

fn prepare(
    pairs: &TrainingPairs,
    data: &TrainData<'_>,
    order: &[u32],
    k: usize,
    rng: &mut SeededRng,
) -> Result<Prepared> {
    let batch = pairs.batch(order, k, data.train, rng)?;
    let seeds = data.encoded.batch(&batch.seeds)?;
    let recs = data.encoded.batch(&batch.recs)?;
    Ok(Prepared { batch, seeds, recs })
}

impl TrainParams {
    /// The options.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The learning rate at `step` of `total_steps`.
    pub fn learning_rate(&self, step: usize, total_steps: usize) -> f64 {
        let base = self.config.learning_rate;
        match self.config.schedule {
            Schedule::Constant => base,
            Schedule::Cosine {
                warmup_steps,
                min_factor,
            } => {
                if step < warmup_steps {
                    return base * (step + 1) as f64 / warmup_steps as f64;
                }
                let span = total_steps.saturating_sub(warmup_steps).max(1) as f64;
                let t = ((step - warmup_steps) as f64 / span).min(1.0);
                base * (min_factor
                    + (1.0 - min_factor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
            }
        }
    }

    fn optimizer(&self) -> ModuleOptimizer {
        let clip = self.config.grad_clip_norm.map(GradientClippingConfig::Norm);
        match self.config.optimizer {
            OptimizerKind::Adam => AdamConfig::new().with_grad_clipping(clip).init(),
            OptimizerKind::AdamW { weight_decay } => AdamWConfig::new()
                .with_weight_decay(weight_decay)
                .with_grad_clipping(clip)
                .init(),
        }
    }

    /// Trains a fresh model of `bundle`'s architecture on `device` (an autodiff device, e.g.
    /// `Device::flex().autodiff()`). With `checkpoint_dir`, the state after every epoch is
    /// written there so that [`TrainParams::resume`] can continue.
    pub fn fit(
        &self,
        bundle: &ModelBundle,
        data: TrainData<'_>,
        device: &Device,
        checkpoint_dir: Option<&Path>,
        observer: &mut dyn TrainObserver,
    ) -> Result<TrainOutcome> {
        self.fit_with_vectors(
            bundle,
            data,
            &FieldVectors::new(),
            device,
            checkpoint_dir,
            observer,
        )
    }

    /// [`fit`](Self::fit) for a model with fields that read precomputed per-product vectors
    /// ([`EncoderConfig::Vectors`](deeprecs_encoders::EncoderConfig::Vectors) for a
    /// feature extractor of the caller's own, frozen
    /// [`EncoderConfig::Bert`](deeprecs_encoders::EncoderConfig::Bert)): in every training
    /// and validation batch, those fields' inputs are replaced by the products' rows of
    /// `vectors` ([`FieldVectors::apply`]). The vectors are inputs, not weights: they stay
    /// fixed while the encoder's dense layers train.
    pub fn fit_with_vectors(
        &self,
        bundle: &ModelBundle,
        data: TrainData<'_>,
        vectors: &FieldVectors,
        device: &Device,
        checkpoint_dir: Option<&Path>,
        observer: &mut dyn TrainObserver,
    ) -> Result<TrainOutcome> {
        device.seed(self.config.seed);
        let model = bundle.init(device)?;
        let state = CheckpointState {
            format_version: CHECKPOINT_VERSION,
            config: self.config.clone(),
            epochs_done: 0,
            history: Vec::new(),
            best_epoch: 0,
            early: EarlyStopping {
                patience: self.config.patience,
                best: None,
                since_best: 0,
            },
        };
        self.run(
            bundle,
            data,
            vectors,
            device,
            model,
            self.optimizer(),
            state,
            None,
            checkpoint_dir,
            observer,
        )
    }

    /// Continues training from a checkpoint folder written by [`TrainParams::fit`] with the
    /// same options: the model weights, optimiser state, history and best weights are
    /// restored, and the next epoch's batches are the ones an uninterrupted run would see.
    pub fn resume(
        &self,
        bundle: &ModelBundle,
        data: TrainData<'_>,
        device: &Device,
        checkpoint_dir: &Path,
        observer: &mut dyn TrainObserver,
    ) -> Result<TrainOutcome> {
        self.resume_with_vectors(
            bundle,
            data,
            &FieldVectors::new(),
            device,
            checkpoint_dir,
            observer,
        )
    }

    /// [`resume`](Self::resume) for a run started with
    /// [`fit_with_vectors`](Self::fit_with_vectors) (pass the same vectors).
    pub fn resume_with_vectors(
        &self,
        bundle: &ModelBundle,
        data: TrainData<'_>,
        vectors: &FieldVectors,
        device: &Device,
        checkpoint_dir: &Path,
        observer: &mut dyn TrainObserver,
    ) -> Result<TrainOutcome> {
        let state_file = ckpt(checkpoint_dir, "checkpoint.json");
        let bad = |message: String| Error::Checkpoint {
            file: state_file.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(&state_file).map_err(|e| io(&state_file, e))?;
        let state: CheckpointState = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not a training checkpoint: {e}")))?;
        if state.format_version != CHECKPOINT_VERSION {
            return Err(bad(format!(
                "version {} is not supported",
                state.format_version
            )));
        }
        if state.config != self.config {
            return Err(bad("it was written with other training options".into()));
        }
        let read = |name: &str| {
            let f = ckpt(checkpoint_dir, name);
            std::fs::read(&f).map_err(|e| io(&f, e))
        };
        let model = bundle.load_weights(&read("model.bpk")?, "model.bpk", device)?;
        let optimizer = self
            .optimizer()
            .from_bytes(Bytes::from_bytes_vec(read("optimizer.bin")?))
            .map_err(|e| bad(format!("optimizer state: {e:?}")))?;
        let best = if state.best_epoch > 0 {
            Some(read("best.bpk")?)
        } else {
            None
        };
        self.run(
            bundle,
            data,
            vectors,
            device,
            model,
            optimizer,
            state,
            best,
            Some(checkpoint_dir),
            observer,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        bundle: &ModelBundle,
        data: TrainData<'_>,
        vectors: &FieldVectors,
        device: &Device,
        mut model: TwoTower,
        mut optim: ModuleOptimizer,
        mut state: CheckpointState,
        mut best_weights: Option<Vec<u8>>,
        checkpoint_dir: Option<&Path>,
        observer: &mut dyn TrainObserver,
    ) -> Result<TrainOutcome> {
        if !device.is_autodiff() {
            return Err(config(
                "device",
                "training needs an autodiff device, e.g. Device::flex().autodiff()",
            ));
        }
        let c = &self.config;
        let pairs = TrainingPairs::new(data.train, data.popularity, c.sampling)?;
        let valid_batches = match data.valid {
            Some(v) if !v.is_empty() => Some(self.validation_batches(v, &data)?),
            _ => None,
        };
        let per_epoch = c
            .max_pairs_per_epoch
            .map_or(pairs.len(), |m| m.min(pairs.len()));
        let steps_per_epoch = per_epoch.div_ceil(c.batch_size);
        let total_steps = steps_per_epoch * c.epochs;
        let mut stopped_early = false;
        let mut interrupted = false;
        if let Some(dir) = checkpoint_dir {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        for epoch in state.epochs_done..c.epochs {
            device.seed(c.seed.wrapping_add(epoch as u64));
            let start = Instant::now();
            let order = pairs.epoch_order(c.seed, epoch, c.max_pairs_per_epoch);
            observer.epoch_start(epoch + 1, steps_per_epoch);
            let mut loss_sum = 0.0f64;
            let mut lr = c.learning_rate;
            // Batches are prepared on a CPU thread, two ahead, while the device computes.
            let (tx, rx) = sync_channel::<Result<Prepared>>(2);
            let trained: Result<TwoTower> = std::thread::scope(|scope| {
                // Owned here, so that an error below drops the receiver and the producer's
                // next send fails instead of blocking the scope's join forever.
                let rx = rx;
                let mut model = model;
                let pairs = &pairs;
                let order = &order;
                let data = &data;
                scope.spawn(move || {
                    for (b, chunk) in order.chunks(c.batch_size).enumerate() {
                        let mut rng = SeededRng::fork(c.seed, ((epoch as u64) << 32) | b as u64);
                        if tx
                            .send(prepare(pairs, data, chunk, c.negatives, &mut rng))
                            .is_err()
                        {
                            break;
                        }
                    }
                });
                for (step, prepared) in rx.iter().enumerate() {
                    let p = prepared?;
                    let loss = self.batch_loss(&model, &p, vectors, device)?;
                    let value: f32 = loss.clone().into_scalar();
                    if !value.is_finite() {
                        return Err(Error::Diverged {
                            epoch: epoch + 1,
                            step: step + 1,
                            value,
                        });
                    }
                    loss_sum += f64::from(value);
                    lr = self.learning_rate(epoch * steps_per_epoch + step, total_steps);
                    let grads = GradientsParams::from_grads(loss.backward(), &model);
                    model = optim.step(lr, model, grads);
                    let seen = ((step + 1) * c.batch_size).min(per_epoch);
                    observer.step(
                        epoch + 1,
                        step + 1,
                        value,
                        seen as f64 / start.elapsed().as_secs_f64(),
                    );
                }
                Ok(model)
            });
            model = trained?;
            let seconds = start.elapsed().as_secs_f64();
            let valid_loss = match &valid_batches {
                Some(batches) => Some(self.validation_loss(&model, batches, vectors, device)?),
                None => None,
            };
            let record = EpochRecord {
                epoch: epoch + 1,
                train_loss: (loss_sum / steps_per_epoch.max(1) as f64) as f32,
                valid_loss,
                pairs: per_epoch,
                pairs_per_sec: per_epoch as f64 / seconds,
                learning_rate: lr,
                seconds,
            };
            observer.epoch_end(&record);
            state.history.push(record);
            state.epochs_done = epoch + 1;
            let (improved, stop) = state.early.update(valid_loss);
            if improved {
                state.best_epoch = epoch + 1;
                best_weights = Some(weights_to_bytes(&model)?);
            }
            if let Some(dir) = checkpoint_dir {
                self.write_checkpoint(dir, &model, &optim, &state, best_weights.as_deref())?;
            }
            if stop {
                stopped_early = epoch + 1 < c.epochs;
                break;
            }
            if observer.should_stop() {
                interrupted = epoch + 1 < c.epochs;
                break;
            }
        }
        let model = match best_weights {
            Some(bytes) if state.best_epoch != state.epochs_done => {
                bundle.load_weights(&bytes, "<best weights>", device)?
            }
            _ => model,
        };
        Ok(TrainOutcome {
            model,
            history: state.history,
            best_epoch: state.best_epoch,
            stopped_early,
            interrupted,
        })
    }

    fn write_checkpoint(
        &self,
        dir: &Path,
        model: &TwoTower,
        optim: &ModuleOptimizer,
        state: &CheckpointState,
        best: Option<&[u8]>,
    ) -> Result<()> {
        let write = |name: &str, bytes: &[u8]| {
            let f = ckpt(dir, name);
            let tmp = ckpt(dir, &format!("{name}.tmp"));
            std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
            std::fs::rename(&tmp, &f).map_err(|e| io(&f, e))
        };
        write("model.bpk", &weights_to_bytes(model)?)?;
        let opt = optim.into_bytes().map_err(|e| Error::Checkpoint {
            file: ckpt(dir, "optimizer.bin").display().to_string(),
            message: format!("cannot serialise the optimiser: {e:?}"),
        })?;
        write("optimizer.bin", &opt)?;
        if let Some(best) = best {
            write("best.bpk", best)?;
        }
        // Written last: a checkpoint.json always refers to complete weight files.
        let json = serde_json::to_string_pretty(state).unwrap_or_default();
        write("checkpoint.json", json.as_bytes())
    }

    /// The loss of one prepared batch (the graph is kept for backward).
    fn batch_loss(
        &self,
        model: &TwoTower,
        p: &Prepared,
        vectors: &FieldVectors,
        device: &Device,
    ) -> Result<Tensor<1>> {
        let (seeds, recs) = p.inputs(vectors, device)?;
        let (cos, target) = pair_cosines(model, &seeds, &recs, &p.batch, device)?;
        Ok(self.config.loss.forward(cos, target))
    }

    /// Fixed validation batches: the same [`VALID_NEGATIVES`] uniform negatives per positive
    /// every epoch, in batches of [`VALID_BATCH`], whatever the training options — so
    /// validation losses compare across epochs and across runs.
    fn validation_batches(
        &self,
        valid: &PairScores,
        data: &TrainData<'_>,
    ) -> Result<Vec<Prepared>> {
        let pairs = TrainingPairs::new(valid, data.popularity, NegativeSampling::Uniform)?;
        let limit = VALID_MAX_PAIRS.min(pairs.len());
        let order = pairs.epoch_order(self.config.seed ^ 0x5A11D, 0, Some(limit));
        let mut rng = SeededRng::fork(self.config.seed, 0x5A11D);
        // Negatives exclude the validation table's positives.
        order
            .chunks(VALID_BATCH)
            .map(|chunk| {
                let batch = pairs.batch(chunk, VALID_NEGATIVES, valid, &mut rng)?;
                Ok(Prepared {
                    seeds: data.encoded.batch(&batch.seeds)?,
                    recs: data.encoded.batch(&batch.recs)?,
                    batch,
                })
            })
            .collect()
    }

    fn validation_loss(
        &self,
        model: &TwoTower,
        batches: &[Prepared],
        vectors: &FieldVectors,
        device: &Device,
    ) -> Result<f32> {
        let inner = device.clone().without_autodiff();
        let model = model.valid();
        let mut sum = 0.0f64;
        for p in batches {
            let (seeds, recs) = p.inputs(vectors, &inner)?;
            let (cos, target) = pair_cosines(&model, &seeds, &recs, &p.batch, &inner)?;
            let loss = self.config.valid_loss.as_ref().unwrap_or(&self.config.loss);
            let v: f32 = loss.forward(cos, target).into_scalar();
            sum += f64::from(v);
        }
        Ok((sum / batches.len().max(1) as f64) as f32)
    }
}

/// The cosines `[batch, 1 + k]` of each seed with its positive then its negatives, and the
/// targets. With in-batch sampling (`k = 0` in the batch), the other rows' positives are the
/// negatives: `[batch, batch]` with the own positive first.
fn pair_cosines(
    model: &TwoTower,
    seeds: &TowerInput,
    recs: &TowerInput,
    batch: &PairBatch,
    device: &Device,
) -> Result<(Tensor<2>, Tensor<2>)> {
    let s = model.embed_seed(seeds)?;
    let r = model.embed_rec(recs)?;
    let [b, d] = s.dims();
    if batch.negatives == 0 && b > 1 {
        let m = s.matmul(r.transpose()); // [b, b]
        // Row i: column i first, then the others in order.
        let mut idx = Vec::with_capacity(b * b);
        for i in 0..b {
            idx.push(i as i64);
            idx.extend((0..b).filter(|&j| j != i).map(|j| j as i64));
        }
        let idx = Tensor::<2, Int>::from_data(TensorData::new(idx, [b, b]), device);
        let cos = m.gather(1, idx);
        let mut target = vec![0.0f32; b * b];
        for (i, t) in batch.targets.iter().enumerate() {
            target[i * b] = *t;
        }
        let target = Tensor::from_data(TensorData::new(target, [b, b]), device);
        return Ok((cos, target));
    }
    let cols = 1 + batch.negatives;
    let r = r.reshape([b, cols, d]);
    let cos = (s.unsqueeze_dim::<3>(1) * r).sum_dim(2).reshape([b, cols]);
    let target = Tensor::from_data(TensorData::new(batch.targets.clone(), [b, cols]), device);
    Ok((cos, target))
}
