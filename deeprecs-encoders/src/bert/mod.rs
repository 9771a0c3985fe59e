//! Pre-trained BERT in Burn: a Hugging Face model folder (`config.json`, `model.safetensors`,
//! `tokenizer.json`, and for sentence-transformers models `modules.json` /
//! `1_Pooling/config.json`) loaded with no network, run on any backend.
//!
//! * [`BertModel::from_dir`] reads the folder: the architecture ([`BertConfig`], unsupported
//!   architectures or activations are errors), the weights through Burn's `SafetensorsStore`
//!   with the PyTorch adapter (a missing tensor or a shape that contradicts the config is a
//!   [`BertError`] naming the file and tensor), the tokenizer (batch-longest padding,
//!   truncation at the model's maximum length: 256 for all-MiniLM-L6-v2), and the pooling
//!   ([`BertPooling::Mean`] over the attention mask, or [`BertPooling::Cls`]) with optional L2
//!   normalisation as the folder's `modules.json` says (sentence-transformers' default: mean +
//!   normalise).
//! * [`BertModel::embed`] turns texts into vectors, batching texts of similar length together.
//!   [`TextEmbedder`] is the trait over such sources of frozen sentence vectors.
//! * [`BertTextEncoder`] is the tower's "BERT + dense layers" field encoder, fed by frozen text
//!   vectors from a [`TextEmbeddingCache`]; see [`text_encoder`] for the design.
//!
//! ```no_run
//! use burn::tensor::Device;
//! use deeprecs_encoders::bert::BertModel;
//! let model = BertModel::from_dir("models/all-MiniLM-L6-v2", &Device::flex())?;
//! let vectors = model.embed(&["WHITE HANGING HEART T-LIGHT HOLDER", "RED MUG"], 32)?;
//! assert_eq!(vectors[0].len(), 384);
//! # Ok::<(), deeprecs_encoders::bert::BertError>(())
//! ```
//!
//! The network matches sentence-transformers (all-MiniLM-L6-v2) to about 1e-7 on flex; see the
//! `bert_reference` test.

pub mod cache;
pub mod config;
pub mod error;
mod gelu;
#[cfg(feature = "rust-bert")]
pub mod libtorch;
pub mod model;
pub mod text_encoder;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::module::Module;
use burn::store::{ApplyError, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rayon::prelude::*;
use tokenizers::{PaddingStrategy, Tokenizer, TruncationParams};

pub use cache::TextEmbeddingCache;
pub use config::{BertConfig, BertPooling, PoolingSetup};
pub use error::{BertError, BertResult};
pub use model::BertNetwork;
pub use text_encoder::{
    BertTextEncoder, BertTextEncoderConfig, ProductTextTokens, ProductTextVectors,
};

use config::ModelFiles;

/// Tensors of the weight files that the network does not use, and that are expected: the
/// position-id buffer and the (next-sentence) pooler, which sentence embeddings do not use.
const EXPECTED_UNUSED: &[&str] = &["embeddings.position_ids", "pooler."];

/// Token ids of a batch of texts, padded to the longest text of the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    /// `[rows, width]` word-piece ids, row-major, padded with the tokenizer's pad id.
    pub ids: Vec<u32>,
    /// `[rows, width]`: 1.0 for real tokens, 0.0 for padding.
    pub mask: Vec<f32>,
    /// Real tokens per row (special tokens included).
    pub lengths: Vec<usize>,
    /// The padded width.
    pub width: usize,
}

impl TokenBatch {
    /// Number of texts.
    pub fn rows(&self) -> usize {
        self.lengths.len()
    }

    /// The ids of one text without padding.
    pub fn row(&self, r: usize) -> &[u32] {
        &self.ids[r * self.width..r * self.width + self.lengths[r]]
    }

    /// The ids and the mask as tensors on `device`.
    pub fn to_tensors(&self, device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
        let shape = [self.rows(), self.width];
        let ids: Vec<i64> = self.ids.iter().map(|&i| i64::from(i)).collect();
        (
            Tensor::from_data(TensorData::new(ids, shape), device),
            Tensor::from_data(TensorData::new(self.mask.clone(), shape), device),
        )
    }
}

