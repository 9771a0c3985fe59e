//! The evaluation protocol's inputs: [`EvalConfig`] (checked into [`EvalParams`]) and the
//! [`EvalSet`] of test seeds with their positives, slices and the training popularity.

use std::collections::BTreeMap;
use std::fmt;

use deeprecs_cooc::{CoocCounter, CoocReport, EvalPairs, Part, ProductRole, Split};
use deeprecs_core::{EventLog, ProductIdx};
use serde::{Deserialize, Serialize};

use super::error::{EvalError, config};
use super::metrics::TieOrder;

/// The default minimum number of distinct customers for a test pair to be a positive.
pub const DEFAULT_MIN_SUPPORT: f32 = 3.0;

/// Evaluation options as plain data (serde, every field optional in a file). Check them once
/// with [`EvalConfig::check`].
///
/// ```
/// use deeprecs_train::eval::EvalConfig;
/// let params = EvalConfig::default().check()?;
/// assert_eq!(params.ks(), [10, 50]);
/// assert_eq!(params.min_support(), 3.0);
/// let bad = EvalConfig { ks: vec![0], ..EvalConfig::default() }.check();
/// assert!(bad.is_err());
/// # Ok::<(), deeprecs_train::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Cut-offs of recall, NDCG and hit rate (default `[10, 50]`); sorted and de-duplicated by
    /// [`check`](Self::check).
    pub ks: Vec<usize>,
    /// A test pair is a positive only when at least this many distinct customers bought it
    /// within the window (default 3). Without a floor, Online Retail's bulk buyers make a
    /// third of the catalog "partners" of every seed and no ranking can be told from
    /// popularity.
    pub min_support: f32,
    /// Length of the recommendation lists behind coverage, Gini index and average popularity
    /// (default 10).
    pub list_len: usize,
    /// Seed of the random order that ranks products with equal scores (default 42).
    pub tie_seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            ks: vec![10, 50],
            min_support: DEFAULT_MIN_SUPPORT,
            list_len: 10,
            tie_seed: 42,
        }
    }
}

impl EvalConfig {
    /// Checks every option before any work.
    pub fn check(mut self) -> Result<EvalParams, EvalError> {
        if self.ks.is_empty() {
            return Err(config("ks", "give at least one cut-off, e.g. [10, 50]"));
        }
        if self.ks.contains(&0) {
            return Err(config("ks", "every cut-off must be at least 1"));
        }
        self.ks.sort_unstable();
        self.ks.dedup();
        if !(self.min_support.is_finite() && self.min_support > 0.0) {
            return Err(config(
                "min_support",
                format!(
                    "must be a positive number of customers, got {}",
                    self.min_support
                ),
            ));
        }
        if self.list_len == 0 {
            return Err(config("list_len", "must be at least 1"));
        }
        Ok(EvalParams { config: self })
    }
}

/// Checked [`EvalConfig`] (the default is the checked default config).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvalParams {
    config: EvalConfig,
}

impl EvalParams {
    /// The options (with `ks` sorted and de-duplicated).
    pub fn config(&self) -> &EvalConfig {
        &self.config
    }

    /// The cut-offs, ascending.
    pub fn ks(&self) -> &[usize] {
        &self.config.ks
    }

    /// The minimum support of a positive.
    pub fn min_support(&self) -> f32 {
        self.config.min_support
    }

    /// The length of the recommendation lists.
    pub fn list_len(&self) -> usize {
        self.config.list_len
    }

    /// The seed of the tie order.
    pub fn tie_seed(&self) -> u64 {
        self.config.tie_seed
    }
}

/// The slice of a seed: its own role in the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Slice {
    /// Cold start: no training event (drawn cold, first seen after the cutoff, or — with a
    /// split of another log — absent).
    Cold,
    /// Long tail: fewer training events than the split's `long_tail_below` (at least one).
    Tail,
    /// Warm: enough training events.
    Warm,
}

