//! [`HnswIndex`]: approximate top-k with an HNSW graph (the `usearch` crate).
//!
//! ## Why `usearch`
//!
//! Two well-kept HNSW crates were measured on the same data and machine (100 000 clustered
//! synthetic vectors, 1 000 queries, `M = 16`, `ef_construction = 200`, parallel build on
//! 2 cores, queries one at a time on one thread; the machine was shared with other builds, so
//! the timings are indicative): [`usearch`](https://docs.rs/usearch) 2.26 (Unum; a C++ core
//! with SIMD distance kernels chosen at run time, compiled by the crate's build script from
//! the sources the crate ships — it builds offline with any C++17 compiler) and
//! [`hnsw_rs`](https://docs.rs/hnsw_rs) 0.3 (pure Rust, with its `simdeez_f` SIMD feature).
//!
//! | | build | recall@10 → queries/s |
//! | --- | --- | --- |
//! | 64-d, `hnsw_rs` | 206 s | 0.933 → 632 (ef 128), 0.979 → 316 (ef 256) |
//! | 64-d, `usearch` | 54 s | 0.907 → 2 827 (ef 128), 0.962 → 1 180 (ef 256) |
//! | 384-d, `hnsw_rs` | 338 s | 0.945 → 2 042 (ef 16), 0.996 → 1 348 (ef 32) |
//! | 384-d, `usearch` | 182 s | 0.989 → 2 503 (ef 32), 0.999 → 1 475 (ef 64) |
//!
//! At equal recall `usearch` answered about 1.7 (384-d) to 2.6 (64-d) times more queries per
//! second and built its graph 1.9 to 3.8 times faster. It also has what an incrementally
//! updated index needs and `hnsw_rs` lacks — removing a vector and re-adding its key — while
//! `hnsw_rs`'s dot-product distance asserts `1 − dot ≥ 0`, which rounding breaks for
//! (near-)duplicate vectors: a panic on valid input. So the pure-Rust crate was not of
//! comparable quality here, and the C++ build (about two minutes, once per target directory)
//! was accepted. `usearch` keeps its own copy of the vectors, so an [`HnswIndex`] holds the
//! embeddings twice (the store's copy is the one scores come from).
//!
//! ## How a query runs
//!
//! The graph stores one node per live row, keyed by the row number; an update replaces the
//! row's node, a removal deletes it. The graph is searched for `fetch` candidates (with the
//! search expansion `ef = max(expansion_search, fetch)`); the candidates are **re-scored
//! exactly** against the store's `f32` vectors, so scores and tie-breaks are the same as
//! [`ExactIndex`](crate::ExactIndex)'s, and only *which* products are found is approximate.
//!
//! ## Filters: over-fetch, then filter
//!
//! [`Exclusions`] are applied to the candidates after the graph search. The search first asks
//! for `k` plus the number of rows the exclusions can remove, when that is known (explicit
//! rows and a deny set), or `2k` otherwise (a predicate, an allow set). When fewer than `k`
//! candidates survive, it asks again for four times as many; once that would exceed a quarter
//! of the catalog, it scans the admitted rows exactly instead, so a very selective filter
//! still gets `k` exact results, at the cost of a full scan. An allow set holding under a
//! quarter of the rows is always searched exactly (scanning it is cheaper than filtering
//! graph results). Consequences: with a selective predicate, a query can cost several graph
//! searches or a scan; recall is that of the graph for the rows that pass.

use std::path::Path;

use ndarray::{ArrayView1, ArrayView2};
use rayon::prelude::*;
use usearch::{IndexOptions, MetricKind, ScalarKind};

use crate::artifact::{Artifact, ArtifactBuilder};
use crate::error::{Error, Result};
use crate::exact::dot;
use crate::filter::Exclusions;
use crate::index::{Index, check_per_query, normalized_queries};
use crate::store::{EmbeddingStore, RowRemap, Upserted};
use crate::topk::{Hit, TopK};

/// Parameters of the HNSW graph, checked once by [`HnswParams::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HnswParams {
    connectivity: usize,
    expansion_add: usize,
    expansion_search: usize,
}

