//! [`ExactIndex`]: exact top-k by blocked matrix multiply with bounded heaps.
//!
//! ## How a batch is searched
//!
//! The (normalised) queries are cut into blocks of [`BlockSizes::queries`] rows and the rec
//! matrix into blocks of [`BlockSizes::products`] rows. For each pair of blocks one
//! `ndarray` matrix product (`general_mat_mul`, i.e. `matrixmultiply`'s packed SGEMM, which
//! picks AVX2+FMA kernels at run time) fills a `queries × products` score tile that stays in
//! cache; each tile row is then scanned against its query's bounded min-heap. The scan is a
//! vectorised "any score ≥ threshold?" test over chunks of 16 scores: once a heap is full,
//! almost every chunk is rejected without a branch per score, and [`Exclusions`] are only
//! consulted for scores that would enter the heap.
//!
//! Work is spread over rayon's thread pool (set its size with `RAYON_NUM_THREADS` or run
//! inside a `rayon::ThreadPool::install`): by query block when there are enough query blocks
//! for every thread, otherwise also by product range, with per-range heaps merged at the end
//! (so a cart of three seeds still uses every core). [`Parallelism::Sequential`] runs on the
//! calling thread instead — with the crate feature `matrixmultiply-threading` the matrix
//! products then use `matrixmultiply`'s own threads. The benchmark (`benches/topk.rs`)
//! compares both; rayon over tiles is the default because it was faster (see the crate
//! docs): it also spreads the packing of product rows and the heap scans over the threads.
//!
//! A single query ([`Index::top_k`]) is a matrix–vector product: the rec rows are split into
//! chunks scored in parallel, each chunk with its own heap, merged at the end.
//!
//! A small allow set (under a quarter of the rows) is searched by gathering its rows first, so
//! a query restricted to one product group scans only that group.
//!
//! [`ExactIndex::top_k_naive_batch`] is the straightforward per-query loop (one dot product
//! per row, one heap) kept as the test oracle and the benchmark baseline. It ranks exactly
//! like the blocked path; its scores can differ in the last bits, since the matrix product
//! sums in another order.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis, CowArray, Ix2, Slice};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::filter::Exclusions;
use crate::index::{Index, check_per_query, normalized_queries};
use crate::store::{EmbeddingStore, RowRemap, Upserted};
use crate::topk::{Hit, TopK, scan_scores};

/// Rows per chunk of the single-query (matrix–vector) path.
const GEMV_CHUNK_ROWS: usize = 4096;

/// Tile sizes of the blocked exact search: a tile of `queries × products` scores is computed
/// by one matrix product and scanned before the next.
///
/// The default, 256 × 1024 (a 1 MiB tile, the size of a Zen 4 L2 cache), was among the
/// fastest in the block-size sweep of `benches/topk.rs` at both 64 and 384 dimensions. Many
/// query rows per tile matter most: each tile's product rows are re-packed by the matrix
/// product for every query block, so 64-row query blocks ran about 25 % slower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSizes {
    queries: usize,
    products: usize,
}

impl Default for BlockSizes {
    fn default() -> Self {
        Self {
            queries: 256,
            products: 1024,
        }
    }
}

impl BlockSizes {
    /// Tile sizes of `queries` seed rows by `products` rec rows, both at least 1.
    pub fn new(queries: usize, products: usize) -> Result<Self> {
        for (name, v) in [("queries", queries), ("products", products)] {
            if v == 0 {
                return Err(Error::InvalidParameter {
                    name,
                    reason: "a block size must be at least 1".to_owned(),
                });
            }
        }
        Ok(Self { queries, products })
    }

    /// Query rows per tile.
    pub fn queries(&self) -> usize {
        self.queries
    }

    /// Product rows per tile.
    pub fn products(&self) -> usize {
        self.products
    }
}

/// Where the exact search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// On rayon's current thread pool (the default).
    #[default]
    Rayon,
    /// On the calling thread only (the matrix products may still use `matrixmultiply`'s own
    /// threads when the `matrixmultiply-threading` feature is on).
    Sequential,
}

/// Exact top-k search over an [`EmbeddingStore`]. See the [module docs](self).
///
/// ```
/// use deeprecs_index::{EmbeddingStore, ExactIndex, Exclusions, Index};
/// use ndarray::array;
///
/// let store = EmbeddingStore::from_rows(
///     ["phone", "case", "charger", "sofa"],
///     array![[1.0, 0.1, 0.0], [0.9, 0.3, 0.0], [0.8, 0.0, 0.2], [0.0, 0.0, 1.0]].view(),
/// )?;
/// let index = ExactIndex::new(store);
/// let seed = array![1.0, 0.2, 0.0];
/// let hits = index.top_k_for_product("phone", seed.view(), 2, &Exclusions::none())?;
/// let names: Vec<_> = index.recommendations(&hits).into_iter().map(|r| r.product).collect();
/// assert_eq!(names, ["case", "charger"]);
/// # Ok::<(), deeprecs_index::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExactIndex {
    store: EmbeddingStore,
    blocks: BlockSizes,
    parallelism: Parallelism,
}

