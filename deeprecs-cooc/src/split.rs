//! Splits for honest evaluation: train / validation / test periods by time, a cold-start
//! product set whose events never reach training, a long-tail slice, and the evaluation pairs
//! of a period — all reproducible from a seed and written out, so that every model and
//! baseline is evaluated on exactly the same pairs.
//!
//! ```
//! use deeprecs_core::synthetic::{SyntheticConfig, generate};
//! use deeprecs_cooc::{CoocConfig, EvalPairs, Part, ProductRole, SplitConfig};
//!
//! let data = generate(&SyntheticConfig { products: 300, users: 400, ..SyntheticConfig::default() })?;
//! let n = data.catalog.len();
//! let split = SplitConfig::default().check()?.split(&data.events, n)?;
//! // Training sees no event of a cold product.
//! let train = split.log(&data.events, Part::Train);
//! assert!(train.events().iter().all(|e| split.role(e.product) != ProductRole::Cold));
//! // The test pairs with at least 2 users, tagged by slice.
//! let counter = CoocConfig::default().check()?;
//! let (test, _) = EvalPairs::build(&split, &data.events, Part::Test, &counter, 2.0)?;
//! assert!(test.pairs().iter().all(|p| p.count >= 2.0));
//! # Ok::<(), deeprecs_cooc::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use deeprecs_core::rng::SeededRng;
use deeprecs_core::time::{format_timestamp, parse_timestamp};
use deeprecs_core::{Catalog, Event, EventLog, ProductIdx, TimestampFormat};
use serde::{Deserialize, Serialize};

use crate::config::CoocCounter;
use crate::error::{Error, Result, check_catalog_size, invalid};

/// Where a period boundary falls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cutoff {
    /// A share of the log's time span from its first event: `0.8` = after 80 % of the span.
    Fraction(f64),
    /// A moment, written like a timestamp of the event log (`2011-10-01`,
    /// `2011-10-01 00:00:00`, RFC 3339 or epoch seconds).
    At(String),
}

/// Which products are cold-start products (their events are removed from training).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColdStart {
    /// Products first seen at or after the training cutoff (default): genuinely new products.
    #[default]
    FirstSeenAfterCutoff,
    /// A random share (drawn with the split's seed) of the products that have training
    /// events, in addition to those first seen after the cutoff.
    RandomShare(f64),
}

/// Split options as plain data; check them with [`SplitConfig::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitConfig {
    /// End of the training period, exclusive (default: 80 % of the span).
    pub train_until: Cutoff,
    /// End of the validation period, exclusive; the test period runs to the last event
    /// (default: 90 % of the span).
    pub valid_until: Cutoff,
    /// How cold-start products are chosen (default: first seen after the training cutoff).
    pub cold_start: ColdStart,
    /// Products with fewer training events than this (but at least one) form the long-tail
    /// slice (default 5).
    pub long_tail_below: u32,
    /// Seed of the random choices (default 42).
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            train_until: Cutoff::Fraction(0.8),
            valid_until: Cutoff::Fraction(0.9),
            cold_start: ColdStart::FirstSeenAfterCutoff,
            long_tail_below: 5,
            seed: 42,
        }
    }
}

/// A checked [`SplitConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct SplitParams {
    config: SplitConfig,
    train: Bound,
    valid: Bound,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Fraction(f64),
    At(i64),
}

fn bound(c: &Cutoff, name: &'static str) -> Result<Bound> {
    match c {
        Cutoff::Fraction(f) if f.is_finite() && (0.0..=1.0).contains(f) => Ok(Bound::Fraction(*f)),
        Cutoff::Fraction(f) => Err(invalid(name, format!("the fraction must be in [0, 1], got {f}"))),
        Cutoff::At(text) => parse_timestamp(text, TimestampFormat::Auto)
            .map(Bound::At)
            .ok_or_else(|| {
                invalid(
                    name,
                    format!("cannot parse {text:?} as a timestamp (YYYY-MM-DD[ HH:MM:SS], RFC 3339 or epoch seconds)"),
                )
            }),
    }
}