/// A source of frozen sentence embeddings: what [`TextEmbeddingCache`] and
/// [`ProductTextVectors`] need. [`BertModel`] implements it; another implementation (e.g.
/// rust-bert over libtorch with the same model folder) can feed the same cache and encoder.
pub trait TextEmbedder {
    /// The vectors of `texts`, in order, computed `batch_size` texts at a time.
    fn embed_texts(&self, texts: &[&str], batch_size: usize) -> BertResult<Vec<Vec<f32>>>;
    /// The vector width.
    fn dim(&self) -> usize;
    /// A hash of everything that determines the vectors (weights, tokenizer, pooling): equal
    /// hashes must give equal vectors. Keys the cache.
    fn model_hash(&self) -> u128;
    /// A short description for error messages (e.g. the model folder).
    fn describe(&self) -> String;
}

impl TextEmbedder for BertModel {
    fn embed_texts(&self, texts: &[&str], batch_size: usize) -> BertResult<Vec<Vec<f32>>> {
        self.embed(texts, batch_size)
    }

    fn dim(&self) -> usize {
        self.config.hidden_size
    }

    fn model_hash(&self) -> u128 {
        self.hash
    }

    fn describe(&self) -> String {
        format!("Burn BERT from {}", self.dir.display())
    }
}

/// A loaded BERT model folder: the network on a device, its tokenizer and its pooling.
#[derive(Debug, Clone)]
pub struct BertModel {
    network: BertNetwork,
    tokenizer: Tokenizer,
    config: BertConfig,
    setup: PoolingSetup,
    dir: PathBuf,
    tokenizer_file: PathBuf,
    hash: u128,
    unused: Vec<String>,
    device: Device,
    texts_encoded: Arc<AtomicU64>,
}

fn store_error(file: &Path, e: impl std::fmt::Display) -> BertError {
    BertError::Weights {
        file: file.to_path_buf(),
        message: e.to_string(),
    }
}

fn apply_error(file: &Path, e: &ApplyError) -> BertError {
    let file = file.to_path_buf();
    match e {
        ApplyError::ShapeMismatch {
            path,
            expected,
            found,
        } => BertError::ShapeMismatch {
            file,
            tensor: path.clone(),
            expected: expected.to_vec(),
            found: found.to_vec(),
        },
        ApplyError::DTypeMismatch {
            path,
            expected,
            found,
        } => BertError::Tensor {
            file,
            tensor: path.clone(),
            message: format!("dtype {found:?}, expected {expected:?}"),
        },
        ApplyError::AdapterError { path, message } | ApplyError::LoadError { path, message } => {
            BertError::Tensor {
                file,
                tensor: path.clone(),
                message: message.clone(),
            }
        }
    }
}

/// The Hugging Face name of a network path (the inverse of the load-time renames), for errors.
fn hf_name(path: &str) -> String {
    path.replace("layer_norm.gamma", "LayerNorm.weight")
        .replace("layer_norm.beta", "LayerNorm.bias")
        .replace("self_attn", "self")
}

/// The positions of `texts` ordered by length, after checking `batch_size`: the embedders run
/// `order.chunks(batch_size)` so that batches carry little padding, and write each vector back
/// to its text's position. Characters are the length proxy; token counts follow closely.
fn length_order<S: AsRef<str>>(texts: &[S], batch_size: usize) -> BertResult<Vec<usize>> {
    if batch_size == 0 {
        return Err(BertError::Argument {
            name: "batch_size",
            message: "must be positive".into(),
        });
    }
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].as_ref().len());
    Ok(order)
}

/// Hashes the files that determine the model's output (weights, config, tokenizer) plus the
/// pooling, for cache keys. Another engine passes the extra files it reads and a tag of its
/// own (empty for the Burn model, whose keys predate the tag).
fn model_hash(
    files: &ModelFiles,
    setup: &PoolingSetup,
    extra_files: &[&Path],
    engine: &str,
) -> BertResult<u128> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let main = [
        files.config.as_path(),
        files.weights.as_path(),
        files.tokenizer.as_path(),
    ];
    for file in main.into_iter().chain(extra_files.iter().copied()) {
        let bytes = std::fs::read(file).map_err(|source| BertError::Io {
            file: file.to_path_buf(),
            source,
        })?;
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    hasher.update(format!("{:?}", setup).as_bytes());
    if !engine.is_empty() {
        hasher.update(engine.as_bytes());
    }
    Ok(hasher.digest128())
}

