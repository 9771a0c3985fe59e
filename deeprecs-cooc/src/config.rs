//! Counting options: the plain serde [`CoocConfig`] and its checked form, [`CoocCounter`].

use std::collections::BTreeMap;
use std::fmt;

use deeprecs_core::EventLog;
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::window::Window;

/// The default [`CoocConfig::neighbour_cap`]: each event pairs with at most this many events
/// before it and this many after it in its user's time order.
///
/// Measured on Online Retail with a 7-day window: the median event has 28 neighbours on its
/// busier side and 90 % have at most 98, so a cap of 100 leaves 96 % of the customers
/// untouched; it binds for the 168 customers (3.9 %) who bought more than 100 distinct
/// products within a week — the wholesale accounts. It removes 11 % of the (pair, customer)
/// incidences, and cuts the ten largest customers' share of them from 23.7 % to 17.2 %,
/// while the best partners of a popular product hardly move (the counts of 85123A's top five
/// become 275, 202, 199, 194, 189 instead of 275, 202, 201, 195, 189).
pub const DEFAULT_NEIGHBOUR_CAP: u32 = 100;

/// How often a pair counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    /// At most once per user: `C[p1][p2]` is the number of users who have at least one pair of
    /// events of `p1` and `p2` within the window ("co-occurrence across all users"; default).
    /// With kind weights, a user adds the largest weight among their pairs of events.
    #[default]
    PerUser,
    /// Once per window co-occurrence: every pair of events of `p1` and `p2` within the window
    /// counts, so a user who buys both together on three occasions adds 3.
    PerOccurrence,
}

/// Which order of two paired events counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Both orders: `C[p1][p2] = C[p2][p1]` (default).
    #[default]
    Symmetric,
    /// Only `p1 → p2` where `p2` comes at the same time as or after `p1`: "what is added after
    /// the seed". Events at the same timestamp (or in the same basket) count both ways.
    Directed,
}

/// What "within the window" means for a given log, resolved from the [`Window`] and whether
/// the log has basket ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Pairing {
    /// `|Δt| ≤ secs`, both ends included.
    TimeWindow {
        /// The window in seconds (> 0).
        secs: u64,
    },
    /// `W = 0` and the log has basket ids: events pair when they share a basket.
    SameBasket,
    /// `W = 0` and the log has no basket ids: events pair when they share a timestamp.
    SameTimestamp,
}

impl Pairing {
    /// The pairing that `window` means for `log`.
    pub fn resolve(window: Window, log: &EventLog) -> Self {
        match (window.secs(), log.basket_count() > 0) {
            (0, true) => Self::SameBasket,
            (0, false) => Self::SameTimestamp,
            (secs, _) => Self::TimeWindow { secs },
        }
    }
}

impl fmt::Display for Pairing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimeWindow { secs } => {
                write!(f, "within {} (|Δt| ≤ {secs} s)", Window::from_secs(*secs))
            }
            Self::SameBasket => f.write_str("same basket"),
            Self::SameTimestamp => f.write_str("same timestamp (the log has no basket ids)"),
        }
    }
}

