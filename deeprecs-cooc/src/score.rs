//! From a co-occurrence count to a score in `[0, 1]`: the [`PairScorer`] trait and the
//! built-in normalisations in [`Scorer`].
//!
//! | scorer | formula | what it is |
//! | --- | --- | --- |
//! | [`Scorer::Max`] | `C / max_p C[p1][p]` | per-seed max normalisation, the formula of the published DeepRecs design figure |
//! | [`Scorer::LogMax`] (default) | `ln(1+C) / ln(1+max_p C[p1][p])` | its log-scaled variant |
//! | [`Scorer::Jaccard`] | `C / (N1 + N2 − C)` | Jaccard index of the two products' user sets |
//! | [`Scorer::Cosine`] | `C / √(N1·N2)` | cosine of binary user vectors (Ochiai), as in Amazon's item-to-item collaborative filtering |
//! | [`Scorer::Npmi`] | `ln(P12 / (P1·P2)) / −ln P12`, clipped to `[0, 1]` | normalised pointwise mutual information (Bouma 2009) |
//! | [`Scorer::Conditional`] | `C / N1 = P(p2 \| p1)` | confidence of the association rule `p1 ⇒ p2`: "customers who bought p1 also bought p2" |
//!
//! `C = C[p1][p2]`, `N1`, `N2` the seed and rec totals and `N` the grand total of
//! [`Marginals`](crate::Marginals) (users, when counting per user), `P12 = C/N`,
//! `P1 = N1/N`, `P2 = N2/N`.
//!
//! **Why `LogMax` is the default.** The training target is compared with a cosine similarity
//! by a hinge loss, so it should (1) rank a seed's partners as the counts do, (2) give every
//! seed the same scale — its best partner scores 1, whatever the seed's popularity — and (3)
//! spread a seed's partners over `[0, 1]` instead of crushing all but the top few near 0.
//! Co-occurrence counts within a row are heavy-tailed: in Online Retail (7 days, per customer)
//! the white heart T-light holder (85123A) has 3,210 partners; its 1st, 10th, 100th and
//! 1,000th have 275, 151, 71 and 18 customers. Plain `Max` scores them 1, 0.55, 0.26 and
//! 0.065 — the bulk of a row lands below 0.1, where an epsilon-insensitive hinge cannot tell
//! the partners apart — while `LogMax` gives 1, 0.89, 0.76 and 0.52, keeping them apart and
//! still ordered like the counts (1 and 2 hold for `Max` as well). `Jaccard`, `Cosine` and `Conditional` mix in the
//! rec's popularity, and `Npmi` rewards rare pairs seen once; they are there for comparison
//! and for catalogs where popularity bias matters more than coverage.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, invalid};

/// Everything a scorer may use about one pair `(p1 = seed, p2 = rec)`. For the pairs of a
/// table, `0 < count ≤ min(seed_total, rec_total) ≤ total` and `count ≤ seed_max`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PairStats {
    /// `C[p1][p2]`, the (weighted) co-occurrence count.
    pub count: f64,
    /// `max_p C[p1][p]`, the largest count in the seed's row.
    pub seed_max: f64,
    /// `N1`: users with an event of the seed (per-user counting), or the seed's row sum.
    pub seed_total: f64,
    /// `N2`: users with an event of the rec (per-user counting), or the rec's column sum.
    pub rec_total: f64,
    /// `N`: users with an event (per-user counting), or the sum of all counts.
    pub total: f64,
}

/// Turns the statistics of a pair into a score in `[0, 1]`, higher = better cross-sell fit.
///
/// Implement it for a custom normalisation; [`PairCounts::into_scores`](crate::PairCounts::into_scores)
/// rejects values outside `[0, 1]` with [`Error::InvalidScore`].
///
/// ```
/// use deeprecs_cooc::{PairScorer, PairStats, Scorer};
///
/// /// Score 1 for pairs seen at least 10 times, else count / 10.
/// struct Saturating;
/// impl PairScorer for Saturating {
///     fn name(&self) -> String { "saturating".into() }
///     fn score(&self, s: &PairStats) -> f64 { (s.count / 10.0).min(1.0) }
/// }
///
/// let stats = PairStats { count: 2.0, seed_max: 4.0, seed_total: 5.0, rec_total: 3.0, total: 10.0 };
/// assert_eq!(Saturating.score(&stats), 0.2);
/// assert_eq!(Scorer::Max.score(&stats), 0.5);
/// assert_eq!(Scorer::Conditional.score(&stats), 0.4);
/// ```
pub trait PairScorer: Sync {
    /// A short name, stored with the scores.
    fn name(&self) -> String;

