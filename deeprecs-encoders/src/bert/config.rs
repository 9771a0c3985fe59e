//! Reading a Hugging Face BERT folder's configuration files: `config.json` (the architecture),
//! and, for sentence-transformers models, `modules.json`, `1_Pooling/config.json` and
//! `sentence_bert_config.json` (pooling, normalisation, maximum length).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{BertError, BertResult};

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BertPooling {
    /// The mean of the token vectors over the attention mask (sentence-transformers' default).
    #[default]
    Mean,
    /// The first token's (`[CLS]`) vector.
    Cls,
}

/// The architecture of a BERT model, read from a Hugging Face `config.json`. Only the fields the
/// model needs are kept; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Size of the word-piece vocabulary.
    pub vocab_size: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer (`hidden_size` must be a multiple).
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Number of learned positions.
    pub max_position_embeddings: usize,
    /// Number of token types (segments).
    #[serde(default = "default_type_vocab_size")]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Feed-forward activation; only `gelu` (exact, erf-based) is supported.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    /// The model type (`bert`).
    #[serde(default)]
    pub model_type: Option<String>,
    /// The Hugging Face architecture classes (`BertModel`, `BertForMaskedLM`, …).
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    /// Position embedding kind; only `absolute` is supported.
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn default_type_vocab_size() -> usize {
    2
}
fn default_layer_norm_eps() -> f64 {
    1e-12
}
fn default_hidden_act() -> String {
    "gelu".into()
}

/// Architectures whose weights are a plain BERT encoder under `embeddings.*` / `encoder.*`.
const SUPPORTED_ARCHITECTURES: &[&str] = &[
    "BertModel",
    "BertForMaskedLM",
    "BertForPreTraining",
    "BertForSequenceClassification",
];