impl Default for HnswParams {
    /// `M = 16`, `ef_construction = 200`, `ef_search = 128`.
    fn default() -> Self {
        Self {
            connectivity: 16,
            expansion_add: 200,
            expansion_search: 128,
        }
    }
}

impl HnswParams {
    /// `connectivity` (HNSW's `M`, links per node: 2..=256), `expansion_add`
    /// (`ef_construction`: 1..=65536) and `expansion_search` (`ef`: 1..=65536). Larger values
    /// raise recall and cost.
    pub fn new(connectivity: usize, expansion_add: usize, expansion_search: usize) -> Result<Self> {
        if !(2..=256).contains(&connectivity) {
            return Err(Error::InvalidParameter {
                name: "connectivity",
                reason: format!("{connectivity} is outside 2..=256"),
            });
        }
        for (name, v) in [
            ("expansion_add", expansion_add),
            ("expansion_search", expansion_search),
        ] {
            if !(1..=65536).contains(&v) {
                return Err(Error::InvalidParameter {
                    name,
                    reason: format!("{v} is outside 1..=65536"),
                });
            }
        }
        Ok(Self {
            connectivity,
            expansion_add,
            expansion_search,
        })
    }

    /// Links per node (`M`).
    pub fn connectivity(&self) -> usize {
        self.connectivity
    }

    /// Candidate list size while building (`ef_construction`).
    pub fn expansion_add(&self) -> usize {
        self.expansion_add
    }

    /// Candidate list size while searching (`ef`).
    pub fn expansion_search(&self) -> usize {
        self.expansion_search
    }
}

/// Approximate top-k over an [`EmbeddingStore`] with an HNSW graph. See the
/// [module docs](self) for the crate choice, the query path and filtering.
///
/// ```
/// use deeprecs_index::{EmbeddingStore, Exclusions, HnswIndex, HnswParams, Index};
/// use ndarray::array;
///
/// let store = EmbeddingStore::from_rows(
///     ["phone", "case", "charger", "sofa"],
///     array![[1.0, 0.1, 0.0], [0.9, 0.3, 0.0], [0.8, 0.0, 0.2], [0.0, 0.0, 1.0]].view(),
/// )?;
/// let mut index = HnswIndex::build(store, HnswParams::default())?;
/// let hits = index.top_k_for_product("phone", array![1.0, 0.2, 0.0].view(), 2, &Exclusions::none())?;
/// assert_eq!(index.recommendations(&hits)[0].product, "case");
///
/// index.remove("case")?; // incremental: no rebuild
/// let hits = index.top_k(array![1.0, 0.2, 0.0].view(), 1, &Exclusions::none())?;
/// assert_eq!(index.recommendations(&hits)[0].product, "phone");
/// # Ok::<(), deeprecs_index::Error>(())
/// ```
pub struct HnswIndex {
    store: EmbeddingStore,
    graph: usearch::Index,
    params: HnswParams,
    /// Slots the graph has handed out (removed nodes keep theirs until a rebuild).
    slots_used: usize,
    capacity: usize,
    threads: usize,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("products", &self.store.len())
            .field("dim", &self.store.dim())
            .field("params", &self.params)
            .field("graph_nodes", &self.graph.size())
            .finish()
    }
}

fn ann_err(e: impl std::fmt::Display) -> Error {
    Error::Ann(e.to_string())
}

/// How many concurrent searches the graph is prepared for: every thread that may call it.
fn thread_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (rayon::current_num_threads().max(cores) * 2 + 2).min(1024)
}

/// The artifact section holding the serialised graph (`usearch`'s own format).
pub const GRAPH_SECTION: &str = "ann_graph";
/// The artifact section holding the graph's [`HnswParams`] (JSON).
pub const PARAMS_SECTION: &str = "ann_params";

fn graph_options(dim: usize, params: HnswParams) -> IndexOptions {
    IndexOptions {
        dimensions: dim,
        metric: MetricKind::IP,
        quantization: ScalarKind::F32,
        connectivity: params.connectivity,
        expansion_add: params.expansion_add,
        expansion_search: params.expansion_search,
        multi: false,
    }
}

