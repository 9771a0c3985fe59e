//! CPU-side encoded features: every product's field values turned into vocabulary ids once
//! ([`EncodedCatalog`]), then gathered into padded, masked batches ([`EncodedBatch`]) that the
//! encoders crate turns into tensors.
//!
//! ```
//! use deeprecs_core::{Catalog, EncodedCatalog, FeatureSchema, FieldBatch, ProductIdx, Vocabularies};
//! let schema = FeatureSchema::from_toml_str(
//!     "id = \"sku\"\n[[fields]]\nname = \"title\"\nkind = \"text\"\n", "<s>")?;
//! let (catalog, _) = Catalog::from_csv_str("sku,title\nA,red mug\nB,mug\nC,\n", &schema)?;
//! let vocabs = Vocabularies::fit(&catalog, catalog.iter().map(|p| p.idx))?;
//! let encoded = EncodedCatalog::encode(&catalog, &vocabs)?;
//! let batch = encoded.batch(&[ProductIdx(0), ProductIdx(2)])?;
//! let FieldBatch::Text(t) = &batch.fields[0] else { unreachable!() };
//! assert_eq!(t.width, 2);            // batch-longest padding
//! assert_eq!(t.ids, [3, 2, 0, 0]);   // "red mug" and an empty text (all padding)
//! assert_eq!(t.mask, [1.0, 1.0, 0.0, 0.0]);
//! assert_eq!(t.lengths, [2, 0]);
//! # Ok::<(), deeprecs_core::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, FieldValue, ProductIdx};
use crate::error::{Error, Result};
use crate::schema::{Field, FieldKind, FieldKindName};
use crate::vocab::{PAD, UNK, Vocabularies, for_each_key};

/// A batch of one categorical field: one id per product ([`UNK`] when missing or unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoricalBatch {
    /// `[batch]` ids.
    pub ids: Vec<u32>,
}

/// A batch of a variable-length field (multi-valued or text), padded to the longest row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaddedBatch {
    /// `[batch, width]` ids, row-major, padded with [`PAD`].
    pub ids: Vec<u32>,
    /// `[batch, width]` mask: 1.0 for real ids, 0.0 for padding.
    pub mask: Vec<f32>,
    /// Real ids per row (0 for an empty row: all padding).
    pub lengths: Vec<u32>,
    /// The padded width: the longest row in the batch, at least 1 so shapes are never empty.
    pub width: usize,
}

impl PaddedBatch {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.lengths.len()
    }

    /// The ids of one row without padding.
    pub fn row(&self, r: usize) -> &[u32] {
        let start = r * self.width;
        &self.ids[start..start + self.lengths[r] as usize]
    }
}

/// The batch of one field, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FieldBatch {
    /// A categorical field.
    Categorical(CategoricalBatch),
    /// A multi-valued field.
    Multi(PaddedBatch),
    /// A text field (word ids).
    Text(PaddedBatch),
}

/// Encoded features of a batch of products: one [`FieldBatch`] per schema field, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedBatch {
    /// Number of products in the batch.
    pub size: usize,
    /// One entry per schema field.
    pub fields: Vec<FieldBatch>,
}

/// The ids of one field for every product, stored compactly (CSR: `offsets[p]..offsets[p+1]`
/// into `ids`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedField {
    /// The field's kind.
    pub kind: FieldKindName,
    /// Start of each product's ids; `len = products + 1`.
    pub offsets: Vec<u32>,
    /// All ids, product after product.
    pub ids: Vec<u32>,
}

impl EncodedField {
    /// The ids of product `p` (for a categorical field exactly one).
    pub fn of(&self, p: usize) -> &[u32] {
        &self.ids[self.offsets[p] as usize..self.offsets[p + 1] as usize]
    }
}

/// Every product's features as vocabulary ids, computed once so that batching is a gather.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedCatalog {
    products: usize,
    fields: Vec<EncodedField>,
}

/// The ids of one value of one field: exactly one id for categorical fields (UNK when missing).
fn value_ids(field: &Field, vocab: &crate::Vocabulary, value: &FieldValue, out: &mut Vec<u32>) {
    let start = out.len();
    for_each_key(field, value, |k| out.push(vocab.id(k)));
    if matches!(field.kind, FieldKind::Categorical) && out.len() == start {
        out.push(UNK);
    }
}