    /// The score of one pair; must be finite and within `[0, 1]`.
    fn score(&self, stats: &PairStats) -> f64;
}

/// The built-in normalisations (see the [module documentation](self) for formulas and the
/// choice of default). Every variant returns a value in `[0, 1]` for any input, including
/// zero counts, zero maxima and single-purchase products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scorer {
    /// `C / max_p C[p1][p]`.
    Max,
    /// `ln(1 + C) / ln(1 + max_p C[p1][p])` (default).
    #[default]
    LogMax,
    /// `C / (N1 + N2 − C)`.
    Jaccard,
    /// `C / √(N1·N2)` (Ochiai).
    Cosine,
    /// Normalised PMI clipped to `[0, 1]`.
    Npmi,
    /// `C / N1 = P(p2 | p1)`.
    Conditional,
}

impl Scorer {
    /// All built-in scorers.
    pub const ALL: [Self; 6] = [
        Self::Max,
        Self::LogMax,
        Self::Jaccard,
        Self::Cosine,
        Self::Npmi,
        Self::Conditional,
    ];

    /// The name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Max => "max",
            Self::LogMax => "log_max",
            Self::Jaccard => "jaccard",
            Self::Cosine => "cosine",
            Self::Npmi => "npmi",
            Self::Conditional => "conditional",
        }
    }
}

