//! Property tests: on random small logs, the fast counter equals the naive `HashMap` oracle —
//! table, marginals and report — for every combination of options.

use std::collections::BTreeMap;

use deeprecs_cooc::oracle::count_naive;
use deeprecs_cooc::{
    CoocConfig, CoocReport, Counting, Direction, Error, PairScorer, Scorer, Window,
};
use deeprecs_core::{EventLog, EventLogBuilder, ProductIdx};
use proptest::prelude::*;

const N_PRODUCTS: u32 = 6;
const KINDS: [&str; 3] = ["purchase", "view", "cart"];

#[derive(Debug, Clone)]
struct RawEvent {
    user: u8,
    product: u32,
    time: i64,
    kind: usize,
    basket: Option<u8>,
}

fn raw_event(users: u8, with_baskets: bool) -> impl Strategy<Value = RawEvent> {
    (
        0..users,
        // One past the catalog: events of unknown products.
        0..N_PRODUCTS + 1,
        0i64..40,
        0..KINDS.len(),
        prop::option::weighted(0.9, 0u8..4),
    )
        .prop_map(move |(user, product, time, kind, basket)| RawEvent {
            user,
            product,
            time,
            kind,
            basket: basket.filter(|_| with_baskets),
        })
}

fn log_strategy() -> impl Strategy<Value = Vec<RawEvent>> {
    (1u8..6, any::<bool>())
        .prop_flat_map(|(users, baskets)| prop::collection::vec(raw_event(users, baskets), 0..40))
}

fn build(events: &[RawEvent]) -> EventLog {
    let mut b = EventLogBuilder::new();
    for e in events {
        let basket = e.basket.map(|k| format!("b{}-{k}", e.user));
        b.push(
            &format!("u{}", e.user),
            ProductIdx(e.product),
            1_700_000_000 + e.time,
            KINDS[e.kind],
            1.0,
            basket.as_deref(),
        )
        .unwrap();
    }
    b.build()
}

/// Dyadic weights (0, ¼, ½, 1) keep every sum exact in floating point, so the two counters
/// must agree to the last bit whatever order they add in.
fn config_strategy() -> impl Strategy<Value = CoocConfig> {
    let weights = prop::option::of(prop::collection::vec(
        prop::sample::select(vec![0.0f32, 0.25, 0.5, 1.0]),
        3,
    ));
    (
        prop::sample::select(vec![0u64, 1, 3, 10, 100]),
        prop::bool::ANY,
        prop::bool::ANY,
        weights,
        prop::option::of(1u32..4),
        prop::sample::select(vec![0.0f32, 0.5, 1.0, 2.0]),
        prop::option::of(1u32..4),
        1usize..3,
    )
        .prop_map(
            |(window, per_occ, directed, weights, cap, min_count, top_k, threads)| CoocConfig {
                window: Window::from_secs(window),
                counting: if per_occ {
                    Counting::PerOccurrence
                } else {
                    Counting::PerUser
                },
                direction: if directed {
                    Direction::Directed
                } else {
                    Direction::Symmetric
                },
                kind_weights: weights
                    .map(|w| {
                        KINDS
                            .iter()
                            .zip(w)
                            .map(|(k, w)| (k.to_string(), w))
                            .collect()
                    })
                    .unwrap_or_default(),
                neighbour_cap: cap,
                min_count,
                top_k,
                threads,
            },
        )
}

/// The report without timings and thread count.
fn comparable(r: &CoocReport) -> CoocReport {
    CoocReport {
        threads: 0,
        prepare_secs: 0.0,
        count_secs: 0.0,
        ..r.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn fast_counter_equals_the_naive_oracle(events in log_strategy(), config in config_strategy()) {
        let log = build(&events);
        let counter = match config.clone().check() {
            Ok(c) => c,
            Err(Error::InvalidParameter { name: "kind_weights", .. }) => {
                // Every listed kind weighs 0: rejected up front, as documented.
                prop_assert!(config.kind_weights.values().all(|&w| w == 0.0));
                return Ok(());
            }
            Err(e) => panic!("{e}"),
        };
        let (fast, fast_report) = counter.count(&log, N_PRODUCTS as usize).unwrap();
        let (slow, slow_report) = count_naive(&counter, &log, N_PRODUCTS as usize).unwrap();
        prop_assert_eq!(&fast, &slow);
        prop_assert_eq!(comparable(&fast_report), comparable(&slow_report));
        // Every event is used, merged or set aside for a reason.
        prop_assert_eq!(
            fast_report.events_in,
            fast_report.events_used + fast_report.duplicate_events + fast_report.events_set_aside()
        );
        prop_assert_eq!(fast_report.kept_pairs as usize, fast.len());
        prop_assert_eq!(
            fast_report.distinct_pairs,
            fast_report.kept_pairs + fast_report.pruned_min_count + fast_report.pruned_top_k
        );
        // Scores are in [0, 1] and identical for both.
        for scorer in Scorer::ALL {
            let a = fast.clone().into_scores(&scorer).unwrap();
            let b = slow.clone().into_scores(&scorer).unwrap();
            prop_assert_eq!(&a, &b);
            prop_assert!(a.iter().all(|p| (0.0..=1.0).contains(&p.score)), "{}", scorer.name());
        }
    }

    #[test]
    fn symmetric_counts_are_symmetric(events in log_strategy(), window in 0u64..20) {
        let log = build(&events);
        let config = CoocConfig { window: Window::from_secs(window), neighbour_cap: None, ..CoocConfig::default() };
        let (counts, _) = config.check().unwrap().count(&log, N_PRODUCTS as usize).unwrap();
        let all: BTreeMap<(u32, u32), f32> = counts.iter().map(|(a, b, c)| ((a.0, b.0), c)).collect();
        for (&(a, b), &c) in &all {
            prop_assert_eq!(all.get(&(b, a)), Some(&c));
            prop_assert!(a != b);
        }
    }
}
