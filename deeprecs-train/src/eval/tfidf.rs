//! [`TfIdfRecommender`]: cosine similarity of TF-IDF vectors of the products' text — the
//! content baseline that needs no behaviour at all.
//!
//! * **Terms** are the word tokens of the schema's text fields, exactly as the model sees them
//!   ([`for_each_key`]: NFKC, lower-casing as the field says, punctuation split, at most the
//!   field's `max_tokens`). All chosen text fields share one vocabulary: a product's document
//!   is the concatenation of its fields (so "phone" in a name matches "phone" in a
//!   description).
//! * **Term frequency** is sublinear by default, `1 + ln(tf)`, so a word repeated in a long
//!   description does not swamp the others; [`TfIdfConfig::sublinear_tf`] `false` uses the raw
//!   count.
//! * **Inverse document frequency** is the smoothed `ln((1 + N) / (1 + df)) + 1` (as in
//!   scikit-learn), fit on the **whole catalog's** text, cold products included. Text is
//!   metadata, known for every product the moment it is listed, not behaviour: using it leaks
//!   nothing from the test period.
//! * Vectors are L2-normalised and sparse; a seed is scored against every product through an
//!   inverted index, so the cost is the postings of the seed's terms, not the catalog size.
//!   A seed without any term cannot be scored ([`Recommender::score_all`] returns `false`);
//!   products without text score 0.

use std::collections::HashMap;

use deeprecs_core::vocab::for_each_key;
use deeprecs_core::{Catalog, FieldKind, ProductIdx};
use serde::{Deserialize, Serialize};

use super::error::{EvalError, config};
use super::recommender::Recommender;

/// Options of [`TfIdfRecommender::fit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TfIdfConfig {
    /// `1 + ln(tf)` instead of the raw count (default `true`).
    pub sublinear_tf: bool,
    /// The text fields to use, by name; empty (default): every text field of the schema.
    pub fields: Vec<String>,
}

impl Default for TfIdfConfig {
    fn default() -> Self {
        Self {
            sublinear_tf: true,
            fields: Vec::new(),
        }
    }
}

/// Sparse rows: `offsets[i]..offsets[i + 1]` indexes `(id, weight)` entries.
#[derive(Debug, Clone, PartialEq, Default)]
struct Sparse {
    offsets: Vec<usize>,
    ids: Vec<u32>,
    weights: Vec<f32>,
}

impl Sparse {
    fn row(&self, i: usize) -> (&[u32], &[f32]) {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => (&self.ids[a..b], &self.weights[a..b]),
            _ => (&[], &[]),
        }
    }
}

/// TF-IDF cosine over product text (see the [module documentation](self)).
///
/// ```
/// use deeprecs_core::{Catalog, FeatureSchema, ProductIdx};
/// use deeprecs_train::eval::{Recommender, TfIdfConfig, TfIdfRecommender};
///
/// let schema = FeatureSchema::from_toml_str(
///     "id = \"sku\"\n[[fields]]\nname = \"title\"\nkind = \"text\"\n", "<s>")?;
/// let (catalog, _) = Catalog::from_csv_str(
///     "sku,title\nA,Red tea cup\nB,Blue tea cup\nC,Garden hose\n", &schema)?;
/// let tfidf = TfIdfRecommender::fit(&catalog, &TfIdfConfig::default())?;
/// let mut scores = vec![0.0; 3];
/// assert!(tfidf.score_all(ProductIdx(0), &mut scores));
/// assert!(scores[1] > 0.5 && scores[2] == 0.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TfIdfRecommender {
    /// Product → (term, weight), L2-normalised.
    docs: Sparse,
    /// Term → (product, weight).
    postings: Sparse,
    n_terms: usize,
}