impl HnswIndex {
    /// Builds the graph over every live row of `store`, inserting in parallel on rayon's
    /// current pool (so the graph, not the results' scores, can differ from run to run; build
    /// inside a one-thread pool for a reproducible graph).
    pub fn build(store: EmbeddingStore, params: HnswParams) -> Result<Self> {
        let graph = usearch::Index::new(&graph_options(store.dim(), params)).map_err(ann_err)?;
        let threads = thread_slots();
        let capacity = store.len().max(64);
        graph
            .reserve_capacity_and_threads(capacity, threads)
            .map_err(ann_err)?;
        let rows: Vec<usize> = store.live_rows().collect();
        rows.par_iter()
            .try_for_each(|&row| match store.vector(row) {
                Some(v) => match v.to_slice() {
                    Some(v) => graph.add(row as u64, v).map_err(ann_err),
                    None => graph.add(row as u64, &v.to_vec()).map_err(ann_err),
                },
                None => Ok(()),
            })?;
        Ok(Self {
            slots_used: rows.len(),
            store,
            graph,
            params,
            capacity,
            threads,
        })
    }

    /// Adds the store's sections and the graph's ([`PARAMS_SECTION`], [`GRAPH_SECTION`]) to
    /// `builder`, so that loading needs no rebuild. The graph refers to rows by number and
    /// saving renumbers rows past removed ones, so an index with removed rows must be
    /// [compacted](Self::compact) first ([`Error::InvalidParameter`] otherwise).
    pub fn add_to_artifact<'a>(
        &'a self,
        builder: ArtifactBuilder<'a>,
    ) -> Result<ArtifactBuilder<'a>> {
        if self.store.tombstones() > 0 {
            return Err(Error::InvalidParameter {
                name: "index",
                reason: format!(
                    "{} removed rows: compact() before saving the graph (saving renumbers rows)",
                    self.store.tombstones()
                ),
            });
        }
        let mut graph = vec![0u8; self.graph.serialized_length()];
        self.graph.save_to_buffer(&mut graph).map_err(ann_err)?;
        let params = serde_json::to_vec(&self.params).map_err(|e| Error::InvalidParameter {
            name: "params",
            reason: e.to_string(),
        })?;
        self.store
            .add_to_artifact(builder)?
            .section(PARAMS_SECTION, params)?
            .section(GRAPH_SECTION, graph)
    }

    /// Writes an artifact with the store, the graph and the `extra` sections, atomically (see
    /// [`add_to_artifact`](Self::add_to_artifact)).
    pub fn save(&self, path: impl AsRef<Path>, extra: &[(&str, &[u8])]) -> Result<()> {
        self.add_to_artifact(ArtifactBuilder::new().sections(extra)?)?
            .write_atomic(path)
    }

    /// Reads and verifies the artifact at `path` and loads the index from it, without
    /// rebuilding the graph; the artifact is returned too, for its other sections.
    pub fn load(path: impl AsRef<Path>) -> Result<(Self, Artifact)> {
        let artifact = Artifact::read(path)?;
        let index = Self::from_artifact(&artifact)?;
        Ok((index, artifact))
    }

    /// Loads the store and the saved graph from a verified artifact. Checks that the graph
    /// fits the store: same dimension and metric, one node for each row and no other.
    ///
    /// The artifact's checksums guard the graph's bytes against damage; its content is
    /// otherwise trusted (`usearch` parses it), so load artifacts from trusted sources only.
    pub fn from_artifact(artifact: &Artifact) -> Result<Self> {
        let store = EmbeddingStore::from_artifact(artifact)?;
        let params: HnswParams = serde_json::from_slice(artifact.require(PARAMS_SECTION)?)
            .map_err(|e| artifact.mismatch(PARAMS_SECTION, format!("invalid JSON: {e}")))?;
        let params = HnswParams::new(
            params.connectivity,
            params.expansion_add,
            params.expansion_search,
        )
        .map_err(|e| artifact.mismatch(PARAMS_SECTION, e.to_string()))?;
        let bytes = artifact.require(GRAPH_SECTION)?;
        let bad = |detail: String| artifact.mismatch(GRAPH_SECTION, detail);
        let meta = usearch::Index::metadata_from_buffer(bytes).map_err(|e| bad(e.to_string()))?;
        if meta.dimensions != store.dim() as u64
            || meta.metric != MetricKind::IP
            || meta.quantization != ScalarKind::F32
            || meta.multi
            || meta.count_present != store.len() as u64
        {
            return Err(bad(format!(
                "a graph of {} nodes of dimension {} does not fit {} products of dimension {}",
                meta.count_present,
                meta.dimensions,
                store.len(),
                store.dim()
            )));
        }
        let graph = usearch::Index::new(&graph_options(store.dim(), params)).map_err(ann_err)?;
        graph
            .load_from_buffer(bytes)
            .map_err(|e| bad(e.to_string()))?;
        graph.change_expansion_add(params.expansion_add);
        graph.change_expansion_search(params.expansion_search);
        if graph.size() != store.len() {
            return Err(bad(format!(
                "{} nodes for {} products",
                graph.size(),
                store.len()
            )));
        }
        if let Some(row) = (0..store.len()).find(|&row| !graph.contains(row as u64)) {
            return Err(bad(format!("no node for row {row}")));
        }
        let threads = thread_slots();
        let slots_used = (meta.count_present + meta.count_deleted) as usize;
        let capacity = slots_used.max(64);
        graph
            .reserve_capacity_and_threads(capacity, threads)
            .map_err(ann_err)?;
        Ok(Self {
            store,
            graph,
            params,
            slots_used,
            capacity,
            threads,
        })
    }

    /// The graph's parameters.
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Changes the search expansion `ef` (recall against speed) without rebuilding.
    pub fn set_expansion_search(&mut self, ef: usize) -> Result<()> {
        self.params = HnswParams::new(self.params.connectivity, self.params.expansion_add, ef)?;
        self.graph.change_expansion_search(ef);
        Ok(())
    }

    /// Gives the store back.
    pub fn into_store(self) -> EmbeddingStore {
        self.store
    }

    /// The fraction of graph slots held by removed or replaced nodes; rebuild
    /// ([`compact`](Self::compact)) when it grows large (they cost memory and a little speed).
    pub fn stale_fraction(&self) -> f64 {
        if self.slots_used == 0 {
            return 0.0;
        }
        1.0 - self.graph.size() as f64 / self.slots_used as f64
    }

    /// Compacts the store (see [`EmbeddingStore::compact`]) and rebuilds the graph (the store
    /// is copied while the new graph is built).
    pub fn compact(&mut self) -> Result<RowRemap> {
        // Rebuild from a compacted copy, so that a failed build leaves `self` as it was.
        let mut store = self.store.clone();
        let remap = store.compact();
        *self = Self::build(store, self.params)?;
        Ok(remap)
    }

    fn ensure_capacity(&mut self) -> Result<()> {
        if self.slots_used < self.capacity {
            return Ok(());
        }
        let capacity = (self.capacity * 2).max(64);
        self.graph
            .reserve_capacity_and_threads(capacity, self.threads)
            .map_err(ann_err)?;
        self.capacity = capacity;
        Ok(())
    }

    fn add_row(&mut self, row: usize) -> Result<()> {
        self.ensure_capacity()?;
        let v = self.store.vectors().row(row).to_vec();
        self.graph.add(row as u64, &v).map_err(ann_err)?;
        self.slots_used += 1;
        Ok(())
    }

    /// The best `k` admitted rows among `rows`, exactly (small allow sets, filter fallback).
    fn exact_scan(
        &self,
        q: &[f32],
        k: usize,
        rows: impl Iterator<Item = usize>,
        ok: impl Fn(usize) -> bool,
    ) -> Vec<Hit> {
        let mut top = TopK::new(k);
        for row in rows {
            // `vector` is `None` for removed rows and rows out of range (a caller's set may
            // name any number).
            if let Some(v) = self.store.vector(row).and_then(|v| v.to_slice()) {
                let s = dot(v, q);
                if top.would_accept(s, row as u32) && ok(row) {
                    top.push(s, row as u32);
                }
            }
        }
        top.into_hits()
    }

    fn search_one(
        &self,
        q: &[f32],
        k: usize,
        exclusions: &Exclusions,
        extra: &[usize],
    ) -> Result<Vec<Hit>> {
        let live = self.store.len();
        if k == 0 || live == 0 {
            return Ok(Vec::new());
        }
        let admit = |row: usize| exclusions.admits_with(&self.store, row, extra);
        if let Some(allow) = exclusions.allow_set()
            && allow.len().saturating_mul(4) < self.store.row_count()
        {
            return Ok(self.exact_scan(q, k, allow.iter(), admit));
        }
        let mut fetch = match exclusions.bounded_exclusion_count(extra.len()) {
            Some(n) => k.saturating_add(n),
            None => k.saturating_mul(2),
        }
        .min(live);
        loop {
            let matches = self.graph.search(q, fetch).map_err(ann_err)?;
            let mut top = TopK::new(k);
            for &key in &matches.keys {
                let row = key as usize;
                if let Some(v) = self.store.vector(row).and_then(|v| v.to_slice())
                    && admit(row)
                {
                    top.push(dot(v, q), row as u32);
                }
            }
            if top.len() >= k {
                return Ok(top.into_hits());
            }
            let next = fetch.saturating_mul(4);
            if fetch >= live || next > live / 4 {
                return Ok(self.exact_scan(q, k, self.store.live_rows(), admit));
            }
            fetch = next;
        }
    }
}

