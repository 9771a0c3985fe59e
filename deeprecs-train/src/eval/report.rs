//! Comparison tables: one Markdown table for people, JSON rows for programs.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::error::EvalError;
use super::harness::{EvalResult, ResultSlice, SliceMetrics};

/// One number of a comparison, as printed by `deeprecs eval --json`:
/// `{"model", "slice", "metric", "k", "value"}`.
///
/// Metrics: `recall`, `ndcg`, `hit_rate` (with `k`), `mrr`, `auc`, `seeds`,
/// `unscorable_seeds` (`k` null), and `coverage`, `gini`, `avg_popularity` with `k` = the
/// length of the recommendation lists they are computed on (10 by default). `value` is null
/// only for `gini` and `avg_popularity` of a slice where no seed could be scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// The recommender.
    pub model: String,
    /// `cold`, `tail`, `warm` or `all`.
    pub slice: String,
    /// The metric's name.
    pub metric: String,
    /// The cut-off, where the metric has one.
    pub k: Option<usize>,
    /// The value.
    pub value: Option<f64>,
}

impl EvalResult {
    /// The result as rows, slice by slice (cold, tail, warm, all).
    pub fn rows(&self) -> Vec<MetricRow> {
        let mut rows = Vec::new();
        for s in &self.slices {
            let mut push = |metric: &str, k: Option<usize>, value: Option<f64>| {
                rows.push(MetricRow {
                    model: self.model.clone(),
                    slice: s.slice.as_str().to_owned(),
                    metric: metric.to_owned(),
                    k,
                    value,
                });
            };
            push("seeds", None, Some(s.seeds as f64));
            push("unscorable_seeds", None, Some(s.unscorable_seeds as f64));
            for a in &s.at_k {
                push("recall", Some(a.k), Some(a.recall));
                push("ndcg", Some(a.k), Some(a.ndcg));
                push("hit_rate", Some(a.k), Some(a.hit_rate));
            }
            push("mrr", None, Some(s.mrr));
            push("auc", None, Some(s.auc));
            push("coverage", Some(self.list_len), Some(s.coverage));
            push("gini", Some(self.list_len), s.gini);
            push("avg_popularity", Some(self.list_len), s.avg_popularity);
        }
        rows
    }
}

/// The rows of several results, model by model.
pub fn comparison_rows(results: &[EvalResult]) -> Vec<MetricRow> {
    results.iter().flat_map(EvalResult::rows).collect()
}

/// The rows of several results as a pretty-printed JSON array.
pub fn comparison_json(results: &[EvalResult]) -> Result<String, EvalError> {
    Ok(serde_json::to_string_pretty(&comparison_rows(results))?)
}

/// A Markdown table comparing results: one row per (slice, model), slices in the order cold,
/// tail, warm, all, models in the order given; columns seeds, unscorable seeds, recall, NDCG
/// and hit rate at every cut-off of the first result, MRR, AUC, coverage, Gini index and
/// average popularity. Undefined values print as `–`.
pub fn comparison_markdown(results: &[EvalResult]) -> String {
    let ks: Vec<usize> = results.first().map(|r| r.ks.clone()).unwrap_or_default();
    let list_len = results.first().map_or(10, |r| r.list_len);
    let mut header = vec![
        "model".to_owned(),
        "slice".into(),
        "seeds".into(),
        "unscorable".into(),
    ];
    for k in &ks {
        header.push(format!("recall@{k}"));
        header.push(format!("NDCG@{k}"));
        header.push(format!("hit@{k}"));
    }
    header.extend(["MRR".into(), "AUC".into()]);
    header.push(format!("coverage@{list_len}"));
    header.push(format!("Gini@{list_len}"));
    header.push(format!("avg pop@{list_len}"));
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let align: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, _)| if i < 2 { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "| {} |", align.join(" | "));
    let fixed = |v: f64| format!("{v:.4}");
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("–".to_owned(), |x| format!("{x:.digits$}"));
    for slice in ResultSlice::ALL {
        for r in results {
            let Some(s): Option<&SliceMetrics> = r.slice(slice) else {
                continue;
            };
            let mut cells = vec![
                r.model.clone(),
                slice.as_str().to_owned(),
                s.seeds.to_string(),
                s.unscorable_seeds.to_string(),
            ];
            for &k in &ks {
                cells.push(opt(s.recall(k), 4));
                cells.push(opt(s.ndcg(k), 4));
                cells.push(opt(s.hit_rate(k), 4));
            }
            cells.push(fixed(s.mrr));
            cells.push(fixed(s.auc));
            cells.push(fixed(s.coverage));
            cells.push(opt(s.gini, 4));
            cells.push(opt(s.avg_popularity, 1));
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    out
}
