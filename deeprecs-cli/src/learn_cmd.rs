//! `deeprecs train`, `deeprecs eval` and `deeprecs tune`: training, evaluation against the
//! baselines, and hyper-parameter search on any data set a schema describes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::Device;
use clap::Args;
use deeprecs_cooc::{ColdStart, Cutoff, Window};
use deeprecs_core::{Catalog, EventLog, FeatureSchema};
use deeprecs_encoders::{ModelBundle, TowerConfig, TwoTowerConfig};
use deeprecs_train::eval::{EvalResult, comparison_json, comparison_markdown};
use deeprecs_train::tune::SearchConfig;
use deeprecs_train::{
    DataConfig, Experiment, JsonLinesLog, ProgressBarObserver, TrainConfig, plot,
};

/// The data set and how it is split and counted (shared by train, eval and tune).
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The schema TOML file (with an `[events]` section).
    #[arg(long)]
    pub schema: PathBuf,
    /// The catalog file (CSV or JSON Lines, optionally gzip-compressed).
    #[arg(long)]
    pub catalog: PathBuf,
    /// The event log file.
    #[arg(long)]
    pub events: PathBuf,
    /// A data config JSON file (split, counting, scorer, evaluation protocol); the options
    /// below override its values.
    #[arg(long)]
    pub data_config: Option<PathBuf>,
    /// End of the training period: a date/time like the log's (2011-10-01) or a fraction of
    /// the log's time span (0.8).
    #[arg(long)]
    pub train_until: Option<String>,
    /// End of the validation period (same forms); the test period follows.
    #[arg(long)]
    pub valid_until: Option<String>,
    /// Also hold out this share of products with training events as cold start (random,
    /// seeded by --split-seed).
    #[arg(long)]
    pub cold_share: Option<f64>,
    /// Seed of the split's random choices.
    #[arg(long)]
    pub split_seed: Option<u64>,
    /// Pairing window (7d, 12h, 0 = same basket).
    #[arg(long)]
    pub window: Option<Window>,
    /// Minimum number of customers for a test pair to count as a positive.
    #[arg(long)]
    pub min_support: Option<f32>,
    /// A Hugging Face BERT model folder (config.json, model.safetensors, tokenizer.json):
    /// adds the frozen pre-trained BERT cosine baseline on the first text field (default:
    /// $DEEPRECS_BERT_DIR when set).
    #[arg(long)]
    pub bert_dir: Option<PathBuf>,
}

fn cutoff(text: &str) -> Cutoff {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Cutoff::Fraction(f),
        _ => Cutoff::At(text.to_string()),
    }
}

impl DataArgs {
    /// The data config: the file's (or the default) with the command-line overrides.
    pub fn config(&self) -> anyhow::Result<DataConfig> {
        let mut c = match &self.data_config {
            Some(p) => DataConfig::from_path(p)?,
            None => DataConfig::default(),
        };
        if let Some(t) = &self.train_until {
            c.split.train_until = cutoff(t);
        }
        if let Some(t) = &self.valid_until {
            c.split.valid_until = cutoff(t);
        }
        if let Some(s) = self.cold_share {
            c.split.cold_start = ColdStart::RandomShare(s);
        }
        if let Some(s) = self.split_seed {
            c.split.seed = s;
        }
        if let Some(w) = self.window {
            c.cooc.window = w;
        }
        if let Some(m) = self.min_support {
            c.eval.min_support = m;
        }
        Ok(c)
    }

    /// The BERT model folder for the frozen-BERT baseline, if any.
    pub fn bert_dir(&self) -> Option<PathBuf> {
        self.bert_dir
            .clone()
            .or_else(|| std::env::var_os("DEEPRECS_BERT_DIR").map(PathBuf::from))
    }

    /// Reads the files and prepares the experiment, printing what was read to stderr.
    pub fn prepare(&self) -> anyhow::Result<Experiment> {
        let config = self.config()?;
        let schema = FeatureSchema::from_path(&self.schema)?;
        let (catalog, report) = Catalog::read(&self.catalog, &schema)?;
        eprintln!("catalog  {report}");
        let (log, report) = EventLog::read(&self.events, &schema, &catalog)?;
        eprintln!("events   {report}");
        let exp = Experiment::prepare(schema, catalog, log, &config)?;
        let s = exp.summary();
        eprintln!(
            "split    {} products ({} cold start), {} training events, {} training pairs, \
             {} validation pairs; test seeds: {} cold, {} tail, {} warm",
            s.products,
            s.cold_products,
            s.train_events,
            s.train_pairs,
            s.valid_pairs,
            s.test_seeds[0],
            s.test_seeds[1],
            s.test_seeds[2]
        );
        Ok(exp)
    }
}