impl SplitConfig {
    /// Checks the options before any work.
    pub fn check(self) -> Result<SplitParams> {
        let train = bound(&self.train_until, "train_until")?;
        let valid = bound(&self.valid_until, "valid_until")?;
        match (train, valid) {
            (Bound::Fraction(a), Bound::Fraction(b)) if a > b => {
                return Err(invalid(
                    "valid_until",
                    format!("the validation period ends ({b}) before training does ({a})"),
                ));
            }
            (Bound::At(a), Bound::At(b)) if a > b => {
                return Err(invalid(
                    "valid_until",
                    format!(
                        "the validation period ends ({}) before training does ({})",
                        format_timestamp(b),
                        format_timestamp(a)
                    ),
                ));
            }
            _ => {}
        }
        if let ColdStart::RandomShare(s) = self.cold_start
            && !(s.is_finite() && (0.0..1.0).contains(&s))
        {
            return Err(invalid(
                "cold_start",
                format!("the random share must be in [0, 1), got {s}"),
            ));
        }
        if self.long_tail_below == 0 {
            return Err(invalid("long_tail_below", "must be at least 1"));
        }
        Ok(SplitParams {
            config: self,
            train,
            valid,
        })
    }
}

/// A period of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Before the training cutoff (cold products removed).
    Train,
    /// From the training cutoff to the validation cutoff.
    Validation,
    /// From the validation cutoff to the end.
    Test,
}

/// The role of a product in a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductRole {
    /// No event at all.
    Absent,
    /// Cold start: no event in training; can only be predicted from metadata.
    Cold,
    /// Fewer than `long_tail_below` training events.
    LongTail,
    /// Enough training events.
    Warm,
}

impl ProductRole {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Cold => "cold",
            Self::LongTail => "long_tail",
            Self::Warm => "warm",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Absent, Self::Cold, Self::LongTail, Self::Warm]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

impl fmt::Display for ProductRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Headline numbers of a split.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SplitSummary {
    /// Events per period (cold products' training-period events not included).
    pub events: BTreeMap<Part, u64>,
    /// Training-period events of cold products, removed from training.
    pub removed_cold_events: u64,
    /// Events whose product is outside the catalog (ignored).
    pub unknown_product_events: u64,
    /// Products per role.
    pub products: BTreeMap<ProductRole, u64>,
    /// Cold products drawn at random (with [`ColdStart::RandomShare`]).
    pub cold_random: u64,
    /// Cold products with no event before the training cutoff.
    pub cold_unseen: u64,
}

/// A computed split: cutoffs and product roles. Assigns each event to a [`Part`]
/// ([`Split::part`]) and filters logs ([`Split::log`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    config: SplitConfig,
    span: (i64, i64),
    train_until: i64,
    valid_until: i64,
    roles: Vec<ProductRole>,
    train_events: Vec<u32>,
    summary: SplitSummary,
}

impl SplitParams {
    /// The options.
    pub fn config(&self) -> &SplitConfig {
        &self.config
    }

