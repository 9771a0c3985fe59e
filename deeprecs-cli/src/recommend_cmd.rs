//! `deeprecs recommend`: cross-sell recommendations for a product, a brand-new product or a
//! cart, from a serving artifact written by `deeprecs index build`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgGroup, Args, ValueEnum};
use deeprecs_index::{BuildOptions, CartAggregation, CrossSellIndex, QueryOptions};

/// How a cart's items are combined (command-line spelling of [`CartAggregation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AggregationArg {
    /// The mean of the items' seed vectors: what goes with the cart as a whole.
    Mean,
    /// The best score over the items: the best complements of any one item.
    Max,
    /// The sum of the per-item scores (ranks like `mean`).
    Sum,
}

impl From<AggregationArg> for CartAggregation {
    fn from(a: AggregationArg) -> Self {
        match a {
            AggregationArg::Mean => CartAggregation::MeanVector,
            AggregationArg::Max => CartAggregation::MaxScore,
            AggregationArg::Sum => CartAggregation::SumScore,
        }
    }
}

/// Options of `deeprecs recommend`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("query").required(true).args(["product", "new_product", "cart"])))]
pub struct RecommendArgs {
    /// The serving artifact (from `deeprecs index build`).
    #[arg(long)]
    pub model: PathBuf,
    /// Recommendations for this product id.
    #[arg(long)]
    pub product: Option<String>,
    /// Recommendations for a product not in the index, given as a JSON object keyed by the
    /// catalog's columns (e.g. '{"product_id": "NEW1", "name": "Kids rain jacket"}'), or
    /// @FILE to read it from a file.
    #[arg(long)]
    pub new_product: Option<String>,
    /// Recommendations for a cart: comma-separated product ids.
    #[arg(long, value_delimiter = ',')]
    pub cart: Option<Vec<String>>,
    /// How many recommendations.
    #[arg(short = 'k', long = "top", default_value_t = 10)]
    pub k: usize,
    /// How a cart's items are combined.
    #[arg(long, value_enum, default_value = "mean")]
    pub cart_aggregation: AggregationArg,
    /// Explain each recommendation: the per-field contributions to its score.
    #[arg(long)]
    pub explain: bool,
    /// Print a JSON array of {"product", "label", "score"[, "explanation"]} objects.
    #[arg(long)]
    pub json: bool,
}

/// Runs `deeprecs recommend`.
pub fn run(args: &RecommendArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let device = BuildOptions::default().device;
    let index = CrossSellIndex::load(&args.model, &device)?;
    let query = QueryOptions::top(args.k).with_explanations(args.explain);
    let (title, recs) = if let Some(id) = &args.product {
        let label = index.label(id).unwrap_or(id).to_owned();
        (
            format!("product {id} ({label})"),
            index.recommend_for_product(id, &query)?,
        )
    } else if let Some(json) = &args.new_product {
        let json = match json.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the new product from {path}"))?,
            None => json.clone(),
        };
        let (id, _) = index.parse_product(&json)?;
        let recs = index.recommend_for_new_product(&json, &query)?;
        (format!("new product {id}"), recs)
    } else if let Some(cart) = &args.cart {
        let cart: Vec<&str> = cart
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        let recs = index.recommend_for_cart(&cart, args.cart_aggregation.into(), &query)?;
        (format!("cart {}", cart.join(", ")), recs)
    } else {
        // clap's required group makes this unreachable; report it rather than panic.
        anyhow::bail!("give --product ID, --new-product JSON or --cart ID,ID,..");
    };

    if args.json {
        serde_json::to_writer_pretty(&mut *out, &recs)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "recommendations for {title}:")?;
    if recs.is_empty() {
        writeln!(out, "  (none: no product is left after the exclusions)")?;
    }
    let width = recs.iter().map(|r| r.product.len()).max().unwrap_or(0);
    for (i, r) in recs.iter().enumerate() {
        writeln!(
            out,
            "{:>4}. {:<width$}  {:>7.4}  {}",
            i + 1,
            r.product,
            r.score,
            r.label
        )?;
        if let Some(e) = &r.explanation {
            let parts: Vec<String> = e
                .contributions
                .iter()
                .map(|c| format!("{} {:+.4}", c.field, c.contribution))
                .collect();
            writeln!(
                out,
                "{:>width$}        why ({:?}, pair score {:.4} with {}): {}",
                "",
                e.method,
                e.score,
                e.seed,
                parts.join(", ")
            )?;
        }
    }
    Ok(())
}