impl BertModel {
    /// Loads a model folder onto `device`. Needs `config.json`, `model.safetensors` and
    /// `tokenizer.json`; reads `modules.json`, `1_Pooling/config.json` and
    /// `sentence_bert_config.json` when present.
    pub fn from_dir(dir: impl AsRef<Path>, device: &Device) -> BertResult<Self> {
        let dir = dir.as_ref();
        let files = ModelFiles::in_dir(dir)?;
        let config = BertConfig::from_file(&files.config)?;
        let setup = PoolingSetup::from_dir(dir, &config)?;
        let network = Self::load_network(&files.weights, &config, &setup, device)?;
        let (network, unused) = network;
        let tokenizer = Self::load_tokenizer(&files.tokenizer, &config, setup.max_length)?;
        let hash = model_hash(&files, &setup, &[], "")?;
        Ok(Self {
            network,
            tokenizer,
            config,
            setup,
            dir: dir.to_path_buf(),
            tokenizer_file: files.tokenizer,
            hash,
            unused,
            device: device.clone(),
            texts_encoded: Arc::new(AtomicU64::new(0)),
        })
    }

    fn load_network(
        file: &Path,
        config: &BertConfig,
        setup: &PoolingSetup,
        device: &Device,
    ) -> BertResult<(BertNetwork, Vec<String>)> {
        let mut network = BertNetwork::init(config, setup.pooling, setup.normalize, device);
        // Missing tensors and errors are checked below, with typed errors, rather than by the
        // store's own validation (which reports them as one string).
        let mut store = SafetensorsStore::from_file(file)
            .with_from_adapter(PyTorchToBurnAdapter)
            .with_key_remapping(r"\.LayerNorm\.", ".layer_norm.")
            .with_key_remapping(r"\.attention\.self\.", ".attention.self_attn.")
            .allow_partial(true)
            .validate(false);
        let result = network
            .load_from(&mut store)
            .map_err(|e| store_error(file, e))?;
        if let Some(e) = result.errors.first() {
            let mut err = apply_error(file, e);
            if let BertError::ShapeMismatch { tensor, .. } | BertError::Tensor { tensor, .. } =
                &mut err
            {
                *tensor = hf_name(tensor);
            }
            return Err(err);
        }
        if let Some((path, _)) = result.missing.first() {
            return Err(BertError::MissingTensor {
                file: file.to_path_buf(),
                tensor: hf_name(path),
            });
        }
        let unused: Vec<String> = result.unused.clone();
        if let Some(extra) = unused
            .iter()
            .find(|u| !EXPECTED_UNUSED.iter().any(|e| u.starts_with(e)))
        {
            return Err(BertError::UnexpectedTensor {
                file: file.to_path_buf(),
                tensor: hf_name(extra),
            });
        }
        Ok((network, unused))
    }

    fn load_tokenizer(
        file: &Path,
        config: &BertConfig,
        max_length: usize,
    ) -> BertResult<Tokenizer> {
        let tok_err = |message: String| BertError::Tokenizer {
            file: file.to_path_buf(),
            message,
        };
        let mut tokenizer = Tokenizer::from_file(file).map_err(|e| tok_err(e.to_string()))?;
        let mut padding = tokenizer.get_padding().cloned().unwrap_or_default();
        padding.strategy = PaddingStrategy::BatchLongest;
        padding.pad_to_multiple_of = None;
        tokenizer.with_padding(Some(padding));
        let truncation = TruncationParams {
            max_length,
            ..tokenizer.get_truncation().cloned().unwrap_or_default()
        };
        tokenizer
            .with_truncation(Some(truncation))
            .map_err(|e| tok_err(e.to_string()))?;
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > config.vocab_size {
            return Err(tok_err(format!(
                "the tokenizer has {vocab} tokens but config.json's vocab_size is {}",
                config.vocab_size
            )));
        }
        Ok(tokenizer)
    }

    /// Tokenises texts: batch-longest padding, truncation at [`max_length`](Self::max_length).
    pub fn tokenize<S: AsRef<str>>(&self, texts: &[S]) -> BertResult<TokenBatch> {
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings =
            self.tokenizer
                .encode_batch(inputs, true)
                .map_err(|e| BertError::Tokenizer {
                    file: self.tokenizer_file.clone(),
                    message: e.to_string(),
                })?;
        let width = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut batch = TokenBatch {
            ids: Vec::with_capacity(width * encodings.len()),
            mask: Vec::with_capacity(width * encodings.len()),
            lengths: Vec::with_capacity(encodings.len()),
            width,
        };
        let pad = self.tokenizer.get_padding().map_or(0, |p| p.pad_id);
        for e in &encodings {
            let ids = e.get_ids();
            let mask = e.get_attention_mask();
            batch.lengths.push(mask.iter().filter(|&&m| m != 0).count());
            for i in 0..width {
                batch.ids.push(ids.get(i).copied().unwrap_or(pad));
                batch.mask.push(if mask.get(i).copied().unwrap_or(0) != 0 {
                    1.0
                } else {
                    0.0
                });
            }
        }
        Ok(batch)
    }

