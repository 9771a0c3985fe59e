//! Negative sampling: never a positive or the seed, follows popularity^α, reproducible.

use deeprecs_cooc::{CoocConfig, Error, NegativeSampler, PairScores, Sampling, Scorer};
use deeprecs_core::rng::SeededRng;
use deeprecs_core::{EventLogBuilder, ProductIdx};
use proptest::prelude::*;

/// Pairs among products 0..4 from three users; products 0..10 exist.
fn positives() -> PairScores {
    let mut b = EventLogBuilder::new();
    for (u, p) in [("a", 0), ("a", 1), ("a", 2), ("b", 3), ("b", 0), ("c", 4)] {
        b.push(u, ProductIdx(p), 0, "purchase", 1.0, None).unwrap();
    }
    let (counts, _) = CoocConfig::default()
        .check()
        .unwrap()
        .count(&b.build(), 10)
        .unwrap();
    counts.into_scores(&Scorer::default()).unwrap()
}

#[test]
fn popularity_weighting_follows_alpha() {
    let popularity = [0u32, 1, 16, 81, 0, 0, 0, 0, 0, 0];
    let sampler = NegativeSampler::new(&popularity, Sampling::Popularity { alpha: 0.75 }).unwrap();
    // 1, 8, 27 for 1, 16, 81 at α = 0.75.
    assert!((sampler.probability(ProductIdx(2)) - 8.0 / 36.0).abs() < 1e-12);
    assert_eq!(sampler.probability(ProductIdx(0)), 0.0);
    let mut rng = SeededRng::new(1);
    let table = positives();
    // Seed 5 has no positives; counts should follow 1 : 8 : 27.
    let draws = sampler
        .sample(ProductIdx(5), &table, 36_000, &mut rng)
        .unwrap();
    let mut counts = [0u32; 10];
    for p in draws {
        counts[p.index()] += 1;
    }
    assert_eq!(counts.iter().sum::<u32>(), 36_000);
    for (p, expect) in [(1, 1_000.0), (2, 8_000.0), (3, 27_000.0)] {
        let got = f64::from(counts[p]);
        assert!(
            (got - expect).abs() < 5.0 * expect.sqrt(),
            "{p}: {got} vs {expect}"
        );
    }
    // Uniform and α = 0 agree on probabilities.
    let uniform = NegativeSampler::new(&popularity, Sampling::Uniform).unwrap();
    let flat = NegativeSampler::new(&popularity, Sampling::Popularity { alpha: 0.0 }).unwrap();
    for p in 0..10 {
        let p = ProductIdx(p);
        assert!((uniform.probability(p) - flat.probability(p)).abs() < 1e-12);
    }
    assert_eq!(uniform.candidates().count(), 3);
}

#[test]
fn dense_positives_fall_back_to_the_explicit_rest() {
    // Seed 0's positives (1, 2, 3) hold nearly all the mass; only 9 is left.
    let mut popularity = [0u32; 10];
    popularity[..4].copy_from_slice(&[1_000_000, 1_000_000, 1_000_000, 1_000_000]);
    popularity[9] = 1;
    let sampler = NegativeSampler::new(&popularity, Sampling::Popularity { alpha: 1.0 }).unwrap();
    let mut rng = SeededRng::new(3);
    let draws = sampler
        .sample(ProductIdx(0), &positives(), 50, &mut rng)
        .unwrap();
    assert_eq!(draws, vec![ProductIdx(9); 50]);
    // Nothing left at all: no negatives rather than an endless loop.
    popularity[9] = 0;
    let sampler = NegativeSampler::new(&popularity, Sampling::Uniform).unwrap();
    assert!(
        sampler
            .sample(ProductIdx(0), &positives(), 5, &mut rng)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn reproducible_and_checked() {
    let popularity = [3u32, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    let sampler = NegativeSampler::new(&popularity, Sampling::default()).unwrap();
    assert_eq!(sampler.sampling(), Sampling::Popularity { alpha: 0.75 });
    let t = positives();
    let a = sampler
        .sample(ProductIdx(1), &t, 20, &mut SeededRng::new(9))
        .unwrap();
    let b = sampler
        .sample(ProductIdx(1), &t, 20, &mut SeededRng::new(9))
        .unwrap();
    assert_eq!(a, b);
    let e = sampler
        .sample(ProductIdx(10), &t, 1, &mut SeededRng::new(9))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ProductOutOfRange {
                index: 10,
                n_products: 10
            }
        ),
        "{e}"
    );
    for alpha in [-0.5, f64::NAN, 5.0] {
        let e = NegativeSampler::new(&popularity, Sampling::Popularity { alpha }).unwrap_err();
        assert!(
            matches!(e, Error::InvalidParameter { name: "alpha", .. }),
            "{e}"
        );
    }
    let e = NegativeSampler::new(&[0, 0], Sampling::Uniform).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                name: "popularity",
                ..
            }
        ),
        "{e}"
    );
    let short = NegativeSampler::new(&[1, 1], Sampling::Uniform).unwrap();
    let e = short
        .sample(ProductIdx(0), &t, 1, &mut SeededRng::new(1))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                name: "positives",
                ..
            }
        ),
        "{e}"
    );
}

proptest! {
    #[test]
    fn never_the_seed_nor_a_positive(
        popularity in prop::collection::vec(0u32..50, 10),
        seed in 0u32..10,
        rng_seed in any::<u64>(),
        uniform in any::<bool>(),
    ) {
        let sampling = if uniform { Sampling::Uniform } else { Sampling::Popularity { alpha: 0.75 } };
        let Ok(sampler) = NegativeSampler::new(&popularity, sampling) else {
            prop_assert!(popularity.iter().all(|&c| c == 0));
            return Ok(());
        };
        let t = positives();
        let seed = ProductIdx(seed);
        let draws = sampler.sample(seed, &t, 30, &mut SeededRng::new(rng_seed)).unwrap();
        let allowed = (0..10u32)
            .map(ProductIdx)
            .filter(|&p| p != seed && !t.contains(seed, p) && popularity[p.index()] > 0)
            .count();
        prop_assert_eq!(draws.len(), if allowed == 0 { 0 } else { 30 });
        for p in draws {
            prop_assert!(p != seed);
            prop_assert!(!t.contains(seed, p));
            prop_assert!(popularity[p.index()] > 0);
        }
    }
}