impl Slice {
    /// The three slices, coldest first.
    pub const ALL: [Self; 3] = [Self::Cold, Self::Tail, Self::Warm];

    /// The slice of a product with this role: `Absent` seeds count as cold.
    pub fn of_role(role: ProductRole) -> Self {
        match role {
            ProductRole::Absent | ProductRole::Cold => Self::Cold,
            ProductRole::LongTail => Self::Tail,
            ProductRole::Warm => Self::Warm,
        }
    }

    /// The name used in tables and JSON rows: `cold`, `tail`, `warm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::Tail => "tail",
            Self::Warm => "warm",
        }
    }
}

impl fmt::Display for Slice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One test seed: its slice and its positives (ascending, distinct, never the seed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedCase {
    /// The seed product.
    pub seed: ProductIdx,
    /// Its slice.
    pub slice: Slice,
    /// Its true test-period partners.
    pub positives: Vec<ProductIdx>,
}

/// What every recommender is scored against: the test seeds (products with at least one
/// positive) with their slices and positives, the catalog size, the training popularity of
/// every product (for the average popularity of recommendations) and the tie order. Built
/// once and shared by all recommenders, so every table compares like with like.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSet {
    params: EvalParams,
    n_products: usize,
    cases: Vec<SeedCase>,
    popularity: Vec<u32>,
    ties: TieOrder,
    positives_u32: Vec<Vec<u32>>,
}

impl EvalSet {
    /// Builds the set of the split's test period: counts the test-period pairs of `log` with
    /// `counter` (the same options as training: window, once per customer, neighbour cap …),
    /// keeps pairs with at least [`min_support`](EvalParams::min_support) customers and
    /// groups them by seed. Popularity is the split's training events per product.
    ///
    /// For positives that are exactly "pairs bought by the same customer within the window",
    /// give a counter with `neighbour_cap: None`; the default cap of `deeprecs-cooc` drops
    /// some pairs of bulk buyers (on Online Retail the cap keeps 735,642 of 926,910 positive
    /// pairs, and the seed counts hardly move).
    pub fn from_split(
        params: &EvalParams,
        split: &Split,
        log: &EventLog,
        counter: &CoocCounter,
    ) -> Result<(Self, CoocReport), EvalError> {
        let (pairs, report) =
            EvalPairs::build(split, log, Part::Test, counter, params.min_support())?;
        Ok((Self::from_eval_pairs(params, split, &pairs)?, report))
    }

    /// Builds the set from evaluation pairs already counted (e.g. read back with
    /// [`EvalPairs::read_csv`]); pairs below the minimum support are dropped. Fails when the
    /// pairs were built with a higher minimum count than `params` asks for (the missing pairs
    /// cannot be recovered).
    pub fn from_eval_pairs(
        params: &EvalParams,
        split: &Split,
        pairs: &EvalPairs,
    ) -> Result<Self, EvalError> {
        if pairs.min_count() > params.min_support() {
            return Err(config(
                "min_support",
                format!(
                    "the evaluation pairs were built with min_count {} > min_support {}: rebuild them",
                    pairs.min_count(),
                    params.min_support()
                ),
            ));
        }
        let mut by_seed: BTreeMap<ProductIdx, Vec<ProductIdx>> = BTreeMap::new();
        for p in pairs.pairs() {
            if p.count >= params.min_support() {
                by_seed.entry(p.seed).or_default().push(p.rec);
            }
        }
        let cases = by_seed
            .into_iter()
            .map(|(seed, positives)| SeedCase {
                seed,
                slice: Slice::of_role(split.role(seed)),
                positives,
            })
            .collect();
        Self::from_cases(
            params,
            split.n_products(),
            split.train_events().to_vec(),
            cases,
        )
    }