impl EncodedCatalog {
    /// Encodes every product of `catalog` with `vocabs` (which must match its schema).
    pub fn encode(catalog: &Catalog, vocabs: &Vocabularies) -> Result<Self> {
        vocabs.check_against(catalog.schema())?;
        let fields = catalog
            .schema()
            .fields()
            .iter()
            .zip(vocabs.fields())
            .enumerate()
            .map(|(fi, (field, vocab))| {
                let mut offsets = Vec::with_capacity(catalog.len() + 1);
                let mut ids = Vec::new();
                offsets.push(0);
                for p in catalog.iter() {
                    value_ids(field, vocab, &p.values[fi], &mut ids);
                    let end = u32::try_from(ids.len()).map_err(|_| Error::InvalidParameter {
                        name: "catalog",
                        message: "more than 4,294,967,295 ids in one field".into(),
                    })?;
                    offsets.push(end);
                }
                Ok(EncodedField {
                    kind: field.kind.name(),
                    offsets,
                    ids,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            products: catalog.len(),
            fields,
        })
    }

    /// Encodes products that are not in a catalog (e.g. a brand-new product at serving time):
    /// `values[i]` are the field values of product `i`, checked like catalog rows.
    pub fn encode_values(
        schema: &crate::FeatureSchema,
        vocabs: &Vocabularies,
        values: &[Vec<FieldValue>],
    ) -> Result<Self> {
        let mut catalog = Catalog::new(schema.clone());
        for (i, v) in values.iter().enumerate() {
            catalog.push(format!("#{i}"), v.clone())?;
        }
        if catalog.is_empty() {
            return Ok(Self {
                products: 0,
                fields: schema
                    .fields()
                    .iter()
                    .map(|f| EncodedField {
                        kind: f.kind.name(),
                        offsets: vec![0],
                        ids: vec![],
                    })
                    .collect(),
            });
        }
        Self::encode(&catalog, vocabs)
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.products
    }

    /// True when there is no product.
    pub fn is_empty(&self) -> bool {
        self.products == 0
    }

    /// The encoded fields, in schema order.
    pub fn fields(&self) -> &[EncodedField] {
        &self.fields
    }

    /// Gathers a batch of products (in the given order; repeats allowed).
    pub fn batch(&self, products: &[ProductIdx]) -> Result<EncodedBatch> {
        if let Some(bad) = products.iter().find(|p| p.index() >= self.products) {
            return Err(Error::UnknownProduct(format!(
                "#{} (the encoded catalog has {} products)",
                bad.0, self.products
            )));
        }
        let fields = self
            .fields
            .iter()
            .map(|f| match f.kind {
                FieldKindName::Categorical => FieldBatch::Categorical(CategoricalBatch {
                    ids: products.iter().map(|p| f.of(p.index())[0]).collect(),
                }),
                FieldKindName::MultiCategorical => FieldBatch::Multi(pad(f, products)),
                FieldKindName::Text => FieldBatch::Text(pad(f, products)),
            })
            .collect();
        Ok(EncodedBatch {
            size: products.len(),
            fields,
        })
    }
}

fn pad(f: &EncodedField, products: &[ProductIdx]) -> PaddedBatch {
    let width = products
        .iter()
        .map(|p| f.of(p.index()).len())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut ids = vec![PAD; products.len() * width];
    let mut mask = vec![0.0; products.len() * width];
    let mut lengths = Vec::with_capacity(products.len());
    for (r, p) in products.iter().enumerate() {
        let row = f.of(p.index());
        ids[r * width..r * width + row.len()].copy_from_slice(row);
        mask[r * width..r * width + row.len()].fill(1.0);
        lengths.push(row.len() as u32);
    }
    PaddedBatch {
        ids,
        mask,
        lengths,
        width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureSchema;

    #[test]
    fn batches_every_kind() {
        let schema = FeatureSchema::from_toml_str(
            "id = \"sku\"\n[[fields]]\nname = \"brand\"\nkind = \"categorical\"\n[[fields]]\nname = \"cats\"\nkind = \"multi_categorical\"\n",
            "s",
        )
        .unwrap();
        let (c, _) =
            Catalog::from_csv_str("sku,brand,cats\nA,x,a|b|c\nB,,a\nC,y,\n", &schema).unwrap();
        let v = Vocabularies::fit(&c, [ProductIdx(0), ProductIdx(1)]).unwrap();
        let e = EncodedCatalog::encode(&c, &v).unwrap();
        let b = e
            .batch(&[ProductIdx(2), ProductIdx(1), ProductIdx(0)])
            .unwrap();
        assert_eq!(b.size, 3);
        let FieldBatch::Categorical(cat) = &b.fields[0] else {
            panic!()
        };
        assert_eq!(cat.ids, [UNK, UNK, 2], "y unseen in training, B missing");
        let FieldBatch::Multi(m) = &b.fields[1] else {
            panic!()
        };
        assert_eq!(m.width, 3);
        assert_eq!(m.lengths, [0, 1, 3]);
        assert_eq!(m.row(1), [2]);
        assert_eq!(&m.mask[3..6], [1.0, 0.0, 0.0]);
        assert!(e.batch(&[ProductIdx(3)]).is_err());
        let empty = e.batch(&[]).unwrap();
        let FieldBatch::Multi(m) = &empty.fields[1] else {
            panic!()
        };
        assert_eq!((m.width, m.rows()), (1, 0));
    }

    #[test]
    fn new_products_encode_like_catalog_products() {
        let schema = FeatureSchema::from_toml_str(
            "id = \"sku\"\n[[fields]]\nname = \"title\"\nkind = \"text\"\n",
            "s",
        )
        .unwrap();
        let (c, _) = Catalog::from_csv_str("sku,title\nA,red mug\n", &schema).unwrap();
        let v = Vocabularies::fit(&c, [ProductIdx(0)]).unwrap();
        let e = EncodedCatalog::encode_values(
            &schema,
            &v,
            &[vec![FieldValue::Text("Red MUG!".into())]],
        )
        .unwrap();
        let full = EncodedCatalog::encode(&c, &v).unwrap();
        assert_eq!(e.fields()[0].of(0), full.fields()[0].of(0));
    }
}