/// Options of co-occurrence counting, as plain data (serde, every field optional in a file).
/// Check it once with [`CoocConfig::check`] to get a [`CoocCounter`].
///
/// The defaults reproduce the "products bought by the same user within 7 days, counted once
/// per user, both orders" definition; only the [`neighbour_cap`](Self::neighbour_cap) differs
/// from a plain SQL self-join (set it to `None` for the exact join).
///
/// ```
/// use deeprecs_cooc::{CoocConfig, Counting, Window};
/// let config: CoocConfig = serde_json::from_str(
///     r#"{ "window": "3d", "counting": "per_occurrence", "kind_weights": { "purchase": 1.0, "view": 0.25 } }"#,
/// ).unwrap();
/// assert_eq!(config.window, Window::days(3));
/// assert_eq!(config.counting, Counting::PerOccurrence);
/// assert_eq!(config.neighbour_cap, Some(deeprecs_cooc::DEFAULT_NEIGHBOUR_CAP));
/// let counter = config.check()?;
/// # Ok::<(), deeprecs_cooc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoocConfig {
    /// Events of one user pair when `|Δt| ≤ window` (default 7 days). `0` means the same
    /// basket when the log has basket ids, else the same timestamp.
    pub window: Window,
    /// Once per user (default) or once per window co-occurrence.
    pub counting: Counting,
    /// Both orders (default) or only "p2 at or after p1".
    pub direction: Direction,
    /// Weight of each event kind, in `[0, 1]`; a pair of events weighs the product of their
    /// weights (view–purchase `0.2 × 1.0`). Empty (default): every kind weighs 1. When not
    /// empty, events of kinds not listed (or weighted 0) are ignored and counted in the report.
    pub kind_weights: BTreeMap<String, f32>,
    /// Each event pairs with at most this many events before it and this many after it in its
    /// user's time order (ties in time are ordered by product index), so that one bulk buyer
    /// cannot dominate the counts. `None` (JSON `null`, TOML `"none"`): no cap. Default
    /// [`DEFAULT_NEIGHBOUR_CAP`].
    #[serde(with = "cap_serde")]
    pub neighbour_cap: Option<u32>,
    /// Pairs with a count below this are dropped (default 0: keep every pair).
    pub min_count: f32,
    /// Keep at most this many partners per seed: those with the highest counts, ties broken by
    /// the smaller product index (default `None`: keep all). Bounds memory at `K` pairs per
    /// product; the table is then no longer symmetric.
    pub top_k: Option<u32>,
    /// Worker threads; 0 (default) uses rayon's global pool (one thread per core).
    pub threads: usize,
}

impl Default for CoocConfig {
    fn default() -> Self {
        Self {
            window: Window::WEEK,
            counting: Counting::PerUser,
            direction: Direction::Symmetric,
            kind_weights: BTreeMap::new(),
            neighbour_cap: Some(DEFAULT_NEIGHBOUR_CAP),
            min_count: 0.0,
            top_k: None,
            threads: 0,
        }
    }
}

/// `Option<u32>` as a number, or `null` / `"none"` for no cap (TOML has no null).
mod cap_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Cap {
        Number(u32),
        Text(String),
    }

    pub fn serialize<S: Serializer>(cap: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
        match cap {
            Some(n) => n.serialize(s),
            None => "none".serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        match Option::<Cap>::deserialize(d)? {
            None => Ok(None),
            Some(Cap::Number(n)) => Ok(Some(n)),
            Some(Cap::Text(t)) if t.eq_ignore_ascii_case("none") => Ok(None),
            Some(Cap::Text(t)) => Err(serde::de::Error::custom(format!(
                "neighbour_cap: expected a positive number or \"none\", found {t:?}"
            ))),
        }
    }
}

impl CoocConfig {
    /// Checks every option once, before any work, and returns the counter.
    pub fn check(self) -> Result<CoocCounter> {
        for (name, &w) in &self.kind_weights {
            if name.trim().is_empty() {
                return Err(invalid("kind_weights", "an event kind name is empty"));
            }
            if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
                return Err(invalid(
                    "kind_weights",
                    format!("the weight of kind {name:?} must be in [0, 1], got {w}"),
                ));
            }
        }
        if !self.kind_weights.is_empty() && self.kind_weights.values().all(|&w| w == 0.0) {
            return Err(invalid(
                "kind_weights",
                "every listed kind has weight 0: nothing would be counted",
            ));
        }
        if self.neighbour_cap == Some(0) {
            return Err(invalid(
                "neighbour_cap",
                "must be at least 1 (use none for no cap)",
            ));
        }
        if !(self.min_count.is_finite() && self.min_count >= 0.0) {
            return Err(invalid(
                "min_count",
                format!("must be a finite number ≥ 0, got {}", self.min_count),
            ));
        }
        if self.top_k == Some(0) {
            return Err(invalid("top_k", "must be at least 1 (or none to keep all)"));
        }
        if self.threads > 4096 {
            return Err(invalid(
                "threads",
                format!(
                    "{} threads is not plausible (0 = one per core)",
                    self.threads
                ),
            ));
        }
        Ok(CoocCounter { config: self })
    }
}