    /// Splits `log` for a catalog of `n_products`. Fails on a log with no event of a catalog
    /// product (there is nothing to split).
    pub fn split(&self, log: &EventLog, n_products: usize) -> Result<Split> {
        let known = || {
            log.events()
                .iter()
                .filter(|e| e.product.index() < n_products)
        };
        let (Some(first), Some(last)) = (
            known().map(|e| e.timestamp).min(),
            known().map(|e| e.timestamp).max(),
        ) else {
            return Err(invalid(
                "log",
                "no event of a catalog product: there is nothing to split",
            ));
        };
        let at = |b: Bound| match b {
            Bound::At(t) => t,
            Bound::Fraction(f) => first + ((last - first) as f64 * f).floor() as i64,
        };
        let (train_until, valid_until) = (at(self.train), at(self.valid));
        if train_until > valid_until {
            return Err(invalid(
                "valid_until",
                format!(
                    "the validation period ends ({}) before training does ({})",
                    format_timestamp(valid_until),
                    format_timestamp(train_until)
                ),
            ));
        }
        let mut train_events = vec![0u32; n_products];
        let mut seen = vec![false; n_products];
        for e in known() {
            seen[e.product.index()] = true;
            if e.timestamp < train_until {
                train_events[e.product.index()] += 1;
            }
        }
        let mut roles: Vec<ProductRole> = (0..n_products)
            .map(|p| match (seen[p], train_events[p]) {
                (false, _) => ProductRole::Absent,
                (true, 0) => ProductRole::Cold,
                (true, n) if n < self.config.long_tail_below => ProductRole::LongTail,
                _ => ProductRole::Warm,
            })
            .collect();
        let mut summary = SplitSummary {
            cold_unseen: roles.iter().filter(|r| **r == ProductRole::Cold).count() as u64,
            ..SplitSummary::default()
        };
        if let ColdStart::RandomShare(share) = self.config.cold_start {
            let mut pool: Vec<usize> = (0..n_products).filter(|&p| train_events[p] > 0).collect();
            let take = (pool.len() as f64 * share).round() as usize;
            let mut rng = SeededRng::fork(self.config.seed, 0x5B17);
            rng.shuffle(&mut pool);
            for &p in &pool[..take] {
                roles[p] = ProductRole::Cold;
            }
            summary.cold_random = take as u64;
        }
        // Cold products contribute no training events.
        for (p, r) in roles.iter().enumerate() {
            if *r == ProductRole::Cold {
                train_events[p] = 0;
            }
        }
        let mut split = Split {
            config: self.config.clone(),
            span: (first, last),
            train_until,
            valid_until,
            roles,
            train_events,
            summary,
        };
        split.summarise(log);
        Ok(split)
    }
}

impl Split {
    fn summarise(&mut self, log: &EventLog) {
        let mut s = SplitSummary {
            cold_random: self.summary.cold_random,
            cold_unseen: self.summary.cold_unseen,
            ..SplitSummary::default()
        };
        for part in [Part::Train, Part::Validation, Part::Test] {
            s.events.insert(part, 0);
        }
        for e in log.events() {
            match self.part(e) {
                Some(part) => *s.events.entry(part).or_default() += 1,
                None if e.product.index() >= self.roles.len() => s.unknown_product_events += 1,
                None => s.removed_cold_events += 1,
            }
        }
        for r in &self.roles {
            *s.products.entry(*r).or_default() += 1;
        }
        self.summary = s;
    }

    /// The period of an event, or `None` for an event of a cold product before the training
    /// cutoff (removed from training) or of a product outside the catalog.
    pub fn part(&self, e: &Event) -> Option<Part> {
        let role = self.roles.get(e.product.index())?;
        if e.timestamp < self.train_until {
            (*role != ProductRole::Cold).then_some(Part::Train)
        } else if e.timestamp < self.valid_until {
            Some(Part::Validation)
        } else {
            Some(Part::Test)
        }
    }

    /// A copy of `log` with only the events of `part`.
    pub fn log(&self, log: &EventLog, part: Part) -> EventLog {
        let mut out = log.clone();
        out.retain(|e| self.part(e) == Some(part));
        out
    }

    /// The role of a product (`Absent` for one outside the catalog).
    pub fn role(&self, p: ProductIdx) -> ProductRole {
        self.roles
            .get(p.index())
            .copied()
            .unwrap_or(ProductRole::Absent)
    }

