//! Offline evaluation: one harness, one split, every model and baseline scored on exactly the
//! same test seeds and positives, reported by slice (cold start, long tail, warm).
//!
//! ```
//! use deeprecs_core::synthetic::{generate, SyntheticConfig};
//! use deeprecs_cooc::{CoocConfig, Scorer, SplitConfig};
//! use deeprecs_train::eval::{
//!     comparison_markdown, evaluate, CoocRecommender, EvalConfig, EvalSet,
//!     PopularityRecommender, RandomRecommender, ResultSlice, TfIdfConfig, TfIdfRecommender,
//! };
//!
//! let data = generate(&SyntheticConfig { products: 300, users: 600, ..SyntheticConfig::default() })?;
//! let n = data.catalog.len();
//! let split = SplitConfig::default().check()?.split(&data.events, n)?;
//! let counter = CoocConfig::default().check()?;
//! let params = EvalConfig { min_support: 1.0, ..EvalConfig::default() }.check()?;
//! let (set, _) = EvalSet::from_split(&params, &split, &data.events, &counter)?;
//!
//! let random = evaluate(&RandomRecommender::new(n, 7), &set)?;
//! let popularity = evaluate(&PopularityRecommender::from_split(&split), &set)?;
//! let cooc = evaluate(&CoocRecommender::fit(&counter, &split, &data.events, &Scorer::default())?, &set)?;
//! let tfidf = evaluate(&TfIdfRecommender::fit(&data.catalog, &TfIdfConfig::default())?, &set)?;
//!
//! // Co-occurrence cannot score cold seeds, and says so.
//! let cold = cooc.slice(ResultSlice::Cold).unwrap();
//! assert_eq!(cold.unscorable_seeds, cold.seeds);
//! // Text beats chance.
//! assert!(tfidf.all().unwrap().auc > random.all().unwrap().auc);
//! println!("{}", comparison_markdown(&[random, popularity, cooc, tfidf]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Protocol
//!
//! * **Split**: a [`Split`](deeprecs_cooc::Split) of `deeprecs-cooc` (time cutoffs, cold-start
//!   products whose events never reach training, long-tail threshold).
//! * **Positives** of a seed: products bought by the same customer within the window in the
//!   **test** period, counted once per customer with the counting options of training
//!   ([`EvalPairs`](deeprecs_cooc::EvalPairs)), kept only when at least
//!   [`min_support`](EvalConfig::min_support) distinct customers (default 3) bought the pair.
//!   Without that floor, bulk buyers make a third of Online Retail's catalog "partners" of
//!   every seed and no ranking can be told from popularity.
//! * **Test seeds**: products with at least one positive.
//! * **Slice** of a seed: its own role in the split — `cold` (no training event; absent
//!   products count as cold), `tail` (fewer than `long_tail_below` training events), `warm`.
//!   Results are also given for `all` seeds.
//! * **Candidates**: the whole catalog, cold products included, minus the seed itself.
//! * **Ties**: products with equal scores are ranked in one fixed random permutation of the
//!   catalog ([`TieOrder`], seeded by [`tie_seed`](EvalConfig::tie_seed)) — deterministic,
//!   and no recommender gets lucky from the catalog order: a constant recommender ranks like a
//!   random one.
//! * **Unscorable seeds**: when a recommender cannot score a seed at all
//!   ([`Recommender::score_all`] returns `false`), every ranking metric of the seed is 0, it
//!   adds no recommendation list, and it is counted in `unscorable_seeds`. Means are over all
//!   seeds of a slice, so a method cannot look better by skipping seeds.
//! * **Training data of baselines**: only the training part of the split. Popularity is the
//!   training-period event count; co-occurrence is counted on the training events with the
//!   same [`CoocConfig`](deeprecs_cooc::CoocConfig); TF-IDF uses product text only, its IDF
//!   fit on the whole catalog's text (metadata, known for every listed product — not
//!   behaviour).
//!
//! ## Metrics
//!
//! For one seed with positives `P` (`m = |P|`) and `r(p)` the 1-based rank of positive `p`
//! among all candidates:
//!
//! | metric | definition |
//! | --- | --- |
//! | `recall@k` | `|{p ∈ P : r(p) ≤ k}| / m` |
//! | `hit_rate@k` | 1 if some `r(p) ≤ k`, else 0 |
//! | `ndcg@k` | `Σ_{p : r(p) ≤ k} 1/log₂(r(p)+1)` divided by the ideal `Σ_{i=1}^{min(k, m)} 1/log₂(i+1)` (binary gains) |
//! | `mrr` | `1 / min_p r(p)` — the first positive in the full ranking, no cut-off |
//! | `auc` | fraction of (positive, negative) pairs, negatives = all other candidates, in which the positive scores higher; equal scores count ½ (the tie order plays no part) |
//!
//! Each is averaged over the seeds of a slice. Over the top-[`list_len`](EvalConfig::list_len)
//! (default 10) recommendation lists of a slice's scorable seeds:
//!
//! | metric | definition |
//! | --- | --- |
//! | `coverage` | distinct products appearing in any list / catalog size |
//! | `gini` | Gini index of the number of lists each catalog product appears in, over all catalog products: 0 = every product equally often, → 1 = a few products take every slot |
//! | `avg_popularity` | mean training-event count of the recommended items (each slot counts) — popularity bias |
//!
//! ## Recommenders
//!
//! [`Recommender`] is the one trait models implement. Baselines: [`RandomRecommender`] (the
//! floor), [`PopularityRecommender`], [`CoocRecommender`] (item-item; cannot score seeds
//! without training partners), [`TfIdfRecommender`] (text cosine). Dense embeddings — the
//! two-tower model, or frozen BERT vectors (the frozen-BERT baseline is not built yet; see
//! [`embedding`]) — enter through [`EmbeddingRecommender`].
//!
//! ## Reports
//!
//! [`comparison_markdown`] prints one table for people; [`comparison_json`] prints the rows
//! `{"model", "slice", "metric", "k", "value"}` ([`MetricRow`]).
//!
//! ## Cost
//!
//! Seeds are scored in parallel (rayon). Per seed the harness sorts the `m` positives once and
//! places each of the `n` candidates by binary search among them (`O(n log m)`), and selects
//! the top list with `select_nth_unstable` (`O(n)`): no full sort of the catalog.

pub mod baselines;
pub mod embedding;
pub mod error;
pub mod harness;
pub mod metrics;
pub mod recommender;
pub mod report;
pub mod set;
pub mod tfidf;

pub use baselines::{CoocRecommender, PopularityRecommender, RandomRecommender};
pub use embedding::EmbeddingRecommender;
pub use error::EvalError;
pub use harness::{AtK, EvalResult, ResultSlice, SliceMetrics, evaluate, evaluate_all};
pub use metrics::TieOrder;
pub use recommender::Recommender;
pub use report::{MetricRow, comparison_json, comparison_markdown, comparison_rows};
pub use set::{DEFAULT_MIN_SUPPORT, EvalConfig, EvalParams, EvalSet, SeedCase, Slice};
pub use tfidf::{TfIdfConfig, TfIdfRecommender};
