//! Ready-made [`TrainObserver`]s: a progress bar and a JSON-lines metrics log.

use std::io::Write;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{Error, Result};
use crate::trainer::{EpochRecord, TrainObserver};

/// An `indicatif` progress bar per epoch with the running loss and pairs/s, and a summary
/// line per epoch.
#[derive(Debug, Default)]
pub struct ProgressBarObserver {
    bar: Option<ProgressBar>,
    loss_sum: f64,
    steps: usize,
}

impl ProgressBarObserver {
    /// A new progress bar (drawn on standard error; hidden when it is not a terminal).
    pub fn new() -> Self {
        Self::default()
    }
}

impl TrainObserver for ProgressBarObserver {
    fn epoch_start(&mut self, epoch: usize, steps: usize) {
        let bar = ProgressBar::new(steps as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix:>3} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(epoch.to_string());
        self.bar = Some(bar);
        self.loss_sum = 0.0;
        self.steps = 0;
    }

    fn step(&mut self, _epoch: usize, step: usize, loss: f32, pairs_per_sec: f64) {
        self.loss_sum += f64::from(loss);
        self.steps += 1;
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            bar.set_message(format!(
                "loss {:.4}  {:.0} pairs/s",
                self.loss_sum / self.steps as f64,
                pairs_per_sec
            ));
        }
    }

    fn epoch_end(&mut self, r: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let valid = r
            .valid_loss
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
        eprintln!(
            "epoch {:>3}: train loss {:.4}  valid loss {valid}  {:.0} pairs/s  {:.1} s  lr {:.2e}",
            r.epoch, r.train_loss, r.pairs_per_sec, r.seconds, r.learning_rate
        );
    }
}

/// Appends one JSON object per epoch ([`EpochRecord`]) to a file.
#[derive(Debug)]
pub struct JsonLinesLog {
    file: std::fs::File,
    path: String,
    error: Option<Error>,
}

impl JsonLinesLog {
    /// Creates (truncates) the log file.
    pub fn create(path: &Path) -> Result<Self> {
        let file = std::fs::File::create(path).map_err(|source| Error::Io {
            file: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            file,
            path: path.display().to_string(),
            error: None,
        })
    }

    /// The first write error, if any (observers cannot fail the training loop themselves).
    pub fn finish(self) -> Result<()> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl TrainObserver for JsonLinesLog {
    fn epoch_end(&mut self, record: &EpochRecord) {
        if self.error.is_some() {
            return;
        }
        let line = serde_json::to_string(record).unwrap_or_default();
        if let Err(source) = writeln!(self.file, "{line}") {
            self.error = Some(Error::Io {
                file: self.path.clone(),
                source,
            });
        }
    }

    fn should_stop(&mut self) -> bool {
        // Stop rather than train on without the log the caller asked for.
        self.error.is_some()
    }
}