impl TfIdfRecommender {
    /// Fits the vocabulary and IDF on every product of `catalog` and builds the vectors.
    /// Fails when the schema has no text field, or a field named in `config.fields` is
    /// unknown or not text.
    pub fn fit(catalog: &Catalog, config: &TfIdfConfig) -> Result<Self, EvalError> {
        let schema = catalog.schema();
        let fields: Vec<usize> = if config.fields.is_empty() {
            let all: Vec<usize> = schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| matches!(f.kind, FieldKind::Text { .. }))
                .map(|(i, _)| i)
                .collect();
            if all.is_empty() {
                return Err(config_error(
                    "the schema has no text field: TF-IDF needs product text",
                ));
            }
            all
        } else {
            let mut chosen = Vec::with_capacity(config.fields.len());
            for name in &config.fields {
                let Some(i) = schema.fields().iter().position(|f| &f.name == name) else {
                    return Err(config_error(format!(
                        "the schema has no field {name:?} (fields: {})",
                        schema
                            .fields()
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                if !matches!(schema.fields()[i].kind, FieldKind::Text { .. }) {
                    return Err(config_error(format!(
                        "field {name:?} is {}, not text",
                        schema.fields()[i].kind.name()
                    )));
                }
                if !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
            chosen
        };

        // Term counts per product.
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut raw: Vec<Vec<(u32, u32)>> = Vec::with_capacity(catalog.len());
        for product in catalog.iter() {
            let mut terms: Vec<u32> = Vec::new();
            for &f in &fields {
                for_each_key(&schema.fields()[f], &product.values[f], |token| {
                    let next = vocab.len() as u32;
                    terms.push(*vocab.entry(token.to_owned()).or_insert(next));
                });
            }
            terms.sort_unstable();
            let mut counted: Vec<(u32, u32)> = Vec::with_capacity(terms.len());
            for t in terms {
                match counted.last_mut() {
                    Some((last, c)) if *last == t => *c += 1,
                    _ => counted.push((t, 1)),
                }
            }
            raw.push(counted);
        }
        let n_terms = vocab.len();
        let mut df = vec![0u32; n_terms];
        for doc in &raw {
            for &(t, _) in doc {
                df[t as usize] += 1;
            }
        }
        let n_docs = catalog.len() as f64;
        let idf: Vec<f64> = df
            .iter()
            .map(|&d| ((1.0 + n_docs) / (1.0 + f64::from(d))).ln() + 1.0)
            .collect();

        let mut docs = Sparse {
            offsets: Vec::with_capacity(raw.len() + 1),
            ..Sparse::default()
        };
        docs.offsets.push(0);
        for doc in &raw {
            let weights: Vec<f64> = doc
                .iter()
                .map(|&(t, tf)| {
                    let tf = if config.sublinear_tf {
                        1.0 + f64::from(tf).ln()
                    } else {
                        f64::from(tf)
                    };
                    tf * idf[t as usize]
                })
                .collect();
            let norm = weights.iter().map(|w| w * w).sum::<f64>().sqrt();
            for (&(t, _), w) in doc.iter().zip(&weights) {
                docs.ids.push(t);
                docs.weights.push((w / norm) as f32);
            }
            docs.offsets.push(docs.ids.len());
        }

        // Inverted index: postings of each term, ascending by product.
        let mut offsets = vec![0usize; n_terms + 1];
        for &t in &docs.ids {
            offsets[t as usize + 1] += 1;
        }
        for i in 0..n_terms {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut ids = vec![0u32; docs.ids.len()];
        let mut weights = vec![0f32; docs.ids.len()];
        for p in 0..raw.len() {
            let (terms, ws) = docs.row(p);
            for (&t, &w) in terms.iter().zip(ws) {
                let at = fill[t as usize];
                ids[at] = p as u32;
                weights[at] = w;
                fill[t as usize] += 1;
            }
        }
        Ok(Self {
            docs,
            postings: Sparse {
                offsets,
                ids,
                weights,
            },
            n_terms,
        })
    }

    /// Number of distinct terms.
    pub fn n_terms(&self) -> usize {
        self.n_terms
    }

    /// The cosine similarity of two products' text (0 when either has none).
    pub fn similarity(&self, a: ProductIdx, b: ProductIdx) -> f32 {
        let (ta, wa) = self.docs.row(a.index());
        let (tb, wb) = self.docs.row(b.index());
        let (mut i, mut j, mut dot) = (0, 0, 0.0f32);
        while i < ta.len() && j < tb.len() {
            match ta[i].cmp(&tb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += wa[i] * wb[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        dot
    }
}

fn config_error(message: impl Into<String>) -> EvalError {
    config("fields", message)
}

impl Recommender for TfIdfRecommender {
    fn name(&self) -> &str {
        "tfidf"
    }

    fn n_products(&self) -> usize {
        self.docs.offsets.len().saturating_sub(1)
    }

    fn score_all(&self, seed: ProductIdx, out: &mut [f32]) -> bool {
        let (terms, weights) = self.docs.row(seed.index());
        if terms.is_empty() {
            return false;
        }
        for (&t, &w) in terms.iter().zip(weights) {
            let (products, pw) = self.postings.row(t as usize);
            for (&p, &x) in products.iter().zip(pw) {
                if let Some(s) = out.get_mut(p as usize) {
                    *s += w * x;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deeprecs_core::FeatureSchema;

    fn catalog(schema: &str, csv: &str) -> Catalog {
        let schema = FeatureSchema::from_toml_str(schema, "<s>").unwrap();
        Catalog::from_csv_str(csv, &schema).unwrap().0
    }

    const ONE_TEXT: &str = "id = \"sku\"\n[[fields]]\nname = \"title\"\nkind = \"text\"\n";

    #[test]
    fn hand_computed_weights_and_cosines() {
        // N = 3. df: tea 2, red 1, cup 1, pot 1, hose 1.
        let c = catalog(
            ONE_TEXT,
            "sku,title\nA,Red tea cup\nB,Tea pot\nC,hose\nD,\n",
        );
        let m = TfIdfRecommender::fit(&c, &TfIdfConfig::default()).unwrap();
        assert_eq!(m.n_terms(), 5);
        let n = 4.0f64; // D has no text but is a document of the catalog
        let idf = |df: f64| ((1.0 + n) / (1.0 + df)).ln() + 1.0;
        let (tea, rare) = (idf(2.0), idf(1.0));
        // A = (red, tea, cup), B = (tea, pot): cos = tea² / (|A| |B|).
        let expected =
            tea * tea / ((2.0 * rare * rare + tea * tea).sqrt() * (rare * rare + tea * tea).sqrt());
        let got = m.similarity(ProductIdx(0), ProductIdx(1));
        assert!(
            (f64::from(got) - expected).abs() < 1e-6,
            "{got} vs {expected}"
        );
        let mut out = vec![0.0; 4];
        assert!(m.score_all(ProductIdx(0), &mut out));
        assert!(
            (f64::from(out[0]) - 1.0).abs() < 1e-6,
            "self-similarity is 1"
        );
        assert!((f64::from(out[1]) - expected).abs() < 1e-6);
        assert_eq!((out[2], out[3]), (0.0, 0.0));
        // D has no text: it cannot be scored as a seed.
        assert!(!m.score_all(ProductIdx(3), &mut [0.0; 4]));
        assert_eq!(m.n_products(), 4);
    }

    #[test]
    fn sublinear_tf_damps_repeats() {
        let c = catalog(
            ONE_TEXT,
            "sku,title\nA,cup cup cup cup plate\nB,cup\nC,plate\n",
        );
        let sub = TfIdfRecommender::fit(&c, &TfIdfConfig::default()).unwrap();
        let raw = TfIdfRecommender::fit(
            &c,
            &TfIdfConfig {
                sublinear_tf: false,
                ..TfIdfConfig::default()
            },
        )
        .unwrap();
        // cup and plate have the same df, so A's cosine with B is tf_cup / |tf|.
        let cos = |tf: f64| tf / (tf * tf + 1.0).sqrt();
        let a_b = |m: &TfIdfRecommender| f64::from(m.similarity(ProductIdx(0), ProductIdx(1)));
        assert!((a_b(&raw) - cos(4.0)).abs() < 1e-6);
        assert!((a_b(&sub) - cos(1.0 + 4f64.ln())).abs() < 1e-6);
        assert!(a_b(&sub) < a_b(&raw));
    }

    #[test]
    fn fields_are_shared_and_checked() {
        let schema = "id = \"sku\"\n[[fields]]\nname = \"name\"\nkind = \"text\"\n[[fields]]\nname = \"desc\"\nkind = \"text\"\n[[fields]]\nname = \"brand\"\nkind = \"categorical\"\n";
        let c = catalog(
            schema,
            "sku,name,desc,brand\nA,Phone,black,acme\nB,Case,fits phone,acme\nC,Lamp,desk,zeta\n",
        );
        let both = TfIdfRecommender::fit(&c, &TfIdfConfig::default()).unwrap();
        assert!(
            both.similarity(ProductIdx(0), ProductIdx(1)) > 0.0,
            "name and description share words"
        );
        // The brand is categorical and not used.
        assert_eq!(both.similarity(ProductIdx(0), ProductIdx(2)), 0.0);
        let names = TfIdfRecommender::fit(
            &c,
            &TfIdfConfig {
                fields: vec!["name".into()],
                ..TfIdfConfig::default()
            },
        )
        .unwrap();
        assert_eq!(names.similarity(ProductIdx(0), ProductIdx(1)), 0.0);
        let err = |fields: &[&str]| match TfIdfRecommender::fit(
            &c,
            &TfIdfConfig {
                fields: fields.iter().map(|s| s.to_string()).collect(),
                ..TfIdfConfig::default()
            },
        ) {
            Err(EvalError::Config { name, message }) => format!("{name}: {message}"),
            other => panic!("expected a config error, got {other:?}"),
        };
        assert!(err(&["brand"]).contains("not text"));
        assert!(err(&["colour"]).contains("no field \"colour\""));
        let no_text = catalog(
            "id = \"sku\"\n[[fields]]\nname = \"brand\"\nkind = \"categorical\"\n",
            "sku,brand\nA,x\n",
        );
        assert!(matches!(
            TfIdfRecommender::fit(&no_text, &TfIdfConfig::default()),
            Err(EvalError::Config { .. })
        ));
    }
}