    /// The products with a given role, ascending.
    pub fn products(&self, role: ProductRole) -> impl Iterator<Item = ProductIdx> + '_ {
        self.roles
            .iter()
            .enumerate()
            .filter(move |(_, r)| **r == role)
            .map(|(p, _)| ProductIdx(p as u32))
    }

    /// Training events per product (0 for cold products): the popularity for negative
    /// sampling.
    pub fn train_events(&self) -> &[u32] {
        &self.train_events
    }

    /// The training and validation cutoffs (epoch seconds, exclusive ends).
    pub fn cutoffs(&self) -> (i64, i64) {
        (self.train_until, self.valid_until)
    }

    /// The first and last event time of the log split.
    pub fn span(&self) -> (i64, i64) {
        self.span
    }

    /// Number of products (the catalog size).
    pub fn n_products(&self) -> usize {
        self.roles.len()
    }

    /// The options used.
    pub fn config(&self) -> &SplitConfig {
        &self.config
    }

    /// Events and products by part and role.
    pub fn summary(&self) -> &SplitSummary {
        &self.summary
    }

    /// Writes the split as JSON with external product ids.
    pub fn write(&self, path: impl AsRef<Path>, catalog: &Catalog) -> Result<()> {
        let path = path.as_ref();
        let name = path.display().to_string();
        check_catalog_size(&name, "split", self.n_products(), catalog.len())?;
        let mut roles: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let mut train_events = BTreeMap::new();
        for (p, r) in self.roles.iter().enumerate() {
            let id = catalog.id(ProductIdx(p as u32));
            if *r != ProductRole::Absent {
                roles.entry(r.as_str().to_owned()).or_default().push(id);
            }
            if self.train_events[p] > 0 {
                train_events.insert(id, self.train_events[p]);
            }
        }
        let file = SplitFile {
            format: SPLIT_FORMAT.into(),
            version: 1,
            config: self.config.clone(),
            span: [format_timestamp(self.span.0), format_timestamp(self.span.1)],
            train_until: format_timestamp(self.train_until),
            valid_until: format_timestamp(self.valid_until),
            n_products: self.n_products() as u64,
            summary: self.summary.clone(),
            products: roles
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().map(str::to_owned).collect()))
                .collect(),
            train_events: train_events
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(|e| Error::Write {
            path: name.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(path, text).map_err(|source| Error::Write { path: name, source })
    }

    /// Reads a split written by [`write`](Self::write), resolving product ids against
    /// `catalog`.
    pub fn read(path: impl AsRef<Path>, catalog: &Catalog) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: name.clone(),
            source,
        })?;
        let bad = |message: String| Error::Format {
            path: name.clone(),
            message,
        };
        let file: SplitFile =
            serde_json::from_str(&text).map_err(|e| bad(format!("invalid split file: {e}")))?;
        if file.format != SPLIT_FORMAT || file.version != 1 {
            return Err(bad(format!(
                "not a version-1 split file (format {:?}, version {})",
                file.format, file.version
            )));
        }
        if file.n_products != catalog.len() as u64 {
            return Err(Error::CatalogMismatch {
                path: name,
                message: format!(
                    "the split has {} products, the catalog {}",
                    file.n_products,
                    catalog.len()
                ),
            });
        }
        let resolve = |id: &str| {
            catalog.index_of(id).ok_or_else(|| Error::CatalogMismatch {
                path: name.clone(),
                message: format!("product {id:?} is not in the catalog"),
            })
        };
        let mut roles = vec![ProductRole::Absent; catalog.len()];
        for (role, ids) in &file.products {
            let r = ProductRole::parse(role)
                .ok_or_else(|| bad(format!("unknown product role {role:?}")))?;
            for id in ids {
                roles[resolve(id)?.index()] = r;
            }
        }
        let mut train_events = vec![0u32; catalog.len()];
        for (id, n) in &file.train_events {
            train_events[resolve(id)?.index()] = *n;
        }
        let time = |t: &str, field: &str| {
            parse_timestamp(t, TimestampFormat::Auto)
                .ok_or_else(|| bad(format!("cannot parse {field} {t:?}")))
        };
        Ok(Self {
            config: file.config,
            span: (time(&file.span[0], "span")?, time(&file.span[1], "span")?),
            train_until: time(&file.train_until, "train_until")?,
            valid_until: time(&file.valid_until, "valid_until")?,
            roles,
            train_events,
            summary: file.summary,
        })
    }
}

