//! Time splits, cold-start and long-tail products, evaluation pairs and their files.

use deeprecs_cooc::{
    ColdStart, CoocConfig, Cutoff, Error, EvalPairs, PairSlice, Part, ProductRole, Split,
    SplitConfig,
};
use deeprecs_core::synthetic::{SyntheticConfig, SyntheticData, generate};
use deeprecs_core::time::{DAY, format_timestamp};
use deeprecs_core::{EventLog, EventLogBuilder, ProductIdx};

const T0: i64 = 1_704_067_200; // 2024-01-01

fn day(d: i64) -> String {
    format_timestamp(T0 + d * DAY)
}

/// A (days 0–5), B (day 1), C (first on day 9), D (days 2 and 9), E never.
fn small_log() -> EventLog {
    let mut b = EventLogBuilder::new();
    let events = [
        ("u1", 0, 0),
        ("u1", 0, 1),
        ("u2", 0, 2),
        ("u2", 0, 3),
        ("u3", 0, 4),
        ("u3", 0, 5),
        ("u1", 1, 1),
        ("u2", 2, 9),
        ("u2", 3, 2),
        ("u3", 3, 9),
        ("u3", 0, 8),
        ("u4", 9, 8), // product outside the catalog
    ];
    for (u, p, d) in events {
        b.push(u, ProductIdx(p), T0 + d * DAY, "purchase", 1.0, None)
            .unwrap();
    }
    b.build()
}

fn at(train: i64, valid: i64) -> SplitConfig {
    SplitConfig {
        train_until: Cutoff::At(day(train)),
        valid_until: Cutoff::At(day(valid)),
        ..SplitConfig::default()
    }
}

#[test]
fn roles_and_parts_by_hand() {
    let split = at(8, 9).check().unwrap().split(&small_log(), 5).unwrap();
    use ProductRole::*;
    let roles: Vec<_> = (0..5).map(|p| split.role(ProductIdx(p))).collect();
    assert_eq!(roles, [Warm, LongTail, Cold, LongTail, Absent]);
    assert_eq!(split.train_events(), [6, 1, 0, 1, 0]);
    assert_eq!(split.cutoffs(), (T0 + 8 * DAY, T0 + 9 * DAY));
    let s = split.summary();
    assert_eq!(s.events[&Part::Train], 8);
    assert_eq!(s.events[&Part::Validation], 1);
    assert_eq!(s.events[&Part::Test], 2);
    assert_eq!(s.unknown_product_events, 1);
    assert_eq!(
        (s.removed_cold_events, s.cold_unseen, s.cold_random),
        (0, 1, 0)
    );
    assert_eq!(
        split.products(LongTail).collect::<Vec<_>>(),
        [ProductIdx(1), ProductIdx(3)]
    );

    let test = split.log(&small_log(), Part::Test);
    assert_eq!(test.len(), 2);
    assert!(test.events().iter().all(|e| e.timestamp >= T0 + 9 * DAY));
}

#[test]
fn random_cold_products_lose_their_training_events() {
    let config = SplitConfig {
        cold_start: ColdStart::RandomShare(0.5),
        ..at(8, 9)
    };
    let log = small_log();
    let split = config.clone().check().unwrap().split(&log, 5).unwrap();
    // Three products have training events (A, B, D): round(1.5) = 2 are drawn.
    assert_eq!(split.summary().cold_random, 2);
    assert_eq!(split.products(ProductRole::Cold).count(), 3);
    let train = split.log(&log, Part::Train);
    assert!(
        train
            .events()
            .iter()
            .all(|e| split.role(e.product) != ProductRole::Cold)
    );
    assert!(split.summary().removed_cold_events > 0);
    let total: u64 = split.summary().events.values().sum::<u64>()
        + split.summary().removed_cold_events
        + split.summary().unknown_product_events;
    assert_eq!(total, log.len() as u64);
    // Reproducible from the seed.
    assert_eq!(
        config.clone().check().unwrap().split(&log, 5).unwrap(),
        split
    );
}

fn synthetic() -> SyntheticData {
    generate(&SyntheticConfig {
        products: 300,
        users: 500,
        ..SyntheticConfig::default()
    })
    .unwrap()
}

