//! `PairScores`: lookups, iterators, rescoring, memory report, and persistence (binary format
//! and serde), including damaged and mismatched files.

use deeprecs_cooc::io::{FORMAT_VERSION, MAGIC};
use deeprecs_cooc::{CoocConfig, Error, PairScorer, PairScores, PairStats, Scorer};
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_core::{Catalog, FeatureSchema, ProductIdx};

fn table() -> (PairScores, Catalog) {
    let data = generate(&SyntheticConfig {
        products: 200,
        users: 300,
        ..SyntheticConfig::default()
    })
    .unwrap();
    let (counts, _) = CoocConfig::default()
        .check()
        .unwrap()
        .count(&data.events, data.catalog.len())
        .unwrap();
    (
        counts.into_scores(&Scorer::default()).unwrap(),
        data.catalog,
    )
}

#[test]
fn lookups_and_iterators_agree() {
    let (t, _) = table();
    assert!(t.len() > 500, "{}", t.len());
    let all: Vec<_> = t.iter().collect();
    assert_eq!(all.len(), t.len());
    for p in &all {
        let got = t.get(p.seed, p.rec).unwrap();
        assert_eq!((got.score, got.count), (p.score, p.count));
        assert!(t.contains(p.seed, p.rec));
        assert!(p.seed != p.rec);
    }
    let seeds: Vec<_> = t.seeds().collect();
    assert_eq!(seeds.len(), t.seed_count());
    let seed = seeds[0];
    let row = t.row(seed);
    assert!(row.recs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(row.len(), t.partners(seed).len());
    // top: best first, its best partner scores 1 with the default (per-seed) scorer.
    let top = t.top(seed, 3);
    assert_eq!(top[0].score, 1.0);
    assert!(top.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(t.top(seed, 0).is_empty());
    assert_eq!(t.top(seed, usize::MAX).len(), row.len());
    let best = t.top_pairs(10);
    assert_eq!(best.len(), 10);
    let max_count = all
        .iter()
        .filter(|p| p.score == 1.0)
        .map(|p| p.count)
        .fold(0.0, f32::max);
    assert_eq!((best[0].score, best[0].count), (1.0, max_count));
    // Out-of-range seeds have no partners and are reported by check_product.
    assert_eq!(t.row(ProductIdx(10_000)).len(), 0);
    assert!(matches!(
        t.check_product(ProductIdx(10_000)),
        Err(Error::ProductOutOfRange { index: 10_000, .. })
    ));
}

#[test]
fn rescoring_and_filtering() {
    let (mut t, _) = table();
    let before = t.clone();
    t.rescore(&Scorer::Jaccard).unwrap();
    assert_eq!(t.scorer(), "jaccard");
    assert_eq!(t.len(), before.len());
    assert!(t.iter().zip(before.iter()).any(|(a, b)| a.score != b.score));
    assert!(t.iter().zip(before.iter()).all(|(a, b)| a.count == b.count));
    let counts = t.clone().into_counts();
    assert_eq!(counts.into_scores(&Scorer::Jaccard).unwrap(), t);
    let even = t.filter(|s, r| s.0 % 2 == 0 && r.0 % 2 == 0);
    assert!(even.iter().all(|p| p.seed.0 % 2 == 0 && p.rec.0 % 2 == 0));
    assert_eq!(
        even.len(),
        t.iter()
            .filter(|p| p.seed.0 % 2 == 0 && p.rec.0 % 2 == 0)
            .count()
    );
}

#[test]
fn a_scorer_out_of_range_is_rejected() {
    struct Broken;
    impl PairScorer for Broken {
        fn name(&self) -> String {
            "broken".into()
        }
        fn score(&self, s: &PairStats) -> f64 {
            s.count // counts above 1 are not scores
        }
    }
    let (t, _) = table();
    let e = t.into_counts().into_scores(&Broken).unwrap_err();
    assert!(
        matches!(e, Error::InvalidScore { ref scorer, .. } if scorer == "broken"),
        "{e}"
    );
}

#[test]
fn memory_report_counts_twelve_bytes_per_pair() {
    let (t, _) = table();
    let m = t.memory();
    assert_eq!(m.pairs, t.len() as u64);
    assert!(m.pair_bytes >= 12 * m.pairs);
    assert_eq!(m.offsets_bytes, 8 * (m.products + 1));
    assert_eq!(m.marginal_bytes, 24 * m.products);
    assert!(m.bytes_per_pair() >= 12.0);
    assert!(m.to_string().contains("B per pair"));
}

#[test]
fn binary_file_round_trips_and_checks_the_catalog() {
    let (t, catalog) = table();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scores.bin");
    t.write(&path, &catalog).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size >= 12 * t.len() as u64);
    assert_eq!(PairScores::read(&path, &catalog).unwrap(), t);

    // Another catalog: refused.
    let schema = FeatureSchema::from_toml_str("id = \"sku\"\n", "<s>").unwrap();
    let (other, _) = Catalog::from_csv_str("sku\nX\n", &schema).unwrap();
    let e = PairScores::read(&path, &other).unwrap_err();
    assert!(matches!(e, Error::CatalogMismatch { .. }), "{e}");
    let e = t.write(dir.path().join("x.bin"), &other).unwrap_err();
    assert!(matches!(e, Error::CatalogMismatch { .. }), "{e}");
    let e = PairScores::read(dir.path().join("missing.bin"), &catalog).unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e}");
}

