//! The artifact: bit-identical round trips, atomic writes, and damaged files that must give a
//! typed error — never a panic, never a wrong answer.

mod common;

use common::*;
use deeprecs_core::rng::SeededRng;
use deeprecs_index::artifact::{
    Artifact, ArtifactBuilder, END_MARKER, FORMAT_VERSION, MAGIC, names,
};
use deeprecs_index::{EmbeddingStore, Error, ExactIndex, Exclusions, Index};
use ndarray::{Array2, array};

fn sample_store(seed: u64, n: usize, d: usize) -> EmbeddingStore {
    let mut rng = SeededRng::new(seed);
    store_of(&gaussian_matrix(&mut rng, n, d))
}

fn model_sections() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            names::MODEL_CONFIG,
            br#"{"dim": 8, "fusion": "attention"}"#.to_vec(),
        ),
        (names::WEIGHTS, (0..=255u8).cycle().take(1000).collect()),
        (
            names::VOCABULARIES,
            br#"{"brand": ["acme", "zeta"]}"#.to_vec(),
        ),
        (names::SCHEMA, b"id = \"sku\"\n".to_vec()),
    ]
}

fn save_bytes(store: &EmbeddingStore, extra: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = ArtifactBuilder::new();
    for (n, v) in extra {
        b = b.section(n, v.as_slice()).unwrap();
    }
    store.add_to_artifact(b).unwrap().to_bytes()
}

#[test]
fn round_trip_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.dra");
    let store = sample_store(1, 500, 24);
    let extra = model_sections();
    let extra_refs: Vec<(&str, &[u8])> = extra.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    store.save(&path, &extra_refs).unwrap();

    let (loaded, artifact) = EmbeddingStore::load(&path).unwrap();
    // Vectors bit for bit, ids and rows identical.
    let bits = |s: &EmbeddingStore| s.vectors().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&loaded), bits(&store));
    assert_eq!(
        loaded
            .iter()
            .map(|(r, id, _)| (r, id.to_owned()))
            .collect::<Vec<_>>(),
        store
            .iter()
            .map(|(r, id, _)| (r, id.to_owned()))
            .collect::<Vec<_>>()
    );
    for (n, v) in &extra {
        assert_eq!(artifact.section(n), Some(v.as_slice()), "{n}");
    }
    assert_eq!(artifact.version(), FORMAT_VERSION);
    // Saving the loaded store again gives the same bytes.
    let path2 = dir.path().join("again.dra");
    loaded.save(&path2, &extra_refs).unwrap();
    let (a, b) = (
        std::fs::read(&path).unwrap(),
        std::fs::read(&path2).unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(artifact.as_bytes(), a.as_slice());
    assert_eq!(
        Artifact::read(&path2).unwrap().checksum(),
        artifact.checksum()
    );
    // The loaded index answers exactly as the original.
    let q = array![
        1.0, -0.5, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 3.0
    ];
    let (x, y) = (ExactIndex::new(store), ExactIndex::new(loaded));
    assert_eq!(
        x.top_k(q.view(), 20, &Exclusions::none()).unwrap(),
        y.top_k(q.view(), 20, &Exclusions::none()).unwrap()
    );
    // Only the artifact itself is left in the directory: the temporary files were renamed.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["again.dra", "model.dra"]);
}

#[test]
fn removed_rows_are_not_saved() {
    let mut store = sample_store(2, 50, 4);
    store.remove("p3").unwrap();
    store.remove("p40").unwrap();
    let bytes = save_bytes(&store, &[]);
    let loaded = EmbeddingStore::from_artifact(&Artifact::from_bytes(bytes, "x").unwrap()).unwrap();
    assert_eq!((loaded.len(), loaded.row_count()), (48, 48));
    store.compact();
    assert_eq!(loaded.vectors(), store.vectors());
    assert_eq!(loaded.row_of("p41"), store.row_of("p41"));
}

#[test]
fn overwrite_is_atomic_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.dra");
    sample_store(3, 10, 4).save(&path, &[]).unwrap();
    sample_store(4, 20, 4).save(&path, &[]).unwrap();
    assert_eq!(EmbeddingStore::load(&path).unwrap().0.len(), 20);
    // Writing into a missing directory fails cleanly.
    let err = sample_store(3, 10, 4)
        .save(dir.path().join("missing/a.dra"), &[])
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    let err = EmbeddingStore::load(dir.path().join("nope.dra")).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("nope.dra"),
        "{err}"
    );
}

