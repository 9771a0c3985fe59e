//! # deeprecs-index
//!
//! The serving side of [DeepRecs](https://github.com/deeprecs/deeprecs): given rec vectors
//! (one per product, from the trained rec tower) and seed vectors (from the seed tower), find
//! the top-k cross-sell recommendations for a product, a brand-new product or a cart — exactly
//! or approximately — with filters, incremental updates and a single checksummed file to serve
//! from.
//!
//! ## Serving a trained model
//!
//! [`CrossSellIndex`] wires the trained two towers (`deeprecs-encoders`) into serving: it
//! embeds the catalog with both towers, answers queries by product, by a brand-new product's
//! metadata (embedded on the fly, no retraining) and by cart, explains results per field on
//! request, takes incremental updates, and saves everything to one artifact file.
//!
//! ```
//! use deeprecs_core::synthetic::{SyntheticConfig, generate};
//! use deeprecs_core::Vocabularies;
//! use deeprecs_encoders::{ModelBundle, TowerConfig, TwoTowerConfig};
//! use deeprecs_index::{
//!     BuildOptions, CartAggregation, CrossSellIndex, Exclusions, QueryOptions, RowSet,
//! };
//!
//! // A catalog and a model (untrained here; `deeprecs train` saves a trained one that
//! // `ModelBundle::load` reads back).
//! let data = generate(&SyntheticConfig { products: 150, users: 40, ..SyntheticConfig::default() })?;
//! let vocabs = Vocabularies::fit(&data.catalog, data.catalog.iter().map(|p| p.idx))?;
//! let config = TwoTowerConfig::new(TowerConfig::for_schema(&data.schema));
//! let bundle = ModelBundle::new(config, data.schema.clone(), vocabs)?;
//! let options = BuildOptions::default(); // exact search, on the CPU
//! let model = bundle.init(&options.device)?;
//! let mut index = CrossSellIndex::build_with_model(bundle, &model, &data.catalog, &options, |done, total| {
//!     // drive a progress bar here
//!     assert!(done <= total);
//! })?;
//!
//! // By product: never the product itself; with a filter and per-field explanations.
//! let ids = data.catalog.ids();
//! let out_of_stock = RowSet::from_ids(index.rec_store(), [&ids[7]])?;
//! let query = QueryOptions::top(5)
//!     .with_exclusions(Exclusions::none().deny(out_of_stock))
//!     .with_explanations(true);
//! let recs = index.recommend_for_product(&ids[0], &query)?;
//! assert!(recs.iter().all(|r| r.product != ids[0] && r.product != ids[7]));
//! let why = recs[0].explanation.as_ref().expect("asked for");
//! assert_eq!(why.contributions.len(), data.schema.fields().len());
//!
//! // A product added this morning: embedded from its metadata on the fly…
//! let new = r#"{"product_id": "NEW-1", "name": "kids rain jacket", "brand": "Acme"}"#;
//! let on_the_fly = index.recommend_for_new_product(new, &QueryOptions::top(5))?;
//! // …or inserted (both towers, no retraining): the same recommendations.
//! index.upsert_product_json(new)?;
//! assert_eq!(index.recommend_for_product("NEW-1", &QueryOptions::top(5))?, on_the_fly);
//!
//! // A cart: never returns a cart item.
//! let cart = [ids[1].as_str(), ids[2].as_str()];
//! let recs = index.recommend_for_cart(&cart, CartAggregation::MaxScore, &QueryOptions::top(5))?;
//! assert!(recs.iter().all(|r| !cart.contains(&r.product.as_str())));
//!
//! // One artifact: model, weights, vocabularies, vectors, labels; verified on load.
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("recs.dra");
//! index.save(&path)?;
//! let loaded = CrossSellIndex::load(&path, &options.device)?;
//! assert_eq!(loaded.recommend_for_product("NEW-1", &QueryOptions::top(5))?, on_the_fly);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The vector side
//!
//! Underneath, the index works on plain vectors and product ids, usable without a model:
//!
//! ```
//! use deeprecs_index::{CartAggregation, EmbeddingStore, ExactIndex, Exclusions, Index, RowSet};
//! use ndarray::array;
//!
//! // Rec vectors (normalised on insert) and their product ids.
//! let store = EmbeddingStore::from_rows(
//!     ["phone", "case", "charger", "screen-guard", "sofa"],
//!     array![
//!         [1.0, 0.0, 0.0],
//!         [0.9, 0.4, 0.0],
//!         [0.8, 0.0, 0.5],
//!         [0.9, 0.2, 0.1],
//!         [0.0, 0.1, 1.0],
//!     ]
//!     .view(),
//! )?;
//! let mut index = ExactIndex::new(store);
//!
//! // A product's recommendations never include itself; filters drop what cannot be sold.
//! let seed = array![1.0, 0.1, 0.0]; // the seed tower's vector for "phone"
//! let out_of_stock = RowSet::from_ids(index.store(), ["charger"])?;
//! let hits = index.top_k_for_product("phone", seed.view(), 2, &Exclusions::none().deny(out_of_stock))?;
//! let recs = index.recommendations(&hits);
//! assert_eq!(recs[0].product, "screen-guard");
//! assert_eq!(recs[1].product, "case");
//!
//! // A cart: several seeds, never returning the cart's items.
//! let seeds = array![[1.0, 0.1, 0.0], [0.9, 0.4, 0.0]];
//! let hits = index.top_k_cart(&["phone", "case"], seeds.view(), 3, CartAggregation::MeanVector, &Exclusions::none())?;
//! assert!(index.recommendations(&hits).iter().all(|r| r.product != "phone" && r.product != "case"));
//!
//! // Incremental: a new product is searchable at once, no retraining.
//! index.insert("cable", array![0.85, 0.05, 0.3].view())?;
//! assert!(index.store().row_of("cable").is_some());
//!
//! // One file to serve from: written atomically, verified on load.
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("recs.dra");
//! index.store().save(&path, &[("model_config", br#"{"dim":3}"#.as_slice())])?;
//! let (loaded, artifact) = EmbeddingStore::load(&path)?;
//! assert_eq!(loaded.vectors(), index.store().vectors());
//! assert_eq!(artifact.section("model_config"), Some(br#"{"dim":3}"#.as_slice()));
//! # Ok::<(), deeprecs_index::Error>(())
//! ```
//!
//! ## Modules
//!
//! - [`serve`]: [`CrossSellIndex`], the model wired into serving (queries by product, new
//!   product and cart; explanations; incremental updates; the serving artifact).
//! - [`store`]: [`EmbeddingStore`], product ids ↔ rows of an L2-normalised
//!   `ndarray::Array2<f32>`; add, update, remove (tombstones) and compact.
//! - [`index`]: the [`Index`] trait (exact and approximate search alike), single, batched,
//!   per-product and cart queries.
//! - [`exact`]: [`ExactIndex`], blocked matrix multiply with bounded heaps on rayon.
//! - [`ann`]: [`HnswIndex`], an HNSW graph (`usearch`) with exact re-scoring, and
//!   [`recall_at_k`].
//! - [`filter`]: [`Exclusions`] (the seed, the cart, allow and deny [`RowSet`]s, a
//!   predicate).
//! - [`cart`]: [`CartAggregation`] — mean vector, sum or max of per-seed scores.
//! - [`artifact`]: the versioned, checksummed file format; [`EmbeddingStore::save`] and
//!   [`EmbeddingStore::load`].
//!
//! ## Scores and ties
//!
//! Every stored vector and every query is checked (dimension, finite, non-zero — else a typed
//! [`Error`]) and L2-normalised, so a score is a dot product: the cosine similarity. Results
//! are sorted by score, highest first, and equal scores by row, lowest first — a total order,
//! so the top k is unique and the exact, naive and approximate paths, on any number of threads,
//! break ties identically. (The blocked path's matrix product sums in a different order from
//! a plain dot product, so its scores can differ from the naive loop's in the last bits.)
//!
//! ## Brand-new products
//!
//! A product that is not in the index — a new product encoded from its metadata by the seed
//! tower on the fly — is queried with [`Index::top_k`] or [`Index::top_k_for_product`]; no
//! retraining is involved. Inserting its rec vector later ([`Index::insert`]) makes it a
//! candidate for other products' queries, and its own recommendations stay the same
//! (`top_k_for_product` excludes the product itself either way).
//! [`CrossSellIndex::recommend_for_new_product`] does the encoding from a JSON object and
//! [`CrossSellIndex::upsert_product`] the insertion with both towers.
//!
//! ## Cart aggregation
//!
//! [`CartAggregation::MeanVector`] (the default) queries with the mean of the normalised
//! seeds; [`CartAggregation::SumScore`] ranks by the sum of per-seed cosines, which is
//! provably the same ranking (scores are linear in the query), reported on the sum's scale;
//! [`CartAggregation::MaxScore`] ranks by the best per-seed cosine, which serves carts of
//! unrelated items better at the cost of one search per item. The [`cart`] module has the
//! derivation and the trade-offs.
//!
//! ## Incremental updates
//!
//! [`Index::upsert`], [`Index::insert`], [`Index::update`] and [`Index::remove`] change the
//! index in place: an update overwrites the product's row; a removal tombstones it (never
//! returned, row not reused) until [`EmbeddingStore::compact`] (or
//! [`ExactIndex::compact`], [`HnswIndex::compact`]) renumbers the rows. The HNSW graph adds,
//! replaces and deletes nodes as the store changes; [`HnswIndex::stale_fraction`] says when a
//! rebuild would reclaim memory.
//!
//! ## Approximate search: the crate choice
//!
//! [`HnswIndex`] uses [`usearch`](https://docs.rs/usearch) rather than the pure-Rust
//! [`hnsw_rs`](https://docs.rs/hnsw_rs): on 100 000 clustered vectors it answered 1.7–2.6
//! times more queries per second at equal recall@10 and built its graph 1.9–3.8 times faster;
//! it supports removals (which incremental updates need) while `hnsw_rs` does not; and
//! `hnsw_rs`'s dot-product distance can panic on near-duplicate vectors. `usearch` compiles
//! its C++ core from the sources in the crate (offline, any C++17 compiler). The [`ann`]
//! module has the measurements. Candidates found by the graph are re-scored exactly, so
//! approximate results differ from exact ones only in which products are found, never in
//! their scores or order.
//!
//! ## Threads
//!
//! Batched and single exact searches and the graph build run on rayon's current thread pool:
//! size it with `RAYON_NUM_THREADS`, or run the call inside `rayon::ThreadPool::install`.
//! [`Parallelism::Sequential`] keeps the exact search on the calling thread.
//!
//! ## The artifact
//!
//! One file holds everything needed to serve: the model's config, weights, vocabularies and
//! schema (opaque sections here) and the index's ids and embeddings, with a format version,
//! a header checksum, per-section checksums and a whole-file checksum (XXH3-64). It is written
//! to a temporary file in the same directory, synced, and renamed into place. Loading checks
//! the magic, the version, every length against the actual file size and every checksum
//! before parsing anything, and reports a truncated, damaged or mismatched file as a typed
//! error naming the file and the section. The byte-level spec is in [`artifact`];
//! [`CrossSellIndex::save`] adds the model (bundle JSON and weights), the seed vectors, the
//! labels and the products' metadata, as listed in [`serve`].
//!
//! ## Performance
//!
//! `benches/topk.rs` (`cargo bench -p deeprecs-index --bench topk`) measures all-seeds top-10
//! over 100 000 synthetic products (1 000 Gaussian clusters; seeds drawn from the same
//! clusters, each seed excluding its own product). On the development machine — 2 cores of
//! an AMD EPYC Zen 4 (family 25, model 17) under KVM, AVX-512 and FMA, shared with other
//! builds, so each figure is the fastest of several runs:
//!
//! | d | path | threads | seeds/s | GFLOP/s | % of fp32 FMA peak |
//! | --- | --- | --- | --- | --- | --- |
//! | 64 | blocked | 1 | 5 815 | 74.4 | 63 % |
//! | 64 | blocked | 2 | 10 874 | 139.2 | 59 % |
//! | 64 | naive per-seed loop | 1 | 576 | 7.4 | 6 % |
//! | 64 | naive per-seed loop | 2 | 1 131 | 14.5 | 6 % |
//! | 384 | blocked | 1 | 1 066 | 81.8 | 70 % |
//! | 384 | blocked | 2 | 2 036 | 156.4 | 66 % |
//! | 384 | naive per-seed loop | 1 | 103 | 7.9 | 7 % |
//! | 384 | naive per-seed loop | 2 | 192 | 14.7 | 6 % |
//!
//! GFLOP/s counts `2 · seeds · products · d`. The peak is cores × clock × 32 FLOP/cycle
//! (two 256-bit FMA pipes × 8 fp32 lanes × 2; Zen 4 runs AVX-512 as two 256-bit halves, so
//! AVX-512 does not raise it) with the clock measured by the benchmark: 3.68 GHz, i.e.
//! 117.7 GFLOP/s per core. The blocked path is about 10 times the naive loop (which is bound
//! by streaming the whole catalog once per seed) and scales 1.9× from 1 to 2 threads.
//! Rayon over tiles beat letting `matrixmultiply` thread each product (crate feature
//! `matrixmultiply-threading`, [`Parallelism::Sequential`]): best of four alternating runs,
//! 148 against 105 GFLOP/s at 64-d and 158 against 81 at 384-d, as rayon also parallelises
//! the packing of product rows and the heap scans.
//!
//! Approximate search ([`HnswIndex`], `M` = 16, `ef_construction` = 200, graph built on
//! 2 threads; 1 000 queries; the exact figures are for the same queries):
//!
//! | d | build | recall@10 | ANN queries/s (1 thread, one at a time) | exact queries/s: one at a time (1 thread) / batched (2 threads) |
//! | --- | --- | --- | --- | --- |
//! | 64 | 63 s | 0.911 (ef 128), **0.962 (ef 256)** | 2 087, **942** | 654 / 6 447 |
//! | 384 | 227 s | 0.895 (ef 16), **0.985 (ef 32)**, 0.9997 (ef 64) | 2 422, **1 707**, 922 | 151 / 1 040 |
//!
//! At 100 000 products the exact batched path answers more queries per second than the graph
//! at 64-d; the graph pays off for single, latency-bound queries (especially at 384-d, where
//! one exact query must stream 150 MB) and for larger catalogs.

#![warn(clippy::unwrap_used)]

pub mod ann;
pub mod artifact;
pub mod cart;
pub mod error;
pub mod exact;
pub mod filter;
pub mod index;
mod persist;
pub mod serve;
pub mod store;
mod topk;

pub use ann::{HnswIndex, HnswParams, recall_at_k};
pub use artifact::{Artifact, ArtifactBuilder};
pub use cart::CartAggregation;
pub use error::{Error, Result};
pub use exact::{BlockSizes, ExactIndex, Parallelism};
pub use filter::{Exclusions, RowPredicate, RowSet};
pub use index::{Index, Recommendation};
pub use persist::INDEX_FORMAT_VERSION;
pub use serve::{
    BuildOptions, CrossSellIndex, CrossSellRecommendation, FieldContribution, PairExplanation,
    QueryOptions, SERVING_FORMAT_VERSION, SearchKind,
};
pub use store::{EmbeddingStore, RowRemap, Upserted};
pub use topk::Hit;
