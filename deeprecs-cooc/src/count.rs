//! The fast counter: events are filtered, de-duplicated and sorted per user into flat arrays,
//! indexed by product, and then every seed product's row is accumulated densely — one seed at
//! a time per thread, scanning the window around each of the seed's events — and written
//! straight into the final sparse table.
//!
//! Memory: 12 bytes per used event while counting (8 for the key and product of the event,
//! with a bit marking the first event of each user, and 4 for the product's event index) plus
//! 4 more with kind weights, a dense scratch row of `16 × n_products` bytes per thread, and the
//! output: 8 bytes per kept pair while counting, 12 with scores. Preparing peaks at about 16
//! bytes per event (plus 12 per user), before any output exists.
//!
//! Symmetric counting without pruning (the default) counts only the upper triangle (partners
//! with a larger index than the seed: 4 bytes per pair of the final table) and mirrors it once
//! the event arrays are freed, which halves both the accumulation work and the counting-time
//! output. With `min_count` or `top_k`, or when directed, full rows are counted and pruned on
//! the fly, so the output never exceeds the kept pairs.
//!
//! Rows are produced in waves of a few small chunks of seeds per thread (chunks of equal
//! estimated work) and appended in seed order to a table reserved up front, so no second copy
//! of the table ever exists; a seed with a large share of the work is instead split over all
//! threads at user boundaries and its partial rows merged. Scores are computed after the event
//! arrays are freed.

use std::sync::Mutex;
use std::time::Instant;

use deeprecs_core::EventLog;
use rayon::prelude::*;

use crate::config::{CoocCounter, Counting, Direction, Pairing};
use crate::counts::{CoocReport, Csr, Marginals, PairCounts, Progress};
use crate::error::{Error, Result, invalid};

/// Where parallel work runs: rayon's global pool, or a pool of a set size.
enum Exec {
    Global,
    Pool(rayon::ThreadPool),
}

impl Exec {
    fn new(threads: usize) -> Result<Self> {
        if threads == 0 {
            return Ok(Self::Global);
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map(Self::Pool)
            .map_err(|e| invalid("threads", format!("cannot start {threads} threads: {e}")))
    }

    fn threads(&self) -> usize {
        match self {
            Self::Global => rayon::current_num_threads(),
            Self::Pool(p) => p.current_num_threads(),
        }
    }

    fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match self {
            Self::Global => f(),
            Self::Pool(p) => p.install(f),
        }
    }
}

/// The log in counting form: used events sorted by (user, key, product), where the key is the
/// time in seconds since the earliest used event, or the basket index when pairing by basket.
pub(crate) struct Prepared {
    /// `key << 32 | product` per event, with [`USER_START`] set on the first event of each
    /// user; events of one user are contiguous and sorted.
    events: Vec<u64>,
    /// Kind weight per event, when some used kind weighs less than 1.
    weights: Option<Vec<f32>>,
    /// Row starts of `occ`, per product (`n_products + 1`).
    occ_offsets: Vec<usize>,
    /// Positions of each product's events, product by product, ascending; bit 31 is set when
    /// the event's user is the user of the product's previous event.
    occ: Vec<u32>,
    /// Estimated scanning work per product, for balancing the chunks.
    work: Vec<u64>,
    /// The window in key units, at most `u32::MAX`.
    window: u64,
    /// The neighbour cap per side (`usize::MAX`: none).
    cap: usize,
    /// Count only partners with a larger index than the seed, and mirror at the end (symmetric
    /// counting without pruning: the table is symmetric, so half the work and memory).
    triangle: bool,
}

impl Prepared {
    /// The `occ` entries of a product.
    fn occ_of(&self, p: u32) -> &[u32] {
        &self.occ[self.occ_offsets[p as usize]..self.occ_offsets[p as usize + 1]]
    }
}

/// Bit 31 of an event: the first event of its user.
const USER_START: u64 = 1 << 31;
/// The product bits of an event.
const PRODUCT_MASK: u64 = (1 << 31) - 1;
/// Bit 31 of an `occ` entry: same user as the previous entry.
const SAME_USER: u32 = 1 << 31;
/// Positions in `occ` use the low 31 bits.
const MAX_EVENTS: usize = (1 << 31) - 1;

const KEY_MASK: u64 = 0xFFFF_FFFF;

impl CoocCounter {
    /// Counts the pairs of `log` for a catalog of `n_products` products, in parallel.
    ///
    /// Events whose product index is `≥ n_products`, events of unweighted kinds and (when
    /// pairing by basket) events without a basket are set aside and counted in the report;
    /// an empty log gives an empty table.
    pub fn count(&self, log: &EventLog, n_products: usize) -> Result<(PairCounts, CoocReport)> {
        self.count_with_progress(log, n_products, &mut |_| {})
    }