fn format_message(bytes: &[u8]) -> String {
    match PairScores::read_from(bytes, "t.bin") {
        Err(Error::Format { path, message }) => {
            assert_eq!(path, "t.bin");
            message
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn damaged_files_are_reported_not_trusted() {
    let (t, catalog) = table();
    let mut bytes = Vec::new();
    t.write_to(&mut bytes, catalog.ids(), "t.bin").unwrap();
    assert_eq!(&bytes[..8], &MAGIC);
    assert_eq!(&bytes[8..12], &FORMAT_VERSION.to_le_bytes());

    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(format_message(&wrong_magic).contains("not a DeepRecs pair-scores file"));

    let mut future = bytes.clone();
    future[8..12].copy_from_slice(&2u32.to_le_bytes());
    assert!(format_message(&future).contains("format version 2 is not supported"));

    assert!(format_message(&bytes[..bytes.len() / 2]).contains("truncated in section"));
    assert!(format_message(&bytes[..5]).contains("truncated in section `magic`"));

    let mut longer = bytes.clone();
    longer.push(0);
    assert!(format_message(&longer).contains("after the end mark"));

    // Corrupt the first partner index of the recs section to point outside the catalog.
    let header_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let recs_at = 16 + header_len + 8 * (t.n_products() + 1);
    let mut bad_rec = bytes.clone();
    bad_rec[recs_at..recs_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let m = format_message(&bad_rec);
    assert!(
        m.starts_with("corrupt table:") && m.contains("outside"),
        "{m}"
    );

    // A score above 1.
    let scores_at = recs_at + 8 * t.len();
    let mut bad_score = bytes.clone();
    bad_score[scores_at..scores_at + 4].copy_from_slice(&2f32.to_le_bytes());
    assert!(format_message(&bad_score).contains("not within [0, 1]"));

    let mut bad_header = bytes.clone();
    bad_header[16] = b'!';
    assert!(format_message(&bad_header).contains("invalid header"));
}

#[test]
fn serde_round_trips_and_validates() {
    let (t, _) = table();
    let json = serde_json::to_string(&t).unwrap();
    let back: PairScores = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    // Break the invariant that partners ascend within a row.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let recs = v["recs"].as_array_mut().unwrap();
    recs.swap(0, 1);
    let e = serde_json::from_value::<PairScores>(v).unwrap_err();
    assert!(e.to_string().contains("not strictly ascending"), "{e}");
}

#[test]
fn empty_tables_persist() {
    let schema = FeatureSchema::from_toml_str(
        "id = \"sku\"\n[events]\nuser = \"u\"\nproduct = \"sku\"\ntimestamp = \"t\"\n",
        "<s>",
    )
    .unwrap();
    let (catalog, _) = Catalog::from_csv_str("sku\nA\nB\n", &schema).unwrap();
    let (log, _) = deeprecs_core::EventLog::from_csv_str("u,sku,t\n", &schema, &catalog).unwrap();
    let (counts, _) = CoocConfig::default()
        .check()
        .unwrap()
        .count(&log, catalog.len())
        .unwrap();
    let t = counts.into_scores(&Scorer::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.bin");
    t.write(&path, &catalog).unwrap();
    let back = PairScores::read(&path, &catalog).unwrap();
    assert!(back.is_empty());
    assert_eq!(back.n_products(), 2);
}