/// A checked [`CoocConfig`]: counts pairs of an [`EventLog`] with
/// [`CoocCounter::count`]. Build it with [`CoocConfig::check`] (the default counter uses the
/// default options).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CoocCounter {
    pub(crate) config: CoocConfig,
}

impl CoocCounter {
    /// The options it was built from.
    pub fn config(&self) -> &CoocConfig {
        &self.config
    }

    /// The weight of each of the log's kinds, indexed by `KindIdx` (0 = ignored).
    pub(crate) fn kind_weights(&self, log: &EventLog) -> Vec<f32> {
        log.kinds()
            .iter()
            .map(|k| {
                if self.config.kind_weights.is_empty() {
                    1.0
                } else {
                    self.config.kind_weights.get(k).copied().unwrap_or(0.0)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn param_of(e: Error) -> &'static str {
        match e {
            Error::InvalidParameter { name, .. } => name,
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn defaults_are_documented_values() {
        let c = CoocConfig::default();
        assert_eq!(c.window.secs(), 7 * 86_400);
        assert_eq!(c.counting, Counting::PerUser);
        assert_eq!(c.direction, Direction::Symmetric);
        assert_eq!(c.neighbour_cap, Some(DEFAULT_NEIGHBOUR_CAP));
        assert_eq!((c.min_count, c.top_k, c.threads), (0.0, None, 0));
        assert!(c.check().is_ok());
    }

    #[test]
    fn invalid_options_are_rejected_up_front() {
        let bad = |f: fn(&mut CoocConfig)| {
            let mut c = CoocConfig::default();
            f(&mut c);
            param_of(c.check().unwrap_err())
        };
        assert_eq!(bad(|c| c.neighbour_cap = Some(0)), "neighbour_cap");
        assert_eq!(bad(|c| c.top_k = Some(0)), "top_k");
        assert_eq!(bad(|c| c.min_count = -1.0), "min_count");
        assert_eq!(bad(|c| c.min_count = f32::NAN), "min_count");
        assert_eq!(
            bad(|c| {
                c.kind_weights.insert("view".into(), 1.5);
            }),
            "kind_weights"
        );
        assert_eq!(
            bad(|c| {
                c.kind_weights.insert("view".into(), 0.0);
            }),
            "kind_weights"
        );
        assert_eq!(
            bad(|c| {
                c.kind_weights.insert(" ".into(), 1.0);
            }),
            "kind_weights"
        );
        assert_eq!(bad(|c| c.threads = 100_000), "threads");
    }

    #[test]
    fn config_files_round_trip() {
        let toml_text = r#"
            window = "0"
            direction = "directed"
            neighbour_cap = "none"
            top_k = 50
            [kind_weights]
            purchase = 1.0
            view = 0.2
        "#;
        let c: CoocConfig = toml::from_str(toml_text).unwrap();
        assert!(c.window.is_zero());
        assert_eq!(c.direction, Direction::Directed);
        assert_eq!(c.neighbour_cap, None);
        assert_eq!(c.top_k, Some(50));
        assert_eq!(c.kind_weights["view"], 0.2);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<CoocConfig>(&json).unwrap(), c);
        let c: CoocConfig = serde_json::from_str(r#"{"neighbour_cap": null}"#).unwrap();
        assert_eq!(c.neighbour_cap, None);
        let e = serde_json::from_str::<CoocConfig>(r#"{"neighbour_cap": "lots"}"#).unwrap_err();
        assert!(e.to_string().contains("neighbour_cap"), "{e}");
        let e = serde_json::from_str::<CoocConfig>(r#"{"windw": "7d"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }
}
