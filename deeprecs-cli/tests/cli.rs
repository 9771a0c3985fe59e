//! The `deeprecs` binary: subcommands, output and exit codes (0 ok, 1 data error, 2 usage).

use std::process::Command;

fn deeprecs() -> Command {
    Command::new(env!("CARGO_BIN_EXE_deeprecs"))
}

#[test]
fn help_lists_every_subcommand() {
    let out = deeprecs().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("Planned"), "{text}");
    for word in [
        "synth",
        "inspect",
        "cooc",
        "train",
        "eval",
        "tune",
        "embed",
        "index",
        "recommend",
        "demo",
        "export",
    ] {
        assert!(
            text.contains(word),
            "--help does not mention {word}:\n{text}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = deeprecs().arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = deeprecs().args(["inspect", "--schema"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn synth_then_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let out = deeprecs()
        .args(["synth", "--products", "300", "--users", "200", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "schema.toml",
        "catalog.csv",
        "events.csv",
        "ground_truth.json",
        "config.json",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let out = deeprecs()
        .arg("inspect")
        .arg("--schema")
        .arg(dir.path().join("schema.toml"))
        .arg("--catalog")
        .arg(dir.path().join("catalog.csv"))
        .arg("--events")
        .arg(dir.path().join("events.csv"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("products 300"), "{text}");
    let users: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("users "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no users line:\n{text}"));
    assert!((150..=200).contains(&users), "{users}");
    assert!(text.contains("categories"), "{text}");
    assert!(text.contains("long tail"), "{text}");
}

#[test]
fn data_errors_exit_1_with_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schema.toml"),
        "id = \"sku\"\n[[fields]]\nname = \"title\"\nkind = \"text\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("catalog.csv"), "sku,title\nA,mug\nA,cup\n").unwrap();
    let out = deeprecs()
        .arg("inspect")
        .arg("--schema")
        .arg(dir.path().join("schema.toml"))
        .arg("--catalog")
        .arg(dir.path().join("catalog.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("catalog.csv:3, field `sku`: duplicate product id \"A\""),
        "{err}"
    );
}
