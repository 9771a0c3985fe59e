//! [`CrossSellIndex`]: the trained two towers wired into serving.
//!
//! A [`CrossSellIndex`] holds everything a shop needs to answer cross-sell queries:
//!
//! - the [`TwoTower`] model for inference (on a plain, non-autodiff device), with its
//!   [`ModelBundle`] (config, schema, vocabularies) and weights;
//! - the rec vector of every product in an [`Index`] — [`ExactIndex`] by default,
//!   [`HnswIndex`] on request ([`SearchKind`]);
//! - the seed vector of every product, so that a query by product id does not run the model;
//! - every product's metadata (its field values) and label, for display and for
//!   explanations.
//!
//! ## Queries
//!
//! | query | method | the seed |
//! | --- | --- | --- |
//! | a product in the index | [`recommend_for_product`](CrossSellIndex::recommend_for_product) | its stored seed vector |
//! | a brand-new product | [`recommend_for_new_product`](CrossSellIndex::recommend_for_new_product) (JSON), [`recommend_for_values`](CrossSellIndex::recommend_for_values) | its metadata, encoded with the vocabularies (unknown tokens → `<unk>`) and run through the seed tower on the fly: no retraining |
//! | a cart | [`recommend_for_cart`](CrossSellIndex::recommend_for_cart) | the items' stored seed vectors, combined as [`CartAggregation`] says |
//!
//! Each result is a [`CrossSellRecommendation`]: the product id, its label, the score and,
//! when [`QueryOptions::explain`] is set, a [`PairExplanation`]. A product query never
//! returns the product itself, a cart query never returns a cart item, and
//! [`QueryOptions::exclusions`] adds the caller's filters (allow and deny [`RowSet`]s over
//! [`rec_store`](CrossSellIndex::rec_store) rows, a predicate on the product id).
//!
//! A new product gets the same recommendations whether it is queried on the fly or after it
//! was inserted ([`upsert_product`](CrossSellIndex::upsert_product)): both paths encode it
//! alone, run the same tower on the same input and normalise the same way, and a product
//! query excludes the product itself.
//!
//! ## Explanations
//!
//! An explanation splits the score of one (seed, rec) pair into per-field contributions with
//! [`TwoTower::explain`], run afresh on the two products' metadata:
//!
//! - [`PairExplanation::score`] is the model's cosine for the pair. For product and
//!   new-product queries it is the recommendation's score up to float rounding (the stored
//!   vectors were computed in other batches: differences of the order of 1e-6). For carts the
//!   pair is (the cart item whose seed vector scores the rec highest, the rec), named by
//!   [`PairExplanation::seed`]; the recommendation's score is the cart's aggregate.
//! - With [`ExplainMethod::Exact`] (a tower without dense layers) the contributions add up to
//!   [`PairExplanation::score`]. With [`ExplainMethod::Occlusion`] (dense layers) each
//!   contribution is the score lost when the field is blanked in both towers; they do not add
//!   up.
//!
//! ## Incremental updates
//!
//! [`upsert_product`](CrossSellIndex::upsert_product) (and
//! [`upsert_product_json`](CrossSellIndex::upsert_product_json)) encode a product with both
//! towers and insert it, or overwrite it in place; [`remove_product`](CrossSellIndex::remove_product)
//! removes it. No retraining: the vocabularies are the model's, so words the model never saw
//! map to `<unk>`. Removed products leave tombstones until [`compact`](CrossSellIndex::compact);
//! an index with an HNSW graph must be compacted before it is saved.
//!
//! ## The artifact
//!
//! [`save`](CrossSellIndex::save) writes one [artifact](crate::artifact) file, atomically,
//! with these sections (in this order):
//!
//! | section | content |
//! | --- | --- |
//! | `serving_meta` | JSON `{"serving_format": 1, "products": N, "dim": D, "search": "exact" \| "hnsw"}` |
//! | `model_config` | the [`ModelBundle`] JSON: model config, feature schema, vocabularies |
//! | `weights` | the model's weights (Burn's burnpack format) |
//! | `index_meta`, `ids`, `embeddings` | the rec vectors and the product ids ([`EmbeddingStore::save`]) |
//! | `ann_params`, `ann_graph` | the HNSW graph, when the index has one |
//! | `seed_embeddings` | `N × D` little-endian `f32`: the seed vectors, in the order of `ids` |
//! | `labels` | JSON array of `N` strings, in the order of `ids` |
//! | `product_values` | JSON array of `N` arrays of field values (schema order), in the order of `ids` |
//!
//! [`load`](CrossSellIndex::load) verifies the container (magic, versions, lengths, every
//! checksum) before parsing anything, then checks that the sections fit together (format
//! version, dimensions, counts, unit vectors, values of the schema's kinds, weights that
//! match the config) and reports any problem as a typed [`Error`] naming the file and the
//! section. Saving a loaded index gives the same bytes: the model JSON and the weights are
//! kept as read, and vectors are stored bit for bit.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use deeprecs_core::{Catalog, EncodedCatalog, FeatureSchema, FieldKind, FieldValue, ProductIdx};
use deeprecs_encoders::{
    ExplainMethod, Explanation, ModelBundle, TowerInput, TwoTower, embed_catalog, weights_to_bytes,
};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::ann::{HnswIndex, HnswParams};
use crate::artifact::{Artifact, ArtifactBuilder, names};
use crate::cart::CartAggregation;
use crate::error::{Error, Result};
use crate::exact::ExactIndex;
use crate::filter::Exclusions;
#[cfg(doc)]
use crate::filter::RowSet;
use crate::index::Index;
use crate::persist::check_unit_rows;
use crate::store::{EmbeddingStore, Upserted};
use crate::topk::Hit;

