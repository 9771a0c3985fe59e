//! Turning CPU-side [`EncodedBatch`]es into tensors on a device.

use burn::tensor::{Device, Int, Tensor, TensorData};
use deeprecs_core::{EncodedBatch, FieldBatch, PaddedBatch};

/// The tensors of one field for a batch of products.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // tensors are handles; the enum is built once per batch
pub enum FieldInput {
    /// One id per product: `[batch]`.
    Categorical(Tensor<1, Int>),
    /// Variable-length ids padded to `width`: `ids [batch, width]`, `mask [batch, width]`
    /// (1.0 real, 0.0 padding). Multi-valued fields and word-tokenised text.
    Padded {
        /// The ids.
        ids: Tensor<2, Int>,
        /// The mask.
        mask: Tensor<2>,
    },
    /// One precomputed vector per product: `[batch, width]` (e.g. frozen BERT text vectors,
    /// see [`ProductTextVectors`](crate::bert::text_encoder::ProductTextVectors)).
    Vectors(Tensor<2>),
}

impl FieldInput {
    /// A short name of the input's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Categorical(_) => "categorical ids",
            Self::Padded { .. } => "padded ids with a mask",
            Self::Vectors(_) => "precomputed vectors",
        }
    }
}

/// All fields of a batch of products, in schema order, on one device.
#[derive(Debug, Clone)]
pub struct TowerInput {
    batch_size: usize,
    fields: Vec<FieldInput>,
    /// The largest id of each field (`None` when unknown: built from tensors), checked against
    /// the model's vocabulary sizes so that a batch of another schema is an error, not an
    /// out-of-bounds panic.
    max_ids: Vec<Option<u32>>,
}

fn ids_tensor<const D: usize>(ids: &[u32], shape: [usize; D], device: &Device) -> Tensor<D, Int> {
    let data: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn padded(p: &PaddedBatch, device: &Device) -> FieldInput {
    let shape = [p.rows(), p.width];
    FieldInput::Padded {
        ids: ids_tensor(&p.ids, shape, device),
        mask: Tensor::from_data(TensorData::new(p.mask.clone(), shape), device),
    }
}

impl TowerInput {
    /// Uploads a batch to `device`.
    pub fn new(batch: &EncodedBatch, device: &Device) -> Self {
        let fields = batch
            .fields
            .iter()
            .map(|f| match f {
                FieldBatch::Categorical(c) => {
                    FieldInput::Categorical(ids_tensor(&c.ids, [c.ids.len()], device))
                }
                FieldBatch::Multi(p) | FieldBatch::Text(p) => padded(p, device),
            })
            .collect();
        let max_ids = batch
            .fields
            .iter()
            .map(|f| match f {
                FieldBatch::Categorical(c) => c.ids.iter().copied().max(),
                FieldBatch::Multi(p) | FieldBatch::Text(p) => p.ids.iter().copied().max(),
            })
            .collect();
        Self {
            batch_size: batch.size,
            fields,
            max_ids,
        }
    }

    /// Builds an input from tensors already on a device (e.g. from a custom data pipeline).
    /// The caller guarantees that ids are within the model's vocabularies (they are not
    /// checked, and an out-of-range id may panic inside the backend).
    pub fn from_fields(batch_size: usize, fields: Vec<FieldInput>) -> Self {
        let max_ids = vec![None; fields.len()];
        Self {
            batch_size,
            fields,
            max_ids,
        }
    }

    /// Replaces the input of field `slot` (schema order), e.g. a text field's word ids by its
    /// precomputed BERT vectors. The new input must have one row per product.
    pub fn with_field(
        mut self,
        slot: usize,
        input: FieldInput,
    ) -> Result<Self, crate::error::Error> {
        let rows = match &input {
            FieldInput::Categorical(t) => t.dims()[0],
            FieldInput::Padded { ids, .. } => ids.dims()[0],
            FieldInput::Vectors(t) => t.dims()[0],
        };
        if rows != self.batch_size {
            return Err(crate::error::Error::Input(format!(
                "field number {} gets {rows} rows, the batch has {} products",
                slot + 1,
                self.batch_size
            )));
        }
        let count = self.fields.len();
        let field = self.fields.get_mut(slot).ok_or_else(|| {
            crate::error::Error::Input(format!(
                "field number {} does not exist (the batch has {count} fields)",
                slot + 1
            ))
        })?;
        *field = input;
        self.max_ids[slot] = None;
        Ok(self)
    }

    /// The largest id of field `i`, when known.
    pub fn max_id(&self, i: usize) -> Option<u32> {
        self.max_ids.get(i).copied().flatten()
    }

    /// Number of products.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The fields, in schema order.
    pub fn fields(&self) -> &[FieldInput] {
        &self.fields
    }
}