#[test]
fn splits_are_reproducible_and_differ_by_seed() {
    let data = synthetic();
    let n = data.catalog.len();
    let make = |seed| {
        SplitConfig {
            cold_start: ColdStart::RandomShare(0.2),
            seed,
            ..SplitConfig::default()
        }
        .check()
        .unwrap()
        .split(&data.events, n)
        .unwrap()
    };
    let (a, b, c) = (make(1), make(1), make(2));
    assert_eq!(a, b);
    let cold = |s: &Split| s.products(ProductRole::Cold).collect::<Vec<_>>();
    assert_ne!(cold(&a), cold(&c));
    // The generator's late products are cold in every split.
    let late: Vec<ProductIdx> = (0..n as u32)
        .map(ProductIdx)
        .filter(|p| {
            data.truth.cold_start[p.index()] && data.truth.introduced_at[p.index()] >= a.cutoffs().0
        })
        .collect();
    assert!(!late.is_empty());
    for s in [&a, &c] {
        assert!(
            late.iter()
                .all(|p| matches!(s.role(*p), ProductRole::Cold | ProductRole::Absent))
        );
    }
    // Long tail: 1..5 training events; warm: at least 5.
    for p in (0..n as u32).map(ProductIdx) {
        let t = a.train_events()[p.index()];
        match a.role(p) {
            ProductRole::LongTail => assert!((1..5).contains(&t)),
            ProductRole::Warm => assert!(t >= 5),
            ProductRole::Cold | ProductRole::Absent => assert_eq!(t, 0),
        }
    }
}

#[test]
fn split_and_eval_pairs_files_round_trip() {
    let data = synthetic();
    let n = data.catalog.len();
    let split = SplitConfig {
        cold_start: ColdStart::RandomShare(0.1),
        ..SplitConfig::default()
    }
    .check()
    .unwrap()
    .split(&data.events, n)
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("split.json");
    split.write(&path, &data.catalog).unwrap();
    assert_eq!(Split::read(&path, &data.catalog).unwrap(), split);

    let counter = CoocConfig::default().check().unwrap();
    let (test, report) = EvalPairs::build(&split, &data.events, Part::Test, &counter, 2.0).unwrap();
    assert!(report.events_used > 0);
    assert!(!test.pairs().is_empty());
    assert!(test.pairs().iter().all(|p| p.count >= 2.0));
    assert_eq!(test.part(), Part::Test);
    for p in test.pairs() {
        assert_eq!(p.seed_role, split.role(p.seed));
        assert_eq!(p.slice(), PairSlice::of(p.seed_role, p.rec_role));
    }
    let by_slice = test.slice_counts();
    assert_eq!(by_slice.values().sum::<u64>() as usize, test.pairs().len());
    assert_eq!(
        test.slice(PairSlice::Cold).count() as u64,
        by_slice.get(&PairSlice::Cold).copied().unwrap_or(0)
    );
    let csv = dir.path().join("test_pairs.csv");
    test.write_csv(&csv, &data.catalog).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("# part=test,min_count=2\nseed,rec,count,seed_role,rec_role,slice\n"));
    assert_eq!(EvalPairs::read_csv(&csv, &data.catalog).unwrap(), test);

    // A damaged file names the line.
    std::fs::write(&csv, text.replacen(",warm,", ",tepid,", 1)).unwrap();
    if text.contains(",warm,") {
        let e = EvalPairs::read_csv(&csv, &data.catalog).unwrap_err();
        assert!(e.to_string().contains("unknown role \"tepid\""), "{e}");
    }
    std::fs::write(&path, "{}").unwrap();
    let e = Split::read(&path, &data.catalog).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e}");
}

#[test]
fn invalid_split_options_and_logs() {
    let param = |c: SplitConfig| match c.check() {
        Err(Error::InvalidParameter { name, .. }) => name,
        other => panic!("{other:?}"),
    };
    let d = SplitConfig::default;
    assert_eq!(
        param(SplitConfig {
            train_until: Cutoff::Fraction(1.5),
            ..d()
        }),
        "train_until"
    );
    assert_eq!(
        param(SplitConfig {
            train_until: Cutoff::Fraction(0.9),
            valid_until: Cutoff::Fraction(0.5),
            ..d()
        }),
        "valid_until"
    );
    assert_eq!(param(at(9, 8)), "valid_until");
    assert_eq!(
        param(SplitConfig {
            valid_until: Cutoff::At("next week".into()),
            ..d()
        }),
        "valid_until"
    );
    assert_eq!(
        param(SplitConfig {
            cold_start: ColdStart::RandomShare(1.0),
            ..d()
        }),
        "cold_start"
    );
    assert_eq!(
        param(SplitConfig {
            long_tail_below: 0,
            ..d()
        }),
        "long_tail_below"
    );

    let empty = EventLogBuilder::new().build();
    let e = d().check().unwrap().split(&empty, 3).unwrap_err();
    assert!(e.to_string().contains("nothing to split"), "{e}");
    let e = EvalPairs::build(
        &at(8, 9).check().unwrap().split(&small_log(), 5).unwrap(),
        &small_log(),
        Part::Test,
        &CoocConfig::default().check().unwrap(),
        0.0,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidParameter {
            name: "min_count",
            ..
        }
    ));

    // Serde: a TOML split section.
    let c: SplitConfig = toml::from_str(
        "train_until = { at = \"2011-10-01\" }\nvalid_until = { fraction = 0.95 }\ncold_start = { random_share = 0.1 }\n",
    )
    .unwrap();
    assert_eq!(c.cold_start, ColdStart::RandomShare(0.1));
    assert!(c.check().is_ok());
}
