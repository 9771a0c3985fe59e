//! [`ProductTower`]: one encoder per configured field, fused into one product vector.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use deeprecs_core::{FeatureSchema, FieldKindName, Vocabularies};
use serde::{Deserialize, Serialize};

use crate::attention_text::{AttentionTextEncoder, AttentionTextEncoderConfig, LuongScore};
use crate::bert::BertModel;
use crate::bert::text_encoder::{BertTextEncoder, BertTextEncoderConfig};
use crate::categorical::{CategoricalEmbedding, CategoricalEmbeddingConfig};
use crate::error::{Error, Result, config_error};
use crate::fusion::{Fusion, FusionConfig, FusionParts};
use crate::input::{FieldInput, TowerInput};
use crate::multi_hot::{BagPooling, MultiHotEmbedding, MultiHotEmbeddingConfig};

/// The encoder of one field, as written in a tower config: one serde-tagged enum over the
/// encoder kinds (`"type": "categorical" | "multi_hot" | "attention_text" | "bert" |
/// "vectors"`), so that a whole tower round-trips through JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EncoderConfig {
    /// A learned vector per value, for categorical fields.
    Categorical {
        /// See [`CategoricalEmbeddingConfig::max_norm`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_norm: Option<f64>,
    },
    /// An embedding bag, for multi-valued fields.
    MultiHot {
        /// See [`BagPooling`].
        #[serde(default)]
        pooling: BagPooling,
    },
    /// Word embeddings + attention pooling, for text fields.
    AttentionText {
        /// See [`AttentionTextEncoderConfig::max_positions`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_positions: Option<usize>,
        /// See [`LuongScore`].
        #[serde(default)]
        score: LuongScore,
    },
    /// Pre-trained BERT followed by dense layers, for text fields ([`BertTextEncoder`]).
    /// Frozen (default): the field's input must be replaced by precomputed vectors
    /// ([`ProductTextVectors::gather`](crate::bert::text_encoder::ProductTextVectors::gather)
    /// and [`TowerInput::with_field`]); fine-tune: by token ids. See
    /// [`crate::bert::text_encoder`].
    Bert {
        /// Width of the BERT vectors (384 for all-MiniLM-L6-v2).
        #[serde(default = "default_bert_dim")]
        input_dim: usize,
        /// Hidden dense layer widths before the output layer (empty: one linear layer).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hidden: Vec<usize>,
        /// The BERT model folder. In frozen mode the tower does not read it (pipelines that
        /// build the input do); in fine-tune mode [`TowerConfig::init`] loads it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_dir: Option<String>,
        /// Fine-tune the last this many BERT layers inside the tower, which then reads token
        /// ids ([`ProductTextTokens`](crate::bert::ProductTextTokens)). 0 (default): frozen
        /// BERT outside the tower, fed precomputed vectors.
        #[serde(default, skip_serializing_if = "is_zero")]
        fine_tune_layers: usize,
    },
    /// Dense layers over per-product vectors that the caller computes outside the model (a
    /// feature extractor of their own: hashed character n-grams, image features, price
    /// bands …), for a field of any kind. The field's input must be replaced by the vectors
    /// ([`FieldVectors`](crate::FieldVectors), given to the trainer and to catalog
    /// embedding). The module is the one frozen BERT uses ([`BertTextEncoder`]).
    Vectors {
        /// Width of the supplied vectors.
        input_dim: usize,
        /// Hidden dense layer widths before the output layer (empty: one linear layer).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hidden: Vec<usize>,
    },
}

fn default_bert_dim() -> usize {
    384
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl EncoderConfig {
    /// The encoder's name as written in configs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Categorical { .. } => "categorical",
            Self::MultiHot { .. } => "multi_hot",
            Self::AttentionText { .. } => "attention_text",
            Self::Bert { .. } => "bert",
            Self::Vectors { .. } => "vectors",
        }
    }

    /// The field kind this encoder reads; `None` for [`EncoderConfig::Vectors`], which
    /// reads the caller's vectors in place of a field of any kind.
    pub fn field_kind(&self) -> Option<FieldKindName> {
        match self {
            Self::Categorical { .. } => Some(FieldKindName::Categorical),
            Self::MultiHot { .. } => Some(FieldKindName::MultiCategorical),
            Self::AttentionText { .. } | Self::Bert { .. } => Some(FieldKindName::Text),
            Self::Vectors { .. } => None,
        }
    }

    /// The default encoder for a field kind.
    pub fn default_for(kind: FieldKindName) -> Self {
        match kind {
            FieldKindName::Categorical => Self::Categorical { max_norm: None },
            FieldKindName::MultiCategorical => Self::MultiHot {
                pooling: BagPooling::Mean,
            },
            FieldKindName::Text => Self::AttentionText {
                max_positions: None,
                score: LuongScore::General,
            },
        }
    }
}

