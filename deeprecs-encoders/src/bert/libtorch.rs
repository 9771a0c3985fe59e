//! Frozen sentence embeddings from [rust-bert](https://docs.rs/rust-bert/0.23.0) over libtorch:
//! a second [`TextEmbedder`] for the same model folder, behind the cargo feature `rust-bert`
//! (off by default).
//!
//! [`RustBertEmbedder::from_dir`] reads the same sentence-transformers folder as
//! [`BertModel::from_dir`](super::BertModel::from_dir) — `config.json`, `model.safetensors`,
//! `modules.json`, `1_Pooling/config.json`, `sentence_bert_config.json`, plus
//! `tokenizer_config.json` and `vocab.txt` for rust-bert's own word-piece tokenizer — and gives
//! the same vectors (pooling and normalisation as `modules.json` says) to about 1e-7. It plugs
//! into everything that takes a [`TextEmbedder`]: [`TextEmbeddingCache`](super::TextEmbeddingCache),
//! [`ProductTextVectors`](super::ProductTextVectors) and so the frozen mode of
//! [`BertTextEncoder`](super::BertTextEncoder).
//!
//! ```no_run
//! use deeprecs_encoders::bert::TextEmbedder;
//! use deeprecs_encoders::bert::libtorch::RustBertEmbedder;
//! let model = RustBertEmbedder::from_dir("models/all-MiniLM-L6-v2")?;
//! let vectors = model.embed_texts(&["WHITE HANGING HEART T-LIGHT HOLDER", "RED MUG"], 32)?;
//! assert_eq!(vectors[0].len(), 384);
//! # Ok::<(), deeprecs_encoders::bert::BertError>(())
//! ```
//!
//! # Building it
//!
//! rust-bert 0.23 uses tch 0.17, which needs **libtorch 2.4.0** and, in rust-bert, always turns
//! on tch's `download-libtorch`: set `LIBTORCH` to a local libtorch so the build needs no
//! network. `.ci/libtorch.sh` fetches one from PyPI wheels once into a cache folder and sets
//! the variables:
//!
//! ```text
//! source .ci/libtorch.sh && deeprecs_libtorch_setup
//! #   LIBTORCH, LIBTORCH_CXX11_ABI=0                   (build time)
//! #   LD_LIBRARY_PATH, OMP_NUM_THREADS=1, OMP_WAIT_POLICY=PASSIVE   (run time)
//! cargo test -p deeprecs-encoders --features rust-bert --test rust_bert
//! ```
//!
//! **One more line in your workspace.** Burn 0.22's optional `burn-tch` backend links
//! libtorch through tch 0.22, and Cargo resolves optional dependencies into `Cargo.lock` even
//! when they are off; two crates that both declare `links = "tch"` cannot share a lock file.
//! The DeepRecs workspace therefore replaces `burn-tch` (which it never enables) by an empty
//! placeholder crate, `shims/burn-tch`; a workspace that embeds deeprecs-encoders with the
//! `rust-bert` feature needs the same entry in its root `Cargo.toml`:
//!
//! ```toml
//! [patch.crates-io]
//! burn-tch = { path = "path/to/deeprecs/shims/burn-tch" }
//! ```
//!
//! The consequence is that Burn's own `tch` backend cannot be used in such a workspace (the
//! placeholder fails to compile with a message saying so); Burn's flex, ndarray, wgpu and CUDA
//! backends are unaffected.
//!
//! # Threads and devices
//!
//! The embedder runs on the CPU. libtorch's intra-op thread count is process-wide: set it with
//! [`set_libtorch_threads`] (or `OMP_NUM_THREADS` before start-up).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rust_bert::pipelines::common::ModelType;
use rust_bert::pipelines::sentence_embeddings::layers::PoolingConfig;
use rust_bert::pipelines::sentence_embeddings::{
    SentenceEmbeddingsConfig, SentenceEmbeddingsModel, SentenceEmbeddingsModuleType,
    SentenceEmbeddingsModulesConfig, SentenceEmbeddingsSentenceBertConfig,
    SentenceEmbeddingsTokenizerConfig,
};
use rust_bert::resources::LocalResource;
use serde::de::DeserializeOwned;

use super::config::ModelFiles;
use super::{BertConfig, BertError, BertResult, PoolingSetup, TextEmbedder};

/// Sets libtorch's intra-op thread count for the whole process (like `OMP_NUM_THREADS`).
pub fn set_libtorch_threads(threads: usize) {
    tch::set_num_threads(i32::try_from(threads.max(1)).unwrap_or(i32::MAX));
}

/// libtorch's current intra-op thread count.
pub fn libtorch_threads() -> usize {
    usize::try_from(tch::get_num_threads()).unwrap_or(1)
}

