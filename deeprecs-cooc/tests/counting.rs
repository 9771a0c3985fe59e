//! Counting and scoring on tiny logs whose answers are worked out by hand, and bad input.

use deeprecs_cooc::oracle::count_naive;
use deeprecs_cooc::{
    CoocConfig, CoocCounter, Counting, Direction, Error, PairCounts, Pairing, Progress, Scorer,
    Window,
};
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_core::time::DAY;
use deeprecs_core::{EventLog, EventLogBuilder, ProductIdx};

const A: ProductIdx = ProductIdx(0);
const B: ProductIdx = ProductIdx(1);
const C: ProductIdx = ProductIdx(2);
const D: ProductIdx = ProductIdx(3);
const E: ProductIdx = ProductIdx(4);
const T0: i64 = 1_700_000_000;

/// Events `(user, product, day, kind, basket)`.
fn log(events: &[(&str, ProductIdx, i64, &str, Option<&str>)]) -> EventLog {
    let mut b = EventLogBuilder::new();
    for &(u, p, day, kind, basket) in events {
        b.push(u, p, T0 + day * DAY, kind, 1.0, basket).unwrap();
    }
    b.build()
}

fn purchases(events: &[(&str, ProductIdx, i64)]) -> EventLog {
    log(&events
        .iter()
        .map(|&(u, p, d)| (u, p, d, "purchase", None))
        .collect::<Vec<_>>())
}

fn counter(f: impl FnOnce(&mut CoocConfig)) -> CoocCounter {
    let mut c = CoocConfig::default();
    f(&mut c);
    c.check().unwrap()
}

fn count(counter: &CoocCounter, log: &EventLog, n: usize) -> PairCounts {
    let (fast, report) = counter.count(log, n).unwrap();
    let (slow, _) = count_naive(counter, log, n).unwrap();
    assert_eq!(fast, slow, "fast and naive counters disagree");
    assert_eq!(report.kept_pairs as usize, fast.len());
    fast
}

/// u1 buys A, B, C on one day; u2 A, B; u3 A; u4 B, D.
fn four_users() -> EventLog {
    purchases(&[
        ("u1", A, 0),
        ("u1", B, 0),
        ("u1", C, 0),
        ("u2", A, 3),
        ("u2", B, 4),
        ("u3", A, 1),
        ("u4", B, 2),
        ("u4", D, 2),
    ])
}

fn close(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() < 1e-6
}

#[test]
fn per_user_counts_and_marginals_by_hand() {
    let counts = count(&CoocCounter::default(), &four_users(), 5);
    let expect = [
        (A, B, 2.0),
        (A, C, 1.0),
        (B, A, 2.0),
        (B, C, 1.0),
        (B, D, 1.0),
        (C, A, 1.0),
        (C, B, 1.0),
        (D, B, 1.0),
    ];
    let got: Vec<_> = counts.iter().collect();
    assert_eq!(got, expect);
    let m = counts.marginals();
    assert_eq!(
        [A, B, C, D, E].map(|p| m.seed_total(p)),
        [3.0, 3.0, 1.0, 1.0, 0.0]
    );
    assert_eq!(m.total(), 4.0);
    assert_eq!(m.seed_max(A), 2.0);
    assert_eq!(m.seed_max(D), 1.0);
}