const SPLIT_FORMAT: &str = "deeprecs-split";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitFile {
    format: String,
    version: u32,
    config: SplitConfig,
    span: [String; 2],
    train_until: String,
    valid_until: String,
    n_products: u64,
    summary: SplitSummary,
    products: BTreeMap<String, Vec<String>>,
    train_events: BTreeMap<String, u32>,
}

/// The evaluation slice of a pair: the "coldest" role of its two products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairSlice {
    /// Seed or rec is a cold-start product.
    Cold,
    /// Seed or rec is a long-tail product (and neither is cold).
    LongTail,
    /// Both are warm.
    Warm,
}

impl PairSlice {
    /// The slice of a pair with these roles.
    pub fn of(seed: ProductRole, rec: ProductRole) -> Self {
        use ProductRole::*;
        match (seed, rec) {
            (Cold | Absent, _) | (_, Cold | Absent) => Self::Cold,
            (LongTail, _) | (_, LongTail) => Self::LongTail,
            (Warm, Warm) => Self::Warm,
        }
    }

    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::LongTail => "long_tail",
            Self::Warm => "warm",
        }
    }
}

/// One evaluation pair: a positive of a validation or test period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalPair {
    /// The seed product.
    pub seed: ProductIdx,
    /// The product that co-occurred with it.
    pub rec: ProductIdx,
    /// Its co-occurrence count in the period.
    pub count: f32,
    /// The seed's role in the split.
    pub seed_role: ProductRole,
    /// The rec's role in the split.
    pub rec_role: ProductRole,
}

impl EvalPair {
    /// The evaluation slice of the pair.
    pub fn slice(&self) -> PairSlice {
        PairSlice::of(self.seed_role, self.rec_role)
    }
}

/// The positive pairs of one period, with a minimum count, tagged by slice; written to CSV
/// so every model is scored on the same pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalPairs {
    part: Part,
    min_count: f32,
    pairs: Vec<EvalPair>,
}

impl EvalPairs {
    /// Counts the pairs of `part` of `log` with `counter` and keeps those with a count of at
    /// least `min_count` (e.g. 3 distinct customers).
    pub fn build(
        split: &Split,
        log: &EventLog,
        part: Part,
        counter: &CoocCounter,
        min_count: f32,
    ) -> Result<(Self, crate::CoocReport)> {
        if !(min_count.is_finite() && min_count > 0.0) {
            return Err(invalid(
                "min_count",
                format!("must be a positive number, got {min_count}"),
            ));
        }
        let period = split.log(log, part);
        let (counts, report) = counter.count(&period, split.n_products())?;
        let pairs = counts
            .iter()
            .filter(|&(_, _, c)| c >= min_count)
            .map(|(seed, rec, count)| EvalPair {
                seed,
                rec,
                count,
                seed_role: split.role(seed),
                rec_role: split.role(rec),
            })
            .collect();
        Ok((
            Self {
                part,
                min_count,
                pairs,
            },
            report,
        ))
    }

    /// The period the pairs come from.
    pub fn part(&self) -> Part {
        self.part
    }

    /// The minimum count used.
    pub fn min_count(&self) -> f32 {
        self.min_count
    }

    /// All pairs, by seed then rec.
    pub fn pairs(&self) -> &[EvalPair] {
        &self.pairs
    }

