//! Vocabularies: one per feature field, mapping values (categorical, multi-valued) or words
//! (text) to dense ids, fit on training products only.
//!
//! Id 0 is padding ([`PAD`]), id 1 the unknown bucket ([`UNK`]) for values seen fewer than
//! `min_count` times in training products or never; known values follow, most frequent first
//! (ties in byte order), so the ids are deterministic.
//!
//! ```
//! use deeprecs_core::{Catalog, FeatureSchema, Vocabulary, vocab::{PAD, UNK}};
//! let schema = FeatureSchema::from_toml_str(
//!     "id = \"sku\"\n[[fields]]\nname = \"brand\"\nkind = \"categorical\"\n", "<s>")?;
//! let (catalog, _) = Catalog::from_csv_str("sku,brand\nA,Acme\nB,ACME\nC,Zeta\n", &schema)?;
//! let vocab = Vocabulary::fit(&catalog, 0, catalog.iter().map(|p| p.idx))?;
//! assert_eq!(vocab.len(), 4); // <pad>, <unk>, acme, zeta
//! assert_eq!(vocab.id("acme"), 2);
//! assert_eq!(vocab.id("never seen"), UNK);
//! assert_ne!(vocab.id("zeta"), PAD);
//! # Ok::<(), deeprecs_core::Error>(())
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, FieldValue, ProductIdx};
use crate::error::{Error, Location, Result};
use crate::schema::{Field, FieldKind, FieldKindName};
use crate::text::{normalize, tokenize_into};

/// The padding id: never a real value; encoders give it zero weight.
pub const PAD: u32 = 0;
/// The unknown id: values too rare in training products, or never seen.
pub const UNK: u32 = 1;
/// The token strings of the two reserved ids.
pub const RESERVED: [&str; 2] = ["<pad>", "<unk>"];

/// Calls `emit` with each vocabulary key of a field value: the normalised value of a categorical
/// field, the normalised values (at most `max_values`) of a multi-valued field, the word tokens
/// (at most `max_tokens`) of a text field. Nothing for a missing value.
pub fn for_each_key(field: &Field, value: &FieldValue, mut emit: impl FnMut(&str)) {
    match (&field.kind, value) {
        (_, FieldValue::Missing) => {}
        (FieldKind::Categorical, FieldValue::Categorical(v)) => {
            emit(&normalize(v, field.lowercase))
        }
        (FieldKind::MultiCategorical { max_values, .. }, FieldValue::Multi(vs)) => {
            for v in vs.iter().take(*max_values) {
                emit(&normalize(v, field.lowercase));
            }
        }
        (FieldKind::Text { .. }, FieldValue::Text(t)) => {
            tokenize_into(t, &field.text_options(), |tok| {
                emit(tok);
                true
            });
        }
        // A value of another kind cannot be built through the public API (Catalog checks
        // kinds); treat it as missing rather than guess.
        _ => {}
    }
}

/// Serialised form of a [`Vocabulary`].
#[derive(Serialize, Deserialize)]
struct VocabularyData {
    field: String,
    kind: FieldKindName,
    min_count: u32,
    tokens: Vec<String>,
    counts: Vec<u32>,
}

/// A vocabulary of one field. Serialises to JSON as its field, kind, min count, tokens and
/// counts; the lookup table is rebuilt (and checked) on load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "VocabularyData", into = "VocabularyData")]
pub struct Vocabulary {
    field: String,
    kind: FieldKindName,
    min_count: u32,
    tokens: Vec<String>,
    counts: Vec<u32>,
    index: HashMap<String, u32>,
}

impl From<Vocabulary> for VocabularyData {
    fn from(v: Vocabulary) -> Self {
        Self {
            field: v.field,
            kind: v.kind,
            min_count: v.min_count,
            tokens: v.tokens,
            counts: v.counts,
        }
    }
}

impl TryFrom<VocabularyData> for Vocabulary {
    type Error = Error;

