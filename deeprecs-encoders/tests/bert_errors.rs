//! Loading BERT folders that are wrong in one way each: every error is typed and names the
//! file and the tensor or field. Uses a tiny hand-written model, so no download is needed.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::Device;
use deeprecs_encoders::bert::{BertError, BertModel, BertPooling};

const H: usize = 4;
const FF: usize = 8;
const VOCAB: usize = 6;

fn config(layers: usize) -> serde_json::Value {
    serde_json::json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_size": H,
        "intermediate_size": FF,
        "max_position_embeddings": 16,
        "num_attention_heads": 2,
        "num_hidden_layers": layers,
        "type_vocab_size": 2,
        "vocab_size": VOCAB,
        "layer_norm_eps": 1e-12
    })
}

/// The Hugging Face tensors of a tiny BERT with `layers` layers (PyTorch orientation).
fn tensors(layers: usize) -> BTreeMap<String, Vec<usize>> {
    let mut t = BTreeMap::new();
    let mut add = |name: String, shape: Vec<usize>| {
        t.insert(name, shape);
    };
    add("embeddings.word_embeddings.weight".into(), vec![VOCAB, H]);
    add("embeddings.position_embeddings.weight".into(), vec![16, H]);
    add("embeddings.token_type_embeddings.weight".into(), vec![2, H]);
    add("embeddings.LayerNorm.weight".into(), vec![H]);
    add("embeddings.LayerNorm.bias".into(), vec![H]);
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for n in ["query", "key", "value"] {
            add(format!("{p}.attention.self.{n}.weight"), vec![H, H]);
            add(format!("{p}.attention.self.{n}.bias"), vec![H]);
        }
        add(format!("{p}.attention.output.dense.weight"), vec![H, H]);
        add(format!("{p}.attention.output.dense.bias"), vec![H]);
        add(format!("{p}.attention.output.LayerNorm.weight"), vec![H]);
        add(format!("{p}.attention.output.LayerNorm.bias"), vec![H]);
        add(format!("{p}.intermediate.dense.weight"), vec![FF, H]);
        add(format!("{p}.intermediate.dense.bias"), vec![FF]);
        add(format!("{p}.output.dense.weight"), vec![H, FF]);
        add(format!("{p}.output.dense.bias"), vec![H]);
        add(format!("{p}.output.LayerNorm.weight"), vec![H]);
        add(format!("{p}.output.LayerNorm.bias"), vec![H]);
    }
    add("pooler.dense.weight".into(), vec![H, H]);
    add("pooler.dense.bias".into(), vec![H]);
    t
}