    /// [`count`](Self::count), calling `progress` (on the calling thread) as work completes.
    pub fn count_with_progress(
        &self,
        log: &EventLog,
        n_products: usize,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(PairCounts, CoocReport)> {
        if n_products as u64 > PRODUCT_MASK {
            return Err(invalid(
                "n_products",
                format!("{n_products} products: at most 2,147,483,647 are supported"),
            ));
        }
        let exec = Exec::new(self.config.threads)?;
        let pairing = Pairing::resolve(self.config.window, log);
        let mut report = CoocReport {
            pairing: Some(pairing),
            counting: self.config.counting,
            threads: exec.threads(),
            ..CoocReport::default()
        };
        let start = Instant::now();
        let prepared = self.prepare(log, n_products, pairing, &exec, &mut report)?;
        report.prepare_secs = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let (csr, marginals) =
            self.count_prepared(prepared, n_products, &exec, &mut report, progress);
        report.count_secs = start.elapsed().as_secs_f64();
        report.kept_pairs = csr.len() as u64;
        report.seeds = csr.offsets.windows(2).filter(|w| w[1] > w[0]).count() as u64;
        Ok((
            PairCounts {
                csr,
                marginals,
                pairing,
                config: self.config.clone(),
            },
            report,
        ))
    }

    /// Filters, de-duplicates, sorts and indexes the events.
    fn prepare(
        &self,
        log: &EventLog,
        n_products: usize,
        pairing: Pairing,
        exec: &Exec,
        report: &mut CoocReport,
    ) -> Result<Prepared> {
        let kind_weights = self.kind_weights(log);
        let by_basket = pairing == Pairing::SameBasket;
        let n_users = log.user_count();
        report.events_in = log.len() as u64;

        // Pass 1: what is used, per user; the time span.
        let mut per_user = vec![0u32; n_users + 1];
        let mut used = 0usize;
        let (mut t_min, mut t_max) = (i64::MAX, i64::MIN);
        let mut weighted = false;
        for e in log.events() {
            let w = kind_weights
                .get(usize::from(e.kind.0))
                .copied()
                .unwrap_or(0.0);
            if e.product.index() >= n_products {
                report.unknown_product_events += 1;
            } else if w <= 0.0 {
                report.ignored_kind_events += 1;
            } else if by_basket && e.basket.is_none() {
                report.missing_basket_events += 1;
            } else {
                weighted |= w < 1.0;
                per_user[e.user.index()] = per_user[e.user.index()].saturating_add(1);
                used += 1;
                t_min = t_min.min(e.timestamp);
                t_max = t_max.max(e.timestamp);
            }
        }
        if used > MAX_EVENTS {
            return Err(invalid(
                "events",
                format!("{used} usable events: at most 2,147,483,647 are supported"),
            ));
        }
        if used > 0 {
            report.time_span = Some((t_min, t_max));
            let span = i128::from(t_max) - i128::from(t_min);
            if !by_basket && span > i128::from(u32::MAX) {
                return Err(Error::TimeSpanTooLong {
                    span_secs: span as u128,
                });
            }
        }
        // Exclusive prefix sums: per_user[u] becomes the start of user u.
        let mut acc = 0u32;
        for c in per_user.iter_mut() {
            let n = *c;
            *c = acc;
            acc += n;
        }
        let mut starts = per_user;

        // Pass 2: scatter `key << 32 | product` (and weights) into user buckets.
        let mut packed = vec![0u64; used];
        let mut weights = if weighted {
            vec![0f32; used]
        } else {
            Vec::new()
        };
        // `starts` serves as the cursor: afterwards starts[u] holds the start of user u + 1.
        for e in log.events() {
            let w = kind_weights
                .get(usize::from(e.kind.0))
                .copied()
                .unwrap_or(0.0);
            if e.product.index() >= n_products || w <= 0.0 {
                continue;
            }
            let key = if by_basket {
                match e.basket {
                    Some(b) => u64::from(b.0),
                    None => continue,
                }
            } else {
                (e.timestamp - t_min) as u64
            };
            let slot = &mut starts[e.user.index()];
            packed[*slot as usize] = key << 32 | u64::from(e.product.0);
            if weighted {
                weights[*slot as usize] = w;
            }
            *slot += 1;
        }
        starts.copy_within(0..n_users, 1);
        starts[0] = 0;

        // Sort each user's events by (key, product) and merge repeats, in parallel over
        // chunks of users.
        let new_lens = sort_users(
            &starts,
            &mut packed,
            weighted.then_some(weights.as_mut_slice()),
            exec,
        );
        // Close the gaps left by merged repeats; mark where each user starts.
        // Where each user with events starts, then the end: user `u` holds events
        // `bounds[u]..bounds[u + 1]`.
        let mut bounds: Vec<u32> = Vec::with_capacity(n_users + 1);
        let mut write = 0usize;
        for u in 0..n_users {
            let (src, len) = (starts[u] as usize, new_lens[u] as usize);
            if len == 0 {
                continue;
            }
            if src != write {
                packed.copy_within(src..src + len, write);
                if weighted {
                    weights.copy_within(src..src + len, write);
                }
            }
            bounds.push(write as u32);
            write += len;
            report.single_event_users += u64::from(len == 1);
        }
        drop(new_lens);
        drop(starts);
        report.users = bounds.len() as u64;
        bounds.push(write as u32);
        report.duplicate_events = (used - write) as u64;
        report.events_used = write as u64;
        packed.truncate(write);
        packed.shrink_to_fit();
        weights.truncate(write);
        weights.shrink_to_fit();
        let mut events = packed;
        for &s in &bounds[..bounds.len() - 1] {
            events[s as usize] |= USER_START;
        }

        // Index events by product, flagging repeats of a user; estimate each product's work.
        let window = self.config.window.secs().min(KEY_MASK);
        let cap = self.config.neighbour_cap.map_or(usize::MAX, |c| c as usize);
        let mut occ_offsets = vec![0usize; n_products + 1];
        for &e in &events {
            occ_offsets[(e & PRODUCT_MASK) as usize + 1] += 1;
        }
        for i in 0..n_products {
            occ_offsets[i + 1] += occ_offsets[i];
        }
        let mut occ = vec![0u32; write];
        let mut fill = occ_offsets.clone();
        let mut last_user = vec![u32::MAX; n_products];
        for (u, r) in bounds.windows(2).enumerate() {
            let (s, e) = (r[0] as usize, r[1] as usize);
            for (i, &ev) in events[s..e].iter().enumerate() {
                let p = (ev & PRODUCT_MASK) as usize;
                let flag = if last_user[p] == u as u32 {
                    SAME_USER
                } else {
                    0
                };
                last_user[p] = u as u32;
                occ[fill[p]] = (s + i) as u32 | flag;
                fill[p] += 1;
            }
        }
        drop(fill);
        drop(last_user);
        let mut work = vec![0u64; n_products];
        report.capped_events = window_work(&events, &bounds, window, cap, &mut work);

        Ok(Prepared {
            events,
            weights: weighted.then_some(weights),
            occ_offsets,
            occ,
            work,
            window,
            cap,
            triangle: self.config.direction == Direction::Symmetric
                && self.config.min_count == 0.0
                && self.config.top_k.is_none(),
        })
    }

    /// Counts every seed's row from the prepared events.
    fn count_prepared(
        &self,
        prep: Prepared,
        n_products: usize,
        exec: &Exec,
        report: &mut CoocReport,
        progress: &mut dyn FnMut(Progress),
    ) -> (Csr, Marginals) {
        let threads = exec.threads().max(1);
        let total_work: u64 = prep.work.iter().map(|w| w + 1).sum();
        let per_occ = self.config.counting == Counting::PerOccurrence;
        let directed = self.config.direction == Direction::Directed;
        let setup = RowSetup {
            n_products,
            per_user: !per_occ,
            triangle: prep.triangle,
            min_count: f64::from(self.config.min_count),
            top_k: self.config.top_k.map(|k| k as usize),
            col_sums: per_occ && directed,
        };
        let slots: Vec<Mutex<Option<Scratch>>> = (0..threads).map(|_| Mutex::new(None)).collect();
        let kernel = select_kernel(
            self.config.counting,
            self.config.direction,
            prep.weights.is_some(),
        );

        let mut csr = Csr {
            offsets: Vec::with_capacity(n_products + 1),
            recs: Vec::new(),
            counts: Vec::new(),
        };
        // Reserve room for the largest possible table up front (the scanning work bounds the
        // number of pairs): large reservations are mapped lazily by the OS, so untouched room
        // costs no memory, and the table never has to move while it grows. If the
        // reservation is refused, the vectors simply grow as they go.
        let most = (total_work as usize)
            .min(n_products.saturating_mul(n_products.saturating_sub(1)))
            .min(
                self.config
                    .top_k
                    .map_or(usize::MAX, |k| n_products.saturating_mul(k as usize)),
            );
        if csr.recs.try_reserve_exact(most).is_err() || csr.counts.try_reserve_exact(most).is_err()
        {
            csr.recs = Vec::new();
            csr.counts = Vec::new();
        }
        csr.offsets.push(0);
        let mut seed_max = Vec::with_capacity(n_products);
        let mut seed_total = Vec::with_capacity(n_products);
        // Column sums of the heavy seeds' rows, which are finished on this thread.
        let mut heavy_cols = if setup.col_sums {
            vec![0f64; n_products]
        } else {
            Vec::new()
        };
        let with_scratch = |f: &mut dyn FnMut(&mut Scratch)| {
            let slot = rayon::current_thread_index().unwrap_or(0) % slots.len();
            // A poisoned slot only means another task panicked; every task leaves the
            // scratch clean before it returns, and the panic reaches the caller anyway.
            let mut guard = slots[slot]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(guard.get_or_insert_with(|| Scratch::new(&setup)));
        };
        let mut done = 0u64;
        for step in plan(&prep.work, threads) {
            let outs: Vec<ChunkOut> = match step {
                Step::Wave(chunks) => exec.run(|| {
                    chunks
                        .par_iter()
                        .map(|range| {
                            let mut out = ChunkOut::default();
                            with_scratch(&mut |scratch| {
                                for seed in range.clone() {
                                    kernel(seed, prep.occ_of(seed), &prep, scratch, &mut out);
                                    scratch.finish_row(&setup, &mut out);
                                    out.work += prep.work[seed as usize] + 1;
                                }
                            });
                            out
                        })
                        .collect()
                }),
                Step::Heavy(seed) => {
                    // One seed with a large share of the work: its events, split at user
                    // boundaries, are scanned by all threads, and the partial rows merged.
                    let occ = prep.occ_of(seed);
                    let parts = split_at_users(occ, threads);
                    let partial: Vec<PartialRow> = exec.run(|| {
                        parts
                            .par_iter()
                            .map(|r| {
                                let mut out = ChunkOut::default();
                                let mut row = Vec::new();
                                let mut units = 0.0;
                                with_scratch(&mut |scratch| {
                                    kernel(seed, &occ[r.clone()], &prep, scratch, &mut out);
                                    units = scratch.seed_total;
                                    scratch.drain(setup.n_products);
                                    row = std::mem::take(&mut scratch.row);
                                });
                                (row, units, out)
                            })
                            .collect()
                    });
                    let mut out = ChunkOut::default();
                    let mut merged: Vec<(u32, f64)> = Vec::new();
                    let mut units = 0.0;
                    for (row, u, part) in partial {
                        merged = merge_rows(merged, row);
                        units += u;
                        out.visits += part.visits;
                        out.incidences += part.incidences;
                    }
                    emit_row(&mut merged, units, &setup, &mut out, &mut heavy_cols);
                    out.work += prep.work[seed as usize] + 1;
                    vec![out]
                }
            };
            for out in outs {
                for len in out.row_lens {
                    let last = csr.offsets.last().copied().unwrap_or(0);
                    csr.offsets.push(last + u64::from(len));
                }
                csr.recs.extend_from_slice(&out.recs);
                csr.counts.extend_from_slice(&out.counts);
                seed_max.extend_from_slice(&out.seed_max);
                seed_total.extend_from_slice(&out.seed_total);
                report.pair_visits += out.visits;
                report.pair_incidences += out.incidences;
                report.distinct_pairs += out.distinct;
                report.pruned_min_count += out.pruned_min_count;
                report.pruned_top_k += out.pruned_top_k;
                done += out.work;
            }
            progress(Progress {
                done,
                total: total_work,
            });
        }
        drop(prep);
        csr.recs.shrink_to_fit();
        csr.counts.shrink_to_fit();
        if setup.triangle {
            let (full, max, sum) = mirror(csr, n_products);
            csr = full;
            seed_max = max;
            if per_occ {
                seed_total = sum;
            }
            report.pair_incidences *= 2;
            report.distinct_pairs = csr.len() as u64;
        }

        let (rec_total, total) = if per_occ {
            let total = seed_total.iter().sum();
            if directed {
                let mut cols = heavy_cols;
                for slot in slots {
                    let scratch = slot
                        .into_inner()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let Some(s) = scratch {
                        for (c, x) in cols.iter_mut().zip(&s.col) {
                            *c += x;
                        }
                    }
                }
                (cols, total)
            } else {
                (seed_total.clone(), total)
            }
        } else {
            (seed_total.clone(), report.users as f64)
        };
        (
            csr,
            Marginals {
                seed_max,
                seed_total,
                rec_total,
                total,
            },
        )
    }
}

/// Sorts each user's events by (key, product) and merges repeats (keeping the largest weight).
/// Returns each user's length after merging; the merged events sit at the start of the user's
/// range.
fn sort_users(
    starts: &[u32],
    packed: &mut [u64],
    mut weights: Option<&mut [f32]>,
    exec: &Exec,
) -> Vec<u32> {
    let n_users = starts.len() - 1;
    let start = |u: usize| starts[u] as usize;
    let total = packed.len();
    // Chunks of whole users of roughly equal size.
    let target = (total / (exec.threads().max(1) * 16)).max(1 << 14);
    let mut bounds = vec![0usize];
    let mut last = 0;
    for u in 1..=n_users {
        if start(u) - start(last) >= target || u == n_users {
            bounds.push(u);
            last = u;
        }
    }
    struct Job<'a> {
        users: std::ops::Range<usize>,
        base: usize,
        packed: &'a mut [u64],
        weights: Option<&'a mut [f32]>,
        lens: &'a mut [u32],
    }
    let mut new_lens = vec![0u32; n_users];
    let mut jobs = Vec::with_capacity(bounds.len());
    {
        let (mut p_rest, mut l_rest) = (packed, new_lens.as_mut_slice());
        let mut w_rest = weights.take();
        for b in bounds.windows(2) {
            let (u0, u1) = (b[0], b[1]);
            let len = start(u1) - start(u0);
            let (p, pr) = p_rest.split_at_mut(len);
            let (l, lr) = l_rest.split_at_mut(u1 - u0);
            let w = match w_rest.take() {
                Some(ws) => {
                    let (w, wr) = ws.split_at_mut(len);
                    w_rest = Some(wr);
                    Some(w)
                }
                None => None,
            };
            jobs.push(Job {
                users: u0..u1,
                base: start(u0),
                packed: p,
                weights: w,
                lens: l,
            });
            (p_rest, l_rest) = (pr, lr);
        }
    }
    exec.run(|| {
        jobs.par_iter_mut().for_each(|job| {
            let mut tmp: Vec<(u64, f32)> = Vec::new();
            for (k, u) in job.users.clone().enumerate() {
                let (s, e) = (start(u) - job.base, start(u + 1) - job.base);
                let keys = &mut job.packed[s..e];
                let m = match job.weights.as_deref_mut() {
                    None => {
                        keys.sort_unstable();
                        dedup_sorted(keys)
                    }
                    Some(ws) => {
                        let ws = &mut ws[s..e];
                        tmp.clear();
                        tmp.extend(keys.iter().copied().zip(ws.iter().copied()));
                        tmp.sort_unstable_by_key(|x| x.0);
                        let mut m = 0usize;
                        for &(k, w) in &tmp {
                            if m > 0 && keys[m - 1] == k {
                                ws[m - 1] = ws[m - 1].max(w);
                            } else {
                                keys[m] = k;
                                ws[m] = w;
                                m += 1;
                            }
                        }
                        m
                    }
                };
                job.lens[k] = m as u32;
            }
        });
    });
    new_lens
}