/// The version of the serving sections' layout (`serving_meta`, `seed_embeddings`, `labels`,
/// `product_values`).
pub const SERVING_FORMAT_VERSION: u32 = 1;

/// The names of the sections a [`CrossSellIndex`] adds to an artifact (besides the model's,
/// [`names::MODEL_CONFIG`] and [`names::WEIGHTS`], and the index's).
pub mod sections {
    /// JSON: format version, product count, dimension, search kind.
    pub const SERVING_META: &str = "serving_meta";
    /// The seed vectors (`f32`, row-major, in the order of the `ids` section).
    pub const SEED_EMBEDDINGS: &str = "seed_embeddings";
    /// JSON array of product labels, in the order of the `ids` section.
    pub const LABELS: &str = "labels";
    /// JSON array of each product's field values, in the order of the `ids` section.
    pub const PRODUCT_VALUES: &str = "product_values";
}

/// Which search structure holds the rec vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchKind {
    /// [`ExactIndex`]: blocked matrix multiply, exact results (the default).
    #[default]
    Exact,
    /// [`HnswIndex`]: an approximate HNSW graph with these parameters (for large catalogs
    /// and latency-bound single queries; see the [crate docs](crate) for its recall).
    Hnsw(HnswParams),
}

/// How [`CrossSellIndex::build`] runs.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Products per batch when embedding the catalog (0 is treated as 1). Default 256.
    pub batch_size: usize,
    /// The search structure. Default [`SearchKind::Exact`].
    pub search: SearchKind,
    /// The device the model runs on (its autodiff association is dropped: serving runs plain
    /// inference). Default `Device::flex()`, the CPU.
    pub device: Device,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            search: SearchKind::Exact,
            device: Device::flex(),
        }
    }
}

impl BuildOptions {
    /// The defaults: batches of 256, exact search, the CPU.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the batch size.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the search structure.
    pub fn with_search(mut self, search: SearchKind) -> Self {
        self.search = search;
        self
    }

    /// Sets the device.
    pub fn with_device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }
}

/// What a query asks for: how many results, what to leave out, whether to explain.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// The number of recommendations wanted (fewer come back when fewer products are
    /// admitted). Default 10.
    pub k: usize,
    /// The caller's filters, over rows of [`CrossSellIndex::rec_store`]. The seed itself
    /// and cart items are excluded in any case.
    pub exclusions: Exclusions,
    /// Attach a [`PairExplanation`] to every result (one extra model run per query).
    pub explain: bool,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self::top(10)
    }
}

impl QueryOptions {
    /// The best `k`, no filter, no explanation.
    pub fn top(k: usize) -> Self {
        Self {
            k,
            exclusions: Exclusions::none(),
            explain: false,
        }
    }

    /// Sets the filters.
    pub fn with_exclusions(mut self, exclusions: Exclusions) -> Self {
        self.exclusions = exclusions;
        self
    }

    /// Asks for (or not) per-field explanations.
    pub fn with_explanations(mut self, explain: bool) -> Self {
        self.explain = explain;
        self
    }
}

/// One field's share of a pair's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldContribution {
    /// The field name (as in the tower config).
    pub field: String,
    /// Its contribution (see [`PairExplanation`]).
    pub contribution: f32,
}

/// Why a product was recommended: the per-field split of one (seed, rec) pair's score. See
/// the [module docs](self#explanations) for the contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairExplanation {
    /// The seed product of the explained pair: the queried product, the new product, or for
    /// a cart the item whose seed vector scores the recommendation highest.
    pub seed: String,
    /// The model's cosine score of the pair, computed afresh.
    pub score: f32,
    /// How the contributions were computed: [`ExplainMethod::Exact`] contributions add up to
    /// `score`; [`ExplainMethod::Occlusion`] ones are score drops and do not.
    pub method: ExplainMethod,
    /// One entry per field of the tower, in tower config order.
    pub contributions: Vec<FieldContribution>,
}