    /// Builds the set from explicit cases (any protocol, hand-made examples). Checks that
    /// every product is in the catalog, no seed is its own positive, no seed appears twice,
    /// every seed has a positive and a negative, and `popularity` has one entry per product;
    /// sorts and de-duplicates positives and orders cases by seed.
    pub fn from_cases(
        params: &EvalParams,
        n_products: usize,
        popularity: Vec<u32>,
        mut cases: Vec<SeedCase>,
    ) -> Result<Self, EvalError> {
        let bad = |m: String| Err(EvalError::Data(m));
        if popularity.len() != n_products {
            return bad(format!(
                "popularity has {} entries for a catalog of {n_products} products",
                popularity.len()
            ));
        }
        if cases.is_empty() {
            return bad("no test seed: no test pair reaches the minimum support".into());
        }
        if u32::try_from(n_products).is_err() {
            return bad(format!("{n_products} products do not fit product indices"));
        }
        cases.sort_by_key(|c| c.seed);
        for w in cases.windows(2) {
            if w[0].seed == w[1].seed {
                return bad(format!("seed #{} appears twice", w[0].seed.0));
            }
        }
        for c in &mut cases {
            if c.seed.index() >= n_products {
                return bad(format!(
                    "seed #{} is outside the catalog of {n_products} products",
                    c.seed.0
                ));
            }
            c.positives.sort_unstable();
            c.positives.dedup();
            if let Some(p) = c.positives.iter().find(|p| p.index() >= n_products) {
                return bad(format!(
                    "positive #{} of seed #{} is outside the catalog of {n_products} products",
                    p.0, c.seed.0
                ));
            }
            if c.positives.contains(&c.seed) {
                return bad(format!("seed #{} is listed as its own positive", c.seed.0));
            }
            if c.positives.is_empty() {
                return bad(format!("seed #{} has no positive", c.seed.0));
            }
            if c.positives.len() + 1 >= n_products {
                return bad(format!(
                    "every other product is a positive of seed #{}: nothing to rank against",
                    c.seed.0
                ));
            }
        }
        let positives_u32 = cases
            .iter()
            .map(|c| c.positives.iter().map(|p| p.0).collect())
            .collect();
        Ok(Self {
            params: params.clone(),
            n_products,
            ties: TieOrder::seeded(n_products, params.tie_seed()),
            cases,
            popularity,
            positives_u32,
        })
    }

    /// The options.
    pub fn params(&self) -> &EvalParams {
        &self.params
    }

    /// The catalog size: every product is a candidate (cold ones included) except the seed.
    pub fn n_products(&self) -> usize {
        self.n_products
    }

    /// The test seeds, ascending.
    pub fn cases(&self) -> &[SeedCase] {
        &self.cases
    }

    /// Training events per product (0 for cold products).
    pub fn popularity(&self) -> &[u32] {
        &self.popularity
    }

    /// The order that ranks equal scores.
    pub fn tie_order(&self) -> &TieOrder {
        &self.ties
    }

    /// Number of test seeds in a slice.
    pub fn seeds_in(&self, slice: Slice) -> usize {
        self.cases.iter().filter(|c| c.slice == slice).count()
    }

    /// Number of positive pairs over all seeds.
    pub fn positives_total(&self) -> usize {
        self.cases.iter().map(|c| c.positives.len()).sum()
    }

