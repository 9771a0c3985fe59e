//! `deeprecs cooc`: count time-window co-occurrences of an event log, score the pairs and
//! write the table, with a progress bar and a summary.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, ValueEnum};
use deeprecs_cooc::{
    CoocConfig, CoocReport, Counting, DEFAULT_NEIGHBOUR_CAP, Direction, MemoryReport, PairScores,
    Progress, Scorer, Window,
};
use deeprecs_core::{Catalog, EventLog, FeatureSchema, ProductIdx, ReadReport, SkipReason};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// How often a pair counts (command-line spelling of [`Counting`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CountingArg {
    /// Once per user: the number of users who bought both within the window.
    PerUser,
    /// Once per window co-occurrence: every pair of events within the window.
    PerOccurrence,
}

/// Options of `deeprecs cooc`.
#[derive(Debug, Args)]
pub struct CoocArgs {
    /// The schema TOML file (it needs an `[events]` section).
    #[arg(long)]
    pub schema: PathBuf,
    /// The catalog file (for Online Retail, the same file as --events).
    #[arg(long)]
    pub catalog: PathBuf,
    /// The event log file (CSV or JSON Lines, optionally gzip-compressed).
    #[arg(long)]
    pub events: PathBuf,
    /// Pairing window: 7d, 12h, 30m, 3600s, … ; 0 = same basket (same timestamp when the log
    /// has no basket ids).
    #[arg(long, default_value = "7d")]
    pub window: Window,
    /// Score normalisation: log_max (default), max, jaccard, cosine, npmi, conditional.
    #[arg(long, default_value = "log_max")]
    pub scorer: Scorer,
    /// Write the scored pairs to this file (DeepRecs binary pair-scores format).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Count a pair once per user or once per window co-occurrence.
    #[arg(long, value_enum, default_value = "per-user")]
    pub counting: CountingArg,
    /// Count only "p2 at the same time as or after p1" (what is added after the seed).
    #[arg(long)]
    pub directed: bool,
    /// Each event pairs with at most this many events on each side of it in its user's time
    /// order; `none` for no cap.
    #[arg(long, default_value_t = CapArg(Some(DEFAULT_NEIGHBOUR_CAP)))]
    pub neighbour_cap: CapArg,
    /// Drop pairs whose count is below this.
    #[arg(long, default_value_t = 0.0)]
    pub min_count: f32,
    /// Keep at most this many partners per seed (those with the highest counts).
    #[arg(long)]
    pub top_k: Option<u32>,
    /// Weight of an event kind, as KIND=WEIGHT with WEIGHT in [0, 1] (repeatable, e.g.
    /// --kind-weight purchase=1 --kind-weight view=0.2). Unlisted kinds are ignored.
    #[arg(long = "kind-weight", value_parser = parse_kind_weight)]
    pub kind_weights: Vec<(String, f32)>,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// How many of the best-scored pairs to print.
    #[arg(long, default_value_t = 10)]
    pub show: usize,
    /// Also print the best partners of this product id (repeatable).
    #[arg(long = "seed-product")]
    pub seed_products: Vec<String>,
    /// Print the summary as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A neighbour cap on the command line: a positive number or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapArg(pub Option<u32>);

impl std::str::FromStr for CapArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("none") {
            return Ok(Self(None));
        }
        match s.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Self(Some(n))),
            _ => Err(format!(
                "expected a positive whole number or `none`, got {s:?}"
            )),
        }
    }
}

impl std::fmt::Display for CapArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n}"),
            None => f.write_str("none"),
        }
    }
}

fn parse_kind_weight(s: &str) -> Result<(String, f32), String> {
    let (kind, weight) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=WEIGHT, got {s:?}"))?;
    let weight: f32 = weight
        .trim()
        .parse()
        .map_err(|_| format!("cannot parse the weight in {s:?} as a number"))?;
    Ok((kind.trim().to_owned(), weight))
}

/// One printed pair, with ids and names.
#[derive(Debug, Serialize)]
struct ShownPair {
    seed: String,
    seed_name: String,
    rec: String,
    rec_name: String,
    score: f32,
    count: f32,
}

/// A reading report in JSON (skip reasons as text: JSON keys must be strings).
#[derive(Debug, Serialize)]
struct ReadSummary {
    file: String,
    rows_read: u64,
    rows_kept: u64,
    skipped: Vec<SkippedRows>,
}

