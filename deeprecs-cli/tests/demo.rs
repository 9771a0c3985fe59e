//! `deeprecs demo --small` runs end to end and writes outputs that open and parse; `deeprecs
//! export` writes the same pictures and projector files from the artifact.

use std::path::Path;
use std::process::Command;

fn deeprecs() -> Command {
    Command::new(env!("CARGO_BIN_EXE_deeprecs"))
}

/// A PNG's width and height, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(bytes.len() > 10_000, "{} is nearly empty", path.display());
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

fn check_projector(dir: &Path, products: usize, dim: usize) {
    let vectors = std::fs::read_to_string(dir.join("vectors.tsv")).unwrap();
    let metadata = std::fs::read_to_string(dir.join("metadata.tsv")).unwrap();
    let config = std::fs::read_to_string(dir.join("projector_config.pbtxt")).unwrap();
    assert_eq!(vectors.lines().count(), products);
    assert!(vectors.lines().all(|l| l.split('\t').count() == dim));
    assert!(
        vectors
            .lines()
            .flat_map(|l| l.split('\t'))
            .all(|v| v.parse::<f32>().is_ok_and(f32::is_finite))
    );
    // One header line, then one row per vector.
    assert_eq!(metadata.lines().count(), products + 1);
    assert!(metadata.starts_with("id\tlabel\tgroup\tcold_start\n"));
    assert!(metadata.lines().skip(1).all(|l| l.split('\t').count() == 4));
    assert!(config.contains("tensor_path: \"vectors.tsv\""));
    assert!(config.contains("metadata_path: \"metadata.tsv\""));
}

#[test]
fn small_demo_runs_end_to_end_and_its_outputs_parse() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = deeprecs()
        .args(["demo", "--small", "--epochs", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    for section in [
        "== 1. data",
        "== 2. co-occurrence",
        "== 3. training",
        "== 4. serving index",
        "== 5. recommendations for cold-start products",
        "cart:",
        "== 6. evaluation",
        "== 7. pictures",
    ] {
        assert!(stdout.contains(section), "missing {section:?}:\n{stdout}");
    }
    // Explanations are printed per field for the cold-start recommendations.
    assert!(stdout.contains("(name "), "{stdout}");

    for png in ["long_tail.png", "model/loss.png", "embedding_map.png"] {
        assert_eq!(png_size(&out.join(png)), (960, 640), "{png}");
    }
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();
    for model in ["deeprecs", "cooc", "tfidf", "popularity", "random"] {
        for slice in ["cold", "warm", "all"] {
            assert!(
                rows.iter()
                    .any(|r| r["model"] == model && r["slice"] == slice && r["metric"] == "recall"),
                "no {model}/{slice} recall row"
            );
        }
    }
    let markdown = std::fs::read_to_string(out.join("eval.md")).unwrap();
    assert!(markdown.starts_with("| model | slice |"));
    let model_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model/model.json")).unwrap())
            .unwrap();
    assert!(model_json["config"]["tower"]["fields"].is_array());
    check_projector(&out.join("projector"), 600, 64);

    // The artifact serves.
    let artifact = out.join("recs.dra");
    let metadata = std::fs::read_to_string(out.join("projector/metadata.tsv")).unwrap();
    let first_id = metadata
        .lines()
        .nth(1)
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let recs = deeprecs()
        .args([
            "recommend",
            "--json",
            "-k",
            "3",
            "--product",
            &first_id,
            "--model",
        ])
        .arg(&artifact)
        .output()
        .unwrap();
    assert_eq!(
        recs.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&recs.stderr)
    );
    let recs: Vec<serde_json::Value> = serde_json::from_slice(&recs.stdout).unwrap();
    assert_eq!(recs.len(), 3);

    // Export: the same pictures and projector files from the artifact alone, coloured by a
    // named field; a field the schema lacks is an error naming it.
    let exported = dir.path().join("export");
    let run = deeprecs()
        .args(["export", "--color-by", "brand", "--metrics"])
        .arg(out.join("model/metrics.jsonl"))
        .arg("--model")
        .arg(&artifact)
        .arg("--out")
        .arg(&exported)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(png_size(&exported.join("embedding_map.png")), (960, 640));
    assert_eq!(png_size(&exported.join("loss.png")), (960, 640));
    check_projector(&exported.join("projector"), 600, 64);
    let run = deeprecs()
        .args(["export", "--color-by", "colour", "--model"])
        .arg(&artifact)
        .arg("--out")
        .arg(&exported)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("colour"));
}