/// Writes a safetensors file: F32 values `sin(i)` so weights are deterministic and varied.
fn write_safetensors(path: &Path, tensors: &BTreeMap<String, Vec<usize>>) {
    let mut header = serde_json::Map::new();
    let mut data: Vec<u8> = Vec::new();
    for (name, shape) in tensors {
        let n: usize = shape.iter().product();
        let start = data.len();
        for i in 0..n {
            data.extend_from_slice(&((i as f32 * 0.7 + start as f32).sin() * 0.5).to_le_bytes());
        }
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
    bytes.extend(h);
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

const TOKENIZER: &str = r#"{
  "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
  "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
  "post_processor": null, "decoder": null,
  "model": {"type": "WordLevel", "vocab": {"[PAD]": 0, "[UNK]": 1, "red": 2, "mug": 3, "blue": 4, "cup": 5},
            "unk_token": "[UNK]"}
}"#;

/// A complete tiny model folder; `edit` changes it before writing.
fn folder(
    edit: impl FnOnce(&mut serde_json::Value, &mut BTreeMap<String, Vec<usize>>),
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(2);
    let mut t = tensors(2);
    edit(&mut c, &mut t);
    std::fs::write(dir.path().join("config.json"), c.to_string()).unwrap();
    write_safetensors(&dir.path().join("model.safetensors"), &t);
    std::fs::write(dir.path().join("tokenizer.json"), TOKENIZER).unwrap();
    dir
}

fn load(dir: &Path) -> Result<BertModel, BertError> {
    BertModel::from_dir(dir, &Device::flex())
}

#[test]
fn tiny_model_loads_and_embeds() {
    let dir = folder(|_, _| {});
    let model = load(dir.path()).unwrap();
    assert_eq!(model.dim(), H);
    assert_eq!(model.max_length(), 16);
    // A plain BERT folder (no modules.json): mean pooling, no normalisation.
    assert_eq!(model.pooling_setup().pooling, BertPooling::Mean);
    assert!(!model.pooling_setup().normalize);
    let mut unused = model.unused_tensors().to_vec();
    unused.sort();
    assert_eq!(unused, ["pooler.dense.bias", "pooler.dense.weight"]);
    let v = model.embed(&["red mug", "blue cup red", ""], 2).unwrap();
    assert_eq!(v.len(), 3);
    assert!(
        v.iter()
            .all(|r| r.len() == H && r.iter().all(|x| x.is_finite()))
    );
    assert_ne!(v[0], v[1]);
    // Padding does not change a text's vector.
    let alone = model.embed(&["red mug"], 1).unwrap();
    let d = alone[0]
        .iter()
        .zip(&v[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(d < 1e-6, "padding changed the vector by {d}");
}

#[test]
fn cls_pooling_and_normalize_from_modules_json() {
    let dir = folder(|_, _| {});
    std::fs::write(
        dir.path().join("modules.json"),
        r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
            {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
            {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#,
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("1_Pooling")).unwrap();
    std::fs::write(
        dir.path().join("1_Pooling/config.json"),
        r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#,
    )
    .unwrap();
    let model = load(dir.path()).unwrap();
    assert_eq!(model.pooling_setup().pooling, BertPooling::Cls);
    assert!(model.pooling_setup().normalize);
    let texts = ["red mug blue"];
    let v = model.embed(&texts, 1).unwrap();
    let norm: f32 = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    // CLS pooling = the first token's hidden state, normalised.
    let tokens = model.tokenize(&texts).unwrap();
    let (ids, mask) = tokens.to_tensors(&Device::flex());
    let h = model.network().hidden_states(ids, mask);
    let first: Vec<f32> = h
        .slice([0..1, 0..1, 0..H])
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let n: f32 = first.iter().map(|x| x * x).sum::<f32>().sqrt();
    for (a, b) in v[0].iter().zip(&first) {
        assert!((a - b / n).abs() < 1e-5);
    }

    // Max pooling is not supported: an error naming the pooling file.
    std::fs::write(
        dir.path().join("1_Pooling/config.json"),
        r#"{"pooling_mode_max_tokens": true}"#,
    )
    .unwrap();
    match load(dir.path()) {
        Err(BertError::Unsupported { file, .. }) => {
            assert!(file.ends_with("1_Pooling/config.json"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_files_are_named() {
    let missing = tempfile::tempdir().unwrap().path().join("nope");
    assert!(matches!(
        load(&missing),
        Err(BertError::MissingFile {
            what: "model folder",
            ..
        })
    ));
    for (name, what) in [
        ("config.json", "model configuration"),
        ("model.safetensors", "model weights"),
        ("tokenizer.json", "tokenizer"),
    ] {
        let dir = folder(|_, _| {});
        std::fs::remove_file(dir.path().join(name)).unwrap();
        match load(dir.path()) {
            Err(e @ BertError::MissingFile { .. }) => {
                let BertError::MissingFile { file, what: w } = &e else {
                    unreachable!()
                };
                assert!(file.ends_with(name));
                assert_eq!(*w, what);
                assert!(e.to_string().contains(name), "{e}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn unsupported_configs_are_rejected() {
    for (field, value) in [
        ("hidden_act", serde_json::json!("relu")),
        ("architectures", serde_json::json!(["GPT2Model"])),
        ("model_type", serde_json::json!("roberta")),
        ("position_embedding_type", serde_json::json!("relative_key")),
        ("num_attention_heads", serde_json::json!(3)),
    ] {
        let dir = folder(|c, _| c[field] = value.clone());
        match load(dir.path()) {
            Err(e @ BertError::Unsupported { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("config.json") && msg.contains(field), "{msg}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let dir = folder(|_, _| {});
    std::fs::write(dir.path().join("config.json"), "{ not json").unwrap();
    assert!(
        matches!(load(dir.path()), Err(BertError::Parse { file, .. }) if file.ends_with("config.json"))
    );
    let dir = folder(|c, _| {
        c.as_object_mut().unwrap().remove("hidden_size");
    });
    match load(dir.path()) {
        Err(BertError::Parse { message, .. }) => assert!(message.contains("hidden_size")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn weights_that_do_not_match_the_config_are_named() {
    // A missing tensor.
    let dir = folder(|_, t| {
        t.remove("encoder.layer.1.output.LayerNorm.weight");
    });
    match load(dir.path()) {
        Err(e @ BertError::MissingTensor { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("model.safetensors"), "{msg}");
            assert!(
                msg.contains("encoder.layer.1.output.LayerNorm.weight"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A tensor whose shape contradicts the config (vocabulary of 7 instead of 6).
    let dir = folder(|_, t| {
        t.insert(
            "embeddings.word_embeddings.weight".into(),
            vec![VOCAB + 1, H],
        );
    });
    match load(dir.path()) {
        Err(BertError::ShapeMismatch {
            tensor,
            expected,
            found,
            file,
        }) => {
            assert_eq!(tensor, "embeddings.word_embeddings.weight");
            assert_eq!((expected, found), (vec![VOCAB, H], vec![VOCAB + 1, H]));
            assert!(file.ends_with("model.safetensors"));
        }
        other => panic!("{other:?}"),
    }
    // More layers in the file than in the config.
    let dir = folder(|_, t| *t = tensors(3));
    match load(dir.path()) {
        Err(BertError::UnexpectedTensor { tensor, .. }) => {
            assert!(tensor.starts_with("encoder.layer.2."), "{tensor}")
        }
        other => panic!("{other:?}"),
    }
    // Not a safetensors file at all.
    let dir = folder(|_, _| {});
    std::fs::write(dir.path().join("model.safetensors"), b"garbage").unwrap();
    assert!(
        matches!(load(dir.path()), Err(BertError::Weights { file, .. }) if file.ends_with("model.safetensors"))
    );
}

#[test]
fn tokenizer_errors_are_named() {
    // The weights follow the config (vocab 4) but the tokenizer knows 6 tokens.
    let dir = folder(|c, t| {
        c["vocab_size"] = serde_json::json!(4);
        t.insert("embeddings.word_embeddings.weight".into(), vec![4, H]);
    });
    match load(dir.path()) {
        Err(BertError::Tokenizer { file, message }) => {
            assert!(file.ends_with("tokenizer.json"));
            assert!(message.contains("vocab_size"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let dir = folder(|_, _| {});
    std::fs::write(dir.path().join("tokenizer.json"), "{}").unwrap();
    assert!(
        matches!(load(dir.path()), Err(BertError::Tokenizer { file, .. }) if file.ends_with("tokenizer.json"))
    );
}
