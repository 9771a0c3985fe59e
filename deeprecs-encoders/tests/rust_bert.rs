//! The rust-bert (libtorch) text embedder, behind the `rust-bert` feature: the same bounds
//! against sentence-transformers as the Burn BERT, agreement with the Burn BERT, the frozen
//! cache and encoder fed by it, and typed errors for bad folders.
//!
//! Build and run with a local libtorch 2.4.0 (see `.ci/libtorch.sh`):
//!
//! ```text
//! source .ci/libtorch.sh && deeprecs_libtorch_setup
//! DEEPRECS_BERT_DIR=… cargo test -p deeprecs-encoders --features rust-bert --test rust_bert
//! ```
#![cfg(feature = "rust-bert")]

mod bert_common;
mod common;

use std::path::Path;

use burn::tensor::Device;
use deeprecs_core::ProductIdx;
use deeprecs_encoders::bert::libtorch::RustBertEmbedder;
use deeprecs_encoders::bert::{
    BertError, BertModel, BertPooling, ProductTextVectors, TextEmbedder, TextEmbeddingCache,
};
use deeprecs_encoders::{
    EncoderConfig, FieldEncoderConfig, TowerConfig, TowerInput, TwoTowerConfig,
};

#[test]
fn matches_sentence_transformers() {
    let Some(dir) = bert_common::model_dir() else {
        return;
    };
    let model = RustBertEmbedder::from_dir(&dir).unwrap();
    let fx = bert_common::fixture();
    assert_eq!(fx.items.len(), 50);
    assert_eq!(model.pooling_setup().max_length, fx.max_seq_length);
    assert_eq!(model.pooling_setup().pooling, BertPooling::Mean);
    assert!(model.pooling_setup().normalize);
    assert_eq!(TextEmbedder::dim(&model), 384);

    let texts: Vec<&str> = fx.items.iter().map(|i| i.text.as_str()).collect();
    let ids = model.token_ids(&texts).unwrap();
    for (row, item) in ids.iter().zip(&fx.items) {
        let expected: Vec<i64> = item.input_ids.iter().map(|&i| i64::from(i)).collect();
        assert_eq!(row, &expected, "token ids of {:?}", item.text);
    }

    let vectors = model.embed(&texts, 8).unwrap();
    let (worst_diff, worst_cos) = bert_common::assert_close_to_reference(&vectors, &fx);
    println!("rust-bert reference: 50 texts, max abs diff {worst_diff:e}, min cosine {worst_cos}");
    assert_eq!(model.texts_encoded(), 50);
    assert!(matches!(
        model.embed(&["x"], 0),
        Err(BertError::Argument {
            name: "batch_size",
            ..
        })
    ));
    assert!(model.embed::<&str>(&[], 4).unwrap().is_empty());
}

