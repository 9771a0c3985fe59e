//! Saving an [`EmbeddingStore`] into an [artifact](crate::artifact) and loading it back.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use ndarray::Array2;

use crate::artifact::{Artifact, ArtifactBuilder, names};
use crate::error::{Error, Result};
use crate::store::EmbeddingStore;

/// The version of the index sections' layout (`index_meta`, `ids`, `embeddings`).
pub const INDEX_FORMAT_VERSION: u32 = 1;

/// The largest deviation of a stored vector's norm from 1 that loading accepts.
const NORM_TOLERANCE: f64 = 1e-4;

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexMeta {
    index_format: u32,
    dim: usize,
    rows: usize,
    metric: String,
}

impl EmbeddingStore {
    /// Adds this store's sections (`index_meta`, `ids`, `embeddings`; see the
    /// [artifact docs](crate::artifact)) to `builder`. Only live rows are written, in row
    /// order; the embeddings are borrowed, not copied, when there is no removed row.
    pub fn add_to_artifact<'a>(
        &'a self,
        builder: ArtifactBuilder<'a>,
    ) -> Result<ArtifactBuilder<'a>> {
        let meta = IndexMeta {
            index_format: INDEX_FORMAT_VERSION,
            dim: self.dim(),
            rows: self.len(),
            metric: "cosine".to_owned(),
        };
        let meta = serde_json::to_vec(&meta).map_err(|e| Error::InvalidParameter {
            name: "index_meta",
            reason: e.to_string(),
        })?;
        let mut ids = Vec::with_capacity(self.len() * 12);
        for (_, id, _) in self.iter() {
            let len = u32::try_from(id.len()).map_err(|_| Error::InvalidParameter {
                name: "product id",
                reason: format!("an id of {} bytes is too long to store", id.len()),
            })?;
            ids.extend_from_slice(&len.to_le_bytes());
            ids.extend_from_slice(id.as_bytes());
        }
        let embeddings: Cow<'a, [f32]> = if self.tombstones() == 0 {
            Cow::Borrowed(self.as_slice())
        } else {
            let mut live = Vec::with_capacity(self.len() * self.dim());
            for (_, _, v) in self.iter() {
                live.extend(v.iter().copied());
            }
            Cow::Owned(live)
        };
        builder
            .section(names::INDEX_META, meta)?
            .section(names::IDS, ids)?
            .section_f32(names::EMBEDDINGS, embeddings)
    }

    /// Writes an artifact holding this store and the `extra` sections (e.g. the model's
    /// config and weights, see [`names`]) to `path`, atomically.
    ///
    /// Removed rows are not written: after loading, the live rows are numbered `0..len()`
    /// in their previous order (as after [`compact`](Self::compact)).
    pub fn save(&self, path: impl AsRef<Path>, extra: &[(&str, &[u8])]) -> Result<()> {
        self.add_to_artifact(ArtifactBuilder::new().sections(extra)?)?
            .write_atomic(path)
    }

    /// Reads and verifies the artifact at `path` and loads the store from it. The artifact
    /// is returned too, for its other sections.
    pub fn load(path: impl AsRef<Path>) -> Result<(Self, Artifact)> {
        let artifact = Artifact::read(path)?;
        let store = Self::from_artifact(&artifact)?;
        Ok((store, artifact))
    }

    /// Loads the store from a verified artifact, checking that its sections fit together:
    /// the index format version, ids count and embedding size, unique non-empty UTF-8 ids,
    /// finite unit-length vectors. Vectors are taken bit for bit (not re-normalised).
    pub fn from_artifact(artifact: &Artifact) -> Result<Self> {
        let meta_bytes = artifact.require(names::INDEX_META)?;
        let meta: IndexMeta = serde_json::from_slice(meta_bytes)
            .map_err(|e| artifact.mismatch(names::INDEX_META, format!("invalid JSON: {e}")))?;
        if meta.index_format != INDEX_FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                file: artifact.file().to_owned(),
                what: format!("section `{}`", names::INDEX_META),
                found: meta.index_format,
                supported: INDEX_FORMAT_VERSION,
            });
        }
        if meta.metric != "cosine" {
            return Err(artifact.mismatch(
                names::INDEX_META,
                format!("metric `{}` is not supported (only `cosine`)", meta.metric),
            ));
        }
        if meta.dim == 0 {
            return Err(artifact.mismatch(names::INDEX_META, "dimension 0"));
        }

        let emb = artifact.require(names::EMBEDDINGS)?;
        let expected = meta
            .rows
            .checked_mul(meta.dim)
            .and_then(|n| n.checked_mul(4));
        if expected != Some(emb.len()) {
            return Err(artifact.mismatch(
                names::EMBEDDINGS,
                format!(
                    "{} bytes, but index_meta says {} rows of dimension {} ({} bytes)",
                    emb.len(),
                    meta.rows,
                    meta.dim,
                    expected.map_or_else(|| "too many".to_owned(), |n| n.to_string()),
                ),
            ));
        }

        let ids = parse_ids(artifact, artifact.require(names::IDS)?, meta.rows)?;

        let values: Vec<f32> = emb
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        check_unit_rows(artifact, names::EMBEDDINGS, &values, meta.dim, &ids)?;
        let vectors = Array2::from_shape_vec((meta.rows, meta.dim), values)
            .map_err(|e| artifact.mismatch(names::EMBEDDINGS, e.to_string()))?;
        EmbeddingStore::from_normalized_parts(ids, vectors)
            .map_err(|detail| artifact.mismatch(names::IDS, detail))
    }
}

