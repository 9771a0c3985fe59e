//! The Burn BERT against sentence-transformers: `../shared/fixtures/minilm_reference.json` holds
//! 50 texts with the reference token ids and all-MiniLM-L6-v2 embeddings.
//!
//! The model folder comes from `DEEPRECS_BERT_DIR` (CI downloads it, see `.ci/run`). Without it
//! the tests print why and pass outside CI, and fail in CI.

mod bert_common;

use bert_common::{assert_close_to_reference, device, fixture, model_dir};
use deeprecs_encoders::bert::{BertError, BertModel, BertPooling};

#[test]
fn matches_sentence_transformers() {
    let Some(dir) = model_dir() else { return };
    let device = device();
    let model = BertModel::from_dir(&dir, &device).unwrap();
    let fx = fixture();
    assert_eq!(fx.items.len(), 50);
    assert_eq!(model.max_length(), fx.max_seq_length);
    assert_eq!(model.dim(), 384);
    assert_eq!(model.pooling_setup().pooling, BertPooling::Mean);
    assert!(model.pooling_setup().normalize);

    // Token ids, all texts in one batch (padding must not change them).
    let texts: Vec<&str> = fx.items.iter().map(|i| i.text.as_str()).collect();
    let tokens = model.tokenize(&texts).unwrap();
    for (r, item) in fx.items.iter().enumerate() {
        assert_eq!(
            tokens.row(r),
            item.input_ids.as_slice(),
            "token ids of {:?}",
            item.text
        );
    }

    // Embeddings, in batches of 8 (texts of different lengths share a batch).
    let vectors = model.embed(&texts, 8).unwrap();
    let (worst_diff, worst_cos) = assert_close_to_reference(&vectors, &fx);
    println!(
        "bert reference on {device:?}: 50 texts, max abs diff {worst_diff:e}, min cosine {worst_cos}"
    );

    // The same texts one at a time agree with the batched result (padding is inert).
    let single = model.embed(&texts[..5], 1).unwrap();
    for (a, b) in single.iter().zip(&vectors) {
        let d = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(d < 1e-5, "batched and single differ by {d}");
    }
    // The network ran once per text and call.
    assert_eq!(model.texts_encoded(), 55);
}

#[test]
fn truncates_at_max_length() {
    let Some(dir) = model_dir() else { return };
    let model = BertModel::from_dir(&dir, &device()).unwrap();
    let long = "word ".repeat(1000);
    let tokens = model.tokenize(&[long.as_str(), "short"]).unwrap();
    assert_eq!(tokens.width, 256);
    assert_eq!(tokens.lengths, [256, 3]);
    assert_eq!(tokens.mask[256 + 3], 0.0);
    assert_eq!(tokens.row(1)[0], 101); // [CLS]
    assert_eq!(tokens.row(1)[2], 102); // [SEP]
    assert!(matches!(
        model.embed(&["x"], 0),
        Err(BertError::Argument {
            name: "batch_size",
            ..
        })
    ));
    assert!(model.embed::<&str>(&[], 4).unwrap().is_empty());
}
