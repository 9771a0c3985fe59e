//! Turning CPU-side [`EncodedBatch`]es into tensors on a device, and per-product vectors
//! computed outside the model ([`ProductVectors`], [`FieldVectors`]) that replace a field's
//! ids in a batch.

use burn::tensor::{Device, Int, Tensor, TensorData};
use deeprecs_core::{EncodedBatch, FeatureSchema, FieldBatch, PaddedBatch, ProductIdx};

use crate::error::{Error, Result};

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
    /// One precomputed vector per product: `[batch, width]` (frozen BERT text vectors, or a
    /// caller's own features; see [`ProductVectors`] and [`FieldVectors`]).
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
    pub fn with_field(mut self, slot: usize, input: FieldInput) -> Result<Self> {
        let rows = match &input {
            FieldInput::Categorical(t) => t.dims()[0],
            FieldInput::Padded { ids, .. } => ids.dims()[0],
            FieldInput::Vectors(t) => t.dims()[0],
        };
        if rows != self.batch_size {
            return Err(Error::Input(format!(
                "field number {} gets {rows} rows, the batch has {} products",
                slot + 1,
                self.batch_size
            )));
        }
        let count = self.fields.len();
        let field = self.fields.get_mut(slot).ok_or_else(|| {
            Error::Input(format!(
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

/// One vector per product of a catalog, row-major `[products, dim]`, in catalog order
/// ([`ProductIdx`]): the input of an encoder that reads precomputed vectors — frozen BERT
/// ([`EncoderConfig::Bert`](crate::EncoderConfig::Bert), computed by
/// [`ProductTextVectors::compute`](crate::bert::ProductTextVectors)) or a caller's own
/// feature extractor ([`EncoderConfig::Vectors`](crate::EncoderConfig::Vectors)).
#[derive(Debug, Clone, PartialEq)]
pub struct ProductVectors {
    pub(crate) dim: usize,
    pub(crate) values: Vec<f32>,
}

impl ProductVectors {
    /// Wraps precomputed vectors: `values.len()` must be a multiple of `dim`, and every
    /// value finite.
    pub fn from_values(dim: usize, values: Vec<f32>) -> Result<Self> {
        if dim == 0 || !values.len().is_multiple_of(dim) {
            return Err(Error::Input(format!(
                "{} values are not rows of width {dim}",
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Input(format!(
                "the vector of product #{} has a non-finite value ({})",
                i / dim,
                values[i]
            )));
        }
        Ok(Self { dim, values })
    }

    /// Builds the vectors from one row per product (each `dim` long), in catalog order.
    pub fn from_rows(dim: usize, rows: impl IntoIterator<Item = Vec<f32>>) -> Result<Self> {
        let mut values = Vec::new();
        for (i, row) in rows.into_iter().enumerate() {
            if row.len() != dim {
                return Err(Error::Input(format!(
                    "the vector of product #{i} has {} values, expected {dim}",
                    row.len()
                )));
            }
            values.extend(row);
        }
        Self::from_values(dim, values)
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.values.len() / self.dim
    }

    /// True when there is no product.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Vector width.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The vector of product `p`, if it exists.
    pub fn get(&self, p: ProductIdx) -> Option<&[f32]> {
        let start = p.index().checked_mul(self.dim)?;
        self.values.get(start..start + self.dim)
    }

    /// All vectors, row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// The vectors of a batch of products as a [`FieldInput::Vectors`] on `device`.
    pub fn gather(&self, products: &[ProductIdx], device: &Device) -> Result<FieldInput> {
        let mut data = Vec::with_capacity(products.len() * self.dim);
        for &p in products {
            let row = self.get(p).ok_or_else(|| {
                Error::Input(format!(
                    "product #{} has no vector ({} products have one)",
                    p.0,
                    self.len()
                ))
            })?;
            data.extend_from_slice(row);
        }
        Ok(FieldInput::Vectors(Tensor::from_data(
            TensorData::new(data, [products.len(), self.dim]),
            device,
        )))
    }
}

/// Per-product vectors for some fields of a schema: what replaces those fields' ids in every
/// batch ([`apply`](Self::apply)) before the towers run. The trainer, catalog embedding and
/// evaluation take one, so that an encoder reading precomputed vectors
/// ([`EncoderConfig::Vectors`](crate::EncoderConfig::Vectors) for a caller's own feature
/// extractor, frozen [`EncoderConfig::Bert`](crate::EncoderConfig::Bert)) trains and serves
/// like any other.
///
/// ```
/// use burn::tensor::Device;
/// use deeprecs_core::synthetic::{generate, SyntheticConfig};
/// use deeprecs_core::{EncodedCatalog, ProductIdx, Vocabularies};
/// use deeprecs_encoders::{
///     EncoderConfig, FieldVectors, ProductVectors, TowerConfig, TowerInput, TwoTowerConfig,
/// };
///
/// let data = generate(&SyntheticConfig { products: 100, users: 30, ..SyntheticConfig::default() })?;
/// let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx))?;
/// let encoded = EncodedCatalog::encode(&data.catalog, &vocabs)?;
///
/// // The caller's feature extractor: here, the name's length and its number of words.
/// let rows = data.catalog.iter().map(|p| {
///     let name = data.catalog.value(p.idx, 0).display();
///     vec![name.len() as f32 / 40.0, name.split_whitespace().count() as f32 / 5.0]
/// });
/// let vectors = FieldVectors::new().with(&data.schema, "name", ProductVectors::from_rows(2, rows)?)?;
///
/// let mut tower = TowerConfig::for_schema(&data.schema).with_dim(8);
/// tower.fields[0].encoder = EncoderConfig::Vectors { input_dim: 2, hidden: vec![] };
/// let device = Device::flex();
/// let model = TwoTowerConfig::new(tower).init(&data.schema, &vocabs, &device)?;
///
/// let products = [ProductIdx(0), ProductIdx(1)];
/// let input = vectors.apply(TowerInput::new(&encoded.batch(&products)?, &device), &products, &device)?;
/// assert_eq!(model.embed_seed(&input)?.dims()[0], 2);
/// // Without the vectors, the field's encoder says what is missing.
/// assert!(model.embed_seed(&TowerInput::new(&encoded.batch(&products)?, &device)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldVectors {
    /// (schema slot, field name, vectors), one entry per field.
    fields: Vec<(usize, String, ProductVectors)>,
}

impl FieldVectors {
    /// No field: batches pass unchanged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the vectors of schema field `field` (replacing earlier ones). An unknown field is
    /// an error.
    pub fn insert(
        &mut self,
        schema: &FeatureSchema,
        field: &str,
        vectors: ProductVectors,
    ) -> Result<()> {
        let slot = schema.field_index(field).map_err(|_| Error::Schema {
            field: field.to_owned(),
            message: "the schema has no such field to give vectors to".into(),
        })?;
        self.fields.retain(|(s, _, _)| *s != slot);
        self.fields.push((slot, field.to_owned(), vectors));
        Ok(())
    }

    /// [`insert`](Self::insert), builder-style.
    pub fn with(
        mut self,
        schema: &FeatureSchema,
        field: &str,
        vectors: ProductVectors,
    ) -> Result<Self> {
        self.insert(schema, field, vectors)?;
        Ok(self)
    }

    /// The vectors of field `field`, if set.
    pub fn get(&self, field: &str) -> Option<&ProductVectors> {
        self.fields
            .iter()
            .find(|(_, name, _)| name == field)
            .map(|(_, _, v)| v)
    }

    /// The fields with vectors, in insertion order.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(_, name, _)| name.as_str())
    }

    /// Number of fields with vectors.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when no field has vectors.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Replaces each field's input in `input` (a batch of `products`, in order) by the
    /// products' vectors, on `device`.
    pub fn apply(
        &self,
        mut input: TowerInput,
        products: &[ProductIdx],
        device: &Device,
    ) -> Result<TowerInput> {
        for (slot, name, vectors) in &self.fields {
            let field = vectors
                .gather(products, device)
                .map_err(|e| Error::Input(format!("field `{name}`: {e}")))?;
            input = input.with_field(*slot, field)?;
        }
        Ok(input)
    }
}