/// Builds the full symmetric table from its upper triangle (each row holding only partners
/// with a larger index): row `p` becomes the partners `s < p` that list `p`, then its own.
/// Returns the table with each row's largest count and sum. Needs 24 bytes per upper pair
/// while both exist (12 per pair of the result).
fn mirror(upper: Csr, n: usize) -> (Csr, Vec<f64>, Vec<f64>) {
    let m = upper.recs.len();
    let mut lower = vec![0u64; n];
    for &q in &upper.recs {
        lower[q as usize] += 1;
    }
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0u64);
    for p in 0..n {
        let own = upper.offsets[p + 1] - upper.offsets[p];
        offsets.push(offsets[p] + lower[p] + own);
    }
    let mut recs = vec![0u32; 2 * m];
    let mut counts = vec![0f32; 2 * m];
    // `lower` becomes the next free slot of each row's lower part.
    for (p, l) in lower.iter_mut().enumerate() {
        let start = offsets[p];
        let own_at = start + *l;
        *l = start;
        let (a, b) = (upper.offsets[p] as usize, upper.offsets[p + 1] as usize);
        let at = own_at as usize;
        recs[at..at + (b - a)].copy_from_slice(&upper.recs[a..b]);
        counts[at..at + (b - a)].copy_from_slice(&upper.counts[a..b]);
    }
    for s in 0..n {
        for k in upper.offsets[s] as usize..upper.offsets[s + 1] as usize {
            let q = upper.recs[k] as usize;
            let at = lower[q] as usize;
            recs[at] = s as u32;
            counts[at] = upper.counts[k];
            lower[q] += 1;
        }
    }
    drop(upper);
    let (mut max, mut sum) = (vec![0f64; n], vec![0f64; n]);
    for p in 0..n {
        for &c in &counts[offsets[p] as usize..offsets[p + 1] as usize] {
            max[p] = max[p].max(f64::from(c));
            sum[p] += f64::from(c);
        }
    }
    (
        Csr {
            offsets,
            recs,
            counts,
        },
        max,
        sum,
    )
}