/// Rows skipped for one reason.
#[derive(Debug, Serialize)]
struct SkippedRows {
    reason: String,
    rows: u64,
    first_line: u64,
}

impl From<&ReadReport> for ReadSummary {
    fn from(r: &ReadReport) -> Self {
        Self {
            file: r.file.clone(),
            rows_read: r.rows_read,
            rows_kept: r.rows_kept,
            skipped: r
                .skipped
                .iter()
                .map(|(reason, c)| SkippedRows {
                    reason: reason.to_string(),
                    rows: c.rows,
                    first_line: c.first_line,
                })
                .collect(),
        }
    }
}

/// The JSON summary.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    #[serde(skip)]
    catalog: &'a ReadReport,
    #[serde(skip)]
    events: &'a ReadReport,
    #[serde(rename = "catalog")]
    catalog_json: ReadSummary,
    #[serde(rename = "events")]
    events_json: ReadSummary,
    cooc: &'a CoocReport,
    scorer: String,
    memory: MemoryReport,
    out: Option<String>,
    top_pairs: Vec<ShownPair>,
    seed_partners: Vec<(String, Vec<ShownPair>)>,
    seconds: f64,
}

/// Runs `deeprecs cooc`, printing the summary to `out`.
pub fn run(args: &CoocArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let start = Instant::now();
    let config = CoocConfig {
        window: args.window,
        counting: match args.counting {
            CountingArg::PerUser => Counting::PerUser,
            CountingArg::PerOccurrence => Counting::PerOccurrence,
        },
        direction: if args.directed {
            Direction::Directed
        } else {
            Direction::Symmetric
        },
        kind_weights: args.kind_weights.iter().cloned().collect(),
        neighbour_cap: args.neighbour_cap.0,
        min_count: args.min_count,
        top_k: args.top_k,
        threads: args.threads,
    };
    // Options are checked before reading anything.
    let counter = config.check()?;

    let spinner = ProgressBar::new_spinner();
    spinner.set_message("reading the schema, catalog and events");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let schema = FeatureSchema::from_path(&args.schema)?;
    let (catalog, catalog_report) = Catalog::read(&args.catalog, &schema)?;
    let (log, events_report) = EventLog::read(&args.events, &schema, &catalog)?;
    spinner.finish_and_clear();
    // Resolve the seed products early: a typo should fail before the counting.
    let seeds = args
        .seed_products
        .iter()
        .map(|id| catalog.require(id).with_context(|| "--seed-product"))
        .collect::<anyhow::Result<Vec<ProductIdx>>>()?;

    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("counting pairs {bar:40} {percent:>3}% {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut on_progress = |p: Progress| {
        bar.set_length(p.total.max(1));
        bar.set_position(p.done);
    };
    let (counts, report) = counter.count_with_progress(&log, catalog.len(), &mut on_progress)?;
    bar.finish_and_clear();
    let scores = counts.into_scores(&args.scorer)?;
    if let Some(path) = &args.out {
        scores.write(path, &catalog)?;
    }

    let show = |seed: ProductIdx, rec: ProductIdx, score: f32, count: f32| ShownPair {
        seed: catalog.id(seed).to_owned(),
        seed_name: catalog.label(seed),
        rec: catalog.id(rec).to_owned(),
        rec_name: catalog.label(rec),
        score,
        count,
    };
    let top_pairs: Vec<ShownPair> = scores
        .top_pairs(args.show)
        .into_iter()
        .map(|p| show(p.seed, p.rec, p.score, p.count))
        .collect();
    let seed_partners: Vec<(String, Vec<ShownPair>)> = seeds
        .iter()
        .map(|&s| {
            let partners = scores
                .top(s, args.show)
                .into_iter()
                .map(|p| show(s, p.rec, p.score, p.count))
                .collect();
            (catalog.id(s).to_owned(), partners)
        })
        .collect();
    let summary = Summary {
        catalog: &catalog_report,
        events: &events_report,
        catalog_json: (&catalog_report).into(),
        events_json: (&events_report).into(),
        cooc: &report,
        scorer: scores.scorer().to_owned(),
        memory: scores.memory(),
        out: args.out.as_ref().map(|p| p.display().to_string()),
        top_pairs,
        seed_partners,
        seconds: start.elapsed().as_secs_f64(),
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &summary)?;
        writeln!(out)?;
    } else {
        print_summary(&summary, &scores, out)?;
    }
    Ok(())
}

