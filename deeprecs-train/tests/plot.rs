//! The pictures are valid PNGs of the documented size, and bad input is an error.

use deeprecs_train::EpochRecord;
use deeprecs_train::plot::{SIZE, embedding_map, long_tail, loss_curves, pca_2d};

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

fn record(epoch: usize, train: f32, valid: Option<f32>) -> EpochRecord {
    EpochRecord {
        epoch,
        train_loss: train,
        valid_loss: valid,
        pairs: 100,
        pairs_per_sec: 1000.0,
        learning_rate: 1e-3,
        seconds: 0.1,
    }
}

#[test]
fn every_picture_is_a_png_of_the_documented_size() {
    let dir = tempfile::tempdir().unwrap();
    let history: Vec<_> = (1..=5)
        .map(|e| record(e, 0.5 / e as f32, Some(0.6 / e as f32 + 0.02)))
        .collect();
    let loss = dir.path().join("sub/loss.png");
    loss_curves(&history, &loss).unwrap();
    let tail = dir.path().join("long_tail.png");
    long_tail(&[1000, 300, 50, 20, 5, 2, 1, 1, 0, 0], "Events", &tail).unwrap();
    let vectors: Vec<f32> = (0..60).map(|i| ((i * 7) % 11) as f32 / 11.0).collect();
    let points = pca_2d(&vectors, 3);
    assert_eq!(points.len(), 20);
    let groups: Vec<String> = (0..20).map(|i| format!("group {}", i % 4)).collect();
    let marked: Vec<bool> = (0..20).map(|i| i % 5 == 0).collect();
    let map = dir.path().join("map.png");
    embedding_map(&points, &groups, &marked, "Products", &map).unwrap();
    for f in [&loss, &tail, &map] {
        let bytes = std::fs::read(f).unwrap();
        assert_eq!(png_size(&bytes), SIZE, "{}", f.display());
        // A picture with axes, curves and text compresses to more than a blank page.
        assert!(
            bytes.len() > 10_000,
            "{} is only {} bytes",
            f.display(),
            bytes.len()
        );
    }
}

#[test]
fn pca_finds_the_direction_of_largest_variance() {
    // Points spread along (1, 1, 0) with small noise on z: the first component carries
    // nearly all the variance, and it orders the points as t does.
    let mut v = Vec::new();
    for t in 0..50 {
        let t = t as f32;
        v.extend([t, t, 0.01 * (t % 3.0)]);
    }
    let p = pca_2d(&v, 3);
    let var = |k: usize| {
        let m = p.iter().map(|x| x[k]).sum::<f32>() / p.len() as f32;
        p.iter().map(|x| (x[k] - m).powi(2)).sum::<f32>()
    };
    assert!(var(0) > 1000.0 * var(1), "{} vs {}", var(0), var(1));
    let sign = (p[49][0] - p[0][0]).signum();
    assert!(p.windows(2).all(|w| (w[1][0] - w[0][0]) * sign > 0.0));
}

#[test]
fn bad_input_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.png");
    let e = loss_curves(&[], &f).unwrap_err().to_string();
    assert!(e.contains("x.png") && e.contains("no epochs"), "{e}");
    let e = long_tail(&[0, 0], "t", &f).unwrap_err().to_string();
    assert!(e.contains("no product has an event"), "{e}");
    let e = embedding_map(&[[0.0, 0.0]], &[], &[false], "t", &f)
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 points, 0 groups"), "{e}");
}

#[test]
#[ignore = "writes pictures to $PLOT_OUT for a person to look at"]
fn write_pictures_for_inspection() {
    let out = std::path::PathBuf::from(std::env::var("PLOT_OUT").unwrap());
    let history: Vec<_> = (1..=6)
        .map(|e| record(e, 0.5 / e as f32, Some(0.6 / e as f32 + 0.02)))
        .collect();
    loss_curves(&history, &out.join("loss.png")).unwrap();
    let counts: Vec<u32> = (1..2000).map(|i| 5000 / i).collect();
    long_tail(&counts, "Events per product", &out.join("tail.png")).unwrap();
}