impl From<EmbeddingStore> for ExactIndex {
    fn from(store: EmbeddingStore) -> Self {
        Self::new(store)
    }
}

/// The rows a query scores: the whole store, or the gathered rows of a small allow set.
struct Candidates<'a> {
    matrix: CowArray<'a, f32, Ix2>,
    /// Local row → store row, when gathered (increasing, so tie-breaks are unchanged).
    rows: Option<Vec<usize>>,
}

impl<'a> Candidates<'a> {
    fn new(store: &'a EmbeddingStore, exclusions: &Exclusions) -> Self {
        let all = store.vectors();
        if let Some(allow) = exclusions.allow_set()
            && allow.len().saturating_mul(4) < store.row_count()
        {
            let rows: Vec<usize> = allow.iter().filter(|&r| store.is_live(r)).collect();
            let matrix = all.select(Axis(0), &rows);
            return Self {
                matrix: CowArray::from(matrix),
                rows: Some(rows),
            };
        }
        // The store keeps its matrix in standard layout, so this borrows.
        Self {
            matrix: CowArray::from(all),
            rows: None,
        }
    }

    #[inline]
    fn store_row(&self, local: usize) -> usize {
        match &self.rows {
            Some(rows) => rows[local],
            None => local,
        }
    }

    fn to_store_rows(&self, hits: Vec<Hit>) -> Vec<Hit> {
        hits.into_iter()
            .map(|h| Hit {
                row: self.store_row(h.row),
                score: h.score,
            })
            .collect()
    }
}

/// The dot product of two equally long slices, 16 lanes at a time (vectorised by the
/// compiler) with a fixed summation order.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    let mut half = [0.0f32; LANES / 2];
    for i in 0..LANES / 2 {
        half[i] = acc[i] + acc[i + LANES / 2];
    }
    half.iter().sum::<f32>() + tail
}

/// A contiguous row-major slice of a standard-layout matrix.
fn contiguous<'m>(m: &'m CowArray<'_, f32, Ix2>) -> &'m [f32] {
    // `Candidates` holds either `as_standard_layout()` or a fresh `select`: both standard.
    m.as_slice()
        .expect("candidate matrices are in standard layout")
}

impl ExactIndex {
    /// An exact index over `store` with the default [`BlockSizes`] and [`Parallelism`].
    pub fn new(store: EmbeddingStore) -> Self {
        Self {
            store,
            blocks: BlockSizes::default(),
            parallelism: Parallelism::default(),
        }
    }

    /// The same index with other tile sizes.
    pub fn with_block_sizes(mut self, blocks: BlockSizes) -> Self {
        self.blocks = blocks;
        self
    }

    /// The same index with another [`Parallelism`].
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// The tile sizes in use.
    pub fn block_sizes(&self) -> BlockSizes {
        self.blocks
    }

    /// The parallelism in use.
    pub fn parallelism(&self) -> Parallelism {
        self.parallelism
    }

    /// Gives the store back.
    pub fn into_store(self) -> EmbeddingStore {
        self.store
    }

    /// Drops removed rows (see [`EmbeddingStore::compact`]).
    pub fn compact(&mut self) -> RowRemap {
        self.store.compact()
    }

    /// The naive per-query loop: for each query, one dot product per row and one bounded
    /// heap (exclusions checked only for rows that would enter it). Same contract and same
    /// ranking rule as [`Index::top_k_batch`]; kept as the oracle and the baseline.
    pub fn top_k_naive_batch(
        &self,
        queries: ArrayView2<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
        per_query: &[Vec<usize>],
    ) -> Result<Vec<Vec<Hit>>> {
        let queries = normalized_queries(&self.store, queries)?;
        check_per_query(per_query, queries.nrows())?;
        let data = self.store.as_slice();
        let dim = self.store.dim();
        let one = |(i, q): (usize, ArrayView1<'_, f32>)| -> Vec<Hit> {
            let q = q.to_vec();
            let extra = per_query.get(i).map_or(&[][..], Vec::as_slice);
            let mut top = TopK::new(k);
            for (row, r) in data.chunks_exact(dim).enumerate() {
                let score = dot(r, &q);
                if top.would_accept(score, row as u32)
                    && exclusions.admits_with(&self.store, row, extra)
                {
                    top.push(score, row as u32);
                }
            }
            top.into_hits()
        };
        Ok(match self.parallelism {
            Parallelism::Rayon => (0..queries.nrows())
                .into_par_iter()
                .map(|i| one((i, queries.row(i))))
                .collect(),
            Parallelism::Sequential => queries.outer_iter().enumerate().map(one).collect(),
        })
    }

