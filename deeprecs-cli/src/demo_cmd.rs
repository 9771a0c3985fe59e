//! `deeprecs demo`: the whole pipeline end to end — data, co-occurrence, training, index,
//! cold-start and cart recommendations with explanations, the evaluation table, pictures —
//! and `deeprecs export`: pictures and TensorBoard projector files from a serving artifact.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::Device;
use clap::{Args, ValueEnum};
use deeprecs_cooc::{ColdStart, Cutoff, SplitConfig};
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_core::{Catalog, EventLog, FeatureSchema, FieldKindName, FieldValue, ProductIdx};
use deeprecs_encoders::{FusionConfig, TowerConfig, TwoTowerConfig};
use deeprecs_index::{
    BuildOptions, CartAggregation, CrossSellIndex, CrossSellRecommendation, QueryOptions,
};
use deeprecs_train::eval::{Slice, comparison_markdown};
use deeprecs_train::{DataConfig, Experiment, TrainConfig, plot};
use indicatif::{ProgressBar, ProgressStyle};

use crate::learn_cmd::{train_and_save, write_reports};

/// Which data the demo runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoData {
    /// The synthetic catalog, generated in-process (no files needed).
    Synthetic,
    /// UCI Online Retail from --data-dir (online-retail/online_retail.csv.gz).
    OnlineRetail,
}

/// Options of `deeprecs demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder for the model, artifact, reports and pictures.
    #[arg(long, default_value = "deeprecs-demo")]
    out: PathBuf,
    /// A smaller catalog and fewer epochs (about a minute; what CI runs).
    #[arg(long)]
    small: bool,
    /// The data set.
    #[arg(long, value_enum, default_value = "synthetic")]
    data: DemoData,
    /// Folder holding online-retail/online_retail.csv.gz (default: $DEEPRECS_DATA_DIR or
    /// ../shared/data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Training epochs (default 6, or 3 with --small).
    #[arg(long)]
    epochs: Option<usize>,
}

const ONLINE_RETAIL_SCHEMA: &str = include_str!("../../examples/online_retail.schema.toml");

fn section(title: &str) {
    println!("\n== {title}");
}