#[test]
fn every_scorer_matches_hand_computed_values() {
    let counts = count(&CoocCounter::default(), &four_users(), 5);
    type Expected = &'static [(ProductIdx, ProductIdx, f64)];
    let cases: [(Scorer, Expected); 6] = [
        (
            Scorer::Max,
            &[
                (A, B, 1.0),
                (A, C, 0.5),
                (B, D, 0.5),
                (C, A, 1.0),
                (D, B, 1.0),
            ],
        ),
        (
            Scorer::LogMax,
            &[
                (A, B, 1.0),
                (A, C, 0.630_929_753_6),
                (B, C, 0.630_929_753_6),
                (D, B, 1.0),
            ],
        ),
        // C / (N1 + N2 − C)
        (
            Scorer::Jaccard,
            &[
                (A, B, 0.5),
                (A, C, 1.0 / 3.0),
                (B, D, 1.0 / 3.0),
                (D, B, 1.0 / 3.0),
            ],
        ),
        // C / √(N1 N2)
        (
            Scorer::Cosine,
            &[
                (A, B, 2.0 / 3.0),
                (A, C, 0.577_350_269_2),
                (C, A, 0.577_350_269_2),
            ],
        ),
        // P12 = 2/4, P1 = P2 = 3/4: negative association, clipped to 0.
        // P12 = 1/4, P1 = 3/4, P2 = 1/4: ln(4/3) / ln 4.
        (
            Scorer::Npmi,
            &[
                (A, B, 0.0),
                (A, C, 0.207_518_749_6),
                (D, B, 0.207_518_749_6),
            ],
        ),
        // C / N1
        (
            Scorer::Conditional,
            &[
                (A, B, 2.0 / 3.0),
                (A, C, 1.0 / 3.0),
                (C, A, 1.0),
                (D, B, 1.0),
                (B, D, 1.0 / 3.0),
            ],
        ),
    ];
    for (scorer, expected) in cases {
        let scores = counts.clone().into_scores(&scorer).unwrap();
        assert_eq!(scores.scorer(), scorer.as_str());
        for &(s, r, v) in expected {
            let got = scores.get(s, r).unwrap().score;
            assert!(close(got, v), "{scorer} ({}, {}): {got} ≠ {v}", s.0, r.0);
        }
    }
}

#[test]
fn window_bounds_are_inclusive() {
    let l = log(&[
        ("u", A, 0, "purchase", None),
        ("u", B, 7, "purchase", None),  // exactly 7 days after A
        ("u", C, 15, "purchase", None), // 8 days after B
    ]);
    let counts = count(&CoocCounter::default(), &l, 3);
    assert_eq!(counts.count(A, B), Some(1.0));
    assert_eq!(counts.count(B, C), None);
    let one_second_less = counter(|c| c.window = Window::from_secs(7 * 86_400 - 1));
    assert!(count(&one_second_less, &l, 3).is_empty());
}

#[test]
fn per_occurrence_and_directed_by_hand() {
    // u1: A (day 0), B (day 1), A again (day 2); u2: B (day 0), A (day 1).
    let l = purchases(&[
        ("u1", A, 0),
        ("u1", B, 1),
        ("u1", A, 2),
        ("u2", B, 0),
        ("u2", A, 1),
    ]);
    let per_user = count(&CoocCounter::default(), &l, 2);
    assert_eq!(
        (per_user.count(A, B), per_user.count(B, A)),
        (Some(2.0), Some(2.0))
    );

    let per_occ = count(&counter(|c| c.counting = Counting::PerOccurrence), &l, 2);
    // u1 has two A–B event pairs, u2 one.
    assert_eq!(
        (per_occ.count(A, B), per_occ.count(B, A)),
        (Some(3.0), Some(3.0))
    );
    assert_eq!(per_occ.marginals().seed_total(A), 3.0);
    assert_eq!(per_occ.marginals().total(), 6.0);

    let directed = count(&counter(|c| c.direction = Direction::Directed), &l, 2);
    // B after A: only u1 (day 0 → 1). A after B: u1 (1 → 2) and u2.
    assert_eq!(
        (directed.count(A, B), directed.count(B, A)),
        (Some(1.0), Some(2.0))
    );

    let both = counter(|c| {
        c.direction = Direction::Directed;
        c.counting = Counting::PerOccurrence;
    });
    let both = count(&both, &l, 2);
    assert_eq!((both.count(A, B), both.count(B, A)), (Some(1.0), Some(2.0)));
    // Row sums on the seed side, column sums on the rec side.
    let m = both.marginals();
    assert_eq!((m.seed_total(A), m.rec_total(A)), (1.0, 2.0));
    assert_eq!((m.seed_total(B), m.rec_total(B)), (2.0, 1.0));
}

#[test]
fn same_time_counts_both_ways_when_directed() {
    let l = purchases(&[("u", A, 0), ("u", B, 0)]);
    let directed = count(&counter(|c| c.direction = Direction::Directed), &l, 2);
    assert_eq!(
        (directed.count(A, B), directed.count(B, A)),
        (Some(1.0), Some(1.0))
    );
}