/// A sentence-transformers BERT folder run by rust-bert on libtorch (CPU): frozen sentence
/// vectors for [`TextEmbeddingCache`](super::TextEmbeddingCache) and the frozen
/// [`BertTextEncoder`](super::BertTextEncoder). See the [module docs](self) for the build.
pub struct RustBertEmbedder {
    model: SentenceEmbeddingsModel,
    dir: PathBuf,
    dim: usize,
    setup: PoolingSetup,
    hash: u128,
    texts_encoded: AtomicU64,
}

impl std::fmt::Debug for RustBertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustBertEmbedder")
            .field("dir", &self.dir)
            .field("dim", &self.dim)
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

/// Parses a JSON file into one of rust-bert's configuration types, so that a bad file is a
/// typed error naming it (rust-bert itself panics on one).
fn parse_as<T: DeserializeOwned>(file: &Path) -> BertResult<T> {
    let text = std::fs::read_to_string(file).map_err(|source| BertError::Io {
        file: file.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| BertError::Parse {
        file: file.to_path_buf(),
        message: e.to_string(),
    })
}

fn need(dir: &Path, name: &str, what: &'static str) -> BertResult<PathBuf> {
    let file = dir.join(name);
    if file.is_file() {
        Ok(file)
    } else {
        Err(BertError::MissingFile { file, what })
    }
}

fn local(path: &Path) -> Box<LocalResource> {
    Box::new(LocalResource::from(path.to_path_buf()))
}

impl RustBertEmbedder {
    /// Loads a sentence-transformers BERT folder with rust-bert on the CPU.
    ///
    /// Every file rust-bert reads is checked first (present, parses, agrees with the
    /// architecture DeepRecs supports), so a bad folder is a [`BertError`] naming the file
    /// rather than a panic inside rust-bert.
    pub fn from_dir(dir: impl AsRef<Path>) -> BertResult<Self> {
        let dir = dir.as_ref();
        // The checks shared with the Burn model: folder, config (architecture), weights file,
        // pooling and normalisation, maximum length.
        let files = ModelFiles::in_dir(dir)?;
        let config = BertConfig::from_file(&files.config)?;
        let setup = PoolingSetup::from_dir(dir, &config)?;
        // What rust-bert reads on top.
        let modules_file = need(dir, "modules.json", "sentence-transformers module list")?;
        let modules: SentenceEmbeddingsModulesConfig = parse_as(&modules_file)?;
        // rust-bert wants the transformer first and the pooling second.
        let pooling_dir = match modules.0.as_slice() {
            [first, second, ..]
                if matches!(first.module_type, SentenceEmbeddingsModuleType::Transformer)
                    && matches!(second.module_type, SentenceEmbeddingsModuleType::Pooling) =>
            {
                second.path.clone()
            }
            _ => {
                return Err(BertError::Unsupported {
                    file: modules_file,
                    field: "type".into(),
                    message: "rust-bert needs a Transformer module first and a Pooling \
                              module second"
                        .into(),
                });
            }
        };
        let pooling_file = need(
            &dir.join(&pooling_dir),
            "config.json",
            "sentence-transformers pooling configuration",
        )?;
        let pooling: PoolingConfig = parse_as(&pooling_file)?;
        if usize::try_from(pooling.word_embedding_dimension).ok() != Some(config.hidden_size) {
            return Err(BertError::Unsupported {
                file: pooling_file,
                field: "word_embedding_dimension".into(),
                message: format!(
                    "is {} but config.json's hidden_size is {}",
                    pooling.word_embedding_dimension, config.hidden_size
                ),
            });
        }
        let st_file = need(
            dir,
            "sentence_bert_config.json",
            "sentence-transformers settings (max_seq_length, do_lower_case)",
        )?;
        let _: SentenceEmbeddingsSentenceBertConfig = parse_as(&st_file)?;
        let tok_config_file = need(dir, "tokenizer_config.json", "tokenizer settings")?;
        let _: SentenceEmbeddingsTokenizerConfig = parse_as(&tok_config_file)?;
        let vocab_file = need(dir, "vocab.txt", "word-piece vocabulary")?;
        let _: rust_bert::bert::BertConfig = parse_as(&files.config)?;

        let rb_config = SentenceEmbeddingsConfig {
            modules_config_resource: local(&modules_file),
            transformer_type: ModelType::Bert,
            transformer_config_resource: local(&files.config),
            transformer_weights_resource: local(&files.weights),
            pooling_config_resource: local(&pooling_file),
            dense_config_resource: None,
            dense_weights_resource: None,
            sentence_bert_config_resource: local(&st_file),
            tokenizer_config_resource: local(&tok_config_file),
            tokenizer_vocab_resource: local(&vocab_file),
            tokenizer_merges_resource: None,
            device: tch::Device::Cpu,
            kind: None,
        };
        let engine_err = |message: String| BertError::RustBert {
            dir: dir.to_path_buf(),
            message,
        };
        // The checks above cover the files rust-bert panics on; a panic that still escapes
        // (e.g. from libtorch) becomes an error rather than unwinding into the caller.
        let model = catch_unwind(AssertUnwindSafe(|| SentenceEmbeddingsModel::new(rb_config)))
            .map_err(|panic| engine_err(panic_message(&panic)))?
            .map_err(|e| match e {
                rust_bert::RustBertError::TchError(m) => BertError::Weights {
                    file: files.weights.clone(),
                    message: m,
                },
                rust_bert::RustBertError::TokenizerError(message) => BertError::Tokenizer {
                    file: vocab_file.clone(),
                    message,
                },
                other => engine_err(other.to_string()),
            })?;
        let dim = model
            .get_embedding_dim()
            .ok()
            .and_then(|d| usize::try_from(d).ok())
            .unwrap_or(config.hidden_size);
        // Hash the same inputs as the Burn model, under another tag: the two engines agree to
        // ~1e-7, not bit for bit, so their cached vectors are kept apart.
        let hash = super::model_hash(
            &files,
            &setup,
            &[&vocab_file, &tok_config_file, &st_file],
            "rust-bert",
        )?;
        Ok(Self {
            model,
            dir: dir.to_path_buf(),
            dim,
            setup,
            hash,
            texts_encoded: AtomicU64::new(0),
        })
    }

    /// rust-bert's token ids of each text (special tokens included, no padding), for checks
    /// against another tokenizer.
    pub fn token_ids<S: AsRef<str> + Send + Sync>(&self, texts: &[S]) -> BertResult<Vec<Vec<i64>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let out = self.model.tokenize(texts);
        let mut rows = Vec::with_capacity(texts.len());
        for (ids, mask) in out.tokens_ids.iter().zip(&out.tokens_masks) {
            let ids: Vec<i64> = Vec::try_from(ids).map_err(|e| self.tensor_err(e))?;
            let mask: Vec<i64> = Vec::try_from(mask).map_err(|e| self.tensor_err(e))?;
            rows.push(
                ids.into_iter()
                    .zip(mask)
                    .filter(|&(_, m)| m != 0)
                    .map(|(i, _)| i)
                    .collect(),
            );
        }
        Ok(rows)
    }

    fn tensor_err(&self, e: impl std::fmt::Display) -> BertError {
        BertError::RustBert {
            dir: self.dir.clone(),
            message: e.to_string(),
        }
    }

    /// Embeds texts, `batch_size` at a time. Like [`BertModel::embed`](super::BertModel::embed)
    /// the texts are sorted by length first, so batches carry little padding; the result is in
    /// input order.
    pub fn embed<S: AsRef<str> + Send + Sync>(
        &self,
        texts: &[S],
        batch_size: usize,
    ) -> BertResult<Vec<Vec<f32>>> {
        let order = super::length_order(texts, batch_size)?;
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(batch_size) {
            let chunk_texts: Vec<&str> = chunk.iter().map(|&i| texts[i].as_ref()).collect();
            let vectors = self
                .model
                .encode(&chunk_texts)
                .map_err(|e| self.tensor_err(e))?;
            self.texts_encoded
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            for (v, &i) in vectors.into_iter().zip(chunk) {
                out[i] = v;
            }
        }
        if let Some(bad) = out.iter().position(|v| v.len() != self.dim) {
            return Err(self.tensor_err(format!(
                "text {bad} got a vector of {} values, expected {}",
                out[bad].len(),
                self.dim
            )));
        }
        Ok(out)
    }

    /// Pooling, normalisation and maximum length, as read from the folder.
    pub fn pooling_setup(&self) -> &PoolingSetup {
        &self.setup
    }

    /// The model folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many texts this embedder has run through the network.
    pub fn texts_encoded(&self) -> u64 {
        self.texts_encoded.load(Ordering::Relaxed)
    }
}

impl TextEmbedder for RustBertEmbedder {
    fn embed_texts(&self, texts: &[&str], batch_size: usize) -> BertResult<Vec<Vec<f32>>> {
        self.embed(texts, batch_size)
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn model_hash(&self) -> u128 {
        self.hash
    }

    fn describe(&self) -> String {
        format!("rust-bert (libtorch) BERT from {}", self.dir.display())
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("rust-bert panicked: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("rust-bert panicked: {s}")
    } else {
        "rust-bert panicked".into()
    }
}
