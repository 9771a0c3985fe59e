//! [`EmbeddingStore`]: product ids ↔ rows of an L2-normalised `ndarray::Array2<f32>`.
//!
//! Every vector is checked (dimension, finite, non-zero) and L2-normalised on the way in, so a
//! score is always the plain dot product of two rows: the cosine similarity.
//!
//! ## Rows, removal and compaction
//!
//! A product keeps its row for as long as it is in the store: [`EmbeddingStore::upsert`] of an
//! existing id overwrites its row in place. [`EmbeddingStore::remove`] *tombstones* the row: the
//! id is forgotten at once, the row is zeroed and never returned by a query, but the row number
//! is not reused, so row numbers held elsewhere (an approximate index's graph, a caller's
//! [`RowSet`](crate::RowSet)) stay valid. Re-inserting a removed id appends a new row.
//! [`EmbeddingStore::compact`] drops the tombstones and renumbers the live rows in their
//! previous order; it returns the [`RowRemap`] from old to new row numbers. Compact when
//! [`EmbeddingStore::tombstones`] is a sizeable fraction of [`EmbeddingStore::row_count`]
//! (a removed row still costs its share of every exact scan), and rebuild any approximate
//! index afterwards.

use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{Error, Result};

/// The largest number of rows a store holds, removed ones included (row numbers are kept as
/// `u32` in the hot loops).
pub const MAX_ROWS: usize = u32::MAX as usize;

/// Product ids mapped to rows of an L2-normalised embedding matrix.
///
/// ```
/// use deeprecs_index::EmbeddingStore;
/// use ndarray::array;
///
/// let mut store = EmbeddingStore::new(2)?;
/// let row = store.insert("P1", array![3.0, 4.0].view())?;
/// assert_eq!(store.vector(row).unwrap().to_vec(), vec![0.6, 0.8]); // normalised
/// assert_eq!(store.row_of("P1"), Some(row));
/// assert!(store.insert("P2", array![f32::NAN, 1.0].view()).is_err());
/// # Ok::<(), deeprecs_index::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct EmbeddingStore {
    dim: usize,
    /// `row_count × dim`, every live row of unit length, tombstoned rows zero.
    vectors: Array2<f32>,
    /// Row → id; `None` for a tombstoned row.
    ids: Vec<Option<Box<str>>>,
    by_id: HashMap<Box<str>, usize>,
}

/// What [`EmbeddingStore::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// The id was new: its vector went into this new row.
    Inserted(usize),
    /// The id was present: its row was overwritten in place.
    Updated(usize),
}

impl Upserted {
    /// The product's row, whichever happened.
    pub fn row(self) -> usize {
        match self {
            Self::Inserted(row) | Self::Updated(row) => row,
        }
    }
}

/// Old row number → new row number, as returned by [`EmbeddingStore::compact`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRemap {
    new_rows: Vec<Option<usize>>,
}

impl RowRemap {
    /// The new row of what was row `old`; `None` for a removed row or one out of range.
    pub fn get(&self, old: usize) -> Option<usize> {
        self.new_rows.get(old).copied().flatten()
    }

    /// The number of rows before compaction.
    pub fn old_row_count(&self) -> usize {
        self.new_rows.len()
    }

    /// True when no row moved (there was no tombstone).
    pub fn is_identity(&self) -> bool {
        self.new_rows
            .iter()
            .enumerate()
            .all(|(i, new)| *new == Some(i))
    }
}

/// Checks `v` (dimension `dim`, finite, non-zero) and returns it L2-normalised.
///
/// The norm is computed in `f64`, so very large or very small (but non-zero, finite) vectors
/// normalise without overflow or underflow. `what` names the vector in errors.
pub fn normalized(
    v: ArrayView1<'_, f32>,
    dim: usize,
    what: impl FnOnce() -> String,
) -> Result<Array1<f32>> {
    let mut out = v.to_owned();
    normalize_in_place(out.as_slice_mut(), dim, what)?;
    Ok(out)
}

/// [`normalized`] in place on a slice (used for matrix rows).
pub(crate) fn normalize_in_place(
    v: Option<&mut [f32]>,
    dim: usize,
    what: impl FnOnce() -> String,
) -> Result<()> {
    // An owned 1-D array or a standard-layout row is always contiguous; `None` cannot happen
    // for the callers in this crate, but is reported rather than unwrapped.
    let Some(v) = v else {
        return Err(Error::InvalidParameter {
            name: "vector",
            reason: format!("{} is not contiguous in memory", what()),
        });
    };
    if v.len() != dim {
        return Err(Error::DimensionMismatch {
            what: what(),
            expected: dim,
            got: v.len(),
        });
    }
    let mut sum_sq = 0.0f64;
    for (component, &x) in v.iter().enumerate() {
        if !x.is_finite() {
            return Err(Error::NonFiniteVector {
                what: what(),
                component,
                value: x,
            });
        }
        sum_sq += f64::from(x) * f64::from(x);
    }
    let norm = sum_sq.sqrt();
    // Finite: a sum of squares of finite f32 values cannot overflow f64. Below 1e-30 the
    // direction is numerically meaningless.
    if norm <= 1e-30 {
        return Err(Error::ZeroVector { what: what() });
    }
    let inv = 1.0 / norm;
    for x in v.iter_mut() {
        *x = (f64::from(*x) * inv) as f32;
    }
    Ok(())
}