#[test]
fn agrees_with_burn_and_feeds_the_frozen_encoder() {
    let Some(dir) = bert_common::model_dir() else {
        return;
    };
    let rb = RustBertEmbedder::from_dir(&dir).unwrap();
    let burn = BertModel::from_dir(&dir, &Device::flex()).unwrap();
    // Different engines, different cache keys (their vectors agree to ~1e-7, not bit for bit).
    assert_ne!(TextEmbedder::model_hash(&rb), burn.model_hash());
    assert!(rb.describe().contains("rust-bert"), "{}", rb.describe());

    let fx = common::fixture(120, 300);
    let cache_dir = tempfile::tempdir().unwrap();
    assert_ne!(
        TextEmbeddingCache::file_for(cache_dir.path(), &rb),
        TextEmbeddingCache::file_for(cache_dir.path(), &burn)
    );
    let mut rb_cache = TextEmbeddingCache::open(cache_dir.path(), &rb).unwrap();
    let mut burn_cache = TextEmbeddingCache::in_memory(&burn);
    let catalog = &fx.data.catalog;
    let from_rb = ProductTextVectors::compute(catalog, "name", &rb, &mut rb_cache, 32).unwrap();
    let from_burn =
        ProductTextVectors::compute(catalog, "name", &burn, &mut burn_cache, 32).unwrap();
    let mut worst = 0.0f32;
    for p in catalog.iter() {
        let (a, b) = (from_rb.get(p.idx).unwrap(), from_burn.get(p.idx).unwrap());
        worst = worst.max(bert_common::max_abs_diff(a, b));
    }
    println!(
        "rust-bert vs Burn BERT on {} product names: max abs diff {worst:e}",
        catalog.len()
    );
    assert!(worst <= 1e-4, "engines differ by {worst}");

    // Frozen: a second pass (a second epoch) and a reopened cache file do not run rust-bert.
    let runs = rb.texts_encoded();
    assert!(runs > 0 && runs <= catalog.len() as u64);
    let again = ProductTextVectors::compute(catalog, "name", &rb, &mut rb_cache, 32).unwrap();
    let mut reopened = TextEmbeddingCache::open(cache_dir.path(), &rb).unwrap();
    let from_disk = ProductTextVectors::compute(catalog, "name", &rb, &mut reopened, 32).unwrap();
    assert_eq!(rb.texts_encoded(), runs);
    assert_eq!(again, from_rb);
    assert_eq!(from_disk, from_rb);
    // The Burn model's cache refuses rust-bert's vectors (another model hash).
    assert!(burn_cache.embed(&rb, &["x"], 4).is_err());

    // The vectors feed the "BERT + dense" encoder like the Burn ones.
    let device = Device::flex();
    let tower = TowerConfig::new(vec![FieldEncoderConfig {
        field: "name".into(),
        encoder: EncoderConfig::Bert {
            input_dim: 384,
            hidden: vec![64],
            model_dir: None,
            fine_tune_layers: 0,
        },
    }])
    .with_dim(16);
    let model = TwoTowerConfig::new(tower)
        .init(&fx.data.schema, &fx.vocabs, &device)
        .unwrap();
    let slot = fx.data.schema.field_index("name").unwrap();
    let products: Vec<ProductIdx> = catalog.iter().take(8).map(|p| p.idx).collect();
    let input = |v: &ProductTextVectors| {
        TowerInput::new(&fx.encoded.batch(&products).unwrap(), &device)
            .with_field(slot, v.gather(&products, &device).unwrap())
            .unwrap()
    };
    let (a, b) = (input(&from_rb), input(&from_burn));
    let scores_rb: Vec<f32> = model
        .score(&a, &a)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let scores_burn: Vec<f32> = model
        .score(&b, &b)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(scores_rb.len(), 8);
    let d = bert_common::max_abs_diff(&scores_rb, &scores_burn);
    assert!(d <= 1e-4, "tower scores differ by {d}");
}

/// A copy of the model folder (the weights linked, the small files copied) to break.
fn folder_copy(dir: &Path) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let target = out.path().join(path.file_name().unwrap());
        if path.is_dir() {
            std::fs::create_dir(&target).unwrap();
            for inner in std::fs::read_dir(&path).unwrap() {
                let inner = inner.unwrap().path();
                std::fs::copy(&inner, target.join(inner.file_name().unwrap())).unwrap();
            }
        } else if path.file_name().unwrap() == "model.safetensors" {
            std::os::unix::fs::symlink(&path, &target).unwrap();
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
    out
}

#[test]
fn bad_folders_are_typed_errors_naming_the_file() {
    let Some(dir) = bert_common::model_dir() else {
        return;
    };
    let err = |d: &Path| RustBertEmbedder::from_dir(d).unwrap_err();

    // No folder.
    let missing = dir.join("no-such-folder");
    assert!(matches!(err(&missing), BertError::MissingFile { file, .. } if file == missing));

    // A file only rust-bert reads is missing.
    let f = folder_copy(&dir);
    std::fs::remove_file(f.path().join("vocab.txt")).unwrap();
    match err(f.path()) {
        BertError::MissingFile { file, .. } => assert!(file.ends_with("vocab.txt"), "{file:?}"),
        e => panic!("unexpected {e}"),
    }

    // Malformed JSON that rust-bert would panic on.
    for name in ["sentence_bert_config.json", "tokenizer_config.json"] {
        let f = folder_copy(&dir);
        std::fs::write(f.path().join(name), "{ not json").unwrap();
        match err(f.path()) {
            BertError::Parse { file, .. } => assert!(file.ends_with(name), "{file:?}"),
            e => panic!("{name}: unexpected {e}"),
        }
    }

    // A pooling width that contradicts the model.
    let f = folder_copy(&dir);
    std::fs::write(
        f.path().join("1_Pooling/config.json"),
        r#"{"word_embedding_dimension": 768, "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false}"#,
    )
    .unwrap();
    match err(f.path()) {
        BertError::Unsupported { file, field, .. } => {
            assert!(file.ends_with("1_Pooling/config.json"), "{file:?}");
            assert_eq!(field, "word_embedding_dimension");
        }
        e => panic!("unexpected {e}"),
    }

    // Weights that are not a safetensors file: an error naming it, not a panic.
    let f = folder_copy(&dir);
    let weights = f.path().join("model.safetensors");
    std::fs::remove_file(&weights).unwrap();
    std::fs::write(&weights, b"not a safetensors file").unwrap();
    let e = err(f.path());
    assert!(e.to_string().contains("model.safetensors"), "{e}");
}