/// Model and training options (shared by train and eval's `--train`).
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// A model config JSON file (a `TwoTowerConfig`, e.g. `best_model.json` from `tune`);
    /// default: every schema field with its kind's default encoder.
    #[arg(long)]
    pub model_config: Option<PathBuf>,
    /// A training config JSON file (a `TrainConfig`, e.g. `best_train.json` from `tune`).
    #[arg(long)]
    pub train_config: Option<PathBuf>,
    /// Number of epochs (overrides the training config).
    #[arg(long)]
    pub epochs: Option<usize>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: line {}, column {}: not a {what}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

impl ModelArgs {
    fn configs(&self, exp: &Experiment) -> anyhow::Result<(TwoTowerConfig, TrainConfig)> {
        let model = match &self.model_config {
            Some(p) => read_json(p, "model config")?,
            None => TwoTowerConfig::new(TowerConfig::for_schema(exp.schema())),
        };
        let mut train: TrainConfig = match &self.train_config {
            Some(p) => read_json(p, "training config")?,
            None => TrainConfig::default(),
        };
        if let Some(e) = self.epochs {
            train.epochs = e;
        }
        Ok((model, train))
    }
}

/// Options of `deeprecs train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Output folder: model.json + model.bpk (for `deeprecs index build --model`),
    /// metrics.jsonl, loss.png, the configs used, and eval.md/eval.json.
    #[arg(long)]
    out: PathBuf,
    /// Do not evaluate the trained model on the test period afterwards.
    #[arg(long)]
    no_eval: bool,
}

/// Trains and saves a model; returns the experiment and the evaluation (for the demo).
pub fn train(args: &TrainArgs) -> anyhow::Result<()> {
    let exp = args.data.prepare()?;
    let (model, train) = args.model.configs(&exp)?;
    let bert = args.data.bert_dir();
    let trained = train_and_save(
        &exp,
        bert.as_deref(),
        &model,
        train,
        &args.out,
        !args.no_eval,
    )?;
    if !trained.results.is_empty() {
        println!("{}", comparison_markdown(&trained.results));
    }
    Ok(())
}

/// What [`train_and_save`] produced.
pub struct Trained {
    /// The model's config, schema and vocabularies.
    pub bundle: ModelBundle,
    /// The trained model (best weights).
    pub model: deeprecs_encoders::TwoTower,
    /// The model then the baselines, when evaluated.
    pub results: Vec<EvalResult>,
}

/// Trains `model` with `train` on `exp`, writes the model folder to `out`, and (with
/// `evaluate`) evaluates it next to the baselines, writing `eval.md` and `eval.json`.
pub fn train_and_save(
    exp: &Experiment,
    bert_dir: Option<&Path>,
    model: &TwoTowerConfig,
    train: TrainConfig,
    out: &Path,
    evaluate: bool,
) -> anyhow::Result<Trained> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let params = train.clone().check()?;
    let log = JsonLinesLog::create(&out.join("metrics.jsonl"))?;
    let mut observers = (ProgressBarObserver::new(), log);
    let (bundle, outcome) = exp.fit(
        model,
        &params,
        &Device::flex().autodiff(),
        None,
        &mut observers,
    )?;
    observers.1.finish()?;
    bundle.save(
        &outcome.model,
        &out.join("model.json"),
        &out.join("model.bpk"),
    )?;
    write_json(&out.join("train_config.json"), &train)?;
    write_json(&out.join("data_config.json"), exp.config())?;
    plot::loss_curves(&outcome.history, &out.join("loss.png"))?;
    eprintln!(
        "saved the model (epoch {} of {}) to {}",
        outcome.best_epoch,
        outcome.history.len(),
        out.display()
    );
    let mut results = Vec::new();
    if evaluate {
        results.push(exp.evaluate_model("deeprecs", &outcome.model)?);
        results.extend(baselines(exp, bert_dir)?);
        write_reports(out, &results)?;
    }
    Ok(Trained {
        bundle,
        model: outcome.model,
        results,
    })
}

/// The baselines, with frozen-BERT cosine first when a model folder is given and the schema
/// has a text field.
pub fn baselines(exp: &Experiment, bert_dir: Option<&Path>) -> anyhow::Result<Vec<EvalResult>> {
    let mut out = Vec::new();
    if let (Some(dir), Some(field)) = (bert_dir, exp.first_text_field()) {
        eprintln!(
            "embedding {field:?} with frozen BERT from {}",
            dir.display()
        );
        out.push(exp.frozen_bert_baseline(dir, field, None)?);
    }
    out.extend(exp.baselines()?);
    Ok(out)
}

