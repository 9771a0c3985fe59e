//! What a query must not return: [`Exclusions`] and the [`RowSet`]s they are built from.
//!
//! A row is a candidate for a query only if **all** of these hold:
//!
//! 1. it is live (removed rows are never returned);
//! 2. it is not one of the explicitly excluded rows (the seed itself, the cart's items — see
//!    [`Exclusions::exclude_ids`]);
//! 3. it is in the allow set, when there is one ([`Exclusions::allow`]);
//! 4. it is not in the deny set ([`Exclusions::deny`]);
//! 5. the caller's predicate, when there is one, returns `true` for `(row, product id)`
//!    ([`Exclusions::keep_if`]).
//!
//! Exclusions are checked only for rows whose score could enter the top k, so a deny set or a
//! predicate costs (almost) nothing in the exact scan. A *small* allow set is the exception
//! that speeds a query up: when it holds under a quarter of the rows, only its rows are scored.
//!
//! Exclusions hold row numbers: build them against the store they are used with, and rebuild
//! them after [`EmbeddingStore::compact`](crate::EmbeddingStore::compact).

use std::fmt;
use std::sync::Arc;

use crate::error::Result;
use crate::store::EmbeddingStore;

/// A set of rows (a bit set sized to the store's row count).
///
/// ```
/// use deeprecs_index::{EmbeddingStore, RowSet};
/// use ndarray::array;
///
/// let store = EmbeddingStore::from_rows(["a", "b", "c"], array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]].view())?;
/// let in_stock = RowSet::from_ids(&store, ["a", "c"])?;
/// assert!(in_stock.contains(0) && !in_stock.contains(1) && in_stock.contains(2));
/// assert_eq!(in_stock.len(), 2);
/// # Ok::<(), deeprecs_index::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RowSet {
    words: Vec<u64>,
    len: usize,
}

impl fmt::Debug for RowSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl RowSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set of the given rows.
    pub fn from_rows(rows: impl IntoIterator<Item = usize>) -> Self {
        let mut set = Self::new();
        for row in rows {
            set.insert(row);
        }
        set
    }

    /// The rows of the given product ids; an id not in the store is an
    /// [`Error::UnknownProduct`](crate::Error::UnknownProduct).
    pub fn from_ids<S: AsRef<str>>(
        store: &EmbeddingStore,
        ids: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        let mut set = Self::new();
        for id in ids {
            set.insert(store.require_row(id.as_ref())?);
        }
        Ok(set)
    }

    /// The rows of those of the given ids that are in the store, and the number of ids that
    /// were not (for lists that may name products the index never had, such as a stock feed).
    pub fn from_known_ids<S: AsRef<str>>(
        store: &EmbeddingStore,
        ids: impl IntoIterator<Item = S>,
    ) -> (Self, usize) {
        let mut set = Self::new();
        let mut unknown = 0;
        for id in ids {
            match store.row_of(id.as_ref()) {
                Some(row) => {
                    set.insert(row);
                }
                None => unknown += 1,
            }
        }
        (set, unknown)
    }

    /// Adds a row; returns true if it was not in the set. Rows at or above
    /// [`MAX_ROWS`](crate::store::MAX_ROWS) exist in no store and are ignored (returning
    /// false), so an absurd row number cannot make the set allocate without bound.
    pub fn insert(&mut self, row: usize) -> bool {
        if row >= crate::store::MAX_ROWS {
            return false;
        }
        let (word, bit) = (row / 64, row % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        let new = self.words[word] & mask == 0;
        self.words[word] |= mask;
        self.len += usize::from(new);
        new
    }

    /// Removes a row; returns true if it was in the set.
    pub fn remove(&mut self, row: usize) -> bool {
        let (word, bit) = (row / 64, row % 64);
        let Some(w) = self.words.get_mut(word) else {
            return false;
        };
        let mask = 1u64 << bit;
        let was = *w & mask != 0;
        *w &= !mask;
        self.len -= usize::from(was);
        was
    }

    /// True when `row` is in the set.
    #[inline]
    pub fn contains(&self, row: usize) -> bool {
        self.words
            .get(row / 64)
            .is_some_and(|w| w & (1u64 << (row % 64)) != 0)
    }

    /// The number of rows in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rows in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros() as usize;
                w &= w - 1;
                Some(i * 64 + bit)
            })
        })
    }
}

impl FromIterator<usize> for RowSet {
    fn from_iter<T: IntoIterator<Item = usize>>(iter: T) -> Self {
        Self::from_rows(iter)
    }
}

/// The caller's predicate: `keep(row, product id)`; `false` drops the row from the results.
pub type RowPredicate = dyn Fn(usize, &str) -> bool + Send + Sync;