fn print_summary(s: &Summary<'_>, scores: &PairScores, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "catalog  {}", s.catalog)?;
    writeln!(out, "events   {}", s.events)?;
    let unknown = s.events.skipped_for(&SkipReason::UnknownProduct);
    if unknown > 0 {
        writeln!(
            out,
            "note: {unknown} event rows name a product that is not in the catalog; they were skipped"
        )?;
    }
    writeln!(out, "{}", s.cooc)?;
    if s.cooc.events_used == 0 {
        writeln!(
            out,
            "note: no usable events (empty log, or every event set aside): the table is empty"
        )?;
    } else if matches!(s.cooc.time_span, Some((a, b)) if a == b) && s.cooc.events_used > 1 {
        writeln!(
            out,
            "note: all events share one timestamp: every two events of a user pair (up to the neighbour cap)"
        )?;
    }
    if s.cooc.events_used > 0 && s.cooc.kept_pairs == 0 {
        writeln!(
            out,
            "note: no pair was found (users with single events, a window too short, or pruning)"
        )?;
    }
    writeln!(out, "scorer              {}", s.scorer)?;
    writeln!(out, "memory              {}", s.memory)?;
    if let Some(path) = &s.out {
        writeln!(
            out,
            "wrote               {path} ({} pairs over {} seeds)",
            scores.len(),
            scores.seed_count()
        )?;
    }
    writeln!(out, "total time          {:.2} s", s.seconds)?;
    if !s.top_pairs.is_empty() {
        writeln!(out, "\ntop pairs by score (ties by count):")?;
        print_pairs(&s.top_pairs, true, out)?;
    }
    for (seed, partners) in &s.seed_partners {
        let name = partners.first().map_or("", |p| p.seed_name.as_str());
        writeln!(out, "\nbest partners of {seed} {name}:")?;
        if partners.is_empty() {
            writeln!(out, "  (none)")?;
        }
        print_pairs(partners, false, out)?;
    }
    Ok(())
}

