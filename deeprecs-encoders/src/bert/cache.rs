//! [`TextEmbeddingCache`]: frozen BERT text vectors computed once, kept in memory and
//! (optionally) on disk, keyed by the model's hash and the text.
//!
//! On disk a cache is one file per model, `bert-<model hash>.vectors` in the cache folder, so a
//! changed model (weights, config, tokenizer or pooling) never reads another model's vectors.
//! Inside, each record is keyed by a 128-bit hash of the text, so a changed text is a miss.
//! New vectors are appended; a truncated last record (an interrupted write) is ignored.
//!
//! File layout (little-endian): the magic `DRBERTV1`, the model hash (16 bytes), the vector
//! width (u32); then records of a text hash (16 bytes) and `width` f32 values.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::TextEmbedder;
use super::error::{BertError, BertResult};

const MAGIC: &[u8; 8] = b"DRBERTV1";
const HEADER: usize = 8 + 16 + 4;

/// The cache key of a text.
fn text_key(text: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(text.as_bytes())
}

/// Frozen text vectors of one model, in memory and optionally in a file.
#[derive(Debug)]
pub struct TextEmbeddingCache {
    model_hash: u128,
    dim: usize,
    vectors: HashMap<u128, Vec<f32>>,
    file: Option<PathBuf>,
    hits: u64,
    misses: u64,
}

impl TextEmbeddingCache {
    /// An in-memory cache for `model`.
    pub fn in_memory(model: &impl TextEmbedder) -> Self {
        Self {
            model_hash: model.model_hash(),
            dim: model.dim(),
            vectors: HashMap::new(),
            file: None,
            hits: 0,
            misses: 0,
        }
    }

    /// The cache file of `model` in `dir`.
    pub fn file_for(dir: &Path, model: &impl TextEmbedder) -> PathBuf {
        dir.join(format!("bert-{:032x}.vectors", model.model_hash()))
    }

    /// A cache for `model` backed by a file in `dir` (created with the folder when missing;
    /// existing vectors are read).
    pub fn open(dir: impl AsRef<Path>, model: &impl TextEmbedder) -> BertResult<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| BertError::Io {
            file: dir.to_path_buf(),
            source,
        })?;
        let file = Self::file_for(dir, model);
        let mut cache = Self::in_memory(model);
        let io = |source| BertError::Io {
            file: file.clone(),
            source,
        };
        if file.is_file() {
            let mut bytes = Vec::new();
            File::open(&file)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(io)?;
            cache.read_records(&file, &bytes)?;
        } else {
            let mut header = Vec::with_capacity(HEADER);
            header.extend_from_slice(MAGIC);
            header.extend_from_slice(&cache.model_hash.to_le_bytes());
            header.extend_from_slice(&(cache.dim as u32).to_le_bytes());
            std::fs::write(&file, header).map_err(io)?;
        }
        cache.file = Some(file);
        Ok(cache)
    }

    fn read_records(&mut self, file: &Path, bytes: &[u8]) -> BertResult<()> {
        let bad = |message: String| BertError::Parse {
            file: file.to_path_buf(),
            message,
        };
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(bad("not a DeepRecs BERT vector cache".into()));
        }
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&bytes[8..24]);
        if u128::from_le_bytes(hash) != self.model_hash {
            return Err(bad("written by another model (hash differs)".into()));
        }
        let mut dim = [0u8; 4];
        dim.copy_from_slice(&bytes[24..28]);
        if u32::from_le_bytes(dim) as usize != self.dim {
            return Err(bad(format!(
                "vectors of width {}, the model's are {}",
                u32::from_le_bytes(dim),
                self.dim
            )));
        }
        let record = 16 + 4 * self.dim;
        for rec in bytes[HEADER..].chunks_exact(record) {
            let mut key = [0u8; 16];
            key.copy_from_slice(&rec[..16]);
            let values = rec[16..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            self.vectors.insert(u128::from_le_bytes(key), values);
        }
        Ok(())
    }

    /// The vectors of `texts` (in order), running `model` only on texts not yet cached,
    /// `batch_size` at a time. The model must be the one the cache was made for.
    pub fn embed<S: AsRef<str>>(
        &mut self,
        model: &impl TextEmbedder,
        texts: &[S],
        batch_size: usize,
    ) -> BertResult<Vec<Vec<f32>>> {
        if model.model_hash() != self.model_hash {
            return Err(BertError::Argument {
                name: "model",
                message: format!(
                    "the cache holds vectors of model {:032x}, not of {:032x} ({})",
                    self.model_hash,
                    model.model_hash(),
                    model.describe()
                ),
            });
        }
        let keys: Vec<u128> = texts.iter().map(|t| text_key(t.as_ref())).collect();
        let mut missing: Vec<usize> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            if self.vectors.contains_key(k) || !seen.insert(*k) {
                // Cached, or a repeat of a text this call already computes.
                self.hits += 1;
            } else {
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            self.misses += missing.len() as u64;
            let new_texts: Vec<&str> = missing.iter().map(|&i| texts[i].as_ref()).collect();
            let vectors = model.embed_texts(&new_texts, batch_size)?;
            self.append(missing.iter().map(|&i| keys[i]).zip(vectors))?;
        }
        keys.iter()
            .map(|k| {
                self.vectors
                    .get(k)
                    .cloned()
                    .ok_or_else(|| BertError::Argument {
                        name: "texts",
                        message: "a text's vector was not computed".into(),
                    })
            })
            .collect()
    }

    fn append(&mut self, new: impl Iterator<Item = (u128, Vec<f32>)>) -> BertResult<()> {
        let new: Vec<(u128, Vec<f32>)> = new.collect();
        if let Some(file) = &self.file {
            let io = |source| BertError::Io {
                file: file.clone(),
                source,
            };
            let f = OpenOptions::new().append(true).open(file).map_err(io)?;
            let mut w = BufWriter::new(f);
            for (key, values) in &new {
                w.write_all(&key.to_le_bytes()).map_err(io)?;
                for v in values {
                    w.write_all(&v.to_le_bytes()).map_err(io)?;
                }
            }
            w.flush().map_err(io)?;
        }
        self.vectors.extend(new);
        Ok(())
    }

    /// Number of cached texts.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// Look-ups answered from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Distinct texts that had to be run through the model so far.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// The backing file, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The vector width.
    pub fn dim(&self) -> usize {
        self.dim
    }
}