impl PairExplanation {
    fn new(seed: &str, e: Explanation) -> Self {
        Self {
            seed: seed.to_owned(),
            score: e.score,
            method: e.method,
            contributions: e
                .contributions
                .into_iter()
                .map(|(field, contribution)| FieldContribution {
                    field,
                    contribution,
                })
                .collect(),
        }
    }

    /// The sum of the contributions (equal to [`score`](Self::score) up to rounding for
    /// [`ExplainMethod::Exact`]).
    pub fn total(&self) -> f32 {
        self.contributions.iter().map(|c| c.contribution).sum()
    }
}

/// One recommended product, as a shop displays or serialises it
/// (`{"product": "P7", "label": "Phone case", "score": 0.93}` in JSON, plus `"explanation"`
/// when asked for).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossSellRecommendation {
    /// The product id.
    pub product: String,
    /// Its label (the first text field, else the id).
    pub label: String,
    /// The score: a cosine similarity in `[-1, 1]` (for carts, see [`CartAggregation`]).
    pub score: f32,
    /// The per-field explanation, when [`QueryOptions::explain`] was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<PairExplanation>,
}

/// A product's metadata as served: its label and field values.
#[derive(Debug, Clone)]
struct ProductInfo {
    label: String,
    values: Vec<FieldValue>,
}

/// The search structure over the rec vectors.
#[derive(Debug)]
enum Search {
    Exact(ExactIndex),
    Hnsw(HnswIndex),
}

impl Search {
    fn index(&self) -> &dyn Index {
        match self {
            Self::Exact(i) => i,
            Self::Hnsw(i) => i,
        }
    }

    fn index_mut(&mut self) -> &mut dyn Index {
        match self {
            Self::Exact(i) => i,
            Self::Hnsw(i) => i,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServingMeta {
    serving_format: u32,
    products: usize,
    dim: usize,
    search: String,
}

fn model_err(context: impl Into<String>) -> impl FnOnce(deeprecs_encoders::Error) -> Error {
    move |cause| Error::Model {
        context: context.into(),
        cause: Box::new(cause),
    }
}

fn read_rows(t: Tensor<2>, what: &str) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Model {
            context: what.to_owned(),
            cause: Box::new(deeprecs_encoders::Error::Input(format!(
                "cannot read the vectors back: {e:?}"
            ))),
        })
}

/// A product's display label: its first non-empty text field, else its id (the rule of
/// [`Catalog::label`]).
fn label_for(schema: &FeatureSchema, id: &str, values: &[FieldValue]) -> String {
    schema
        .fields()
        .iter()
        .zip(values)
        .find_map(|(f, v)| match (&f.kind, v) {
            (FieldKind::Text { .. }, FieldValue::Text(t)) if !t.is_empty() => Some(t.clone()),
            _ => None,
        })
        .unwrap_or_else(|| id.to_owned())
}

/// Checks that a catalog was read with the model's schema (same fields, same options).
fn check_catalog_schema(bundle: &ModelBundle, catalog: &Catalog) -> Result<()> {
    let ours = bundle.schema.fields();
    let theirs = catalog.schema().fields();
    if ours.len() != theirs.len() {
        return Err(Error::CatalogMismatch {
            detail: format!(
                "the catalog's schema has {} fields, the model's {}",
                theirs.len(),
                ours.len()
            ),
        });
    }
    for (a, b) in ours.iter().zip(theirs) {
        if a != b {
            return Err(Error::CatalogMismatch {
                detail: format!(
                    "field `{}` of the catalog's schema differs from the model's field `{}` \
                     (name, column, kind or options)",
                    b.name, a.name
                ),
            });
        }
    }
    Ok(())
}

/// Cross-sell recommendations served from a trained two-tower model: by product, by a new
/// product's metadata, by cart; with filters, explanations, incremental updates and a single
/// artifact file. See the [module docs](self).
///
/// ```
/// use deeprecs_core::synthetic::{SyntheticConfig, generate};
/// use deeprecs_core::Vocabularies;
/// use deeprecs_encoders::{ModelBundle, TowerConfig, TwoTowerConfig};
/// use deeprecs_index::{BuildOptions, CartAggregation, CrossSellIndex, QueryOptions};
///
/// let data = generate(&SyntheticConfig { products: 120, users: 30, ..SyntheticConfig::default() })?;
/// let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx))?;
/// let config = TwoTowerConfig::new(TowerConfig::for_schema(&data.schema));
/// let bundle = ModelBundle::new(config, data.schema.clone(), vocabs)?;
/// let options = BuildOptions::default();
/// let model = bundle.init(&options.device)?; // a trained model in real use
/// let index = CrossSellIndex::build_with_model(bundle, &model, &data.catalog, &options, |_, _| {})?;
///
/// let first = data.catalog.ids()[0].clone();
/// let recs = index.recommend_for_product(&first, &QueryOptions::top(5))?;
/// assert_eq!(recs.len(), 5);
/// assert!(recs.iter().all(|r| r.product != first));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CrossSellIndex {
    bundle: ModelBundle,
    /// The bundle as written to (or read from) the artifact.
    bundle_json: String,
    /// The weights as written to (or read from) the artifact.
    weights: Vec<u8>,
    model: TwoTower,
    device: Device,
    /// An empty catalog of the model's schema: parses JSON products.
    parser: Catalog,
    search: Search,
    seeds: EmbeddingStore,
    products: HashMap<String, ProductInfo>,
}