fn print_pairs(pairs: &[ShownPair], with_seed: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    for p in pairs {
        if with_seed {
            writeln!(
                out,
                "  {:.4} {:>7} {:<8} {:<36} -> {:<8} {}",
                p.score,
                p.count,
                p.seed,
                clip(&p.seed_name, 36),
                p.rec,
                p.rec_name
            )?;
        } else {
            writeln!(
                out,
                "  {:.4} {:>7} {:<8} {}",
                p.score, p.count, p.rec, p.rec_name
            )?;
        }
    }
    Ok(())
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut c: String = s.chars().take(n - 1).collect();
        c.push('…');
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct TestCli {
        #[command(flatten)]
        args: CoocArgs,
    }

    const SCHEMA: &str = r#"
id = "sku"
[[fields]]
name = "title"
kind = "text"
[events]
user = "customer"
product = "sku"
timestamp = "time"
kind = "event"
"#;

    fn files(events: &str) -> (tempfile::TempDir, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        std::fs::write(p("schema.toml"), SCHEMA).unwrap();
        std::fs::write(
            p("catalog.csv"),
            "sku,title\nP1,Smartphone\nP2,Phone case\nP3,Charger\nP4,Teapot\n",
        )
        .unwrap();
        std::fs::write(p("events.csv"), events).unwrap();
        let args = vec![
            "test".into(),
            "--schema".into(),
            p("schema.toml"),
            "--catalog".into(),
            p("catalog.csv"),
            "--events".into(),
            p("events.csv"),
        ];
        (dir, args)
    }

    fn run_cli(args: &[String]) -> anyhow::Result<String> {
        let cli = TestCli::try_parse_from(args)?;
        let mut out = Vec::new();
        run(&cli.args, &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    const EVENTS: &str = "customer,sku,time,event\n\
        c1,P1,2024-03-01,purchase\nc1,P2,2024-03-02,purchase\nc1,P3,2024-03-20,purchase\n\
        c2,P1,2024-03-05,purchase\nc2,P2,2024-03-05,purchase\nc2,P3,2024-03-06,view\n\
        c3,P4,2024-03-07,purchase\nc4,P9,2024-03-07,purchase\n";

    #[test]
    fn counts_scores_writes_and_summarises() {
        let (dir, mut args) = files(EVENTS);
        let out = dir.path().join("scores.bin");
        args.extend(
            [
                "--window",
                "7d",
                "--scorer",
                "max",
                "--out",
                out.to_str().unwrap(),
                "--seed-product",
                "P1",
            ]
            .map(String::from),
        );
        let text = run_cli(&args).unwrap();
        assert!(text.contains("distinct pairs      6"), "{text}");
        assert!(
            text.contains("1 event rows name a product that is not in the catalog"),
            "{text}"
        );
        assert!(text.contains("(1 with a single event: no pairs)"), "{text}");
        assert!(text.contains("best partners of P1 Smartphone:"), "{text}");
        assert!(
            text.contains("1.0000       2 P2       Phone case"),
            "{text}"
        );
        // The file loads against the same catalog.
        let schema = FeatureSchema::from_path(dir.path().join("schema.toml")).unwrap();
        let (catalog, _) = Catalog::read(dir.path().join("catalog.csv"), &schema).unwrap();
        let table = PairScores::read(&out, &catalog).unwrap();
        assert_eq!(table.len(), 6);
        assert_eq!(table.scorer(), "max");
        let p1 = catalog.require("P1").unwrap();
        let p3 = catalog.require("P3").unwrap();
        assert_eq!(table.get(p1, p3).unwrap().score, 0.5);
    }

    #[test]
    fn kind_weights_json_and_cap_options() {
        let (_dir, mut args) = files(EVENTS);
        args.extend(
            [
                "--kind-weight",
                "purchase=1",
                "--window",
                "0",
                "--neighbour-cap",
                "none",
                "--json",
            ]
            .map(String::from),
        );
        let text = run_cli(&args).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // W = 0 without baskets: same timestamp, only c2's P1 and P2; the view is ignored.
        assert_eq!(v["cooc"]["distinct_pairs"], 2);
        assert_eq!(v["cooc"]["ignored_kind_events"], 1);
        assert_eq!(v["cooc"]["pairing"]["mode"], "same_timestamp");
        assert_eq!(v["scorer"], "log_max");
        assert_eq!(v["top_pairs"][0]["score"], 1.0);
        assert_eq!(
            v["events"]["skipped"][0]["reason"],
            "product not in catalog"
        );
        assert_eq!(v["events"]["skipped"][0]["rows"], 1);
    }

    #[test]
    fn one_timestamp_for_all_events() {
        let (_dir, args) = files(
            "customer,sku,time,event\nc1,P1,2024-03-01,purchase\nc1,P2,2024-03-01,purchase\n\
             c2,P3,2024-03-01,purchase\nc2,P4,2024-03-01,view\nc2,P1,2024-03-01,view\n",
        );
        let text = run_cli(&args).unwrap();
        assert!(
            text.contains("note: all events share one timestamp"),
            "{text}"
        );
        // c1: P1–P2; c2: P1–P3, P1–P4, P3–P4; both orders.
        assert!(text.contains("distinct pairs      8"), "{text}");
    }

    #[test]
    fn empty_logs_and_bad_options() {
        let (_dir, args) = files("customer,sku,time,event\n");
        let text = run_cli(&args).unwrap();
        assert!(text.contains("note: no usable events"), "{text}");
        assert!(text.contains("kept pairs          0"), "{text}");

        let (_dir, mut args) = files(EVENTS);
        let base = args.clone();
        args.extend(["--window", "7 days"].map(String::from));
        let e = run_cli(&args).unwrap_err().to_string();
        assert!(e.contains("cannot parse \"7 days\" as a duration"), "{e}");
        let mut args = base.clone();
        args.extend(["--scorer", "lift"].map(String::from));
        assert!(
            run_cli(&args)
                .unwrap_err()
                .to_string()
                .contains("unknown scorer")
        );
        let mut args = base.clone();
        args.extend(["--neighbour-cap", "0"].map(String::from));
        assert!(run_cli(&args).unwrap_err().to_string().contains("`none`"));
        let mut args = base.clone();
        args.extend(["--kind-weight", "view=2"].map(String::from));
        let e = run_cli(&args).unwrap_err().to_string();
        assert!(e.contains("kind_weights"), "{e}");
        let mut args = base;
        args.extend(["--seed-product", "NOPE"].map(String::from));
        let e = format!("{:#}", run_cli(&args).unwrap_err());
        assert!(e.contains("unknown product id \"NOPE\""), "{e}");
    }
}