    fn try_from(d: VocabularyData) -> Result<Self> {
        let bad = |message: String| Error::Decode {
            at: Location::file("<vocabulary>").with_field(&d.field),
            message,
        };
        if d.tokens.len() != d.counts.len() {
            return Err(bad(format!(
                "{} tokens but {} counts",
                d.tokens.len(),
                d.counts.len()
            )));
        }
        if d.tokens.len() < 2 || d.tokens[0] != RESERVED[0] || d.tokens[1] != RESERVED[1] {
            return Err(bad("ids 0 and 1 must be <pad> and <unk>".into()));
        }
        let mut index = HashMap::with_capacity(d.tokens.len());
        for (i, t) in d.tokens.iter().enumerate().skip(2) {
            if index.insert(t.clone(), i as u32).is_some() {
                return Err(bad(format!("token {t:?} appears twice")));
            }
        }
        Ok(Self {
            index,
            field: d.field,
            kind: d.kind,
            min_count: d.min_count,
            tokens: d.tokens,
            counts: d.counts,
        })
    }
}

impl Vocabulary {
    /// Fits the vocabulary of field number `field` on the given (training) products.
    pub fn fit(
        catalog: &Catalog,
        field: usize,
        products: impl IntoIterator<Item = ProductIdx>,
    ) -> Result<Self> {
        let f = catalog
            .schema()
            .fields()
            .get(field)
            .ok_or_else(|| Error::InvalidParameter {
                name: "field",
                message: format!(
                    "field number {field} does not exist; the schema has {}",
                    catalog.schema().fields().len()
                ),
            })?;
        let mut counts: HashMap<String, u32> = HashMap::new();
        for p in products {
            if p.index() >= catalog.len() {
                return Err(Error::UnknownProduct(format!("#{}", p.0)));
            }
            for_each_key(f, catalog.value(p, field), |k| match counts.get_mut(k) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(k.to_owned(), 1);
                }
            });
        }
        let mut kept: Vec<(String, u32)> = counts
            .into_iter()
            .filter(|(_, c)| *c >= f.min_count)
            .collect();
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut tokens: Vec<String> = RESERVED.iter().map(|s| (*s).to_owned()).collect();
        let mut token_counts = vec![0, 0];
        for (t, c) in kept {
            tokens.push(t);
            token_counts.push(c);
        }
        let index = tokens
            .iter()
            .enumerate()
            .skip(2)
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Ok(Self {
            field: f.name.clone(),
            kind: f.kind.name(),
            min_count: f.min_count,
            tokens,
            counts: token_counts,
            index,
        })
    }

    /// The id of a key ([`UNK`] when unknown). Keys are normalised values or word tokens as
    /// produced by [`for_each_key`].
    pub fn id(&self, key: &str) -> u32 {
        self.index.get(key).copied().unwrap_or(UNK)
    }

    /// The key of an id, if it exists.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// How often a key occurred in the training products (0 for reserved or unknown ids).
    pub fn count(&self, id: u32) -> u32 {
        self.counts.get(id as usize).copied().unwrap_or(0)
    }

    /// Number of ids, including [`PAD`] and [`UNK`]: the embedding table size.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when only the reserved ids exist (no key was kept).
    pub fn is_empty(&self) -> bool {
        self.tokens.len() <= RESERVED.len()
    }

    /// The field this vocabulary belongs to.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The kind of that field.
    pub fn kind(&self) -> FieldKindName {
        self.kind
    }

    /// The minimum count used when fitting.
    pub fn min_count(&self) -> u32 {
        self.min_count
    }
}

/// The vocabularies of all fields of a schema, in schema order.
///
/// ```
/// use deeprecs_core::{Catalog, FeatureSchema, Vocabularies};
/// let schema = FeatureSchema::from_toml_str(
///     "id = \"sku\"\n[[fields]]\nname = \"title\"\nkind = \"text\"\n", "<s>")?;
/// let (catalog, _) = Catalog::from_csv_str("sku,title\nA,red mug\nB,blue mug\n", &schema)?;
/// let vocabs = Vocabularies::fit(&catalog, catalog.iter().map(|p| p.idx))?;
/// let json = serde_json::to_string(&vocabs).unwrap();
/// let back: Vocabularies = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, vocabs);
/// assert_eq!(back.get("title")?.id("mug"), 2); // the most frequent word comes first
/// # Ok::<(), deeprecs_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vocabularies {
    fields: Vec<Vocabulary>,
}

impl Vocabularies {
    /// Fits one vocabulary per schema field on the given (training) products.
    pub fn fit(catalog: &Catalog, products: impl IntoIterator<Item = ProductIdx>) -> Result<Self> {
        let products: Vec<ProductIdx> = products.into_iter().collect();
        let fields = (0..catalog.schema().fields().len())
            .map(|i| Vocabulary::fit(catalog, i, products.iter().copied()))
            .collect::<Result<_>>()?;
        Ok(Self { fields })
    }

