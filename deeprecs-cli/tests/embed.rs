//! `deeprecs embed`: stdin lines in, one JSON array per line out, equal to the library's
//! vectors. Needs the all-MiniLM-L6-v2 folder in `DEEPRECS_BERT_DIR` (skips outside CI
//! without it, fails in CI).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn deeprecs() -> Command {
    Command::new(env!("CARGO_BIN_EXE_deeprecs"))
}

fn model_dir() -> Option<PathBuf> {
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    match std::env::var_os("DEEPRECS_BERT_DIR").map(PathBuf::from) {
        Some(dir) if dir.join("model.safetensors").is_file() => Some(dir),
        _ if in_ci => panic!(
            "DEEPRECS_BERT_DIR does not point at the all-MiniLM-L6-v2 folder: CI must provide \
             it (see .ci/run)"
        ),
        _ => {
            eprintln!("skipped: DEEPRECS_BERT_DIR is not set to a model folder (see .ci/run)");
            None
        }
    }
}

fn embed(dir: &std::path::Path, input: &str, batch: &str) -> (Option<i32>, String, String) {
    embed_with(dir, input, batch, "burn")
}

fn embed_with(
    dir: &std::path::Path,
    input: &str,
    batch: &str,
    engine: &str,
) -> (Option<i32>, String, String) {
    let mut child = deeprecs()
        .args(["embed", "--engine", engine, "--batch", batch, "--bert-dir"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before reading stdin (bad arguments): a broken pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[derive(serde::Deserialize)]
struct Fixture {
    items: Vec<Item>,
}

#[derive(serde::Deserialize)]
struct Item {
    text: String,
    embedding: Vec<f32>,
}

#[test]
fn embeds_stdin_lines_as_json_arrays() {
    let Some(dir) = model_dir() else { return };
    check_reference_lines(&dir, "burn");
}

/// Reference texts in, one JSON line each out, within 1e-4 of sentence-transformers.
fn check_reference_lines(dir: &std::path::Path, engine: &str) {
    let fixture: Fixture = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/fixtures/minilm_reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // Texts without line breaks, one per line, CRLF on one of them, plus an empty line.
    let items: Vec<&Item> = fixture
        .items
        .iter()
        .filter(|i| !i.text.contains('\n') && !i.text.contains('\r'))
        .take(12)
        .collect();
    let mut input = String::new();
    for (k, item) in items.iter().enumerate() {
        input.push_str(&item.text);
        input.push_str(if k == 3 { "\r\n" } else { "\n" });
    }
    input.push('\n'); // the empty text
    let (code, stdout, stderr) = embed_with(dir, &input, "5", engine);
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), items.len() + 1);
    for (line, item) in lines.iter().zip(&items) {
        let v: Vec<f32> = serde_json::from_str(line).unwrap();
        assert_eq!(v.len(), 384);
        let diff = v
            .iter()
            .zip(&item.embedding)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff <= 1e-4, "{:?}: max abs diff {diff}", item.text);
    }
    // The empty line is embedded too (normalised, like every line).
    let empty: Vec<f32> = serde_json::from_str(lines[items.len()]).unwrap();
    let norm: f32 = empty.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");
}

#[test]
fn errors_name_the_folder_and_usage_errors_exit_2() {
    let missing = tempfile::tempdir().unwrap().path().join("no-model");
    let (code, stdout, stderr) = embed(&missing, "a\n", "4");
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty());
    assert!(stderr.contains("no-model"), "{stderr}");
    let (code, _, stderr) = embed(&missing, "a\n", "0");
    assert_eq!(code, Some(2), "{stderr}");
    let out = deeprecs().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("embed"), "{help}");
    assert!(!help.contains("Planned"), "{help}");
}

#[cfg(feature = "rust-bert")]
#[test]
fn rust_bert_engine_embeds_the_same() {
    let Some(dir) = model_dir() else { return };
    check_reference_lines(&dir, "rust-bert");
}

#[cfg(not(feature = "rust-bert"))]
#[test]
fn rust_bert_engine_without_the_feature_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = embed_with(dir.path(), "a\n", "4", "rust-bert");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("`rust-bert` feature"), "{stderr}");
    let (code, _, stderr) = embed_with(dir.path(), "a\n", "4", "torch");
    assert_eq!(code, Some(2), "{stderr}");
}