fn product_what(id: &str) -> impl FnOnce() -> String + '_ {
    move || format!("product `{id}`")
}

impl EmbeddingStore {
    /// An empty store of `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Result<Self> {
        Self::with_capacity(dim, 0)
    }

    /// An empty store with room for `rows` vectors before it reallocates.
    pub fn with_capacity(dim: usize, rows: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDimension);
        }
        let mut vectors = Array2::zeros((0, dim));
        vectors
            .reserve_rows(rows)
            .map_err(|e| Error::InvalidParameter {
                name: "rows",
                reason: e.to_string(),
            })?;
        Ok(Self {
            dim,
            vectors,
            ids: Vec::with_capacity(rows),
            by_id: HashMap::with_capacity(rows),
        })
    }

    /// A store of the given ids and their vectors (row `i` of `vectors` for `ids[i]`), each
    /// checked and normalised. Errors on a duplicate or empty id and on any bad vector,
    /// naming the product.
    pub fn from_rows<I, S>(ids: I, vectors: ArrayView2<'_, f32>) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let (n, dim) = vectors.dim();
        if dim == 0 {
            return Err(Error::ZeroDimension);
        }
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        if ids.len() != n {
            return Err(Error::IdCountMismatch {
                ids: ids.len(),
                rows: n,
            });
        }
        if n > MAX_ROWS {
            return Err(Error::CapacityExceeded { max: MAX_ROWS });
        }
        let mut matrix = vectors.as_standard_layout().into_owned();
        let mut by_id = HashMap::with_capacity(n);
        for (row, (id, mut v)) in ids.iter().zip(matrix.rows_mut()).enumerate() {
            if id.is_empty() {
                return Err(Error::EmptyProductId);
            }
            normalize_in_place(v.as_slice_mut(), dim, product_what(id))?;
            if by_id.insert(Box::<str>::from(id.as_str()), row).is_some() {
                return Err(Error::DuplicateProduct(id.clone()));
            }
        }
        Ok(Self {
            dim,
            vectors: matrix,
            ids: ids
                .into_iter()
                .map(|id| Some(id.into_boxed_str()))
                .collect(),
            by_id,
        })
    }

    /// A store from already normalised rows (as loaded from an artifact, bit for bit); the
    /// caller has checked the vectors. Errors (as a message) on an empty or duplicate id.
    pub(crate) fn from_normalized_parts(
        ids: Vec<String>,
        vectors: Array2<f32>,
    ) -> std::result::Result<Self, String> {
        let (rows, dim) = vectors.dim();
        if ids.len() != rows || rows > MAX_ROWS || dim == 0 {
            return Err(format!(
                "{} ids for {rows} rows of dimension {dim}",
                ids.len()
            ));
        }
        let vectors = if vectors.is_standard_layout() {
            vectors
        } else {
            vectors.as_standard_layout().into_owned()
        };
        let mut by_id = HashMap::with_capacity(rows);
        for (row, id) in ids.iter().enumerate() {
            if id.is_empty() {
                return Err(format!("id {row} is empty"));
            }
            if by_id.insert(Box::<str>::from(id.as_str()), row).is_some() {
                return Err(format!("id `{id}` appears twice"));
            }
        }
        Ok(Self {
            dim,
            vectors,
            ids: ids
                .into_iter()
                .map(|id| Some(id.into_boxed_str()))
                .collect(),
            by_id,
        })
    }

    /// The matrix as one row-major slice (`row_count × dim` values).
    pub(crate) fn as_slice(&self) -> &[f32] {
        // Every constructor and mutation keeps the matrix in standard layout (tested).
        self.vectors
            .as_slice()
            .expect("EmbeddingStore keeps its matrix in standard layout")
    }

    /// The vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of products (live rows).
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when the store holds no product.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The number of rows, removed (tombstoned) ones included: the row numbers in use are
    /// `0..row_count()`.
    pub fn row_count(&self) -> usize {
        self.ids.len()
    }

    /// The number of removed rows not yet compacted away.
    pub fn tombstones(&self) -> usize {
        self.row_count() - self.len()
    }

    /// The row of a product, if it is in the store.
    pub fn row_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The row of a product, or [`Error::UnknownProduct`].
    pub fn require_row(&self, id: &str) -> Result<usize> {
        self.row_of(id)
            .ok_or_else(|| Error::UnknownProduct(id.to_owned()))
    }

    /// The product id of a live row; `None` for a removed row or one out of range.
    pub fn id_of(&self, row: usize) -> Option<&str> {
        self.ids.get(row).and_then(|id| id.as_deref())
    }

    /// True when `row` holds a product (is in range and not removed).
    pub fn is_live(&self, row: usize) -> bool {
        matches!(self.ids.get(row), Some(Some(_)))
    }

    /// The normalised vector of a live row.
    pub fn vector(&self, row: usize) -> Option<ArrayView1<'_, f32>> {
        self.is_live(row).then(|| self.vectors.row(row))
    }

    /// The normalised vector of a product.
    pub fn vector_of(&self, id: &str) -> Option<ArrayView1<'_, f32>> {
        self.row_of(id).map(|row| self.vectors.row(row))
    }

    /// All rows as one `row_count × dim` matrix in standard (row-major) layout. Live rows have
    /// unit length; removed rows are zero (and are skipped by every query).
    pub fn vectors(&self) -> ArrayView2<'_, f32> {
        self.vectors.view()
    }

    /// The live rows in increasing order.
    pub fn live_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.ids
            .iter()
            .enumerate()
            .filter_map(|(row, id)| id.as_ref().map(|_| row))
    }

    /// `(row, id, vector)` for every live row, in row order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &str, ArrayView1<'_, f32>)> + '_ {
        self.ids
            .iter()
            .zip(self.vectors.rows())
            .enumerate()
            .filter_map(|(row, (id, v))| id.as_deref().map(|id| (row, id, v)))
    }

    /// Checks and normalises a vector for this store (dimension, finite, non-zero), naming it
    /// `what` in errors.
    pub fn check_vector(
        &self,
        v: ArrayView1<'_, f32>,
        what: impl FnOnce() -> String,
    ) -> Result<Array1<f32>> {
        normalized(v, self.dim, what)
    }

    /// Adds a new product. Errors if the id is already present ([`Error::DuplicateProduct`])
    /// or the vector is bad; the store is unchanged on error.
    pub fn insert(&mut self, id: &str, vector: ArrayView1<'_, f32>) -> Result<usize> {
        if self.by_id.contains_key(id) {
            return Err(Error::DuplicateProduct(id.to_owned()));
        }
        self.upsert(id, vector).map(Upserted::row)
    }

    /// Overwrites the vector of an existing product in place (its row does not change).
    /// Errors if the id is absent ([`Error::UnknownProduct`]) or the vector is bad.
    pub fn update(&mut self, id: &str, vector: ArrayView1<'_, f32>) -> Result<usize> {
        if !self.by_id.contains_key(id) {
            return Err(Error::UnknownProduct(id.to_owned()));
        }
        self.upsert(id, vector).map(Upserted::row)
    }

    /// Inserts a new product or overwrites an existing one's vector in place. The store is
    /// unchanged on error.
    pub fn upsert(&mut self, id: &str, vector: ArrayView1<'_, f32>) -> Result<Upserted> {
        if id.is_empty() {
            return Err(Error::EmptyProductId);
        }
        let v = normalized(vector, self.dim, product_what(id))?;
        if let Some(&row) = self.by_id.get(id) {
            self.vectors.row_mut(row).assign(&v);
            return Ok(Upserted::Updated(row));
        }
        let row = self.ids.len();
        if row >= MAX_ROWS {
            return Err(Error::CapacityExceeded { max: MAX_ROWS });
        }
        self.vectors
            .push_row(v.view())
            .map_err(|e| Error::InvalidParameter {
                name: "vector",
                reason: e.to_string(),
            })?;
        self.ids.push(Some(id.into()));
        self.by_id.insert(id.into(), row);
        Ok(Upserted::Inserted(row))
    }

    /// Removes a product: its row is tombstoned (zeroed, never returned, not reused) until
    /// [`compact`](Self::compact). Returns the row it had.
    pub fn remove(&mut self, id: &str) -> Result<usize> {
        let row = self
            .by_id
            .remove(id)
            .ok_or_else(|| Error::UnknownProduct(id.to_owned()))?;
        self.ids[row] = None;
        self.vectors.row_mut(row).fill(0.0);
        Ok(row)
    }

    /// Drops removed rows and renumbers the live ones, keeping their order. Row numbers held
    /// elsewhere must be translated with the returned map (an approximate index is rebuilt).
    pub fn compact(&mut self) -> RowRemap {
        let mut new_rows = Vec::with_capacity(self.ids.len());
        let mut keep = Vec::with_capacity(self.len());
        for (row, id) in self.ids.iter().enumerate() {
            if id.is_some() {
                new_rows.push(Some(keep.len()));
                keep.push(row);
            } else {
                new_rows.push(None);
            }
        }
        if keep.len() != self.ids.len() {
            self.vectors = self.vectors.select(Axis(0), &keep);
            self.ids.retain(Option::is_some);
            for (row, id) in self.ids.iter().enumerate() {
                if let Some(id) = id {
                    self.by_id.insert(id.clone(), row);
                }
            }
        }
        RowRemap { new_rows }
    }
}