/// Removes consecutive repeats in place; returns the new length.
fn dedup_sorted(v: &mut [u64]) -> usize {
    if v.is_empty() {
        return 0;
    }
    let mut m = 1;
    for i in 1..v.len() {
        if v[i] != v[m - 1] {
            v[m] = v[i];
            m += 1;
        }
    }
    m
}

/// Adds to `work[p]` the number of window neighbours (capped) of each event of `p`; returns
/// the number of events whose window holds more neighbours on one side than the cap.
fn window_work(events: &[u64], bounds: &[u32], window: u64, cap: usize, work: &mut [u64]) -> u64 {
    let key = |i: usize| events[i] >> 32;
    let mut capped = 0;
    for r in bounds.windows(2) {
        let (s, e) = (r[0] as usize, r[1] as usize);
        let (mut lo, mut hi) = (s, s);
        for i in s..e {
            let k = key(i);
            while k - key(lo) > window {
                lo += 1;
            }
            hi = hi.max(i + 1);
            while hi < e && key(hi) - k <= window {
                hi += 1;
            }
            let (left, right) = (i - lo, hi - i - 1);
            capped += u64::from(left > cap || right > cap);
            work[(events[i] & PRODUCT_MASK) as usize] += (left.min(cap) + right.min(cap)) as u64;
        }
    }
    capped
}

