//! End-to-end training throughput: positive pairs per second of `TrainParams::fit` on the
//! synthetic catalog — batch preparation (negatives, per-product features, padding) on the
//! prefetch thread included — for the default model shape (every synthetic field with its
//! default encoder, D = 64, dense 128 → 64, separate towers) and the default training options
//! at batch 256.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench -p deeprecs-train --bench train_throughput
//! RAYON_NUM_THREADS=2 cargo bench -p deeprecs-train --bench train_throughput
//! BENCH_DEVICE=wgpu cargo bench -p deeprecs-train --features wgpu --bench train_throughput
//! ```
//! Compare with `../shared/anchors/torch_two_tower.py --threads N --batch 256` run in the same
//! session (`docs/src/performance.md`).

use std::time::Instant;

use burn::tensor::Device;
use deeprecs_core::synthetic::{SyntheticConfig, generate};
use deeprecs_encoders::{FusionConfig, TowerConfig, TwoTowerConfig};
use deeprecs_train::{DataConfig, EpochRecord, Experiment, TrainConfig, TrainObserver};

struct Records(Vec<EpochRecord>);

impl TrainObserver for Records {
    fn epoch_end(&mut self, record: &EpochRecord) {
        self.0.push(record.clone());
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let device = match std::env::var("BENCH_DEVICE").as_deref() {
        #[cfg(feature = "wgpu")]
        Ok("wgpu") => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        _ => Device::flex(),
    };
    let data = generate(&SyntheticConfig::default())?;
    let exp = Experiment::prepare(
        data.schema,
        data.catalog,
        data.events,
        &DataConfig::default(),
    )?;
    let model = TwoTowerConfig::new(
        TowerConfig::for_schema(exp.schema())
            .with_dim(64)
            .with_fusion(FusionConfig::new().with_dense(vec![128, 64])),
    );
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    let kind = std::env::var("BENCH_DEVICE").unwrap_or_else(|_| "flex".into());
    // "pairs": one seed and one rec per positive through the towers, like the PyTorch anchor
    // (in-batch negatives reuse the batch's recs); "default": the default training options,
    // 8 sampled negatives per positive (9 rec rows per positive).
    let shapes = [
        (
            "pairs (anchor shape)",
            TrainConfig {
                sampling: deeprecs_train::NegativeSampling::InBatch,
                loss: deeprecs_train::Loss::default(),
                ..TrainConfig::default()
            },
        ),
        ("default options", TrainConfig::default()),
    ];
    for (name, base) in shapes {
        let params = TrainConfig {
            epochs: 3,
            batch_size: 256,
            max_pairs_per_epoch: Some(20_000),
            ..base
        }
        .check()?;
        let start = Instant::now();
        let mut records = Records(Vec::new());
        exp.fit(
            &model,
            &params,
            &device.clone().autodiff(),
            None,
            &mut records,
        )?;
        println!(
            "{name}: device {kind}, threads {threads}, batch 256, sampling {}: {:.1} s for {} epochs",
            params.config().sampling.name(),
            start.elapsed().as_secs_f64(),
            records.0.len()
        );
        for r in &records.0 {
            println!(
                "  epoch {}: {:.0} positive pairs/s end to end ({} pairs, {:.2} s)",
                r.epoch, r.pairs_per_sec, r.pairs, r.seconds
            );
        }
        // The first epoch includes warm-up (kernel compilation on wgpu); report the best.
        let best = records
            .0
            .iter()
            .map(|r| r.pairs_per_sec)
            .fold(0.0, f64::max);
        println!("  best epoch: {best:.0} positive pairs/s");
    }
    Ok(())
}
