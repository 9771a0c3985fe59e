//! Throughput of the default model shape on the flex (CPU) backend: rec-tower inference in
//! products/s and one training step (forward of both towers, epsilon-insensitive hinge loss,
//! backward, Adam) in pairs/s.
//!
//! Shape (the same as `../shared/anchors/torch_two_tower.py`): D = 64, word vocabulary 20,000,
//! 16-token text with general attention pooling, one categorical field (500 values), one
//! multi-valued field (300 values, 5 per product), weighted-sum fusion, dense 64 → 128 → 64,
//! separate towers.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench -p deeprecs-encoders --bench tower_throughput
//! RAYON_NUM_THREADS=2 cargo bench -p deeprecs-encoders --bench tower_throughput
//! ```
//! Optional arguments after `--`: batch sizes (default `256`).

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use deeprecs_core::rng::SeededRng;
use deeprecs_core::{Catalog, EncodedCatalog, FeatureSchema, FieldValue, ProductIdx, Vocabularies};
use deeprecs_encoders::{FusionConfig, TowerConfig, TowerInput, TwoTowerConfig};

const SCHEMA: &str = r#"
id = "id"
[[fields]]
name = "text"
kind = "text"
max_tokens = 16
[[fields]]
name = "brand"
kind = "categorical"
[[fields]]
name = "tags"
kind = "multi_categorical"
"#;

fn catalog(n: usize, rng: &mut SeededRng) -> Catalog {
    let schema = FeatureSchema::from_toml_str(SCHEMA, "<bench>").expect("schema");
    let mut c = Catalog::new(schema);
    for i in 0..n {
        // 16 tokens, the second half present with probability 1/2 (as in the torch anchor).
        let mut words = Vec::with_capacity(16);
        for k in 0..16 {
            if k < 8 || rng.chance(0.5) {
                words.push(format!("w{}", rng.below(19_998)));
            }
        }
        let tags: Vec<String> = (0..5).map(|_| format!("t{}", rng.below(298))).collect();
        c.push(
            format!("p{i}"),
            vec![
                FieldValue::Text(words.join(" ")),
                FieldValue::Categorical(format!("b{}", rng.below(498))),
                FieldValue::Multi(tags),
            ],
        )
        .expect("product");
    }
    c
}

fn main() {
    let batches: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let batches = if batches.is_empty() {
        vec![256]
    } else {
        batches
    };
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    let mut rng = SeededRng::new(1);
    let catalog = catalog(60_000, &mut rng);
    let vocabs = Vocabularies::fit(&catalog, catalog.iter().map(|p| p.idx)).expect("vocabs");
    let sizes: Vec<usize> = vocabs.fields().iter().map(|v| v.len()).collect();
    let encoded = EncodedCatalog::encode(&catalog, &vocabs).expect("encode");
    let tower = TowerConfig::for_schema(catalog.schema())
        .with_dim(64)
        .with_fusion(FusionConfig::new().with_dense(vec![128, 64]));
    let config = TwoTowerConfig::new(tower);
    println!("threads {threads}; vocabulary sizes (text, brand, tags): {sizes:?}");

    for &batch in &batches {
        let pick = |rng: &mut SeededRng| -> Vec<ProductIdx> {
            (0..batch)
                .map(|_| ProductIdx(rng.below(catalog.len() as u64) as u32))
                .collect()
        };
        // Inference: the rec tower on a plain (non-autodiff) device.
        let device = Device::flex();
        device.seed(0);
        let model = config
            .init(catalog.schema(), &vocabs, &device)
            .expect("model");
        let inputs: Vec<TowerInput> = (0..16)
            .map(|_| TowerInput::new(&encoded.batch(&pick(&mut rng)).expect("batch"), &device))
            .collect();
        for input in inputs.iter().take(3) {
            let _ = model.embed_rec(input).expect("forward").into_data();
        }
        let iters = (200_000 / batch).max(20);
        let start = Instant::now();
        for i in 0..iters {
            let _ = model
                .embed_rec(&inputs[i % 16])
                .expect("forward")
                .into_data();
        }
        let infer = (iters * batch) as f64 / start.elapsed().as_secs_f64();

        // Training: both towers, hinge loss, backward, Adam.
        let device = Device::flex().autodiff();
        device.seed(0);
        let mut model = config
            .init(catalog.schema(), &vocabs, &device)
            .expect("model");
        let mut optim = AdamConfig::new().init();
        let data: Vec<(TowerInput, TowerInput, Tensor<1>)> = (0..16)
            .map(|_| {
                let s = TowerInput::new(&encoded.batch(&pick(&mut rng)).expect("batch"), &device);
                let r = TowerInput::new(&encoded.batch(&pick(&mut rng)).expect("batch"), &device);
                let y: Vec<f32> = (0..batch).map(|_| rng.next_f64() as f32).collect();
                (
                    s,
                    r,
                    Tensor::from_data(TensorData::new(y, [batch]), &device),
                )
            })
            .collect();
        // Where the time goes: forward + loss (read back), backward, optimiser step.
        let (mut t_fwd, mut t_bwd, mut t_opt) = (0.0f64, 0.0f64, 0.0f64);
        let mut step = |i: usize, model: deeprecs_encoders::TwoTower, timed: bool| {
            let (s, r, y) = &data[i % 16];
            let t0 = Instant::now();
            let cos = model.score(s, r).expect("score");
            let loss = ((cos - y.clone()).abs() - 0.1).clamp_min(0.0).mean();
            let _: f32 = loss.clone().into_scalar();
            let t1 = Instant::now();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let t2 = Instant::now();
            let model = optim.step(1e-3, model, grads);
            let _ = model.seed_tower().fusion().has_dense();
            if timed {
                t_fwd += (t1 - t0).as_secs_f64();
                t_bwd += (t2 - t1).as_secs_f64();
                t_opt += t2.elapsed().as_secs_f64();
            }
            model
        };
        for i in 0..3 {
            model = step(i, model, false);
        }
        let steps = (30_000 / batch).max(10);
        let start = Instant::now();
        for i in 0..steps {
            model = step(i, model, true);
        }
        // Force completion of the last step.
        let _ = model.embed_rec(&data[0].1).expect("forward").into_data();
        let train = (steps * batch) as f64 / start.elapsed().as_secs_f64();
        let total = t_fwd + t_bwd + t_opt;
        println!(
            "batch {batch:>5}: rec-tower inference {infer:>10.0} products/s   training {train:>9.0} pairs/s   \
             (step time: forward+loss {:.0} %, backward {:.0} %, Adam {:.0} %; {:.2} ms/step)",
            100.0 * t_fwd / total,
            100.0 * t_bwd / total,
            100.0 * t_opt / total,
            1e3 * total / steps as f64
        );
    }
}