impl std::fmt::Debug for CrossSellIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossSellIndex")
            .field("products", &self.len())
            .field("dim", &self.dim())
            .field("search", &self.search_kind())
            .field("fields", &self.model.seed_tower().field_names())
            .field("weights_bytes", &self.weights.len())
            .finish()
    }
}

impl CrossSellIndex {
    /// Builds the index for `catalog` from a model bundle and its weights (burnpack bytes,
    /// as [`ModelBundle::save`] writes them), calling `progress(done, total)` as the catalog
    /// is embedded.
    ///
    /// The catalog must have been read with the model's schema ([`Error::CatalogMismatch`]
    /// otherwise); weights that do not fit the config are an [`Error::Model`].
    pub fn build(
        bundle: ModelBundle,
        weights: &[u8],
        catalog: &Catalog,
        options: &BuildOptions,
        progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        let device = options.device.clone().inner();
        let model = bundle
            .load_weights(weights, "<weights>", &device)
            .map_err(model_err("loading the model's weights"))?;
        Self::assemble(bundle, weights.to_vec(), model, catalog, options, progress)
    }

    /// Builds the index for `catalog` from a model in memory (e.g. just trained; it is put
    /// in inference mode on [`BuildOptions::device`] without its autodiff association).
    pub fn build_with_model(
        bundle: ModelBundle,
        model: &TwoTower,
        catalog: &Catalog,
        options: &BuildOptions,
        progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        let weights = weights_to_bytes(model).map_err(model_err("serialising the weights"))?;
        Self::assemble(bundle, weights, model.clone(), catalog, options, progress)
    }

    fn assemble(
        bundle: ModelBundle,
        weights: Vec<u8>,
        model: TwoTower,
        catalog: &Catalog,
        options: &BuildOptions,
        progress: impl FnMut(usize, usize),
    ) -> Result<Self> {
        let model = model.valid();
        let device = options.device.clone().inner();
        check_catalog_schema(&bundle, catalog)?;
        let encoded = EncodedCatalog::encode(catalog, &bundle.vocabularies).map_err(|e| {
            Error::CatalogMismatch {
                detail: e.to_string(),
            }
        })?;
        let vectors = embed_catalog(&model, &encoded, &device, options.batch_size, progress)
            .map_err(model_err("embedding the catalog"))?;
        let dim = bundle.config.tower.output_dim();
        let n = catalog.len();
        if n > 0 && vectors.dim != dim {
            return Err(Error::DimensionMismatch {
                what: "the model's output".to_owned(),
                expected: dim,
                got: vectors.dim,
            });
        }
        let matrix = |v: Vec<f32>| {
            Array2::from_shape_vec((n, dim), v).map_err(|e| Error::InvalidParameter {
                name: "embeddings",
                reason: e.to_string(),
            })
        };
        let ids = catalog.ids().to_vec();
        let recs = EmbeddingStore::from_rows(ids.iter().cloned(), matrix(vectors.recs)?.view())?;
        let seeds = EmbeddingStore::from_rows(ids.iter().cloned(), matrix(vectors.seeds)?.view())?;
        let products = catalog
            .iter()
            .map(|p| {
                (
                    p.id.to_owned(),
                    ProductInfo {
                        label: catalog.label(p.idx),
                        values: p.values.to_vec(),
                    },
                )
            })
            .collect();
        let search = match options.search {
            SearchKind::Exact => Search::Exact(ExactIndex::new(recs)),
            SearchKind::Hnsw(params) => Search::Hnsw(HnswIndex::build(recs, params)?),
        };
        let bundle_json = bundle.to_json();
        Ok(Self {
            parser: Catalog::new(bundle.schema.clone()),
            bundle,
            bundle_json,
            weights,
            model,
            device,
            search,
            seeds,
            products,
        })
    }

    // ----- accessors -----

    /// The search index over the rec vectors.
    pub fn index(&self) -> &dyn Index {
        self.search.index()
    }

    /// The product ids and rec vectors (build [`RowSet`]s for filters against it).
    pub fn rec_store(&self) -> &EmbeddingStore {
        self.search.index().store()
    }

    /// The product ids and seed vectors.
    pub fn seed_store(&self) -> &EmbeddingStore {
        &self.seeds
    }

    /// The model (inference mode).
    pub fn model(&self) -> &TwoTower {
        &self.model
    }