/// A step of counting, in seed order.
enum Step {
    /// Runs of light seeds (about equal work each), one run per task, in parallel.
    Wave(Vec<std::ops::Range<u32>>),
    /// One heavy seed, its events split over the threads.
    Heavy(u32),
}

/// Plans the counting: seeds in order, light ones grouped into runs of about equal work
/// (some 256 per thread) and waves of four runs per thread, so that each wave's output is a
/// small share of the table; with several threads, seeds worth more than four runs are
/// split over the threads instead, so that one popular product cannot leave the other
/// threads idle.
fn plan(work: &[u64], threads: usize) -> Vec<Step> {
    let total: u64 = work.iter().map(|w| w + 1).sum();
    let target = (total / (threads as u64 * 256)).max(1);
    let heavy = |w: u64| threads > 1 && w + 1 > 4 * target;
    let mut steps = Vec::new();
    let mut wave: Vec<std::ops::Range<u32>> = Vec::new();
    let (mut start, mut acc) = (0usize, 0u64);
    let close_run = |wave: &mut Vec<std::ops::Range<u32>>, steps: &mut Vec<Step>, run| {
        wave.push(run);
        if wave.len() == threads * 4 {
            steps.push(Step::Wave(std::mem::take(wave)));
        }
    };
    for (p, &w) in work.iter().enumerate() {
        if heavy(w) {
            if start < p {
                close_run(&mut wave, &mut steps, start as u32..p as u32);
            }
            if !wave.is_empty() {
                steps.push(Step::Wave(std::mem::take(&mut wave)));
            }
            steps.push(Step::Heavy(p as u32));
            (start, acc) = (p + 1, 0);
            continue;
        }
        acc += w + 1;
        if acc >= target {
            close_run(&mut wave, &mut steps, start as u32..p as u32 + 1);
            (start, acc) = (p + 1, 0);
        }
    }
    if start < work.len() {
        close_run(&mut wave, &mut steps, start as u32..work.len() as u32);
    }
    if !wave.is_empty() {
        steps.push(Step::Wave(wave));
    }
    steps
}