/// A small artifact with every kind of section, for exhaustive damage tests.
fn small_artifact() -> Vec<u8> {
    let store = store_of(&array![[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [3.0, 0.0, 1.0]]);
    save_bytes(&store, &[(names::MODEL_CONFIG, b"{\"dim\":3}".to_vec())])
}

fn load(bytes: Vec<u8>) -> Result<EmbeddingStore, Error> {
    let a = Artifact::from_bytes(bytes, "test.dra")?;
    EmbeddingStore::from_artifact(&a)
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    let bytes = small_artifact();
    assert!(load(bytes.clone()).is_ok());
    for cut in 0..bytes.len() {
        let err = load(bytes[..cut].to_vec()).unwrap_err();
        assert!(
            matches!(err, Error::Truncated { actual, .. } if actual == cut as u64),
            "cut at {cut}: {err:?}"
        );
        assert!(err.to_string().contains("test.dra"));
    }
}

#[test]
fn every_single_bit_flip_is_an_error() {
    let bytes = small_artifact();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for byte in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[byte] ^= 1 << bit;
            let err = load(damaged).unwrap_err();
            let kind = match &err {
                Error::ChecksumMismatch { section, .. } => format!("checksum {section}"),
                Error::NotAnArtifact { .. } => "not an artifact".to_owned(),
                Error::Truncated { .. } => "truncated".to_owned(),
                Error::Malformed { section, .. } => format!("malformed {section}"),
                other => panic!("byte {byte} bit {bit}: unexpected {other:?}"),
            };
            *kinds.entry(kind).or_default() += 1;
        }
    }
    // Flips inside a payload name that section.
    for section in [
        "checksum ids",
        "checksum embeddings",
        "checksum model_config",
        "checksum index_meta",
        "checksum header",
    ] {
        assert!(kinds.contains_key(section), "{kinds:?}");
    }
}

#[test]
fn random_multi_byte_damage_is_an_error() {
    let mut rng = SeededRng::new(77);
    let store = sample_store(5, 300, 16);
    let bytes = save_bytes(&store, &model_sections());
    for _ in 0..300 {
        let mut damaged = bytes.clone();
        for _ in 0..1 + rng.index(8) {
            let at = rng.index(damaged.len());
            damaged[at] = damaged[at].wrapping_add(1 + rng.index(255) as u8);
        }
        assert!(load(damaged).is_err());
    }
    // Appended garbage is reported as such.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"garbage");
    assert!(matches!(load(longer), Err(Error::Malformed { section, .. }) if section == "trailer"));
}

/// Rewrites the header and trailer checksums after a deliberate edit, so that the file is
/// "intact" and only its content is wrong.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    use xxhash_rust::xxh3::xxh3_64;
    let count = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    // Section checksums.
    for i in 0..count {
        let e = 32 + i * 64;
        let off = u64::from_le_bytes(bytes[e + 32..e + 40].try_into().unwrap()) as usize;
        let len = u64::from_le_bytes(bytes[e + 40..e + 48].try_into().unwrap()) as usize;
        if off
            .checked_add(len)
            .is_some_and(|end| end <= bytes.len() - 16)
        {
            let c = xxh3_64(&bytes[off..off + len]);
            bytes[e + 48..e + 56].copy_from_slice(&c.to_le_bytes());
        }
    }
    let table_end = 32 + count * 64;
    let mut head = bytes[..24].to_vec();
    head.extend_from_slice(&bytes[32..table_end]);
    let c = xxh3_64(&head);
    bytes[24..32].copy_from_slice(&c.to_le_bytes());
    let n = bytes.len();
    let c = xxh3_64(&bytes[..n - 16]);
    bytes[n - 16..n - 8].copy_from_slice(&c.to_le_bytes());
    bytes
}

fn section_range(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    let count = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    for i in 0..count {
        let e = 32 + i * 64;
        let n = bytes[e..e + 32].iter().take_while(|&&b| b != 0).count();
        if &bytes[e..e + n] == name.as_bytes() {
            let off = u64::from_le_bytes(bytes[e + 32..e + 40].try_into().unwrap()) as usize;
            let len = u64::from_le_bytes(bytes[e + 40..e + 48].try_into().unwrap()) as usize;
            return off..off + len;
        }
    }
    panic!("no section {name}");
}