#[test]
fn kind_weights_multiply_and_take_the_best_per_user() {
    let l = log(&[
        ("u1", A, 0, "view", None),
        ("u1", B, 1, "purchase", None),
        ("u2", A, 0, "purchase", None),
        ("u2", A, 1, "view", None),
        ("u2", B, 1, "purchase", None),
        ("u3", A, 0, "view", None),
        ("u3", B, 0, "view", None),
        ("u3", C, 0, "wishlist", None),
    ]);
    let c = counter(|c| {
        c.kind_weights = [("purchase".into(), 1.0), ("view".into(), 0.2)]
            .into_iter()
            .collect();
    });
    let (counts, report) = c.count(&l, 3).unwrap();
    // u1: 0.2 × 1; u2: max(1 × 1, 0.2 × 1) = 1; u3: 0.2 × 0.2.
    let ab = counts.count(A, B).unwrap();
    assert!(close(ab, 0.2 + 1.0 + 0.04), "{ab}");
    assert_eq!(report.ignored_kind_events, 1); // the wishlist event
    assert_eq!(counts.count(A, C), None);
    // u2 viewed and bought A: A's user total takes the purchase.
    assert!((counts.marginals().seed_total(A) - (0.2 + 1.0 + 0.2)).abs() < 1e-6);
    let (slow, _) = count_naive(&c, &l, 3).unwrap();
    assert!(close(slow.count(A, B).unwrap(), 1.24));
}

#[test]
fn window_zero_pairs_baskets_or_timestamps() {
    // Same timestamp, different baskets: only basket-mates pair when the log has baskets.
    let with_baskets = log(&[
        ("u", A, 0, "purchase", Some("o1")),
        ("u", B, 0, "purchase", Some("o1")),
        ("u", C, 0, "purchase", Some("o2")),
        ("u", D, 0, "purchase", None),
    ]);
    let zero = counter(|c| c.window = Window::ZERO);
    let (counts, report) = zero.count(&with_baskets, 4).unwrap();
    assert_eq!(report.pairing, Some(Pairing::SameBasket));
    assert_eq!(report.missing_basket_events, 1);
    assert_eq!(counts.iter().count(), 2);
    assert_eq!(counts.count(A, B), Some(1.0));
    // Without baskets, W = 0 pairs events at the same timestamp.
    let without = purchases(&[("u", A, 0), ("u", B, 0), ("u", C, 1)]);
    let (counts, report) = zero.count(&without, 3).unwrap();
    assert_eq!(report.pairing, Some(Pairing::SameTimestamp));
    assert_eq!(counts.len(), 2);
}

#[test]
fn neighbour_cap_limits_pairs_per_event() {
    // One bulk buyer, six products at once, and a regular customer.
    let mut events: Vec<_> = (0..6).map(|p| ("bulk", ProductIdx(p), 0)).collect();
    events.extend([("reg", A, 0), ("reg", B, 0)]);
    let l = purchases(&events);
    let uncapped = count(&counter(|c| c.neighbour_cap = None), &l, 6);
    assert_eq!(uncapped.len(), 30);
    let capped = counter(|c| c.neighbour_cap = Some(1));
    let (counts, report) = capped.count(&l, 6).unwrap();
    // Each bulk event pairs only with its neighbours in (time, product) order.
    assert_eq!(counts.len(), 10);
    assert_eq!(counts.count(A, B), Some(2.0));
    assert_eq!(counts.count(A, C), None);
    // Every bulk event has more than one neighbour on some side; the regular customer's don't.
    assert_eq!(report.capped_events, 6);
}

#[test]
fn min_count_and_top_k_prune_rows() {
    // A's partners: B (3 users), C (2), D (2), E (1).
    let l = purchases(&[
        ("u1", A, 0),
        ("u1", B, 0),
        ("u1", C, 0),
        ("u2", A, 0),
        ("u2", B, 0),
        ("u2", D, 0),
        ("u3", A, 0),
        ("u3", B, 0),
        ("u3", C, 0),
        ("u3", D, 0),
        ("u4", A, 0),
        ("u4", E, 0),
    ]);
    let c = counter(|c| {
        c.min_count = 2.0;
        c.top_k = Some(2);
    });
    let counts = count(&c, &l, 5);
    let a: Vec<_> = counts.partners(A).collect();
    // E is below min_count; of C and D (tied) the smaller index stays.
    assert_eq!(a, [(B, 3.0), (C, 2.0)]);
    // The max and totals are taken before pruning.
    assert_eq!(counts.marginals().seed_max(A), 3.0);
    let (_, report) = c.count(&l, 5).unwrap();
    assert!(report.pruned_min_count > 0 && report.pruned_top_k > 0);
}