/// Splits a seed's event positions into at most `parts` ranges of about equal length, cutting
/// only where a new user begins (so that "once per user" stays within one part).
fn split_at_users(occ: &[u32], parts: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    for k in 1..parts {
        let mut cut = (occ.len() * k / parts).max(start + 1);
        while cut < occ.len() && occ[cut] & SAME_USER != 0 {
            cut += 1;
        }
        if cut >= occ.len() {
            break;
        }
        ranges.push(start..cut);
        start = cut;
    }
    ranges.push(start..occ.len());
    ranges
}

/// Merges two rows sorted by partner, adding the counts of shared partners.
fn merge_rows(a: Vec<(u32, f64)>, b: Vec<(u32, f64)>) -> Vec<(u32, f64)> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Appends a finished row (sorted by partner, not yet pruned) to `out`: its statistics over all
/// partners, then the partners that pass `min_count` and `top_k`. `units` is the seed's user
/// total (per-user counting); per occurrence the row sum is used.
fn emit_row(
    row: &mut Vec<(u32, f64)>,
    units: f64,
    setup: &RowSetup,
    out: &mut ChunkOut,
    col: &mut [f64],
) {
    if setup.triangle {
        // Statistics and the full rows come from `mirror`.
        for &(q, c) in row.iter() {
            out.recs.push(q);
            out.counts.push(c as f32);
        }
        out.row_lens.push(row.len() as u32);
        out.seed_max.push(0.0);
        out.seed_total.push(units);
        return;
    }
    out.distinct += row.len() as u64;
    let (mut max, mut sum) = (0f64, 0f64);
    for &(q, c) in row.iter() {
        max = max.max(c);
        sum += c;
        if setup.col_sums {
            col[q as usize] += c;
        }
    }
    let before = row.len();
    row.retain(|x| x.1 >= setup.min_count);
    out.pruned_min_count += (before - row.len()) as u64;
    if let Some(k) = setup.top_k
        && row.len() > k
    {
        row.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.pruned_top_k += (row.len() - k) as u64;
        row.truncate(k);
        row.sort_unstable_by_key(|x| x.0);
    }
    for &(q, c) in row.iter() {
        out.recs.push(q);
        out.counts.push(c as f32);
    }
    out.row_lens.push(row.len() as u32);
    out.seed_max.push(max);
    out.seed_total
        .push(if setup.per_user { units } else { sum });
}