/// Runs the demo.
pub fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out = out
        .canonicalize()
        .with_context(|| format!("resolving {}", out.display()))?;

    section("1. data");
    let (schema, catalog, log, config, truth) = match args.data {
        DemoData::Synthetic => {
            let synth = SyntheticConfig {
                products: if args.small { 600 } else { 2_000 },
                users: if args.small { 1_500 } else { 3_000 },
                ..SyntheticConfig::default()
            };
            let data = generate(&synth)?;
            let from = data.truth.cold_start_from;
            println!(
                "synthetic catalog: {} products of {} types, {} events of {} users over {} days; \
                 {} products introduced in the last {} days (cold start)",
                data.catalog.len(),
                data.truth.type_names.len(),
                data.events.len(),
                data.events.user_count(),
                synth.days,
                data.truth.cold_start.iter().filter(|&&c| c).count(),
                synth.cold_days
            );
            // Train on the history before the cold-start period, validate on its first ten
            // days, test on the rest.
            let config = DataConfig {
                split: SplitConfig {
                    train_until: Cutoff::At(from.to_string()),
                    valid_until: Cutoff::At((from + 10 * 86_400).to_string()),
                    ..SplitConfig::default()
                },
                // Ten days of test data on a small catalog: two customers make a positive.
                eval: deeprecs_train::eval::EvalConfig {
                    min_support: 2.0,
                    ..deeprecs_train::eval::EvalConfig::default()
                },
                ..DataConfig::default()
            };
            (
                data.schema,
                data.catalog,
                data.events,
                config,
                Some(data.truth),
            )
        }
        DemoData::OnlineRetail => {
            let dir = args
                .data_dir
                .clone()
                .or_else(|| std::env::var_os("DEEPRECS_DATA_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("../shared/data"));
            let file = dir.join("online-retail/online_retail.csv.gz");
            if !file.exists() {
                anyhow::bail!(
                    "{} not found: download \"Online Retail\" from the UCI Machine Learning \
                     Repository (https://archive.ics.uci.edu/dataset/352/online+retail), save \
                     it as CSV, gzip it to that path, or pass --data-dir",
                    file.display()
                );
            }
            let schema =
                FeatureSchema::from_toml_str(ONLINE_RETAIL_SCHEMA, "online_retail.schema.toml")?;
            let (catalog, report) = Catalog::read(&file, &schema)?;
            println!("catalog  {report}");
            let (log, report) = EventLog::read(&file, &schema, &catalog)?;
            println!("events   {report}");
            // The protocol of docs/src/online-retail.md.
            let config = DataConfig {
                split: SplitConfig {
                    train_until: Cutoff::At("2011-10-01".into()),
                    valid_until: Cutoff::At("2011-10-01".into()),
                    cold_start: ColdStart::RandomShare(0.1),
                    long_tail_below: 5,
                    seed: 42,
                },
                ..DataConfig::default()
            };
            (schema, catalog, log, config, None)
        }
    };
    let events_per_product = log.events_per_product(catalog.len());
    plot::long_tail(
        &events_per_product,
        "Events per product",
        &out.join("long_tail.png"),
    )?;
    let exp = Experiment::prepare(schema, catalog, log, &config)?;
    let s = exp.summary();
    println!(
        "split: {} training events; {} cold-start products; test seeds: {} cold, {} tail, {} warm",
        s.train_events, s.cold_products, s.test_seeds[0], s.test_seeds[1], s.test_seeds[2]
    );

    section("2. co-occurrence (training period, 7-day window, once per customer)");
    println!(
        "{} scored pairs ({} validation pairs); the strongest:",
        s.train_pairs, s.valid_pairs
    );
    let catalog = exp.catalog();
    for p in exp.train_pairs().top_pairs(5) {
        if p.seed < p.rec {
            println!(
                "  {:.3}  {}  +  {}",
                p.score,
                catalog.label(p.seed),
                catalog.label(p.rec)
            );
        }
    }

    section("3. training the two-tower model");
    let epochs = args.epochs.unwrap_or(if args.small { 3 } else { 6 });
    let model_config = TwoTowerConfig::new(
        TowerConfig::for_schema(exp.schema())
            .with_dim(64)
            .with_fusion(FusionConfig::new().with_dense(vec![128, 64])),
    );
    let train = TrainConfig {
        epochs,
        ..TrainConfig::default()
    };
    let model_dir = out.join("model");
    let trained = train_and_save(&exp, None, &model_config, train, &model_dir, false)?;

    section("4. serving index");
    let bar = ProgressBar::new(catalog.len() as u64).with_style(
        ProgressStyle::with_template("embedding {bar:40} {pos}/{len} products")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let index = CrossSellIndex::build_with_model(
        trained.bundle.clone(),
        &trained.model,
        catalog,
        &BuildOptions::new(),
        |done, _| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    let artifact = out.join("recs.dra");
    index.save(&artifact)?;
    println!(
        "{} products, {}-d vectors → {}",
        index.len(),
        index.dim(),
        artifact.display()
    );

    section("5. recommendations for cold-start products (never seen bought in training)");
    let set = exp.eval_set();
    let mut cold: Vec<_> = set
        .cases()
        .iter()
        .filter(|c| c.slice == Slice::Cold)
        .collect();
    cold.sort_by(|a, b| {
        b.positives
            .len()
            .cmp(&a.positives.len())
            .then(a.seed.cmp(&b.seed))
    });
    let query = QueryOptions::top(5).with_explanations(true);
    let legend = if truth.is_some() {
        "✓ = of a complement type of the seed (the generator's ground truth)"
    } else {
        "✓ = bought with the seed by at least the minimum support of customers in the test period"
    };
    for case in cold.iter().take(3) {
        let id = catalog.id(case.seed);
        let good: BTreeSet<&str> = match &truth {
            Some(t) => (0..catalog.len() as u32)
                .map(ProductIdx)
                .filter(|&p| t.is_complement(case.seed, p))
                .map(|p| catalog.id(p))
                .collect(),
            None => case.positives.iter().map(|&p| catalog.id(p)).collect(),
        };
        println!("\n{}  [{id}]", catalog.label(case.seed));
        print_recs(&index.recommend_for_product(id, &query)?, &good);
    }
    println!("\n  {legend}");
    if let Some(case) = set.cases().iter().find(|c| c.slice == Slice::Warm) {
        let partner = case
            .positives
            .iter()
            .find(|&&p| exp.split().role(p) != deeprecs_cooc::ProductRole::Cold)
            .copied();
        if let Some(partner) = partner {
            let cart = [catalog.id(case.seed), catalog.id(partner)];
            println!(
                "\ncart: {} + {}",
                catalog.label(case.seed),
                catalog.label(partner)
            );
            let recs = index.recommend_for_cart(
                &cart,
                CartAggregation::MeanVector,
                &QueryOptions::top(5),
            )?;
            print_recs(&recs, &BTreeSet::new());
        }
    }

    section("6. evaluation on the test period (same split and positives for every model)");
    let mut results = vec![exp.evaluate_model("deeprecs", &trained.model)?];
    results.extend(exp.baselines()?);
    println!("{}", comparison_markdown(&results));
    write_reports(&out, &results)?;

    section("7. pictures and projector files");
    let embeddings = exp.embed(&trained.model)?;
    let ids: Vec<&str> = (0..catalog.len() as u32)
        .map(|i| catalog.id(ProductIdx(i)))
        .collect();
    let labels: Vec<String> = (0..catalog.len() as u32)
        .map(|i| catalog.label(ProductIdx(i)))
        .collect();
    let values: Vec<&[FieldValue]> = catalog.iter().map(|p| p.values).collect();
    let groups = groups_of(exp.schema(), &values, None)?;
    let cold_marks: Vec<bool> = (0..catalog.len() as u32)
        .map(|i| exp.split().role(ProductIdx(i)) == deeprecs_cooc::ProductRole::Cold)
        .collect();
    write_map_and_projector(
        &out,
        &ids,
        &labels,
        &embeddings.recs,
        embeddings.dim,
        &groups,
        &cold_marks,
    )?;
    println!("wrote to {}:", out.display());
    for f in [
        "long_tail.png",
        "model/loss.png",
        "embedding_map.png",
        "model/model.json",
        "model/model.bpk",
        "model/metrics.jsonl",
        "recs.dra",
        "eval.md",
        "eval.json",
        "projector/vectors.tsv",
        "projector/metadata.tsv",
        "projector/projector_config.pbtxt",
    ] {
        println!("  {f}");
    }
    println!(
        "\nnext: deeprecs recommend --model {} --product {} -k 10 --explain",
        artifact.display(),
        cold.first().map_or_else(
            || ids.first().copied().unwrap_or(""),
            |c| catalog.id(c.seed)
        )
    );
    Ok(())
}

fn print_recs(recs: &[CrossSellRecommendation], truth: &BTreeSet<&str>) {
    for (rank, r) in recs.iter().enumerate() {
        let mark = if truth.contains(r.product.as_str()) {
            "✓"
        } else {
            " "
        };
        let why = r.explanation.as_ref().map_or_else(String::new, |e| {
            let parts: Vec<String> = e
                .contributions
                .iter()
                .map(|c| format!("{} {:+.2}", c.field, c.contribution))
                .collect();
            format!("   ({})", parts.join(", "))
        });
        println!("  {:>2}. {mark} {:.3}  {}{why}", rank + 1, r.score, r.label);
    }
    if !truth.is_empty() {
        println!(
            "      ✓ = bought with it by at least the minimum support of customers in the test period"
        );
    }
}

/// The group of each product for colouring the map: the value of `field` when given, else
/// the first value of the first multi-categorical field, else of the first categorical field,
/// else the first word of the first text field.
fn groups_of(
    schema: &FeatureSchema,
    values: &[&[FieldValue]],
    field: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let fields = schema.fields();
    let pick = match field {
        Some(name) => fields
            .iter()
            .position(|f| f.name == name)
            .with_context(|| {
                format!(
                    "--color-by {name}: the schema has no such field (fields: {})",
                    fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
        None => fields
            .iter()
            .position(|f| f.kind.name() == FieldKindName::MultiCategorical)
            .or_else(|| {
                fields
                    .iter()
                    .position(|f| f.kind.name() == FieldKindName::Categorical)
            })
            .or_else(|| {
                fields
                    .iter()
                    .position(|f| f.kind.name() == FieldKindName::Text)
            })
            .unwrap_or(0),
    };
    Ok(values
        .iter()
        .map(|v| match v.get(pick) {
            Some(FieldValue::Categorical(c)) => c.clone(),
            Some(FieldValue::Multi(m)) => m.first().cloned().unwrap_or_default(),
            Some(FieldValue::Text(t)) => t
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_lowercase(),
            _ => "(missing)".to_string(),
        })
        .collect())
}

fn tsv_cell(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// Writes `embedding_map.png` and the TensorBoard Embedding Projector files
/// (`projector/vectors.tsv`, `metadata.tsv`, `projector_config.pbtxt`).
fn write_map_and_projector(
    out: &Path,
    ids: &[&str],
    labels: &[String],
    vectors: &[f32],
    dim: usize,
    groups: &[String],
    cold: &[bool],
) -> anyhow::Result<()> {
    let points = plot::pca_2d(vectors, dim);
    plot::embedding_map(
        &points,
        groups,
        cold,
        "Rec-tower vectors (PCA), crosses = cold-start products",
        &out.join("embedding_map.png"),
    )?;
    let dir = out.join("projector");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let create = |name: &str| {
        let f = dir.join(name);
        std::fs::File::create(&f)
            .map(std::io::BufWriter::new)
            .with_context(|| format!("creating {}", f.display()))
    };
    let mut v = create("vectors.tsv")?;
    for row in vectors.chunks_exact(dim.max(1)) {
        let line: Vec<String> = row.iter().map(|x| format!("{x:.6}")).collect();
        writeln!(v, "{}", line.join("\t"))?;
    }
    v.flush()?;
    let mut m = create("metadata.tsv")?;
    writeln!(m, "id\tlabel\tgroup\tcold_start")?;
    for i in 0..ids.len() {
        writeln!(
            m,
            "{}\t{}\t{}\t{}",
            tsv_cell(ids[i]),
            tsv_cell(&labels[i]),
            tsv_cell(&groups[i]),
            cold[i]
        )?;
    }
    m.flush()?;
    std::fs::write(
        dir.join("projector_config.pbtxt"),
        "embeddings {\n  tensor_name: \"deeprecs_rec_vectors\"\n  tensor_path: \"vectors.tsv\"\n  metadata_path: \"metadata.tsv\"\n}\n",
    )
    .with_context(|| format!("writing {}", dir.join("projector_config.pbtxt").display()))?;
    Ok(())
}

/// Options of `deeprecs export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A serving artifact written by `deeprecs index build` or the demo.
    #[arg(long)]
    model: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Colour the map by this schema field (default: the first multi-categorical field, else
    /// the first categorical one, else the first word of the first text field).
    #[arg(long)]
    color_by: Option<String>,
    /// An event log (with --schema and --catalog) for the long-tail picture.
    #[arg(long, requires_all = ["schema", "catalog"])]
    events: Option<PathBuf>,
    /// The schema of --events.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// The catalog of --events.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// A training metrics log (metrics.jsonl of `deeprecs train`) for the loss picture.
    #[arg(long)]
    metrics: Option<PathBuf>,
}

/// Writes pictures and projector files for a serving artifact.
pub fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let index = CrossSellIndex::load(&args.model, &Device::flex())?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let store = index.rec_store();
    let mut ids = Vec::new();
    let mut labels = Vec::new();
    let mut vectors = Vec::new();
    let mut values = Vec::new();
    for row in 0..store.vectors().nrows() {
        let Some(id) = store.id_of(row) else { continue };
        ids.push(id);
        labels.push(index.label(id).unwrap_or(id).to_string());
        vectors.extend(store.vectors().row(row).iter().copied());
        values.push(index.product_values(id).unwrap_or(&[]));
    }
    let groups = groups_of(&index.bundle().schema, &values, args.color_by.as_deref())?;
    let cold = vec![false; ids.len()];
    write_map_and_projector(
        &args.out,
        &ids,
        &labels,
        &vectors,
        index.dim(),
        &groups,
        &cold,
    )?;
    let mut written = vec!["embedding_map.png", "projector/"];
    if let (Some(events), Some(schema), Some(catalog)) = (&args.events, &args.schema, &args.catalog)
    {
        let schema = FeatureSchema::from_path(schema)?;
        let (catalog, _) = Catalog::read(catalog, &schema)?;
        let (log, _) = EventLog::read(events, &schema, &catalog)?;
        plot::long_tail(
            &log.events_per_product(catalog.len()),
            "Events per product",
            &args.out.join("long_tail.png"),
        )?;
        written.push("long_tail.png");
    }
    if let Some(metrics) = &args.metrics {
        let text = std::fs::read_to_string(metrics)
            .with_context(|| format!("reading {}", metrics.display()))?;
        let history = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).with_context(|| {
                    format!("{}: line {}: not an epoch record", metrics.display(), i + 1)
                })
            })
            .collect::<anyhow::Result<Vec<deeprecs_train::EpochRecord>>>()?;
        plot::loss_curves(&history, &args.out.join("loss.png"))?;
        written.push("loss.png");
    }
    println!("wrote {} to {}", written.join(", "), args.out.display());
    Ok(())
}