    fn single(&self, q: &[f32], k: usize, exclusions: &Exclusions) -> Vec<Hit> {
        let cands = Candidates::new(&self.store, exclusions);
        let data = contiguous(&cands.matrix);
        let dim = self.store.dim();
        let search = |(chunk_idx, chunk): (usize, &[f32])| -> TopK {
            let first = chunk_idx * GEMV_CHUNK_ROWS;
            let scores: Vec<f32> = chunk.chunks_exact(dim).map(|r| dot(r, q)).collect();
            let mut top = TopK::new(k);
            scan_scores(&scores, first, &mut top, |local| {
                exclusions.admits(&self.store, cands.store_row(local))
            });
            top
        };
        let chunk_len = GEMV_CHUNK_ROWS * dim;
        let top = match self.parallelism {
            Parallelism::Rayon => data.par_chunks(chunk_len).enumerate().map(search).reduce(
                || TopK::new(k),
                |mut a, b| {
                    a.merge(b);
                    a
                },
            ),
            Parallelism::Sequential => {
                let mut top = TopK::new(k);
                for part in data.chunks(chunk_len).enumerate().map(search) {
                    top.merge(part);
                }
                top
            }
        };
        cands.to_store_rows(top.into_hits())
    }

    fn batch(
        &self,
        queries: ArrayView2<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
        per_query: &[Vec<usize>],
    ) -> Vec<Vec<Hit>> {
        let cands = Candidates::new(&self.store, exclusions);
        let recs = cands.matrix.view();
        let n = recs.nrows();
        let nq = queries.nrows();
        let (qb_size, rb_size) = (self.blocks.queries, self.blocks.products);
        let q_blocks = nq.div_ceil(qb_size);
        let threads = match self.parallelism {
            Parallelism::Rayon => rayon::current_num_threads().max(1),
            Parallelism::Sequential => 1,
        };
        // Enough tasks for every thread (twice over, for balance): split the product range
        // too when there are few query blocks.
        let rec_blocks = n.div_ceil(rb_size).max(1);
        let parts = if q_blocks >= 2 * threads {
            1
        } else {
            (2 * threads).div_ceil(q_blocks.max(1)).min(rec_blocks)
        };
        let part_len = rec_blocks.div_ceil(parts) * rb_size;

        let task = |t: usize| -> Vec<TopK> {
            let (qb, part) = (t / parts, t % parts);
            let q0 = qb * qb_size;
            let q1 = (q0 + qb_size).min(nq);
            let r0 = (part * part_len).min(n);
            let r1 = (r0 + part_len).min(n);
            let block = queries.slice_axis(Axis(0), Slice::from(q0..q1));
            let mut tops: Vec<TopK> = (q0..q1).map(|_| TopK::new(k)).collect();
            if r0 == r1 {
                return tops;
            }
            let mut tile = Array2::<f32>::zeros((q1 - q0, rb_size.min(r1 - r0)));
            let mut start = r0;
            while start < r1 {
                let end = (start + rb_size).min(r1);
                let recs_block = recs.slice_axis(Axis(0), Slice::from(start..end));
                let mut out = tile.slice_axis_mut(Axis(1), Slice::from(0..end - start));
                general_mat_mul(1.0, &block, &recs_block.t(), 0.0, &mut out);
                for (i, (row, top)) in out.rows().into_iter().zip(&mut tops).enumerate() {
                    let extra = per_query.get(q0 + i).map_or(&[][..], Vec::as_slice);
                    let admit = |local: usize| {
                        exclusions.admits_with(&self.store, cands.store_row(local), extra)
                    };
                    match row.as_slice() {
                        Some(scores) => scan_scores(scores, start, top, admit),
                        None => scan_scores(&row.to_vec(), start, top, admit),
                    }
                }
                start = end;
            }
            tops
        };
        let tasks = q_blocks * parts;
        let partial: Vec<Vec<TopK>> = match self.parallelism {
            Parallelism::Rayon => (0..tasks).into_par_iter().map(task).collect(),
            Parallelism::Sequential => (0..tasks).map(task).collect(),
        };
        // Tasks come back in order: `parts` consecutive ones per query block.
        let mut out = Vec::with_capacity(nq);
        let mut partial = partial.into_iter();
        while let Some(mut first) = partial.next() {
            for other in partial.by_ref().take(parts - 1) {
                for (a, b) in first.iter_mut().zip(other) {
                    a.merge(b);
                }
            }
            out.extend(
                first
                    .into_iter()
                    .map(|t| cands.to_store_rows(t.into_hits())),
            );
        }
        out
    }
}

impl Index for ExactIndex {
    fn store(&self) -> &EmbeddingStore {
        &self.store
    }

    fn upsert(&mut self, id: &str, vector: ArrayView1<'_, f32>) -> Result<Upserted> {
        self.store.upsert(id, vector)
    }

    fn remove(&mut self, id: &str) -> Result<usize> {
        self.store.remove(id)
    }

    fn top_k(
        &self,
        query: ArrayView1<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
    ) -> Result<Vec<Hit>> {
        let q = self.store.check_vector(query, || "the query".to_owned())?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let q = q.to_vec();
        Ok(self.single(&q, k, exclusions))
    }

    fn top_k_batch(
        &self,
        queries: ArrayView2<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
        per_query: &[Vec<usize>],
    ) -> Result<Vec<Vec<Hit>>> {
        let queries = normalized_queries(&self.store, queries)?;
        check_per_query(per_query, queries.nrows())?;
        if k == 0 {
            return Ok(vec![Vec::new(); queries.nrows()]);
        }
        Ok(self.batch(queries.view(), k, exclusions, per_query))
    }
}