/// One field of a tower: which schema field, encoded how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldEncoderConfig {
    /// The schema field's name.
    pub field: String,
    /// Its encoder.
    #[serde(flatten)]
    pub encoder: EncoderConfig,
}

/// Configuration of a [`ProductTower`].
#[derive(Config, Debug)]
pub struct TowerConfig {
    /// The encoded fields, in order (any subset of the schema's fields).
    pub fields: Vec<FieldEncoderConfig>,
    /// The size of every per-field vector.
    #[config(default = 64)]
    pub dim: usize,
    /// How field vectors become the product vector.
    #[config(default = "FusionConfig::new()")]
    pub fusion: FusionConfig,
}

impl TowerConfig {
    /// A tower over every field of `schema` with each kind's default encoder.
    pub fn for_schema(schema: &FeatureSchema) -> Self {
        Self::new(
            schema
                .fields()
                .iter()
                .map(|f| FieldEncoderConfig {
                    field: f.name.clone(),
                    encoder: EncoderConfig::default_for(f.kind.name()),
                })
                .collect(),
        )
    }

    /// The size of the product vector.
    pub fn output_dim(&self) -> usize {
        self.fusion.output_dim(self.dim)
    }

    /// Checks the config against a schema and vocabularies without building anything:
    /// every field exists, once, with an encoder of its kind; sizes are positive.
    /// Returns the schema index of each configured field.
    pub fn check(&self, schema: &FeatureSchema, vocabs: &Vocabularies) -> Result<Vec<usize>> {
        if self.dim == 0 {
            return Err(config_error("dim", "must be positive"));
        }
        if self.fields.is_empty() {
            return Err(config_error("fields", "a tower needs at least one field"));
        }
        self.fusion.check()?;
        vocabs.check_against(schema)?;
        let mut slots = Vec::with_capacity(self.fields.len());
        for fc in &self.fields {
            let slot = schema.field_index(&fc.field).map_err(|_| Error::Schema {
                field: fc.field.clone(),
                message: format!(
                    "the schema has no such field (it has: {})",
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
            if slots.contains(&slot) {
                return Err(Error::Schema {
                    field: fc.field.clone(),
                    message: "configured twice".into(),
                });
            }
            let kind = schema.fields()[slot].kind.name();
            if let Some(reads) = fc.encoder.field_kind()
                && kind != reads
            {
                return Err(Error::Schema {
                    field: fc.field.clone(),
                    message: format!(
                        "encoder `{}` reads {reads} fields, but the schema declares this field \
                         {kind}",
                        fc.encoder.name(),
                    ),
                });
            }
            if let EncoderConfig::Vectors { input_dim, hidden } = &fc.encoder {
                BertTextEncoderConfig::new(*input_dim, self.dim)
                    .with_hidden(hidden.clone())
                    .check()
                    .map_err(|e| match e {
                        Error::Config { message, .. } => {
                            config_error(format!("fields.{}", fc.field), message)
                        }
                        other => other,
                    })?;
            }
            if let EncoderConfig::AttentionText {
                max_positions: Some(0),
                ..
            } = fc.encoder
            {
                return Err(config_error(
                    format!("fields.{}.max_positions", fc.field),
                    "must be positive",
                ));
            }
            if let EncoderConfig::Bert {
                input_dim,
                hidden,
                model_dir,
                fine_tune_layers,
            } = &fc.encoder
            {
                if *fine_tune_layers > 0 && model_dir.is_none() {
                    return Err(config_error(
                        format!("fields.{}.model_dir", fc.field),
                        "fine-tuning BERT needs the model folder",
                    ));
                }
                BertTextEncoderConfig::new(*input_dim, self.dim)
                    .with_hidden(hidden.clone())
                    .check()
                    .map_err(|e| match e {
                        Error::Config { message, .. } => {
                            config_error(format!("fields.{}", fc.field), message)
                        }
                        other => other,
                    })?;
            }
            slots.push(slot);
        }
        Ok(slots)
    }

    /// Builds the tower for `schema`, sizing embedding tables from `vocabs`.
    pub fn init(
        &self,
        schema: &FeatureSchema,
        vocabs: &Vocabularies,
        device: &Device,
    ) -> Result<ProductTower> {
        let slots = self.check(schema, vocabs)?;
        let encoders = self
            .fields
            .iter()
            .zip(&slots)
            .map(|(fc, &slot)| {
                let vocab_size = vocabs.fields()[slot].len();
                Ok(match &fc.encoder {
                    EncoderConfig::Categorical { max_norm } => FieldEncoder::Categorical(
                        CategoricalEmbeddingConfig::new(vocab_size, self.dim)
                            .with_max_norm(*max_norm)
                            .init(device),
                    ),
                    EncoderConfig::MultiHot { pooling } => FieldEncoder::MultiHot(
                        MultiHotEmbeddingConfig::new(vocab_size, self.dim)
                            .with_pooling(*pooling)
                            .init(device),
                    ),
                    EncoderConfig::AttentionText {
                        max_positions,
                        score,
                    } => FieldEncoder::AttentionText(
                        AttentionTextEncoderConfig::new(vocab_size, self.dim)
                            .with_max_positions(*max_positions)
                            .with_score(*score)
                            .init(device),
                    ),
                    EncoderConfig::Bert {
                        input_dim,
                        hidden,
                        model_dir,
                        fine_tune_layers,
                    } => {
                        let config = BertTextEncoderConfig::new(*input_dim, self.dim)
                            .with_hidden(hidden.clone());
                        FieldEncoder::Bert(match model_dir {
                            Some(dir) if *fine_tune_layers > 0 => {
                                // Loaded without autodiff; `init_fine_tune` forks the
                                // weights onto `device` as trainable leaves.
                                let bert =
                                    BertModel::from_dir(dir, &device.clone().without_autodiff())?;
                                config
                                    .init_fine_tune(
                                        bert.network().clone(),
                                        *fine_tune_layers,
                                        device,
                                    )
                                    .map_err(|e| match e {
                                        Error::Config { message, .. } => {
                                            config_error(format!("fields.{}", fc.field), message)
                                        }
                                        other => other,
                                    })?
                            }
                            _ => config.init(device)?,
                        })
                    }
                    EncoderConfig::Vectors { input_dim, hidden } => FieldEncoder::Vectors(
                        BertTextEncoderConfig::new(*input_dim, self.dim)
                            .with_hidden(hidden.clone())
                            .init(device)?,
                    ),
                })
            })
            .collect::<Result<_>>()?;
        Ok(ProductTower {
            encoders,
            fusion: self.fusion.init(self.fields.len(), self.dim, device)?,
            slots,
            names: self.fields.iter().map(|f| f.field.clone()).collect(),
        })
    }
}

/// The module of one field's encoder.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum FieldEncoder {
    /// See [`CategoricalEmbedding`].
    Categorical(CategoricalEmbedding),
    /// See [`MultiHotEmbedding`].
    MultiHot(MultiHotEmbedding),
    /// See [`AttentionTextEncoder`].
    AttentionText(AttentionTextEncoder),
    /// See [`BertTextEncoder`].
    Bert(BertTextEncoder),
    /// Dense layers over caller-supplied vectors ([`EncoderConfig::Vectors`]).
    Vectors(BertTextEncoder),
}

impl FieldEncoder {
    /// Encodes one field: `[batch, dim]`. The input must be of the encoder's kind.
    pub fn forward(&self, input: &FieldInput) -> Result<Tensor<2>> {
        match (self, input) {
            (Self::Categorical(e), FieldInput::Categorical(ids)) => Ok(e.forward(ids.clone())),
            (Self::MultiHot(e), FieldInput::Padded { ids, mask }) => {
                Ok(e.forward(ids.clone(), mask.clone()))
            }
            (Self::AttentionText(e), FieldInput::Padded { ids, mask }) => {
                Ok(e.forward(ids.clone(), mask.clone()))
            }
            (Self::Bert(e), FieldInput::Vectors(v)) if e.is_frozen() => e.forward(v.clone()),
            (Self::Vectors(e), FieldInput::Vectors(v)) => e.forward(v.clone()),
            (Self::Vectors(_), input) => Err(Error::Input(format!(
                "vectors encoder got {}: supply the field's per-product vectors (FieldVectors, \
                 given to the trainer and to catalog embedding)",
                input.kind_name()
            ))),
            (Self::Bert(e), FieldInput::Padded { ids, mask }) if !e.is_frozen() => {
                e.forward_tokens(ids.clone(), mask.clone())
            }
            (Self::Bert(e), input) if e.is_frozen() => Err(Error::Input(format!(
                "bert encoder got {}: replace the field's input with its BERT text vectors \
                 (ProductTextVectors::gather, TowerInput::with_field)",
                input.kind_name()
            ))),
            (Self::Bert(_), input) => Err(Error::Input(format!(
                "fine-tuned bert encoder got {}: replace the field's input with its BERT token \
                 ids (ProductTextTokens::gather, TowerInput::with_field)",
                input.kind_name()
            ))),
            (encoder, input) => Err(Error::Input(format!(
                "{} encoder got {}",
                encoder.name(),
                input.kind_name()
            ))),
        }
    }

    /// The number of ids the encoder's embedding table holds (`usize::MAX` for an encoder
    /// that reads no ids).
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Categorical(e) => e.vocab_size(),
            Self::MultiHot(e) => e.vocab_size(),
            Self::AttentionText(e) => e.vocab_size(),
            Self::Bert(_) | Self::Vectors(_) => usize::MAX,
        }
    }