/// Fixed options of row finishing.
struct RowSetup {
    n_products: usize,
    per_user: bool,
    /// Rows hold the upper triangle only (see `Prepared::triangle`): no statistics, no pruning.
    triangle: bool,
    min_count: f64,
    top_k: Option<usize>,
    col_sums: bool,
}

/// One product's cell of the dense working row: everything a visit touches, in one place
/// (16 bytes, four to a cache line).
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// The count of this partner of the current seed (0: not a partner yet).
    acc: f64,
    /// The user epoch in which it was last counted (per-user counting).
    stamp: u32,
    /// The weight counted for it in the current user epoch (weighted per-user counting).
    cur: f32,
}

/// One thread's dense working row.
struct Scratch {
    slots: Vec<Slot>,
    epoch: u32,
    /// Partners of the current seed, in first-touch order.
    touched: Vec<u32>,
    row: Vec<(u32, f64)>,
    /// Column sums (directed per-occurrence counting).
    col: Vec<f64>,
    /// The seed's marginal accumulated by the kernel.
    seed_total: f64,
}

impl Scratch {
    fn new(setup: &RowSetup) -> Self {
        let n = setup.n_products;
        Self {
            slots: vec![Slot::default(); n],
            epoch: 0,
            touched: Vec::new(),
            row: Vec::new(),
            col: if setup.col_sums {
                vec![0.0; n]
            } else {
                Vec::new()
            },
            seed_total: 0.0,
        }
    }

    /// Starts a new user epoch (per-user counting).
    #[inline]
    fn next_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            for slot in &mut self.slots {
                slot.stamp = 0;
            }
            self.epoch = 1;
        }
    }

    #[inline(always)]
    fn visit<const PER_USER: bool, const WEIGHTED: bool>(
        &mut self,
        q: u32,
        w: f32,
        out: &mut ChunkOut,
    ) {
        let slot = &mut self.slots[q as usize];
        if PER_USER {
            if slot.stamp != self.epoch {
                slot.stamp = self.epoch;
                if WEIGHTED {
                    slot.cur = w;
                }
                if slot.acc == 0.0 {
                    self.touched.push(q);
                }
                slot.acc += f64::from(w);
                out.incidences += 1;
            } else if WEIGHTED && w > slot.cur {
                slot.acc += f64::from(w) - f64::from(slot.cur);
                slot.cur = w;
            }
        } else {
            if slot.acc == 0.0 {
                self.touched.push(q);
            }
            slot.acc += f64::from(w);
            out.incidences += 1;
        }
    }

    /// Moves the current seed's partners and counts into `row`, ascending by partner, and
    /// clears the dense row.
    fn drain(&mut self, n_products: usize) {
        if self.touched.len() > n_products / 8 {
            // Dense: a scan is cheaper than sorting.
            self.touched.clear();
            self.touched.extend(
                self.slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.acc != 0.0)
                    .map(|(q, _)| q as u32),
            );
        } else {
            self.touched.sort_unstable();
        }
        self.row.clear();
        for &q in &self.touched {
            let c = std::mem::take(&mut self.slots[q as usize].acc);
            self.row.push((q, c));
        }
        self.touched.clear();
    }

    /// Moves the current seed's row into `out` (pruned, ascending by partner) and clears the
    /// dense row.
    fn finish_row(&mut self, setup: &RowSetup, out: &mut ChunkOut) {
        self.drain(setup.n_products);
        emit_row(&mut self.row, self.seed_total, setup, out, &mut self.col);
    }
}