    /// The pairs of one slice.
    pub fn slice(&self, slice: PairSlice) -> impl Iterator<Item = &EvalPair> + '_ {
        self.pairs.iter().filter(move |p| p.slice() == slice)
    }

    /// Pairs per slice.
    pub fn slice_counts(&self) -> BTreeMap<PairSlice, u64> {
        let mut m = BTreeMap::new();
        for p in &self.pairs {
            *m.entry(p.slice()).or_default() += 1;
        }
        m
    }

    /// Writes the pairs as CSV with external ids: a `# part=…,min_count=…` comment line, then
    /// `seed,rec,count,seed_role,rec_role,slice`.
    pub fn write_csv(&self, path: impl AsRef<Path>, catalog: &Catalog) -> Result<()> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let werr = |e: csv::Error| Error::Write {
            path: name.clone(),
            source: std::io::Error::other(e),
        };
        let mut text = format!(
            "# part={},min_count={}\n",
            part_name(self.part),
            self.min_count
        )
        .into_bytes();
        {
            let mut w = csv::Writer::from_writer(&mut text);
            w.write_record(["seed", "rec", "count", "seed_role", "rec_role", "slice"])
                .map_err(werr)?;
            for p in &self.pairs {
                if p.seed.index() >= catalog.len() || p.rec.index() >= catalog.len() {
                    return Err(Error::CatalogMismatch {
                        path: name.clone(),
                        message: format!(
                            "the pairs mention product #{} or #{}, outside the catalog",
                            p.seed.0, p.rec.0
                        ),
                    });
                }
                w.write_record([
                    catalog.id(p.seed),
                    catalog.id(p.rec),
                    &p.count.to_string(),
                    p.seed_role.as_str(),
                    p.rec_role.as_str(),
                    p.slice().as_str(),
                ])
                .map_err(werr)?;
            }
            w.flush().map_err(|source| Error::Write {
                path: name.clone(),
                source,
            })?;
        }
        std::fs::write(path, text).map_err(|source| Error::Write { path: name, source })
    }

    /// Reads pairs written by [`write_csv`](Self::write_csv), resolving ids against `catalog`.
    pub fn read_csv(path: impl AsRef<Path>, catalog: &Catalog) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: name.clone(),
            source,
        })?;
        let bad = |line: usize, message: String| Error::Format {
            path: format!("{name}:{line}"),
            message,
        };
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let meta = first
            .strip_prefix("# ")
            .ok_or_else(|| bad(1, "expected a `# part=…,min_count=…` line".into()))?;
        let mut part = None;
        let mut min_count = None;
        for kv in meta.split(',') {
            match kv.split_once('=') {
                Some(("part", v)) => part = parse_part(v),
                Some(("min_count", v)) => min_count = v.parse::<f32>().ok(),
                _ => {}
            }
        }
        let (Some(part), Some(min_count)) = (part, min_count) else {
            return Err(bad(
                1,
                format!("cannot read part and min_count from {first:?}"),
            ));
        };
        let mut r = csv::Reader::from_reader(rest.as_bytes());
        let mut pairs = Vec::new();
        for (i, rec) in r.records().enumerate() {
            let line = i + 3;
            let rec = rec.map_err(|e| bad(line, e.to_string()))?;
            if rec.len() != 6 {
                return Err(bad(
                    line,
                    format!("expected 6 columns, found {}", rec.len()),
                ));
            }
            let product = |k: usize| {
                catalog
                    .index_of(&rec[k])
                    .ok_or_else(|| Error::CatalogMismatch {
                        path: format!("{name}:{line}"),
                        message: format!("product {:?} is not in the catalog", &rec[k]),
                    })
            };
            let role = |k: usize| {
                ProductRole::parse(&rec[k])
                    .ok_or_else(|| bad(line, format!("unknown role {:?}", &rec[k])))
            };
            let count: f32 = rec[2]
                .parse()
                .map_err(|_| bad(line, format!("cannot parse count {:?}", &rec[2])))?;
            pairs.push(EvalPair {
                seed: product(0)?,
                rec: product(1)?,
                count,
                seed_role: role(3)?,
                rec_role: role(4)?,
            });
        }
        Ok(Self {
            part,
            min_count,
            pairs,
        })
    }
}

fn part_name(p: Part) -> &'static str {
    match p {
        Part::Train => "train",
        Part::Validation => "validation",
        Part::Test => "test",
    }
}

fn parse_part(s: &str) -> Option<Part> {
    [Part::Train, Part::Validation, Part::Test]
        .into_iter()
        .find(|p| part_name(*p) == s)
}