impl BertConfig {
    /// Parses and checks a `config.json`; `file` names it in errors.
    pub fn from_json_str(text: &str, file: &Path) -> BertResult<Self> {
        let config: Self = serde_json::from_str(text).map_err(|e| BertError::Parse {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
        config.check(file)?;
        Ok(config)
    }

    /// Reads and checks a `config.json`.
    pub fn from_file(file: &Path) -> BertResult<Self> {
        let text = read_to_string(file)?;
        Self::from_json_str(&text, file)
    }

    /// Checks that the architecture is one this implementation runs exactly.
    pub fn check(&self, file: &Path) -> BertResult<()> {
        let unsupported = |field: &str, message: String| BertError::Unsupported {
            file: file.to_path_buf(),
            field: field.into(),
            message,
        };
        if let Some(t) = &self.model_type
            && t != "bert"
        {
            return Err(unsupported(
                "model_type",
                format!("`{t}` is not supported (only `bert`)"),
            ));
        }
        if let Some(archs) = &self.architectures
            && let Some(bad) = archs
                .iter()
                .find(|a| !SUPPORTED_ARCHITECTURES.contains(&a.as_str()))
        {
            return Err(unsupported(
                "architectures",
                format!(
                    "`{bad}` is not supported (supported: {})",
                    SUPPORTED_ARCHITECTURES.join(", ")
                ),
            ));
        }
        if self.hidden_act != "gelu" {
            return Err(unsupported(
                "hidden_act",
                format!("`{}` is not supported (only `gelu`)", self.hidden_act),
            ));
        }
        if let Some(p) = &self.position_embedding_type
            && p != "absolute"
        {
            return Err(unsupported(
                "position_embedding_type",
                format!("`{p}` is not supported (only `absolute`)"),
            ));
        }
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ] {
            if v == 0 {
                return Err(unsupported(name, "must be positive".into()));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(unsupported(
                "num_attention_heads",
                format!(
                    "hidden_size {} is not a multiple of {} heads",
                    self.hidden_size, self.num_attention_heads
                ),
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(unsupported("layer_norm_eps", "must be positive".into()));
        }
        Ok(())
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// What a model folder says about turning token vectors into a text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolingSetup {
    /// The pooling.
    pub pooling: BertPooling,
    /// Whether the pooled vector is L2-normalised.
    pub normalize: bool,
    /// Maximum number of tokens per text (longer texts are truncated).
    pub max_length: usize,
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct PoolingFile {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

fn read_to_string(file: &Path) -> BertResult<String> {
    std::fs::read_to_string(file).map_err(|source| BertError::Io {
        file: file.to_path_buf(),
        source,
    })
}

fn parse<T: for<'de> Deserialize<'de>>(file: &Path) -> BertResult<T> {
    let text = read_to_string(file)?;
    serde_json::from_str(&text).map_err(|e| BertError::Parse {
        file: file.to_path_buf(),
        message: e.to_string(),
    })
}

impl PoolingSetup {
    /// Reads the sentence-transformers files of `dir` when present. Without `modules.json` the
    /// folder is a plain BERT: mean pooling, no normalisation. The maximum length is
    /// `sentence_bert_config.json`'s `max_seq_length`, else the model's number of positions.
    pub fn from_dir(dir: &Path, config: &BertConfig) -> BertResult<Self> {
        let mut setup = Self {
            pooling: BertPooling::Mean,
            normalize: false,
            max_length: config.max_position_embeddings,
        };
        let modules_file = dir.join("modules.json");
        if modules_file.is_file() {
            let modules: Vec<ModuleEntry> = parse(&modules_file)?;
            for m in &modules {
                let kind = m.kind.rsplit('.').next().unwrap_or(&m.kind);
                match kind {
                    "Transformer" => {}
                    "Normalize" => setup.normalize = true,
                    "Pooling" => {
                        let file = dir.join(&m.path).join("config.json");
                        let p: PoolingFile = parse(&file)?;
                        setup.pooling = match (
                            p.pooling_mode_mean_tokens,
                            p.pooling_mode_cls_token,
                            p.pooling_mode_max_tokens || p.pooling_mode_mean_sqrt_len_tokens,
                        ) {
                            (true, false, false) => BertPooling::Mean,
                            (false, true, false) => BertPooling::Cls,
                            _ => {
                                return Err(BertError::Unsupported {
                                    file,
                                    field: "pooling_mode_*".into(),
                                    message: "exactly one of mean or cls pooling must be on \
                                              (max, mean-sqrt-len and combinations are not \
                                              supported)"
                                        .into(),
                                });
                            }
                        };
                    }
                    other => {
                        return Err(BertError::Unsupported {
                            file: modules_file.clone(),
                            field: "type".into(),
                            message: format!(
                                "module `{other}` is not supported (Transformer, Pooling and \
                                 Normalize are)"
                            ),
                        });
                    }
                }
            }
        }
        let st_file = dir.join("sentence_bert_config.json");
        if st_file.is_file() {
            let st: SentenceBertConfig = parse(&st_file)?;
            if let Some(n) = st.max_seq_length {
                setup.max_length = n;
            }
        }
        if setup.max_length == 0 || setup.max_length > config.max_position_embeddings {
            return Err(BertError::Unsupported {
                file: st_file,
                field: "max_seq_length".into(),
                message: format!(
                    "{} is outside 1..={} (the model's positions)",
                    setup.max_length, config.max_position_embeddings
                ),
            });
        }
        Ok(setup)
    }
}

/// The files of a model folder.
#[derive(Debug, Clone)]
pub(crate) struct ModelFiles {
    pub config: PathBuf,
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
}

impl ModelFiles {
    pub(crate) fn in_dir(dir: &Path) -> BertResult<Self> {
        if !dir.is_dir() {
            return Err(BertError::MissingFile {
                file: dir.to_path_buf(),
                what: "model folder",
            });
        }
        let need = |name: &str, what: &'static str| {
            let file = dir.join(name);
            if file.is_file() {
                Ok(file)
            } else {
                Err(BertError::MissingFile { file, what })
            }
        };
        Ok(Self {
            config: need("config.json", "model configuration")?,
            weights: need("model.safetensors", "model weights")?,
            tokenizer: need("tokenizer.json", "tokenizer")?,
        })
    }
}
