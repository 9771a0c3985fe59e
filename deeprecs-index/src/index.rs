//! The [`Index`] trait shared by the exact and the approximate index, and the
//! [`Recommendation`] a query's hits resolve to.

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::cart::{self, CartAggregation};
use crate::error::{Error, Result};
use crate::filter::Exclusions;
use crate::store::{EmbeddingStore, Upserted};
use crate::topk::Hit;

/// A recommended product by id, with its score: what a caller prints or serialises
/// (`{"product": "...", "score": 0.93}` in JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Recommendation {
    /// The product id.
    pub product: String,
    /// The score (see [`Hit::score`]).
    pub score: f32,
}

/// Top-k search over the rec vectors of an [`EmbeddingStore`], by cosine similarity.
///
/// Implemented by [`ExactIndex`](crate::ExactIndex) (blocked matrix multiply, exact) and
/// [`HnswIndex`](crate::HnswIndex) (approximate). Both own their store, so adding, updating
/// and removing products goes through the index, which keeps its search structure in step.
///
/// Queries need not be normalised: each query is checked (dimension, finite, non-zero) and
/// L2-normalised first, so every score is a cosine in `[-1, 1]`. Results are sorted by score,
/// highest first, ties broken by the lower row (see [`Hit`]). Fewer than `k` hits come back
/// when fewer than `k` rows are admitted by the [`Exclusions`]; `k = 0` gives no hit.
pub trait Index: Send + Sync {
    /// The store of product ids and normalised rec vectors.
    fn store(&self) -> &EmbeddingStore;

    /// Inserts a product or overwrites its vector (without retraining anything: the vector
    /// is searchable by the next query).
    fn upsert(&mut self, id: &str, vector: ArrayView1<'_, f32>) -> Result<Upserted>;

    /// Removes a product; it is never returned again. Returns the row it had.
    fn remove(&mut self, id: &str) -> Result<usize>;

    /// The best `k` admitted rows for one query vector.
    fn top_k(
        &self,
        query: ArrayView1<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
    ) -> Result<Vec<Hit>>;

    /// The best `k` admitted rows for each row of `queries` (`n × dim`).
    ///
    /// `exclusions` apply to every query; `per_query` is either empty or has one list of
    /// extra excluded rows per query (typically the seed's own row, see
    /// [`top_k_for_products`](Index::top_k_for_products)).
    fn top_k_batch(
        &self,
        queries: ArrayView2<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
        per_query: &[Vec<usize>],
    ) -> Result<Vec<Vec<Hit>>>;

    /// The vector dimension.
    fn dim(&self) -> usize {
        self.store().dim()
    }

    /// The number of products.
    fn len(&self) -> usize {
        self.store().len()
    }

    /// True when the index holds no product.
    fn is_empty(&self) -> bool {
        self.store().is_empty()
    }

    /// Adds a new product; errors if the id is present.
    fn insert(&mut self, id: &str, vector: ArrayView1<'_, f32>) -> Result<usize> {
        if self.store().row_of(id).is_some() {
            return Err(Error::DuplicateProduct(id.to_owned()));
        }
        self.upsert(id, vector).map(Upserted::row)
    }

    /// Overwrites an existing product's vector; errors if the id is absent.
    fn update(&mut self, id: &str, vector: ArrayView1<'_, f32>) -> Result<usize> {
        if self.store().row_of(id).is_none() {
            return Err(Error::UnknownProduct(id.to_owned()));
        }
        self.upsert(id, vector).map(Upserted::row)
    }

    /// Recommendations for the product `id` from its seed vector: like
    /// [`top_k`](Index::top_k) but never returning `id` itself. `id` need not be in the index
    /// (a new product encoded on the fly): then nothing extra is excluded, and the result is
    /// the same as after inserting the product and querying again.
    fn top_k_for_product(
        &self,
        id: &str,
        seed: ArrayView1<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
    ) -> Result<Vec<Hit>> {
        match self.store().row_of(id) {
            Some(row) => self.top_k(seed, k, &exclusions.clone().exclude_rows([row])),
            None => self.top_k(seed, k, exclusions),
        }
    }

    /// Recommendations for many products at once (row `i` of `seeds` is the seed vector of
    /// `ids[i]`), each excluding itself: the "all seeds" query.
    fn top_k_for_products(
        &self,
        ids: &[&str],
        seeds: ArrayView2<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
    ) -> Result<Vec<Vec<Hit>>> {
        if ids.len() != seeds.nrows() {
            return Err(Error::IdCountMismatch {
                ids: ids.len(),
                rows: seeds.nrows(),
            });
        }
        let store = self.store();
        let own: Vec<Vec<usize>> = ids
            .iter()
            .map(|id| store.row_of(id).into_iter().collect())
            .collect();
        self.top_k_batch(seeds, k, exclusions, &own)
    }

    /// Recommendations for a cart: several seed vectors (row `i` of `seeds` for `cart_ids[i]`
    /// — ids not in the index are fine) aggregated as `aggregation` says. Never returns a
    /// cart item. See [`CartAggregation`] for the options and their trade-offs.
    fn top_k_cart(
        &self,
        cart_ids: &[&str],
        seeds: ArrayView2<'_, f32>,
        k: usize,
        aggregation: CartAggregation,
        exclusions: &Exclusions,
    ) -> Result<Vec<Hit>> {
        cart::top_k_cart(self, cart_ids, seeds, k, aggregation, exclusions)
    }

    /// Resolves hits to product ids (hits of rows removed since the query are skipped).
    fn recommendations(&self, hits: &[Hit]) -> Vec<Recommendation> {
        let store = self.store();
        hits.iter()
            .filter_map(|h| {
                store.id_of(h.row).map(|id| Recommendation {
                    product: id.to_owned(),
                    score: h.score,
                })
            })
            .collect()
    }
}

/// Checks and L2-normalises every row of a query matrix for `store` (errors name the query's
/// index in the batch).
pub(crate) fn normalized_queries(
    store: &EmbeddingStore,
    queries: ArrayView2<'_, f32>,
) -> Result<Array2<f32>> {
    let dim = store.dim();
    if queries.ncols() != dim {
        return Err(Error::DimensionMismatch {
            what: "the query matrix".to_owned(),
            expected: dim,
            got: queries.ncols(),
        });
    }
    let mut q = queries.as_standard_layout().into_owned();
    for (i, mut row) in q.rows_mut().into_iter().enumerate() {
        crate::store::normalize_in_place(row.as_slice_mut(), dim, || format!("query {i}"))?;
    }
    Ok(q)
}

/// Checks the length of a batch's per-query exclusion lists.
pub(crate) fn check_per_query(per_query: &[Vec<usize>], n: usize) -> Result<()> {
    if per_query.is_empty() || per_query.len() == n {
        Ok(())
    } else {
        Err(Error::BatchLength {
            what: "the per-query exclusion list",
            expected: n,
            got: per_query.len(),
        })
    }
}