    /// Text vectors of a tokenised batch on the model's device: `[rows, hidden]`.
    pub fn forward(&self, batch: &TokenBatch) -> Tensor<2> {
        let (ids, mask) = batch.to_tensors(&self.device);
        self.texts_encoded
            .fetch_add(batch.rows() as u64, Ordering::Relaxed);
        self.network.forward(ids, mask)
    }

    /// Embeds texts, `batch_size` at a time (texts are sorted by length first, so batches carry
    /// little padding; the result is in input order). Each vector has [`dim`](Self::dim)
    /// values, pooled and normalised as the model folder says. On a CPU device (flex, ndarray)
    /// with more than one rayon thread, the batches (the same ones) run in parallel.
    pub fn embed<S: AsRef<str>>(
        &self,
        texts: &[S],
        batch_size: usize,
    ) -> BertResult<Vec<Vec<f32>>> {
        let order = length_order(texts, batch_size)?;
        let mut out = vec![Vec::new(); texts.len()];
        if texts.is_empty() {
            return Ok(out);
        }
        let dim = self.dim();
        let texts: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let run = |chunk: &[usize]| -> BertResult<Vec<f32>> {
            let chunk_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let tokens = self.tokenize(&chunk_texts)?;
            self.forward(&tokens)
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| BertError::Argument {
                    name: "device",
                    message: format!("cannot read embeddings back from the device: {e:?}"),
                })
        };
        let chunks: Vec<&[usize]> = order.chunks(batch_size).collect();
        // On the CPU, batches are independent work for rayon's threads (one batch's small
        // matrices and element-wise ops leave a second core idle); a GPU gets them in turn.
        let results: Vec<BertResult<Vec<f32>>> = if self.parallel_batches() {
            chunks.par_iter().map(|chunk| run(chunk)).collect()
        } else {
            chunks.iter().map(|chunk| run(chunk)).collect()
        };
        for (values, chunk) in results.into_iter().zip(chunks) {
            for (row, &i) in values?.chunks(dim).zip(chunk) {
                out[i] = row.to_vec();
            }
        }
        Ok(out)
    }

    /// Whether [`embed`](Self::embed) runs batches on several threads: on a CPU device, when
    /// rayon has more than one thread (`RAYON_NUM_THREADS`).
    fn parallel_batches(&self) -> bool {
        let cpu = {
            #[cfg(feature = "flex")]
            let flex = self.device == Device::flex();
            #[cfg(not(feature = "flex"))]
            let flex = false;
            #[cfg(feature = "ndarray")]
            let ndarray = self.device == Device::ndarray();
            #[cfg(not(feature = "ndarray"))]
            let ndarray = false;
            flex || ndarray
        };
        cpu && rayon::current_num_threads() > 1
    }

    /// The width of the text vectors (`hidden_size`).
    pub fn dim(&self) -> usize {
        self.config.hidden_size
    }

    /// The maximum number of tokens per text (longer texts are truncated).
    pub fn max_length(&self) -> usize {
        self.setup.max_length
    }

    /// The architecture.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Pooling, normalisation and maximum length.
    pub fn pooling_setup(&self) -> &PoolingSetup {
        &self.setup
    }

    /// The network (e.g. to place it inside a trainable module).
    pub fn network(&self) -> &BertNetwork {
        &self.network
    }

    /// The tokenizer, configured for batch-longest padding and truncation.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The model folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The device the network lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A 128-bit hash of the weights, config, tokenizer and pooling: equal hashes give equal
    /// vectors. Keys the [`TextEmbeddingCache`].
    pub fn model_hash(&self) -> u128 {
        self.hash
    }

    /// Tensors in the weights file that the network does not use (the position-id buffer and
    /// the pooler for a sentence-transformers folder).
    pub fn unused_tensors(&self) -> &[String] {
        &self.unused
    }

    /// How many texts this model (and its clones) has run through the network: lets tests and
    /// callers check that cached embeddings avoid re-running BERT.
    pub fn texts_encoded(&self) -> u64 {
        self.texts_encoded.load(Ordering::Relaxed)
    }

    /// The network moved to another device.
    pub fn to_device(mut self, device: &Device) -> Self {
        self.network = self.network.to_device(device);
        self.device = device.clone();
        self
    }
}