#[test]
fn bad_input_is_handled_and_reported() {
    // Unknown products (index ≥ n), a user with one event, all events at one timestamp.
    let l = purchases(&[
        ("u1", A, 0),
        ("u1", ProductIdx(99), 0),
        ("u1", B, 0),
        ("u1", C, 0),
        ("u2", A, 0),
        ("u3", ProductIdx(7), 0),
    ]);
    let (counts, report) = CoocCounter::default().count(&l, 3).unwrap();
    assert_eq!(report.unknown_product_events, 2);
    assert_eq!(report.events_used, 4);
    assert_eq!(report.users, 2); // u3 had only an unknown product
    assert_eq!(report.single_event_users, 1);
    assert_eq!(report.time_span, Some((T0, T0)));
    assert_eq!(counts.len(), 6); // A, B, C all pair at the single timestamp
    let text = report.to_string();
    assert!(text.contains("2 (product not in catalog)"), "{text}");
    assert!(text.contains("1 with a single event"), "{text}");

    // Repeated identical events merge.
    let dup = purchases(&[("u", A, 0), ("u", A, 0), ("u", B, 0)]);
    let (counts, report) = CoocConfig {
        counting: Counting::PerOccurrence,
        ..CoocConfig::default()
    }
    .check()
    .unwrap()
    .count(&dup, 2)
    .unwrap();
    assert_eq!(report.duplicate_events, 1);
    assert_eq!(counts.count(A, B), Some(1.0));
}

#[test]
fn empty_log_gives_an_empty_table() {
    let empty = EventLogBuilder::new().build();
    for n in [0, 3] {
        let (counts, report) = CoocCounter::default().count(&empty, n).unwrap();
        assert!(counts.is_empty());
        assert_eq!(counts.n_products(), n);
        assert_eq!(
            (report.events_in, report.events_used, report.seeds),
            (0, 0, 0)
        );
        assert!(report.to_string().contains("(no events)"));
        let scores = counts.into_scores(&Scorer::default()).unwrap();
        assert!(scores.is_empty());
        assert!(scores.top_pairs(5).is_empty());
    }
}

#[test]
fn impossible_time_spans_are_an_error() {
    let mut b = EventLogBuilder::new();
    b.push("u", A, 0, "purchase", 1.0, None).unwrap();
    b.push("u", B, 5_000_000_000, "purchase", 1.0, None)
        .unwrap();
    let e = CoocCounter::default().count(&b.build(), 2).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TimeSpanTooLong {
                span_secs: 5_000_000_000
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("milliseconds"));
}

#[test]
fn threads_do_not_change_the_result_and_progress_completes() {
    let data = generate(&SyntheticConfig {
        products: 300,
        users: 500,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let n = data.catalog.len();
    for weights in [false, true] {
        let make = |threads| {
            counter(|c| {
                c.threads = threads;
                c.window = Window::days(3);
                if weights {
                    c.kind_weights = [("purchase".into(), 1.0), ("view".into(), 0.2)]
                        .into_iter()
                        .collect();
                }
            })
        };
        let mut last = None;
        let (one, r1) = make(1)
            .count_with_progress(&data.events, n, &mut |p: Progress| last = Some(p))
            .unwrap();
        let last = last.unwrap();
        assert_eq!(last.done, last.total);
        let (two, r2) = make(2).count(&data.events, n).unwrap();
        // Same pairs, counts and marginals (the configs differ in `threads` only).
        assert!(one.iter().eq(two.iter()));
        assert_eq!(one.marginals(), two.marginals());
        assert_eq!((r1.threads, r2.threads), (1, 2));
        assert!(one.len() > 1_000, "{}", one.len());
        // Against the oracle: exact without weights, to rounding with 0.2 weights.
        let (slow, _) = count_naive(&make(1), &data.events, n).unwrap();
        if weights {
            assert_eq!(slow.len(), one.len());
            for ((s1, r1, c1), (s2, r2, c2)) in one.iter().zip(slow.iter()) {
                assert_eq!((s1, r1), (s2, r2));
                assert!((c1 - c2).abs() <= 1e-5 * c1.abs(), "{c1} vs {c2}");
            }
        } else {
            assert!(one.iter().eq(slow.iter()));
            assert_eq!(one.marginals(), slow.marginals());
        }
    }
}