/// What a query must not return: explicit rows (the seed itself, cart items), an allow set, a
/// deny set and a predicate. See the [module docs](self) for the exact rule.
///
/// Cheap to clone (the sets and the predicate are shared); `Exclusions::default()` excludes
/// nothing but removed rows.
///
/// ```
/// use deeprecs_index::{EmbeddingStore, Exclusions, RowSet};
/// use ndarray::array;
///
/// let store = EmbeddingStore::from_rows(
///     ["phone", "case", "charger", "cable"],
///     array![[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3]].view(),
/// )?;
/// let out_of_stock = RowSet::from_ids(&store, ["charger"])?;
/// let exclusions = Exclusions::default()
///     .exclude_ids(&store, ["phone"])   // the seed itself
///     .deny(out_of_stock)
///     .keep_if(|_row, id| !id.starts_with("cab"));
/// assert!(!exclusions.admits(&store, 0)); // the seed
/// assert!(exclusions.admits(&store, 1));
/// assert!(!exclusions.admits(&store, 2)); // denied
/// assert!(!exclusions.admits(&store, 3)); // the predicate said no
/// # Ok::<(), deeprecs_index::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Exclusions {
    /// Sorted, deduplicated.
    rows: Vec<usize>,
    allow: Option<Arc<RowSet>>,
    deny: Option<Arc<RowSet>>,
    predicate: Option<Arc<RowPredicate>>,
}

impl fmt::Debug for Exclusions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exclusions")
            .field("rows", &self.rows)
            .field("allow", &self.allow.as_ref().map(|s| s.len()))
            .field("deny", &self.deny.as_ref().map(|s| s.len()))
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

impl Exclusions {
    /// Excludes nothing but removed rows.
    pub fn none() -> Self {
        Self::default()
    }

    /// Also excludes these rows.
    pub fn exclude_rows(mut self, rows: impl IntoIterator<Item = usize>) -> Self {
        self.rows.extend(rows);
        self.rows.sort_unstable();
        self.rows.dedup();
        self
    }

    /// Also excludes these products (the seed itself, the items of a cart). Ids not in the
    /// store are ignored: a product the index does not hold can never be returned anyway
    /// (for instance a brand-new product queried from its metadata).
    pub fn exclude_ids<S: AsRef<str>>(
        self,
        store: &EmbeddingStore,
        ids: impl IntoIterator<Item = S>,
    ) -> Self {
        let rows: Vec<usize> = ids
            .into_iter()
            .filter_map(|id| store.row_of(id.as_ref()))
            .collect();
        self.exclude_rows(rows)
    }

    /// Returns only rows in `allowed` (e.g. the products in stock, or one product group).
    /// Replaces an earlier allow set.
    pub fn allow(mut self, allowed: impl Into<Arc<RowSet>>) -> Self {
        self.allow = Some(allowed.into());
        self
    }

    /// Never returns rows in `denied` (e.g. out-of-stock products). Replaces an earlier deny
    /// set.
    pub fn deny(mut self, denied: impl Into<Arc<RowSet>>) -> Self {
        self.deny = Some(denied.into());
        self
    }

    /// Returns only rows for which `keep(row, product id)` is true. Replaces an earlier
    /// predicate. It is called only for rows that could enter the top k, from several
    /// threads at once.
    pub fn keep_if(mut self, keep: impl Fn(usize, &str) -> bool + Send + Sync + 'static) -> Self {
        self.predicate = Some(Arc::new(keep));
        self
    }

    /// Like [`keep_if`](Self::keep_if) with an already shared predicate.
    pub fn keep_if_shared(mut self, keep: Arc<RowPredicate>) -> Self {
        self.predicate = Some(keep);
        self
    }

    /// The explicitly excluded rows, sorted.
    pub fn excluded_rows(&self) -> &[usize] {
        &self.rows
    }

    /// The allow set, if any.
    pub fn allow_set(&self) -> Option<&RowSet> {
        self.allow.as_deref()
    }

    /// True when `row` may be returned by a query against `store`.
    pub fn admits(&self, store: &EmbeddingStore, row: usize) -> bool {
        self.admits_with(store, row, &[])
    }

    /// [`admits`](Self::admits) with extra excluded rows for one query of a batch (a short
    /// list, scanned linearly).
    #[inline]
    pub(crate) fn admits_with(&self, store: &EmbeddingStore, row: usize, extra: &[usize]) -> bool {
        let Some(id) = store.id_of(row) else {
            return false;
        };
        !extra.contains(&row)
            && self.rows.binary_search(&row).is_err()
            && self.allow.as_ref().is_none_or(|a| a.contains(row))
            && !self.deny.as_ref().is_some_and(|d| d.contains(row))
            && self.predicate.as_ref().is_none_or(|keep| keep(row, id))
    }

    /// The number of rows this may exclude beyond removed ones, when that is bounded (no allow
    /// set and no predicate): explicit rows plus the deny set. Used to size over-fetching.
    pub(crate) fn bounded_exclusion_count(&self, extra: usize) -> Option<usize> {
        if self.allow.is_some() || self.predicate.is_some() {
            return None;
        }
        Some(self.rows.len() + extra + self.deny.as_ref().map_or(0, |d| d.len()))
    }
}
