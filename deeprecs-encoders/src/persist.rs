//! Saving and loading a model: one JSON file (config, schema, vocabularies) plus one weights
//! file (Burn's burnpack format).

use std::path::Path;

use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::{Bytes, Device};
use deeprecs_core::{FeatureSchema, Vocabularies};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::two_tower::{TwoTower, TwoTowerConfig};

/// The version of the model JSON layout written by this crate.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Everything needed to rebuild a model's architecture and encode its inputs: the model
/// config, the feature schema and the vocabularies. Saved as one JSON file; the weights go in
/// a separate file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelBundle {
    /// [`MODEL_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The architecture.
    pub config: TwoTowerConfig,
    /// The schema the model reads.
    pub schema: FeatureSchema,
    /// The vocabularies its embedding tables are sized for.
    pub vocabularies: Vocabularies,
}

impl ModelBundle {
    /// Bundles a config with its schema and vocabularies, checking that they fit together.
    pub fn new(
        config: TwoTowerConfig,
        schema: FeatureSchema,
        vocabularies: Vocabularies,
    ) -> Result<Self> {
        config.tower.check(&schema, &vocabularies)?;
        Ok(Self {
            format_version: MODEL_FORMAT_VERSION,
            config,
            schema,
            vocabularies,
        })
    }

    /// A freshly initialised model of this architecture.
    pub fn init(&self, device: &Device) -> Result<TwoTower> {
        self.config.init(&self.schema, &self.vocabularies, device)
    }

    /// The bundle as pretty JSON.
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses and checks a bundle from JSON; `file` names it in errors.
    pub fn from_json(json: &str, file: &str) -> Result<Self> {
        let bundle: Self = serde_json::from_str(json).map_err(|e| Error::Load {
            file: file.to_owned(),
            message: format!("not a DeepRecs model config: {e}"),
        })?;
        if bundle.format_version != MODEL_FORMAT_VERSION {
            return Err(Error::Load {
                file: file.to_owned(),
                message: format!(
                    "model format version {} is not supported (this build reads {MODEL_FORMAT_VERSION})",
                    bundle.format_version
                ),
            });
        }
        bundle
            .config
            .tower
            .check(&bundle.schema, &bundle.vocabularies)
            .map_err(|e| Error::Load {
                file: file.to_owned(),
                message: format!("config, schema and vocabularies disagree: {e}"),
            })?;
        Ok(bundle)
    }

    /// Writes the bundle JSON to `config_path` and the model's weights to `weights_path`.
    pub fn save(&self, model: &TwoTower, config_path: &Path, weights_path: &Path) -> Result<()> {
        std::fs::write(config_path, self.to_json()).map_err(|source| Error::Io {
            file: config_path.display().to_string(),
            source,
        })?;
        let bytes = weights_to_bytes(model)?;
        std::fs::write(weights_path, bytes).map_err(|source| Error::Io {
            file: weights_path.display().to_string(),
            source,
        })
    }

    /// Reads a bundle and its weights, checking that config, vocabularies and weights agree.
    pub fn load(
        config_path: &Path,
        weights_path: &Path,
        device: &Device,
    ) -> Result<(Self, TwoTower)> {
        let name = config_path.display().to_string();
        let json = std::fs::read_to_string(config_path).map_err(|source| Error::Io {
            file: name.clone(),
            source,
        })?;
        let bundle = Self::from_json(&json, &name)?;
        let bytes = std::fs::read(weights_path).map_err(|source| Error::Io {
            file: weights_path.display().to_string(),
            source,
        })?;
        let model = bundle.load_weights(&bytes, &weights_path.display().to_string(), device)?;
        Ok((bundle, model))
    }

    /// Builds the model and loads weights from burnpack bytes; `file` names them in errors.
    /// Every tensor must be present with the right shape, and no tensor may be left over.
    pub fn load_weights(&self, bytes: &[u8], file: &str, device: &Device) -> Result<TwoTower> {
        let mut model = self.init(device)?;
        let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes.to_vec())));
        let result = model.load_from(&mut store).map_err(|e| Error::Load {
            file: file.to_owned(),
            message: format!("cannot read weights: {e}"),
        })?;
        let mut problems = Vec::new();
        if !result.errors.is_empty() {
            problems.push(format!("tensor errors: {:?}", result.errors));
        }
        if !result.missing.is_empty() {
            let names: Vec<&str> = result.missing.iter().map(|(n, _)| n.as_str()).collect();
            problems.push(format!("missing tensors: {}", names.join(", ")));
        }
        if !result.unused.is_empty() {
            problems.push(format!(
                "tensors the config does not have: {}",
                result.unused.join(", ")
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Load {
                file: file.to_owned(),
                message: format!(
                    "weights do not match the model config: {}",
                    problems.join("; ")
                ),
            });
        }
        Ok(model)
    }
}

/// The model's weights as burnpack bytes (for embedding in other files, e.g. a serving
/// artifact).
pub fn weights_to_bytes(model: &TwoTower) -> Result<Vec<u8>> {
    let mut store = BurnpackStore::from_bytes(None);
    model
        .clone()
        .save_into(&mut store)
        .map_err(|e| Error::Load {
            file: "<weights>".into(),
            message: format!("cannot serialise weights: {e}"),
        })?;
    let bytes = store.get_bytes().map_err(|e| Error::Load {
        file: "<weights>".into(),
        message: format!("cannot serialise weights: {e}"),
    })?;
    Ok(bytes.to_vec())
}