/// `x` clamped to `[0, 1]`, with NaN (impossible for the formulas below on finite input, but
/// cheap to rule out) mapped to 0.
fn unit(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

impl PairScorer for Scorer {
    fn name(&self) -> String {
        self.as_str().to_owned()
    }

    fn score(&self, s: &PairStats) -> f64 {
        let c = s.count;
        if c.is_nan() || c <= 0.0 {
            return 0.0;
        }
        // Totals below the count would break the bounds below; lift them (a table built by
        // this crate never needs it).
        let n1 = s.seed_total.max(c);
        let n2 = s.rec_total.max(c);
        match self {
            Self::Max => unit(c / s.seed_max.max(c)),
            Self::LogMax => unit(c.ln_1p() / s.seed_max.max(c).ln_1p()),
            Self::Jaccard => unit(c / (n1 + n2 - c)),
            Self::Cosine => unit(c / (n1 * n2).sqrt()),
            Self::Conditional => unit(c / n1),
            Self::Npmi => {
                let n = s.total.max(n1).max(n2);
                let (p12, p1, p2) = (c / n, n1 / n, n2 / n);
                if p12 >= 1.0 {
                    // Every unit holds both: perfect association.
                    return 1.0;
                }
                unit((p12 / (p1 * p2)).ln() / -p12.ln())
            }
        }
    }
}

impl fmt::Display for Scorer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scorer {
    type Err = Error;

    /// Accepts the names of [`Scorer::as_str`], with `-` for `_`, any case, and `ochiai` for
    /// cosine.
    fn from_str(s: &str) -> Result<Self, Error> {
        let name = s.trim().to_ascii_lowercase().replace('-', "_");
        if name == "ochiai" {
            return Ok(Self::Cosine);
        }
        Self::ALL
            .into_iter()
            .find(|sc| sc.as_str() == name)
            .ok_or_else(|| {
                invalid(
                    "scorer",
                    format!(
                        "unknown scorer {s:?}; expected one of: {}",
                        Self::ALL.map(Scorer::as_str).join(", ")
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(count: f64, seed_max: f64, n1: f64, n2: f64, n: f64) -> PairStats {
        PairStats {
            count,
            seed_max,
            seed_total: n1,
            rec_total: n2,
            total: n,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_computed_values() {
        // C = 2, max 4, N1 = 3, N2 = 5, N = 10.
        let s = stats(2.0, 4.0, 3.0, 5.0, 10.0);
        assert!(close(Scorer::Max.score(&s), 0.5));
        assert!(close(Scorer::LogMax.score(&s), 3f64.ln() / 5f64.ln()));
        assert!(close(Scorer::Jaccard.score(&s), 2.0 / 6.0));
        assert!(close(Scorer::Cosine.score(&s), 2.0 / 15f64.sqrt()));
        assert!(close(Scorer::Conditional.score(&s), 2.0 / 3.0));
        // P12 = 0.2, P1 = 0.3, P2 = 0.5: ln(0.2/0.15)/-ln(0.2).
        let npmi = (0.2f64 / 0.15).ln() / -(0.2f64.ln());
        assert!(close(Scorer::Npmi.score(&s), npmi));
        assert!((npmi - 0.178_746).abs() < 1e-6, "{npmi}");
    }

    #[test]
    fn edge_cases_stay_in_unit_interval() {
        let edge = [
            stats(0.0, 0.0, 0.0, 0.0, 0.0),    // nothing at all
            stats(1.0, 0.0, 0.0, 0.0, 0.0),    // zero max and totals (inconsistent input)
            stats(1.0, 1.0, 1.0, 1.0, 1.0),    // one user bought both, nothing else
            stats(1.0, 1.0, 1.0, 1.0, 4339.0), // single-purchase products
            stats(5.0, 5.0, 5.0, 5.0, 5.0),    // every user holds both
            stats(1e-9, 1e9, 1e9, 1e9, 1e12),
            stats(f64::MAX, f64::MAX, f64::MAX, f64::MAX, f64::MAX),
            stats(-1.0, 2.0, 2.0, 2.0, 2.0),
            stats(f64::NAN, 2.0, 2.0, 2.0, 2.0),
            stats(3.0, 2.0, 1.0, 1.0, 1.0), // count above its totals (inconsistent input)
        ];
        for s in edge {
            for sc in Scorer::ALL {
                let v = sc.score(&s);
                assert!((0.0..=1.0).contains(&v), "{sc} on {s:?} gave {v}");
            }
        }
        // A zero count scores 0 everywhere; the top partner scores 1 for per-seed scorers.
        for sc in Scorer::ALL {
            assert_eq!(sc.score(&stats(0.0, 3.0, 3.0, 3.0, 9.0)), 0.0, "{sc}");
        }
        let top = stats(3.0, 3.0, 4.0, 7.0, 20.0);
        assert_eq!(Scorer::Max.score(&top), 1.0);
        assert_eq!(Scorer::LogMax.score(&top), 1.0);
        // Single-purchase products: one user bought both, the only purchase of each.
        let single = stats(1.0, 1.0, 1.0, 1.0, 4339.0);
        for sc in Scorer::ALL {
            assert_eq!(sc.score(&single), 1.0, "{sc}");
        }
        // Every user holds both: NPMI's limit is 1.
        assert_eq!(Scorer::Npmi.score(&stats(5.0, 5.0, 5.0, 5.0, 5.0)), 1.0);
        // Independence gives NPMI 0; negative association is clipped to 0.
        assert!(Scorer::Npmi.score(&stats(1.0, 1.0, 2.0, 5.0, 10.0)).abs() < 1e-12);
        assert_eq!(Scorer::Npmi.score(&stats(1.0, 1.0, 5.0, 5.0, 10.0)), 0.0);
    }

    #[test]
    fn names_parse() {
        for sc in Scorer::ALL {
            assert_eq!(sc.as_str().parse::<Scorer>().unwrap(), sc);
            assert_eq!(sc.name(), sc.to_string());
        }
        assert_eq!("Log-Max".parse::<Scorer>().unwrap(), Scorer::LogMax);
        assert_eq!("ochiai".parse::<Scorer>().unwrap(), Scorer::Cosine);
        let e = "lift".parse::<Scorer>().unwrap_err();
        assert!(
            e.to_string().contains("expected one of: max, log_max"),
            "{e}"
        );
        assert_eq!(Scorer::default(), Scorer::LogMax);
        assert_eq!(serde_json::to_string(&Scorer::Npmi).unwrap(), "\"npmi\"");
    }
}