    pub(crate) fn positives_u32(&self, case: usize) -> &[u32] {
        self.positives_u32.get(case).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(seed: u32, slice: Slice, positives: &[u32]) -> SeedCase {
        SeedCase {
            seed: ProductIdx(seed),
            slice,
            positives: positives.iter().map(|&p| ProductIdx(p)).collect(),
        }
    }

    fn data_error(r: Result<EvalSet, EvalError>) -> String {
        match r {
            Err(EvalError::Data(m)) => m,
            other => panic!("expected a data error, got {other:?}"),
        }
    }

    #[test]
    fn options_are_checked_up_front() {
        let name = |c: EvalConfig| match c.check() {
            Err(EvalError::Config { name, .. }) => name,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(
            name(EvalConfig {
                ks: vec![],
                ..EvalConfig::default()
            }),
            "ks"
        );
        assert_eq!(
            name(EvalConfig {
                ks: vec![10, 0],
                ..EvalConfig::default()
            }),
            "ks"
        );
        assert_eq!(
            name(EvalConfig {
                min_support: 0.0,
                ..EvalConfig::default()
            }),
            "min_support"
        );
        assert_eq!(
            name(EvalConfig {
                min_support: f32::NAN,
                ..EvalConfig::default()
            }),
            "min_support"
        );
        assert_eq!(
            name(EvalConfig {
                list_len: 0,
                ..EvalConfig::default()
            }),
            "list_len"
        );
        let p = EvalConfig {
            ks: vec![50, 10, 50],
            ..EvalConfig::default()
        }
        .check()
        .unwrap();
        assert_eq!(p.ks(), [10, 50]);
        let parsed: EvalConfig = serde_json::from_str(r#"{"ks": [5], "min_support": 2}"#).unwrap();
        assert_eq!(
            (parsed.ks.as_slice(), parsed.min_support, parsed.list_len),
            (&[5][..], 2.0, 10)
        );
        assert!(serde_json::from_str::<EvalConfig>(r#"{"k": [5]}"#).is_err());
    }

    #[test]
    fn cases_are_validated_and_normalised() {
        let p = EvalParams::default();
        let set = EvalSet::from_cases(
            &p,
            5,
            vec![0; 5],
            vec![case(3, Slice::Warm, &[4, 1, 4]), case(0, Slice::Cold, &[2])],
        )
        .unwrap();
        assert_eq!(set.cases()[0].seed, ProductIdx(0));
        assert_eq!(set.cases()[1].positives, [ProductIdx(1), ProductIdx(4)]);
        assert_eq!(set.positives_total(), 3);
        assert_eq!(
            (set.seeds_in(Slice::Cold), set.seeds_in(Slice::Tail)),
            (1, 0)
        );

        let e = data_error(EvalSet::from_cases(
            &p,
            5,
            vec![0; 4],
            vec![case(0, Slice::Cold, &[1])],
        ));
        assert!(e.contains("popularity"), "{e}");
        let e = data_error(EvalSet::from_cases(&p, 5, vec![0; 5], vec![]));
        assert!(e.contains("no test seed"), "{e}");
        let e = data_error(EvalSet::from_cases(
            &p,
            5,
            vec![0; 5],
            vec![case(5, Slice::Cold, &[1])],
        ));
        assert!(e.contains("outside"), "{e}");
        let e = data_error(EvalSet::from_cases(
            &p,
            5,
            vec![0; 5],
            vec![case(1, Slice::Cold, &[9])],
        ));
        assert!(e.contains("positive #9"), "{e}");
        let e = data_error(EvalSet::from_cases(
            &p,
            5,
            vec![0; 5],
            vec![case(1, Slice::Cold, &[1, 2])],
        ));
        assert!(e.contains("own positive"), "{e}");
        let e = data_error(EvalSet::from_cases(
            &p,
            5,
            vec![0; 5],
            vec![case(1, Slice::Cold, &[])],
        ));
        assert!(e.contains("no positive"), "{e}");
        let e = data_error(EvalSet::from_cases(
            &p,
            5,
            vec![0; 5],
            vec![case(1, Slice::Cold, &[2]), case(1, Slice::Warm, &[3])],
        ));
        assert!(e.contains("twice"), "{e}");
        let e = data_error(EvalSet::from_cases(
            &p,
            3,
            vec![0; 3],
            vec![case(1, Slice::Cold, &[0, 2])],
        ));
        assert!(e.contains("nothing to rank"), "{e}");
    }

    #[test]
    fn roles_map_to_slices() {
        assert_eq!(Slice::of_role(ProductRole::Absent), Slice::Cold);
        assert_eq!(Slice::of_role(ProductRole::Cold), Slice::Cold);
        assert_eq!(Slice::of_role(ProductRole::LongTail), Slice::Tail);
        assert_eq!(Slice::of_role(ProductRole::Warm), Slice::Warm);
        assert_eq!(Slice::Tail.to_string(), "tail");
    }
}
