//! The `deeprecs` command-line tool.
//!
//! Exit codes: 0 success, 1 a data or I/O error (the message names file, line and field),
//! 2 a usage error.

#![warn(clippy::unwrap_used)]

mod cooc_cmd;
mod demo_cmd;
mod embed_cmd;
mod index_cmd;
mod learn_cmd;
mod recommend_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_core::{Catalog, EventLog, FeatureSchema, FieldValue, Vocabularies};

const AFTER_HELP: &str = "\
Start here: `deeprecs demo` runs the whole pipeline on a synthetic catalog.
Guide: docs/src/SUMMARY.md";

/// Content-aware cross-sell recommendation: co-occurrence scores, two-tower models, serving.
#[derive(Debug, Parser)]
#[command(name = "deeprecs", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a synthetic catalog, event log and schema file (with ground truth) to a folder.
    Synth {
        /// Output folder (created if needed).
        #[arg(long)]
        out: PathBuf,
        /// Number of products.
        #[arg(long, default_value_t = SyntheticConfig::default().products)]
        products: usize,
        /// Number of users.
        #[arg(long, default_value_t = SyntheticConfig::default().users)]
        users: usize,
        /// Days of history.
        #[arg(long, default_value_t = SyntheticConfig::default().days)]
        days: u32,
        /// Random seed (same seed, same data).
        #[arg(long, default_value_t = SyntheticConfig::default().seed)]
        seed: u64,
        /// Do not generate gendered variants of children's products.
        #[arg(long)]
        no_gendered: bool,
    },
    /// Read a schema, catalog and event log and print a summary with skipped rows by reason.
    Inspect {
        /// The schema TOML file.
        #[arg(long)]
        schema: PathBuf,
        /// The catalog file (CSV or JSON Lines, optionally gzip-compressed).
        #[arg(long)]
        catalog: PathBuf,
        /// The event log file (CSV or JSON Lines, optionally gzip-compressed).
        #[arg(long)]
        events: Option<PathBuf>,
        /// Products with fewer events than this count as long tail.
        #[arg(long, default_value_t = 5)]
        long_tail: u32,
    },
    /// Count time-window co-occurrences, score the pairs in [0, 1] and write the table.
    Cooc(cooc_cmd::CoocArgs),
    /// Build a serving index: embed a catalog with a trained model into one artifact file.
    Index(index_cmd::IndexArgs),
    /// Cross-sell recommendations for a product, a brand-new product or a cart.
    Recommend(recommend_cmd::RecommendArgs),
    /// BERT sentence embeddings of stdin lines: one JSON array of floats per line on stdout.
    Embed(embed_cmd::EmbedArgs),
    /// Train a two-tower model on a data set's training period and save it (with metrics,
    /// a loss picture and, unless --no-eval, the evaluation against the baselines).
    Train(learn_cmd::TrainArgs),
    /// Compare saved models with the baselines on the test period, per slice (cold, tail,
    /// warm, all).
    Eval(learn_cmd::EvalArgs),
    /// Hyper-parameter search (random search + successive halving) on validation loss.
    Tune(learn_cmd::TuneArgs),
    /// The whole pipeline end to end on the embedded synthetic catalog (or Online Retail):
    /// co-occurrence, training, index, cold-start and cart recommendations, evaluation,
    /// pictures.
    Demo(demo_cmd::DemoArgs),
    /// Pictures (vector-space map, long tail, loss curves) and TensorBoard Embedding
    /// Projector files for a serving artifact.
    Export(demo_cmd::ExportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth {
            out,
            products,
            users,
            days,
            seed,
            no_gendered,
        } => {
            let config = SyntheticConfig {
                seed,
                products,
                users,
                days,
                gendered_variants: !no_gendered,
                ..SyntheticConfig::default()
            };
            let data = generate(&config)?;
            data.write_to(&out)?;
            println!(
                "wrote {} products, {} events of {} users to {}",
                data.catalog.len(),
                data.events.len(),
                data.events.user_count(),
                out.display()
            );
            println!(
                "  schema.toml catalog.csv events.csv ground_truth.json config.json\n\
                 next: deeprecs inspect --schema {0}/schema.toml --catalog {0}/catalog.csv --events {0}/events.csv",
                out.display()
            );
            Ok(())
        }
        Command::Inspect {
            schema,
            catalog,
            events,
            long_tail,
        } => inspect(&schema, &catalog, events.as_deref(), long_tail),
        Command::Cooc(args) => cooc_cmd::run(&args, &mut std::io::stdout().lock()),
        Command::Index(args) => index_cmd::run(&args, &mut std::io::stdout().lock()),
        Command::Recommend(args) => recommend_cmd::run(&args, &mut std::io::stdout().lock()),
        Command::Embed(args) => embed_cmd::run(
            &args,
            std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
        ),
        Command::Train(args) => learn_cmd::train(&args),
        Command::Eval(args) => learn_cmd::eval(&args),
        Command::Tune(args) => learn_cmd::tune(&args),
        Command::Demo(args) => demo_cmd::demo(&args),
        Command::Export(args) => demo_cmd::export(&args),
    }
}

fn inspect(
    schema_path: &std::path::Path,
    catalog_path: &std::path::Path,
    events_path: Option<&std::path::Path>,
    long_tail: u32,
) -> anyhow::Result<()> {
    let schema = FeatureSchema::from_path(schema_path)?;
    let (catalog, report) = Catalog::read(catalog_path, &schema)?;
    println!("catalog  {report}");
    println!("products {}", catalog.len());
    let vocabs = Vocabularies::fit(&catalog, catalog.iter().map(|p| p.idx))
        .context("fitting vocabularies")?;
    println!("fields");
    for (i, (field, vocab)) in schema.fields().iter().zip(vocabs.fields()).enumerate() {
        let missing = catalog
            .iter()
            .filter(|p| matches!(p.values[i], FieldValue::Missing))
            .count();
        println!(
            "  {:<20} {:<18} vocabulary {:>7} (incl. <pad>, <unk>)  missing {:>6}",
            field.name,
            field.kind.name().to_string(),
            vocab.len(),
            missing
        );
    }
    if let Some(events_path) = events_path {
        let (log, report) = EventLog::read(events_path, &schema, &catalog)?;
        println!("events   {report}");
        println!("{}", log.summary(&catalog, long_tail));
    }
    Ok(())
}