    /// The vocabularies in schema order.
    pub fn fields(&self) -> &[Vocabulary] {
        &self.fields
    }

    /// The vocabulary of the field named `name`.
    pub fn get(&self, name: &str) -> Result<&Vocabulary> {
        self.fields
            .iter()
            .find(|v| v.field == name)
            .ok_or_else(|| Error::UnknownField {
                name: name.to_owned(),
                declared: self
                    .fields
                    .iter()
                    .map(|v| v.field.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Checks that these vocabularies belong to `schema`: one per field, same names and kinds,
    /// in order.
    pub fn check_against(&self, schema: &crate::FeatureSchema) -> Result<()> {
        let fields = schema.fields();
        let mismatch = |message: String| Error::Decode {
            at: Location::file("<vocabularies>"),
            message,
        };
        if fields.len() != self.fields.len() {
            return Err(mismatch(format!(
                "{} vocabularies for a schema with {} fields",
                self.fields.len(),
                fields.len()
            )));
        }
        for (f, v) in fields.iter().zip(&self.fields) {
            if f.name != v.field || f.kind.name() != v.kind {
                return Err(mismatch(format!(
                    "vocabulary for `{}` ({}) does not match schema field `{}` ({})",
                    v.field,
                    v.kind,
                    f.name,
                    f.kind.name()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureSchema;

    fn catalog() -> Catalog {
        let schema = FeatureSchema::from_toml_str(
            "id = \"sku\"\n[[fields]]\nname = \"cats\"\nkind = \"multi_categorical\"\nmin_count = 2\nmax_values = 2\n[[fields]]\nname = \"title\"\nkind = \"text\"\nmax_tokens = 2\n",
            "s",
        )
        .unwrap();
        Catalog::from_csv_str(
            "sku,cats,title\nA,a|b|z,red mug big\nB,a|c,red cup\nC,b|a,blue\nD,,\n",
            &schema,
        )
        .unwrap()
        .0
    }

    #[test]
    fn min_count_and_caps_apply() {
        let c = catalog();
        let v = Vocabulary::fit(&c, 0, c.iter().map(|p| p.idx)).unwrap();
        // a: 3, b: 2 (z is beyond max_values=2 for A; c once → unknown)
        assert_eq!(v.len(), 4);
        assert_eq!(v.id("a"), 2);
        assert_eq!(v.id("b"), 3);
        assert_eq!(v.id("c"), UNK);
        assert_eq!(v.id("z"), UNK);
        assert_eq!(v.count(2), 3);
        let t = Vocabulary::fit(&c, 1, c.iter().map(|p| p.idx)).unwrap();
        assert_eq!(t.id("big"), UNK, "third token is beyond max_tokens");
        assert_eq!(t.id("red"), 2);
    }

    #[test]
    fn fit_on_training_products_only() {
        let c = catalog();
        let v = Vocabulary::fit(&c, 1, [ProductIdx(2)]).unwrap();
        assert_eq!(v.id("blue"), 2);
        assert_eq!(v.id("red"), UNK);
        assert!(Vocabulary::fit(&c, 1, [ProductIdx(9)]).is_err());
        assert!(Vocabulary::fit(&c, 7, [ProductIdx(0)]).is_err());
    }

    #[test]
    fn corrupt_serialised_vocabulary_is_rejected() {
        let bad = r#"{"field":"t","kind":"text","min_count":1,"tokens":["<pad>","<unk>","a","a"],"counts":[0,0,1,1]}"#;
        let e = serde_json::from_str::<Vocabulary>(bad).unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        let bad = r#"{"field":"t","kind":"text","min_count":1,"tokens":["a"],"counts":[0]}"#;
        assert!(serde_json::from_str::<Vocabulary>(bad).is_err());
    }

    #[test]
    fn check_against_schema() {
        let c = catalog();
        let v = Vocabularies::fit(&c, c.iter().map(|p| p.idx)).unwrap();
        v.check_against(c.schema()).unwrap();
        let other = FeatureSchema::from_toml_str(
            "id = \"sku\"\n[[fields]]\nname = \"x\"\nkind = \"text\"\n",
            "s",
        )
        .unwrap();
        assert!(v.check_against(&other).is_err());
    }
}