/// Checks that every `dim`-sized row of `values` (the vector of `ids[row]`) is a finite unit
/// vector, naming the section and the product otherwise.
pub(crate) fn check_unit_rows(
    artifact: &Artifact,
    section: &str,
    values: &[f32],
    dim: usize,
    ids: &[String],
) -> Result<()> {
    for (row, v) in values.chunks_exact(dim.max(1)).enumerate() {
        let norm_sq: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        if !norm_sq.is_finite() || (norm_sq.sqrt() - 1.0).abs() > NORM_TOLERANCE {
            return Err(artifact.mismatch(
                section,
                format!(
                    "row {row} (product `{}`) is not a finite unit vector (norm {})",
                    ids.get(row).map_or("?", String::as_str),
                    norm_sq.sqrt()
                ),
            ));
        }
    }
    Ok(())
}

/// Parses the `ids` section: exactly `rows` length-prefixed, non-empty, unique UTF-8 ids.
fn parse_ids(artifact: &Artifact, bytes: &[u8], rows: usize) -> Result<Vec<String>> {
    let bad = |detail: String| artifact.mismatch(names::IDS, detail);
    // Each id takes at least 5 bytes, which bounds the allocation by the section's size.
    let mut ids = Vec::with_capacity(rows.min(bytes.len() / 5));
    let mut seen = HashSet::with_capacity(ids.capacity());
    let mut pos = 0usize;
    for i in 0..rows {
        let Some(len_bytes) = bytes.get(pos..pos + 4) else {
            return Err(bad(format!("ends after {i} ids; index_meta says {rows}")));
        };
        let len =
            u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        pos += 4;
        let Some(raw) = pos.checked_add(len).and_then(|end| bytes.get(pos..end)) else {
            return Err(bad(format!(
                "id {i} of {len} bytes runs past the section's end"
            )));
        };
        pos += len;
        let id = std::str::from_utf8(raw).map_err(|_| bad(format!("id {i} is not valid UTF-8")))?;
        if id.is_empty() {
            return Err(bad(format!("id {i} is empty")));
        }
        if !seen.insert(id) {
            return Err(bad(format!("id `{id}` appears twice")));
        }
        ids.push(id.to_owned());
    }
    if pos != bytes.len() {
        return Err(bad(format!(
            "{} bytes follow the last of the {rows} ids",
            bytes.len() - pos
        )));
    }
    Ok(ids)
}
