//! `deeprecs index build` and `deeprecs recommend` end to end: a synthetic catalog, an
//! untrained model bundle saved as `deeprecs train` saves it, the artifact, each query kind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use deeprecs_core::{Catalog, FeatureSchema, Vocabularies};
use deeprecs_encoders::{ModelBundle, TowerConfig, TwoTowerConfig};

fn deeprecs() -> Command {
    Command::new(env!("CARGO_BIN_EXE_deeprecs"))
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    data: PathBuf,
    model: PathBuf,
    artifact: PathBuf,
    catalog: Catalog,
}

/// `deeprecs synth`, then a random-init model saved as `DIR/model.json` + `DIR/model.bpk`,
/// then `deeprecs index build --model DIR`.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(&deeprecs()
        .args(["synth", "--products", "150", "--users", "60", "--out"])
        .arg(&data)
        .output()
        .unwrap());
    let schema = FeatureSchema::from_path(data.join("schema.toml")).unwrap();
    let (catalog, _) = Catalog::read(data.join("catalog.csv"), &schema).unwrap();
    let vocabs = Vocabularies::fit(&catalog, catalog.iter().map(|p| p.idx)).unwrap();
    let mut tower = TowerConfig::for_schema(&schema);
    tower.dim = 16;
    tower.fusion.dense = vec![32, 16];
    let bundle = ModelBundle::new(TwoTowerConfig::new(tower), schema, vocabs).unwrap();
    let device = deeprecs_index::BuildOptions::default().device;
    let model = bundle.init(&device).unwrap();
    let model_dir = dir.path().join("model");
    std::fs::create_dir_all(&model_dir).unwrap();
    bundle
        .save(
            &model,
            &model_dir.join("model.json"),
            &model_dir.join("model.bpk"),
        )
        .unwrap();

    let artifact = dir.path().join("recs.dra");
    let text = ok(&deeprecs()
        .args(["index", "build", "--model"])
        .arg(&model_dir)
        .arg("--catalog")
        .arg(data.join("catalog.csv"))
        .arg("--out")
        .arg(&artifact)
        .output()
        .unwrap());
    assert!(
        text.contains("indexed 150 products (16-d, exact search)"),
        "{text}"
    );
    assert!(artifact.is_file());
    Setup {
        _dir: dir,
        data,
        model: model_dir,
        artifact,
        catalog,
    }
}

fn recommend(artifact: &Path, args: &[&str]) -> Output {
    deeprecs()
        .arg("recommend")
        .arg("--model")
        .arg(artifact)
        .args(args)
        .output()
        .unwrap()
}

fn json_recs(out: &Output) -> Vec<serde_json::Value> {
    let text = ok(out);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value.as_array().unwrap().clone()
}

#[test]
fn build_then_recommend_for_each_query_kind() {
    let s = setup();
    let ids = s.catalog.ids();
    let seed = ids[3].as_str();

    // A product, as text: names and scores.
    let text = ok(&recommend(&s.artifact, &["--product", seed, "-k", "5"]));
    let label = s.catalog.label(s.catalog.require(seed).unwrap());
    assert!(
        text.starts_with(&format!("recommendations for product {seed} ({label}):")),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .count(),
        5,
        "{text}"
    );

    // A product, as JSON: an array of {"product", "label", "score"}, best first, not itself.
    let recs = json_recs(&recommend(
        &s.artifact,
        &["--product", seed, "-k", "7", "--json"],
    ));
    assert_eq!(recs.len(), 7);
    let scores: Vec<f64> = recs.iter().map(|r| r["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    for r in &recs {
        let p = r["product"].as_str().unwrap();
        assert_ne!(p, seed);
        let idx = s.catalog.require(p).unwrap();
        assert_eq!(r["label"].as_str().unwrap(), s.catalog.label(idx));
        assert!(r.get("explanation").is_none());
    }

    // A new product from JSON, explained.
    let new = r#"{"product_id": "NEW-1", "name": "kids rain jacket with hood", "brand": "Unheard Of", "categories": "Clothing|Kids"}"#;
    let recs = json_recs(&recommend(
        &s.artifact,
        &["--new-product", new, "--json", "--explain", "-k", "4"],
    ));
    assert_eq!(recs.len(), 4);
    for r in &recs {
        let e = &r["explanation"];
        assert_eq!(e["seed"], "NEW-1");
        assert_eq!(e["contributions"].as_array().unwrap().len(), 4);
    }
    let text = ok(&recommend(
        &s.artifact,
        &["--new-product", new, "--explain", "-k", "2"],
    ));
    assert!(
        text.starts_with("recommendations for new product NEW-1:"),
        "{text}"
    );
    assert!(text.contains("why (Occlusion"), "{text}");

    // A cart, each aggregation: never a cart item.
    let cart = format!("{},{},{}", ids[0], ids[10], ids[20]);
    for agg in ["mean", "max", "sum"] {
        let recs = json_recs(&recommend(
            &s.artifact,
            &[
                "--cart",
                &cart,
                "--cart-aggregation",
                agg,
                "--json",
                "-k",
                "30",
            ],
        ));
        assert_eq!(recs.len(), 30, "{agg}");
        for r in &recs {
            let p = r["product"].as_str().unwrap();
            assert!(
                ![&ids[0], &ids[10], &ids[20]].contains(&&p.to_owned()),
                "{agg}: {p}"
            );
        }
    }
}

#[test]
fn build_from_explicit_files_with_ann_and_errors() {
    let s = setup();
    let artifact = s.artifact.with_file_name("ann.dra");
    let text = ok(&deeprecs()
        .args(["index", "build", "--model-config"])
        .arg(s.model.join("model.json"))
        .arg("--weights")
        .arg(s.model.join("model.bpk"))
        .arg("--schema")
        .arg(s.data.join("schema.toml"))
        .arg("--catalog")
        .arg(s.data.join("catalog.csv"))
        .arg("--out")
        .arg(&artifact)
        .arg("--ann")
        .output()
        .unwrap());
    assert!(text.contains("HNSW search"), "{text}");
    let seed = s.catalog.ids()[0].as_str();
    let recs = json_recs(&recommend(&artifact, &["--product", seed, "--json"]));
    assert_eq!(recs.len(), 10);

    // An unknown product: exit code 1 and a message naming it.
    let out = recommend(&s.artifact, &["--product", "NO-SUCH-ID"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown product `NO-SUCH-ID`"), "{err}");
    let out = recommend(&s.artifact, &["--cart", &format!("{seed},GHOST")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GHOST"));
    // Bad JSON for a new product: exit code 1.
    let out = recommend(&s.artifact, &["--new-product", "{not json"]);
    assert_eq!(out.status.code(), Some(1));

    // A damaged artifact: exit code 1 with a message naming the file.
    let mut bytes = std::fs::read(&s.artifact).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    let damaged = s.artifact.with_file_name("damaged.dra");
    std::fs::write(&damaged, &bytes).unwrap();
    let out = recommend(&damaged, &["--product", seed]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("damaged.dra") && err.contains("checksum"),
        "{err}"
    );

    // Usage errors: no query, or two queries at once: exit code 2.
    assert_eq!(recommend(&s.artifact, &[]).status.code(), Some(2));
    assert_eq!(
        recommend(&s.artifact, &["--product", seed, "--cart", seed])
            .status
            .code(),
        Some(2)
    );
    let out = deeprecs()
        .args(["index", "build", "--catalog", "c.csv", "--out", "a.dra"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no model given");
}