    /// The encoder's kind name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Categorical(_) => "categorical",
            Self::MultiHot(_) => "multi_hot",
            Self::AttentionText(_) => "attention_text",
            Self::Bert(_) => "bert",
            Self::Vectors(_) => "vectors",
        }
    }
}

/// Turns a product's fields into one L2-normalised vector.
#[derive(Module, Debug)]
pub struct ProductTower {
    encoders: Vec<FieldEncoder>,
    fusion: Fusion,
    /// Schema index of each encoder's field.
    #[module(skip)]
    slots: Vec<usize>,
    /// Field name of each encoder.
    #[module(skip)]
    names: Vec<String>,
}

/// A tower's intermediate values for a batch.
#[derive(Debug, Clone)]
pub struct TowerParts {
    /// Per configured field, `[batch, dim]`.
    pub fields: Vec<Tensor<2>>,
    /// The fusion's values, including the output.
    pub fusion: FusionParts,
}

impl ProductTower {
    /// Encodes a batch: `[batch, out]`, L2-normalised.
    pub fn forward(&self, input: &TowerInput) -> Result<Tensor<2>> {
        Ok(self.forward_parts(input)?.fusion.output)
    }

    /// The per-field vectors of a batch (`[batch, dim]` each, in config order).
    pub fn encode_fields(&self, input: &TowerInput) -> Result<Vec<Tensor<2>>> {
        self.encoders
            .iter()
            .zip(&self.slots)
            .zip(&self.names)
            .map(|((enc, &slot), name)| {
                let field = input.fields().get(slot).ok_or_else(|| {
                    Error::Input(format!(
                        "field `{name}` is number {} in the schema, but the batch has {} fields",
                        slot + 1,
                        input.fields().len()
                    ))
                })?;
                if let Some(max) = input.max_id(slot)
                    && max as usize >= enc.vocab_size()
                {
                    return Err(Error::Input(format!(
                        "field `{name}`: id {max} is outside the model's vocabulary of {} ids \
                         (was the batch encoded with other vocabularies?)",
                        enc.vocab_size()
                    )));
                }
                enc.forward(field)
                    .map_err(|e| Error::Input(format!("field `{name}`: {e}")))
            })
            .collect()
    }

    /// Like [`forward`](Self::forward), keeping the per-field vectors and fusion weights.
    pub fn forward_parts(&self, input: &TowerInput) -> Result<TowerParts> {
        let fields = self.encode_fields(input)?;
        let fusion = self.fusion.forward_parts(fields.clone());
        Ok(TowerParts { fields, fusion })
    }

    /// Fuses given per-field vectors (e.g. with some replaced, for explanations).
    pub fn fuse(&self, fields: Vec<Tensor<2>>) -> Tensor<2> {
        self.fusion.forward(fields)
    }

    /// The configured field names, in order.
    pub fn field_names(&self) -> &[String] {
        &self.names
    }

    /// The fusion module.
    pub fn fusion(&self) -> &Fusion {
        &self.fusion
    }

    /// The field encoders, in config order.
    pub fn encoders(&self) -> &[FieldEncoder] {
        &self.encoders
    }
}