#[test]
fn intact_but_mismatched_content_is_an_error() {
    let bytes = small_artifact();
    assert!(
        load(reseal(bytes.clone())).is_ok(),
        "resealing an intact file changes nothing"
    );

    // A newer container version.
    let mut v2 = bytes.clone();
    v2[8..12].copy_from_slice(&2u32.to_le_bytes());
    assert!(matches!(
        load(reseal(v2)),
        Err(Error::UnsupportedVersion { found: 2, .. })
    ));

    // index_meta edits (same length, so the layout stays valid).
    let meta = section_range(&bytes, names::INDEX_META);
    let text = String::from_utf8(bytes[meta.clone()].to_vec()).unwrap();
    let edit = |from: &str, to: &str| {
        assert_eq!(from.len(), to.len());
        let mut b = bytes.clone();
        let new = text.replace(from, to);
        assert_ne!(new, text, "{from}");
        b[meta.clone()].copy_from_slice(new.as_bytes());
        load(reseal(b))
    };
    assert!(matches!(
        edit("\"index_format\":1", "\"index_format\":7"),
        Err(Error::UnsupportedVersion { found: 7, .. })
    ));
    assert!(
        matches!(edit("\"dim\":3", "\"dim\":4"), Err(Error::Mismatch { section, .. }) if section == "embeddings")
    );
    assert!(
        matches!(edit("\"rows\":3", "\"rows\":2"), Err(Error::Mismatch { section, .. }) if section == "embeddings")
    );
    assert!(
        matches!(edit("cosine", "cosinf"), Err(Error::Mismatch { section, .. }) if section == "index_meta")
    );
    assert!(
        matches!(edit("{", "["), Err(Error::Mismatch { section, .. }) if section == "index_meta")
    );

    // A non-unit or non-finite embedding.
    let emb = section_range(&bytes, names::EMBEDDINGS);
    for bad in [2.0f32, f32::NAN] {
        let mut b = bytes.clone();
        b[emb.start..emb.start + 4].copy_from_slice(&bad.to_le_bytes());
        let err = load(reseal(b)).unwrap_err();
        assert!(
            matches!(&err, Error::Mismatch { section, .. } if section == "embeddings"),
            "{err:?}"
        );
        assert!(err.to_string().contains("product `p0`"), "{err}");
    }

    // Duplicate ids ("p0", "p1", "p2" → "p0", "p0", "p2").
    let ids = section_range(&bytes, names::IDS);
    let mut b = bytes.clone();
    b[ids.start + 6 + 4 + 1] = b'0';
    assert!(matches!(load(reseal(b)), Err(Error::Mismatch { section, .. }) if section == "ids"));
    // An id length running past the section.
    let mut b = bytes.clone();
    b[ids.start..ids.start + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(load(reseal(b)), Err(Error::Mismatch { section, .. }) if section == "ids"));

    // A section length pointing far past the file (resealed, so only structure catches it).
    let mut b = bytes.clone();
    b[32 + 40..32 + 48].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
    assert!(matches!(load(reseal(b)), Err(Error::Malformed { .. })));
    // An absurd section count.
    let mut b = bytes.clone();
    b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(load(reseal_trailer_only(b)).is_err());

    // Missing index sections: a model-only artifact.
    let only_model = ArtifactBuilder::new()
        .section("model_config", b"{}".as_slice())
        .unwrap()
        .to_bytes();
    assert!(
        matches!(load(only_model), Err(Error::MissingSection { section, .. }) if section == "index_meta")
    );
}

fn reseal_trailer_only(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len();
    let c = xxhash_rust::xxh3::xxh3_64(&bytes[..n - 16]);
    bytes[n - 16..n - 8].copy_from_slice(&c.to_le_bytes());
    bytes
}

#[test]
fn not_an_artifact() {
    for bytes in [
        b"PK\x03\x04 a zip file".to_vec(),
        b"{\"json\": true}".to_vec(),
        vec![0u8; 100],
    ] {
        assert!(matches!(load(bytes), Err(Error::NotAnArtifact { .. })));
    }
    assert!(matches!(load(Vec::new()), Err(Error::Truncated { .. })));
    assert!(matches!(
        load(MAGIC[..5].to_vec()),
        Err(Error::Truncated { .. })
    ));
    let mut fake = MAGIC.to_vec();
    fake.extend_from_slice(&[0; 40]);
    fake.extend_from_slice(&END_MARKER);
    assert!(load(fake).is_err());
}

#[test]
fn empty_store_round_trips() {
    let store = EmbeddingStore::new(5).unwrap();
    let loaded = load(save_bytes(&store, &[])).unwrap();
    assert_eq!((loaded.len(), loaded.dim()), (0, 5));
    assert_eq!(loaded.vectors(), Array2::<f32>::zeros((0, 5)));
}