/// Writes `eval.md` and `eval.json` into `out`.
pub fn write_reports(out: &Path, results: &[EvalResult]) -> anyhow::Result<()> {
    std::fs::write(out.join("eval.md"), comparison_markdown(results))
        .with_context(|| format!("writing {}", out.join("eval.md").display()))?;
    std::fs::write(out.join("eval.json"), comparison_json(results)?)
        .with_context(|| format!("writing {}", out.join("eval.json").display()))
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Options of `deeprecs eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    data: DataArgs,
    /// A trained model folder (model.json + model.bpk) to compare with the baselines
    /// (repeatable; named by folder).
    #[arg(long = "model")]
    models: Vec<PathBuf>,
    /// Only the baselines' rows, no model.
    #[arg(long)]
    baselines_only: bool,
    /// Print a JSON array of {"model", "slice", "metric", "k", "value"} rows instead of the
    /// table.
    #[arg(long)]
    json: bool,
}

/// Evaluates saved models and the baselines on the data set's test period.
pub fn eval(args: &EvalArgs) -> anyhow::Result<()> {
    if args.models.is_empty() && !args.baselines_only {
        anyhow::bail!("give --model DIR (repeatable) or --baselines-only");
    }
    let exp = args.data.prepare()?;
    let mut results = Vec::new();
    for dir in &args.models {
        let (bundle, model) = ModelBundle::load(
            &dir.join("model.json"),
            &dir.join("model.bpk"),
            &Device::flex(),
        )?;
        let name = dir
            .file_name()
            .map_or_else(|| "deeprecs".into(), |n| n.to_string_lossy().into_owned());
        results.push(exp.evaluate_with_vocabularies(&name, &model, &bundle.vocabularies)?);
    }
    results.extend(baselines(&exp, args.data.bert_dir().as_deref())?);
    if args.json {
        println!("{}", comparison_json(&results)?);
    } else {
        println!("{}", comparison_markdown(&results));
    }
    Ok(())
}

/// Options of `deeprecs tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    data: DataArgs,
    /// A search config JSON file (space, trials, rungs, base training options).
    #[arg(long)]
    search_config: Option<PathBuf>,
    /// Configurations to draw (overrides the search config).
    #[arg(long)]
    trials: Option<usize>,
    /// Epochs of the last rung (overrides the search config).
    #[arg(long)]
    max_epochs: Option<usize>,
    /// Seed of the draws (overrides the search config).
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder: leaderboard.{json,csv,md}, best_model.json, best_train.json, and the
    /// trials' checkpoints under trials/.
    #[arg(long)]
    out: PathBuf,
}

/// Runs the hyper-parameter search.
pub fn tune(args: &TuneArgs) -> anyhow::Result<()> {
    let mut config: SearchConfig = match &args.search_config {
        Some(p) => read_json(p, "search config")?,
        None => SearchConfig::default(),
    };
    if let Some(t) = args.trials {
        config.trials = t;
    }
    if let Some(m) = args.max_epochs {
        config.max_epochs = m;
        config.min_epochs = config.min_epochs.min(m);
    }
    if let Some(s) = args.seed {
        config.seed = s;
    }
    let search = config.check()?;
    let exp = args.data.prepare()?;
    eprintln!(
        "search   {} trials, rungs {:?} epochs",
        search.config().trials,
        search.rungs()
    );
    let board = search.run(
        &exp,
        &Device::flex().autodiff(),
        &args.out.join("trials"),
        &mut |event| {
            use deeprecs_train::tune::SearchEvent;
            match event {
                SearchEvent::TrialStart {
                    trial,
                    rung,
                    epochs,
                } => eprintln!(
                    "trial {:>3} rung {rung} → {epochs} epochs: {}",
                    trial.id, trial.summary
                ),
                SearchEvent::TrialEnd { trial } => eprintln!(
                    "trial {:>3} best valid loss {} (epoch {})",
                    trial.id,
                    trial
                        .best_valid_loss
                        .map_or_else(|| "-".into(), |l| format!("{l:.5}")),
                    trial.best_epoch
                ),
                SearchEvent::RungEnd { rung, promoted } => {
                    eprintln!("rung {rung} done; promoted {promoted:?}");
                }
            }
        },
    )?;
    board.write(&args.out)?;
    println!("{}", board.markdown());
    println!(
        "wrote {0}/leaderboard.md, {0}/best_model.json, {0}/best_train.json",
        args.out.display()
    );
    Ok(())
}
