//! `deeprecs index build`: embed a catalog with a trained model and write the serving
//! artifact (model, weights, vocabularies, seed and rec vectors, labels) to one file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use deeprecs_core::{Catalog, FeatureSchema};
use deeprecs_encoders::ModelBundle;
use deeprecs_index::{BuildOptions, CrossSellIndex, HnswParams, SearchKind};
use indicatif::{ProgressBar, ProgressStyle};

/// The model JSON file inside a `--model DIR` folder (as `deeprecs train --out DIR` writes it).
pub const MODEL_JSON: &str = "model.json";
/// The weights file inside a `--model DIR` folder.
pub const MODEL_WEIGHTS: &str = "model.bpk";

/// Options of `deeprecs index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    pub command: IndexCommand,
}

/// The `deeprecs index` subcommands.
#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Embed a catalog with a trained model and write the serving artifact.
    Build(BuildArgs),
}

/// Options of `deeprecs index build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// A trained model folder holding model.json and model.bpk (as `deeprecs train --out DIR`
    /// writes them); or give --model-config and --weights.
    #[arg(long, conflicts_with_all = ["model_config", "weights"], required_unless_present = "model_config")]
    pub model: Option<PathBuf>,
    /// The model JSON file (config, schema and vocabularies).
    #[arg(long, requires = "weights")]
    pub model_config: Option<PathBuf>,
    /// The model's weights file (burnpack).
    #[arg(long, requires = "model_config")]
    pub weights: Option<PathBuf>,
    /// The schema TOML to read the catalog with (default: the model's own schema). It must
    /// declare the same fields as the model's.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// The catalog file (CSV or JSON Lines, optionally gzip-compressed).
    #[arg(long)]
    pub catalog: PathBuf,
    /// The artifact to write (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Also build an approximate (HNSW) graph for fast single queries on large catalogs.
    #[arg(long)]
    pub ann: bool,
    /// Products per batch when embedding the catalog.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
}

/// Runs `deeprecs index …`.
pub fn run(args: &IndexArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match &args.command {
        IndexCommand::Build(b) => build(b, out),
    }
}

/// The model JSON and weights files named by the arguments.
fn model_files(args: &BuildArgs) -> anyhow::Result<(PathBuf, PathBuf)> {
    match (&args.model, &args.model_config, &args.weights) {
        (Some(dir), _, _) => Ok((dir.join(MODEL_JSON), dir.join(MODEL_WEIGHTS))),
        (None, Some(config), Some(weights)) => Ok((config.clone(), weights.clone())),
        _ => bail!("give --model DIR, or --model-config FILE and --weights FILE"),
    }
}

fn read_bundle(path: &Path) -> anyhow::Result<ModelBundle> {
    let json = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the model config {}", path.display()))?;
    Ok(ModelBundle::from_json(&json, &path.display().to_string())?)
}

fn build(args: &BuildArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let started = Instant::now();
    let (config_path, weights_path) = model_files(args)?;
    let bundle = read_bundle(&config_path)?;
    let weights = std::fs::read(&weights_path)
        .with_context(|| format!("cannot read the weights {}", weights_path.display()))?;
    let schema = match &args.schema {
        Some(path) => {
            let schema = FeatureSchema::from_path(path)?;
            if schema.fields() != bundle.schema.fields() {
                bail!(
                    "{}: the schema's fields differ from the model's ({}); use the schema the \
                     model was trained with, or leave out --schema",
                    path.display(),
                    config_path.display()
                );
            }
            schema
        }
        None => bundle.schema.clone(),
    };
    let (catalog, report) = Catalog::read(&args.catalog, &schema)?;
    writeln!(out, "catalog  {report}")?;

    let bar = ProgressBar::new(catalog.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("embedding {bar:40} {pos}/{len} products ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let search = if args.ann {
        SearchKind::Hnsw(HnswParams::default())
    } else {
        SearchKind::Exact
    };
    let options = BuildOptions::default()
        .with_batch_size(args.batch_size)
        .with_search(search);
    let index = CrossSellIndex::build(bundle, &weights, &catalog, &options, |done, _| {
        bar.set_position(done as u64);
    })
    .with_context(|| format!("building the index of {}", args.catalog.display()))?;
    bar.finish_and_clear();
    index.save(&args.out)?;
    let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    writeln!(
        out,
        "indexed {} products ({}-d, {} search) in {:.1}s → {} ({:.1} MB)",
        index.len(),
        index.dim(),
        if args.ann { "HNSW" } else { "exact" },
        started.elapsed().as_secs_f64(),
        args.out.display(),
        size as f64 / 1e6
    )?;
    writeln!(
        out,
        "next: deeprecs recommend --model {} --product {}",
        args.out.display(),
        catalog.ids().first().map_or("ID", String::as_str)
    )?;
    Ok(())
}