impl Index for HnswIndex {
    fn store(&self) -> &EmbeddingStore {
        &self.store
    }

    fn upsert(&mut self, id: &str, vector: ArrayView1<'_, f32>) -> Result<Upserted> {
        // Check the vector before touching anything.
        self.store
            .check_vector(vector, || format!("product `{id}`"))?;
        self.ensure_capacity()?;
        let old = self.store.vector_of(id).map(|v| v.to_owned());
        let done = self.store.upsert(id, vector)?;
        let row = done.row();
        if matches!(done, Upserted::Updated(_)) {
            self.graph.remove(row as u64).map_err(ann_err)?;
        }
        if let Err(e) = self.add_row(row) {
            // Roll back so that the store and the graph agree.
            match old {
                Some(old) => {
                    let _ = self.store.upsert(id, old.view());
                    let _ = self.add_row(row);
                }
                None => {
                    let _ = self.store.remove(id);
                }
            }
            return Err(e);
        }
        Ok(done)
    }

    fn remove(&mut self, id: &str) -> Result<usize> {
        let row = self.store.require_row(id)?;
        self.graph.remove(row as u64).map_err(ann_err)?;
        self.store.remove(id)
    }

    fn top_k(
        &self,
        query: ArrayView1<'_, f32>,
        k: usize,
        exclusions: &Exclusions,
    ) -> Result<Vec<Hit>> {
        let q = self.store.check_vector(query, || "the query".to_owned())?;
        let q = q.to_vec();
        self.search_one(&q, k, exclusions, &[])
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
        (0..queries.nrows())
            .into_par_iter()
            .map(|i| {
                let q = queries.row(i).to_vec();
                let extra = per_query.get(i).map_or(&[][..], Vec::as_slice);
                self.search_one(&q, k, exclusions, extra)
            })
            .collect()
    }
}

/// Recall@k of approximate results against exact ones: the mean, over queries with at least
/// one exact hit, of the fraction of exact hits (by row) that the approximate list contains.
/// Returns 1 when no query has an exact hit.
pub fn recall_at_k(exact: &[Vec<Hit>], approx: &[Vec<Hit>]) -> f64 {
    let mut total = 0.0;
    let mut n = 0usize;
    for (e, a) in exact.iter().zip(approx) {
        if e.is_empty() {
            continue;
        }
        let found = e
            .iter()
            .filter(|h| a.iter().any(|x| x.row == h.row))
            .count();
        total += found as f64 / e.len() as f64;
        n += 1;
    }
    if n == 0 { 1.0 } else { total / n as f64 }
}