    /// The model's config, schema and vocabularies.
    pub fn bundle(&self) -> &ModelBundle {
        &self.bundle
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The search structure in use.
    pub fn search_kind(&self) -> SearchKind {
        match &self.search {
            Search::Exact(_) => SearchKind::Exact,
            Search::Hnsw(h) => SearchKind::Hnsw(h.params()),
        }
    }

    /// The vector dimension.
    pub fn dim(&self) -> usize {
        self.rec_store().dim()
    }

    /// The number of products.
    pub fn len(&self) -> usize {
        self.rec_store().len()
    }

    /// True when the index holds no product.
    pub fn is_empty(&self) -> bool {
        self.rec_store().is_empty()
    }

    /// True when the product is in the index.
    pub fn contains(&self, id: &str) -> bool {
        self.rec_store().row_of(id).is_some()
    }

    /// A product's label, if it is in the index.
    pub fn label(&self, id: &str) -> Option<&str> {
        self.products.get(id).map(|p| p.label.as_str())
    }

    /// A product's field values (schema order), if it is in the index.
    pub fn product_values(&self, id: &str) -> Option<&[FieldValue]> {
        self.products.get(id).map(|p| p.values.as_slice())
    }

    // ----- encoding -----

    /// Parses a product given as a JSON object keyed by the schema's columns (the id column
    /// and any of the fields; absent fields are missing values) into its id and values.
    pub fn parse_product(&self, json: &str) -> Result<(String, Vec<FieldValue>)> {
        self.parser
            .parse_json_product(json)
            .map_err(|cause| Error::ProductData {
                product: json_id(json, self.bundle.schema.id_column())
                    .unwrap_or_else(|| "<new product>".to_owned()),
                cause: Box::new(cause),
            })
    }

    /// Encodes one product's values into a model input (unknown tokens → `<unk>`).
    fn encode(&self, id: &str, values: &[Vec<FieldValue>]) -> Result<TowerInput> {
        let encoded =
            EncodedCatalog::encode_values(&self.bundle.schema, &self.bundle.vocabularies, values)
                .map_err(|cause| Error::ProductData {
                product: id.to_owned(),
                cause: Box::new(cause),
            })?;
        let all: Vec<ProductIdx> = (0..values.len() as u32).map(ProductIdx).collect();
        let batch = encoded.batch(&all).map_err(|cause| Error::ProductData {
            product: id.to_owned(),
            cause: Box::new(cause),
        })?;
        Ok(TowerInput::new(&batch, &self.device))
    }

    /// The seed vector of a product from its metadata (the seed tower run on the fly),
    /// checked and L2-normalised exactly as stored seed vectors are.
    pub fn seed_vector(&self, id: &str, values: &[FieldValue]) -> Result<Array1<f32>> {
        let input = self.encode(id, &[values.to_vec()])?;
        let what = format!("embedding product `{id}` with the seed tower");
        let raw = self.model.embed_seed(&input).map_err(model_err(&what))?;
        let raw = Array1::from(read_rows(raw, &what)?);
        self.seeds
            .check_vector(raw.view(), || format!("the seed vector of product `{id}`"))
    }

    // ----- queries -----

    /// Recommendations for a product in the index (from its stored seed vector), never
    /// including the product itself. An id not in the index is [`Error::UnknownProduct`].
    pub fn recommend_for_product(
        &self,
        id: &str,
        query: &QueryOptions,
    ) -> Result<Vec<CrossSellRecommendation>> {
        let seed = self
            .seeds
            .vector_of(id)
            .ok_or_else(|| Error::UnknownProduct(id.to_owned()))?;
        let hits = self
            .index()
            .top_k_for_product(id, seed, query.k, &query.exclusions)?;
        let seeds = if query.explain {
            let values = self
                .product_values(id)
                .ok_or_else(|| Error::UnknownProduct(id.to_owned()))?;
            vec![(id, values); hits.len()]
        } else {
            Vec::new()
        };
        self.resolve(&hits, query.explain.then_some(seeds.as_slice()))
    }

    /// Recommendations for a brand-new product given as a JSON object (see
    /// [`parse_product`](Self::parse_product)): encoded and embedded with the seed tower on
    /// the fly, no retraining. If its id is in the index, that product is excluded.
    pub fn recommend_for_new_product(
        &self,
        json: &str,
        query: &QueryOptions,
    ) -> Result<Vec<CrossSellRecommendation>> {
        let (id, values) = self.parse_product(json)?;
        self.recommend_for_values(&id, &values, query)
    }

    /// Recommendations for a product given by its id and field values (schema order),
    /// embedded on the fly; the product `id` itself is never returned.
    pub fn recommend_for_values(
        &self,
        id: &str,
        values: &[FieldValue],
        query: &QueryOptions,
    ) -> Result<Vec<CrossSellRecommendation>> {
        let seed = self.seed_vector(id, values)?;
        let hits = self
            .index()
            .top_k_for_product(id, seed.view(), query.k, &query.exclusions)?;
        let seeds = if query.explain {
            vec![(id, values); hits.len()]
        } else {
            Vec::new()
        };
        self.resolve(&hits, query.explain.then_some(seeds.as_slice()))
    }

    /// Recommendations for a cart of products in the index (repeated ids count once),
    /// aggregated as `aggregation` says; never returns a cart item. An empty cart is
    /// [`Error::EmptyCart`], an id not in the index [`Error::UnknownProduct`].
    pub fn recommend_for_cart<S: AsRef<str>>(
        &self,
        cart: &[S],
        aggregation: CartAggregation,
        query: &QueryOptions,
    ) -> Result<Vec<CrossSellRecommendation>> {
        let mut ids: Vec<&str> = Vec::with_capacity(cart.len());
        for id in cart {
            let id = id.as_ref();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() {
            return Err(Error::EmptyCart);
        }
        let mut seeds = Array2::<f32>::zeros((ids.len(), self.dim()));
        for (mut row, id) in seeds.rows_mut().into_iter().zip(&ids) {
            let v = self
                .seeds
                .vector_of(id)
                .ok_or_else(|| Error::UnknownProduct((*id).to_owned()))?;
            row.assign(&v);
        }
        let hits =
            self.index()
                .top_k_cart(&ids, seeds.view(), query.k, aggregation, &query.exclusions)?;
        if !query.explain {
            return self.resolve(&hits, None);
        }
        // Explain each recommendation against the cart item that scores it highest.
        let mut pairs = Vec::with_capacity(hits.len());
        for h in &hits {
            let rec = self.rec_store().vector(h.row);
            let best = ids
                .iter()
                .zip(seeds.rows())
                .map(|(id, s)| (id, rec.map_or(f32::NEG_INFINITY, |r| s.dot(&r))))
                .fold(None::<(&&str, f32)>, |best, (id, score)| match best {
                    Some((_, b)) if b >= score => best,
                    _ => Some((id, score)),
                });
            let Some((id, _)) = best else {
                return Err(Error::EmptyCart);
            };
            let values = self
                .product_values(id)
                .ok_or_else(|| Error::UnknownProduct((*id).to_owned()))?;
            pairs.push((*id, values));
        }
        self.resolve(&hits, Some(&pairs))
    }

    /// Hits → recommendations with labels; with `explain_seeds` (one `(seed id, seed values)`
    /// per hit), each with the explanation of its (seed, rec) pair.
    fn resolve(
        &self,
        hits: &[Hit],
        explain_seeds: Option<&[(&str, &[FieldValue])]>,
    ) -> Result<Vec<CrossSellRecommendation>> {
        let store = self.rec_store();
        let mut out = Vec::with_capacity(hits.len());
        for h in hits {
            let Some(id) = store.id_of(h.row) else {
                continue;
            };
            let label = self.label(id).map_or_else(|| id.to_owned(), str::to_owned);
            out.push(CrossSellRecommendation {
                product: id.to_owned(),
                label,
                score: h.score,
                explanation: None,
            });
        }
        let Some(seeds) = explain_seeds else {
            return Ok(out);
        };
        if out.is_empty() {
            return Ok(out);
        }
        let seed_values: Vec<Vec<FieldValue>> = seeds.iter().map(|(_, v)| v.to_vec()).collect();
        let rec_values: Vec<Vec<FieldValue>> = out
            .iter()
            .map(|r| {
                self.product_values(&r.product)
                    .map(<[FieldValue]>::to_vec)
                    .ok_or_else(|| Error::UnknownProduct(r.product.clone()))
            })
            .collect::<Result<_>>()?;
        let context = format!("explaining the recommendations for `{}`", seeds[0].0);
        let s = self.encode(seeds[0].0, &seed_values)?;
        let r = self.encode(&out[0].product, &rec_values)?;
        let explained = self.model.explain(&s, &r).map_err(model_err(context))?;
        for ((rec, e), (seed, _)) in out.iter_mut().zip(explained).zip(seeds) {
            rec.explanation = Some(PairExplanation::new(seed, e));
        }
        Ok(out)
    }

    // ----- incremental updates -----

    /// Adds a product, or replaces an existing one's metadata and vectors in place, encoding
    /// it with both towers (no retraining). The index is unchanged on error.
    pub fn upsert_product(&mut self, id: &str, values: Vec<FieldValue>) -> Result<Upserted> {
        if id.is_empty() {
            return Err(Error::EmptyProductId);
        }
        let input = self.encode(id, std::slice::from_ref(&values))?;
        let what = format!("embedding product `{id}`");
        let seed = self.model.embed_seed(&input).map_err(model_err(&what))?;
        let rec = self.model.embed_rec(&input).map_err(model_err(&what))?;
        let seed = Array1::from(read_rows(seed, &what)?);
        let rec = Array1::from(read_rows(rec, &what)?);
        // Check both before changing anything.
        self.seeds
            .check_vector(seed.view(), || format!("the seed vector of product `{id}`"))?;
        self.rec_store()
            .check_vector(rec.view(), || format!("the rec vector of product `{id}`"))?;
        let upserted = self.search.index_mut().upsert(id, rec.view())?;
        if let Err(e) = self.seeds.upsert(id, seed.view()) {
            // Keep the two stores in step: undo an insertion (an update cannot fail here).
            if let Upserted::Inserted(_) = upserted {
                let _ = self.search.index_mut().remove(id);
            }
            return Err(e);
        }
        let label = label_for(&self.bundle.schema, id, &values);
        self.products
            .insert(id.to_owned(), ProductInfo { label, values });
        Ok(upserted)
    }

    /// [`upsert_product`](Self::upsert_product) of a product given as a JSON object (see
    /// [`parse_product`](Self::parse_product)); returns its id too.
    pub fn upsert_product_json(&mut self, json: &str) -> Result<(String, Upserted)> {
        let (id, values) = self.parse_product(json)?;
        let upserted = self.upsert_product(&id, values)?;
        Ok((id, upserted))
    }

    /// Removes a product: it is never recommended again and cannot be queried by id.
    pub fn remove_product(&mut self, id: &str) -> Result<()> {
        self.search.index_mut().remove(id)?;
        // The stores hold the same ids; a seed missing here would be a broken invariant,
        // which removal repairs rather than reports.
        let _ = self.seeds.remove(id);
        self.products.remove(id);
        Ok(())
    }

    /// Drops removed products' tombstones and renumbers rows (row numbers in caller-held
    /// [`RowSet`]s become stale). Needed before saving an index with an HNSW graph.
    pub fn compact(&mut self) -> Result<()> {
        match &mut self.search {
            Search::Exact(e) => {
                e.compact();
            }
            Search::Hnsw(h) => {
                h.compact()?;
            }
        }
        self.seeds.compact();
        Ok(())
    }

    // ----- the artifact -----

    /// The artifact's sections (see the [module docs](self#the-artifact)).
    pub fn to_artifact(&self) -> Result<ArtifactBuilder<'_>> {
        let store = self.rec_store();
        let n = store.len();
        let dim = store.dim();
        let mut seeds = Vec::with_capacity(n * dim);
        let mut labels = Vec::with_capacity(n);
        let mut values = Vec::with_capacity(n);
        for (_, id, _) in store.iter() {
            let seed = self
                .seeds
                .vector_of(id)
                .ok_or_else(|| Error::UnknownProduct(id.to_owned()))?;
            seeds.extend(seed.iter().copied());
            let info = self
                .products
                .get(id)
                .ok_or_else(|| Error::UnknownProduct(id.to_owned()))?;
            labels.push(info.label.as_str());
            values.push(info.values.as_slice());
        }
        let meta = ServingMeta {
            serving_format: SERVING_FORMAT_VERSION,
            products: n,
            dim,
            search: match self.search {
                Search::Exact(_) => "exact".to_owned(),
                Search::Hnsw(_) => "hnsw".to_owned(),
            },
        };
        let builder = ArtifactBuilder::new()
            .section(sections::SERVING_META, to_json("serving_meta", &meta)?)?
            .section(names::MODEL_CONFIG, self.bundle_json.as_bytes())?
            .section(names::WEIGHTS, self.weights.as_slice())?;
        let builder = match &self.search {
            Search::Exact(e) => e.store().add_to_artifact(builder)?,
            Search::Hnsw(h) => h.add_to_artifact(builder)?,
        };
        builder
            .section_f32(sections::SEED_EMBEDDINGS, seeds)?
            .section(sections::LABELS, to_json("labels", &labels)?)?
            .section(
                sections::PRODUCT_VALUES,
                to_json("product_values", &values)?,
            )
    }

    /// Writes the artifact to `path` atomically (temporary file, sync, rename).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.to_artifact()?.write_atomic(path)
    }