/// One part of a heavy seed's row: partners and counts (ascending), the user total, and the
/// work counters.
type PartialRow = (Vec<(u32, f64)>, f64, ChunkOut);

/// What one chunk of seeds produced.
#[derive(Default)]
struct ChunkOut {
    recs: Vec<u32>,
    counts: Vec<f32>,
    row_lens: Vec<u32>,
    seed_max: Vec<f64>,
    seed_total: Vec<f64>,
    visits: u64,
    incidences: u64,
    distinct: u64,
    pruned_min_count: u64,
    pruned_top_k: u64,
    work: u64,
}

type Kernel = fn(u32, &[u32], &Prepared, &mut Scratch, &mut ChunkOut);

fn select_kernel(counting: Counting, direction: Direction, weighted: bool) -> Kernel {
    let per_user = counting == Counting::PerUser;
    let directed = direction == Direction::Directed;
    match (per_user, weighted, directed) {
        (true, false, false) => scan_seed::<true, false, false>,
        (true, false, true) => scan_seed::<true, false, true>,
        (true, true, false) => scan_seed::<true, true, false>,
        (true, true, true) => scan_seed::<true, true, true>,
        (false, false, false) => scan_seed::<false, false, false>,
        (false, false, true) => scan_seed::<false, false, true>,
        (false, true, false) => scan_seed::<false, true, false>,
        (false, true, true) => scan_seed::<false, true, true>,
    }
}

/// Accumulates seed `p`'s row in `s`: for each of the seed's events in `occ` (all of them, or
/// a part that starts at a user boundary), every other event of the same user within the
/// window and the neighbour cap (only same-time or later ones when directed).
fn scan_seed<const PER_USER: bool, const WEIGHTED: bool, const DIRECTED: bool>(
    p: u32,
    occ: &[u32],
    prep: &Prepared,
    s: &mut Scratch,
    out: &mut ChunkOut,
) {
    let events = prep.events.as_slice();
    let wts = prep.weights.as_deref().unwrap_or(&[]);
    let n = events.len();
    // Keys are u32, so a window beyond u32::MAX behaves like u32::MAX.
    let window = prep.window as u32;
    let cap = prep.cap;
    // In triangle mode only partners above the seed are counted.
    let min_rec = if prep.triangle { p + 1 } else { 0 };
    let (mut group_max, mut units) = (0f32, 0f64);
    for &entry in occ {
        let i = (entry & !SAME_USER) as usize;
        let wi = if WEIGHTED { wts[i] } else { 1.0 };
        if PER_USER {
            if entry & SAME_USER == 0 {
                units += f64::from(group_max);
                group_max = 0.0;
                s.next_epoch();
            }
            group_max = group_max.max(wi);
        }
        let ei = events[i];
        let ki = (ei >> 32) as u32;
        // Earlier events of the user (when directed: only those at the same time).
        let lo = i.saturating_sub(cap);
        let (mut j, mut e) = (i, ei);
        while j > lo && e & USER_START == 0 {
            j -= 1;
            e = events[j];
            let kj = (e >> 32) as u32;
            if (DIRECTED && kj != ki) || ki - kj > window {
                break;
            }
            out.visits += 1;
            let q = (e & PRODUCT_MASK) as u32;
            if q != p && q >= min_rec {
                let w = if WEIGHTED { wi * wts[j] } else { 1.0 };
                s.visit::<PER_USER, WEIGHTED>(q, w, out);
            }
        }
        // Later events of the user.
        let hi = n.min(i.saturating_add(cap).saturating_add(1));
        let mut j = i + 1;
        while j < hi {
            let e = events[j];
            if e & USER_START != 0 || (e >> 32) as u32 - ki > window {
                break;
            }
            out.visits += 1;
            let q = (e & PRODUCT_MASK) as u32;
            if q != p && q >= min_rec {
                let w = if WEIGHTED { wi * wts[j] } else { 1.0 };
                s.visit::<PER_USER, WEIGHTED>(q, w, out);
            }
            j += 1;
        }
    }
    s.seed_total = units + f64::from(group_max);
}