    /// The artifact as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.to_artifact()?.to_bytes())
    }

    /// Reads, verifies and loads an artifact written by [`save`](Self::save); the model runs
    /// on `device` (without its autodiff association).
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Self::from_artifact(&Artifact::read(path)?, device)
    }

    /// Verifies and loads an artifact held in memory; `file` names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, file: &str, device: &Device) -> Result<Self> {
        Self::from_artifact(&Artifact::from_bytes(bytes, file)?, device)
    }

    /// Loads from a verified artifact, checking that its sections fit together.
    pub fn from_artifact(artifact: &Artifact, device: &Device) -> Result<Self> {
        let file = artifact.file().to_owned();
        let meta: ServingMeta = serde_json::from_slice(artifact.require(sections::SERVING_META)?)
            .map_err(|e| {
            artifact.mismatch(sections::SERVING_META, format!("invalid JSON: {e}"))
        })?;
        if meta.serving_format != SERVING_FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                file,
                what: format!("section `{}`", sections::SERVING_META),
                found: meta.serving_format,
                supported: SERVING_FORMAT_VERSION,
            });
        }

        let bundle_json = std::str::from_utf8(artifact.require(names::MODEL_CONFIG)?)
            .map_err(|e| artifact.mismatch(names::MODEL_CONFIG, format!("not UTF-8: {e}")))?
            .to_owned();
        let bundle = ModelBundle::from_json(&bundle_json, &file)
            .map_err(|e| artifact.mismatch(names::MODEL_CONFIG, e.to_string()))?;
        let dim = bundle.config.tower.output_dim();
        if meta.dim != dim {
            return Err(artifact.mismatch(
                sections::SERVING_META,
                format!("dimension {} but the model's vectors have {dim}", meta.dim),
            ));
        }
        let device = device.clone().inner();
        let weights = artifact.require(names::WEIGHTS)?.to_vec();
        let model = bundle
            .load_weights(&weights, &file, &device)
            .map_err(|e| artifact.mismatch(names::WEIGHTS, e.to_string()))?
            .valid();

        let search = match meta.search.as_str() {
            "exact" => Search::Exact(ExactIndex::new(EmbeddingStore::from_artifact(artifact)?)),
            "hnsw" => Search::Hnsw(HnswIndex::from_artifact(artifact)?),
            other => {
                return Err(artifact.mismatch(
                    sections::SERVING_META,
                    format!("unknown search kind `{other}` (expected `exact` or `hnsw`)"),
                ));
            }
        };
        let store = search.index().store();
        if store.dim() != dim || store.len() != meta.products {
            return Err(artifact.mismatch(
                names::EMBEDDINGS,
                format!(
                    "{} products of dimension {}, but serving_meta says {} of dimension {dim}",
                    store.len(),
                    store.dim(),
                    meta.products
                ),
            ));
        }
        let n = store.len();
        let ids: Vec<String> = store.iter().map(|(_, id, _)| id.to_owned()).collect();

        let seed_values = artifact.section_f32(sections::SEED_EMBEDDINGS)?;
        if seed_values.len() != n * dim {
            return Err(artifact.mismatch(
                sections::SEED_EMBEDDINGS,
                format!(
                    "{} values, expected {n} products × {dim}",
                    seed_values.len()
                ),
            ));
        }
        check_unit_rows(artifact, sections::SEED_EMBEDDINGS, &seed_values, dim, &ids)?;
        let seed_matrix = Array2::from_shape_vec((n, dim), seed_values)
            .map_err(|e| artifact.mismatch(sections::SEED_EMBEDDINGS, e.to_string()))?;
        let seeds = if n == 0 {
            EmbeddingStore::new(dim)?
        } else {
            EmbeddingStore::from_normalized_parts(ids.clone(), seed_matrix)
                .map_err(|d| artifact.mismatch(sections::SEED_EMBEDDINGS, d))?
        };

        let labels: Vec<String> = serde_json::from_slice(artifact.require(sections::LABELS)?)
            .map_err(|e| artifact.mismatch(sections::LABELS, format!("invalid JSON: {e}")))?;
        if labels.len() != n {
            return Err(artifact.mismatch(
                sections::LABELS,
                format!("{} labels for {n} products", labels.len()),
            ));
        }
        let values: Vec<Vec<FieldValue>> =
            serde_json::from_slice(artifact.require(sections::PRODUCT_VALUES)?).map_err(|e| {
                artifact.mismatch(sections::PRODUCT_VALUES, format!("invalid JSON: {e}"))
            })?;
        if values.len() != n {
            return Err(artifact.mismatch(
                sections::PRODUCT_VALUES,
                format!("{} value lists for {n} products", values.len()),
            ));
        }
        // Check every product's values against the schema (count, kinds, required fields).
        let mut check = Catalog::new(bundle.schema.clone());
        for (id, v) in ids.iter().zip(&values) {
            check.push(id.clone(), v.clone()).map_err(|e| {
                artifact.mismatch(sections::PRODUCT_VALUES, format!("product `{id}`: {e}"))
            })?;
        }
        let products = ids
            .into_iter()
            .zip(labels.into_iter().zip(values))
            .map(|(id, (label, values))| (id, ProductInfo { label, values }))
            .collect();

        Ok(Self {
            parser: Catalog::new(bundle.schema.clone()),
            bundle,
            bundle_json,
            weights,
            model,
            device,
            search,
            seeds,
            products,
        })
    }
}

/// The id in a JSON product, if readable (to name the product in errors).
fn json_id(json: &str, id_column: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    match value.get(id_column)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `value` as JSON bytes; `name` names it in the (unexpected) error.
fn to_json<T: Serialize + ?Sized>(name: &'static str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::InvalidParameter {
        name,
        reason: e.to_string(),
    })
}
