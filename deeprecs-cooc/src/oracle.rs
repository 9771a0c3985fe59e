//! The naive reference counter: obviously correct, single-threaded and slow. Every event pair
//! of every user is compared in a double loop and pairs are counted in `HashMap<(u32, u32),
//! f64>`s. It exists as the test oracle of [`CoocCounter::count`] (the property tests
//! demand equal tables and reports for every option combination) and as the baseline of the
//! benchmarks; do not use it for real data.
//!
//! ```
//! use deeprecs_core::{EventLogBuilder, ProductIdx};
//! use deeprecs_cooc::{CoocConfig, oracle};
//!
//! let mut b = EventLogBuilder::new();
//! for (u, p, t) in [("a", 0, 0), ("a", 1, 10), ("b", 1, 0), ("b", 2, 99_999_999)] {
//!     b.push(u, ProductIdx(p), t, "purchase", 1.0, None)?;
//! }
//! let log = b.build();
//! let counter = CoocConfig::default().check()?;
//! let (fast, _) = counter.count(&log, 3)?;
//! let (slow, _) = oracle::count_naive(&counter, &log, 3)?;
//! assert_eq!(fast, slow);
//! # Ok::<(), deeprecs_cooc::Error>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use deeprecs_core::EventLog;

use crate::config::{CoocCounter, Counting, Direction, Pairing};
use crate::counts::{CoocReport, Csr, Marginals, PairCounts};
use crate::error::Result;

/// Counts like [`CoocCounter::count`], the naive way (see the [module documentation](self)).
pub fn count_naive(
    counter: &CoocCounter,
    log: &EventLog,
    n_products: usize,
) -> Result<(PairCounts, CoocReport)> {
    let start = Instant::now();
    let cfg = counter.config();
    let pairing = Pairing::resolve(cfg.window, log);
    let by_basket = pairing == Pairing::SameBasket;
    let window: i64 = match pairing {
        Pairing::TimeWindow { secs } => i64::try_from(secs).unwrap_or(i64::MAX),
        Pairing::SameBasket | Pairing::SameTimestamp => 0,
    };
    let per_user = cfg.counting == Counting::PerUser;
    let symmetric = cfg.direction == Direction::Symmetric;
    let mut report = CoocReport {
        pairing: Some(pairing),
        counting: cfg.counting,
        events_in: log.len() as u64,
        threads: 1,
        ..CoocReport::default()
    };

    // Filter, then merge repeated (user, product, key) events keeping the largest weight.
    let mut distinct: HashMap<(u32, u32, i64), f32> = HashMap::new();
    let mut span: Option<(i64, i64)> = None;
    let mut used = 0u64;
    for e in log.events() {
        let kind = &log.kinds()[usize::from(e.kind.0)];
        let weight = if cfg.kind_weights.is_empty() {
            1.0
        } else {
            cfg.kind_weights.get(kind).copied().unwrap_or(0.0)
        };
        if e.product.index() >= n_products {
            report.unknown_product_events += 1;
            continue;
        }
        if weight <= 0.0 {
            report.ignored_kind_events += 1;
            continue;
        }
        let key = if by_basket {
            match e.basket {
                Some(b) => i64::from(b.0),
                None => {
                    report.missing_basket_events += 1;
                    continue;
                }
            }
        } else {
            e.timestamp
        };
        used += 1;
        span = Some(match span {
            None => (e.timestamp, e.timestamp),
            Some((a, b)) => (a.min(e.timestamp), b.max(e.timestamp)),
        });
        let w = distinct.entry((e.user.0, e.product.0, key)).or_insert(0.0);
        *w = w.max(weight);
    }
    report.time_span = span;
    report.events_used = distinct.len() as u64;
    report.duplicate_events = used - distinct.len() as u64;

    // Each user's events, sorted by (key, product).
    let mut users: BTreeMap<u32, Vec<(i64, u32, f32)>> = BTreeMap::new();
    for (&(user, product, key), &w) in &distinct {
        users.entry(user).or_default().push((key, product, w));
    }
    let mut global: HashMap<(u32, u32), f64> = HashMap::new();
    let mut units = vec![0f64; n_products];
    let cap = cfg.neighbour_cap.map_or(usize::MAX, |c| c as usize);
    for events in users.values_mut() {
        events.sort_by_key(|e| (e.0, e.1));
        report.users += 1;
        report.single_event_users += u64::from(events.len() == 1);
        let mut best: HashMap<u32, f32> = HashMap::new();
        for &(_, p, w) in events.iter() {
            let b = best.entry(p).or_insert(0.0);
            *b = b.max(w);
        }
        for (p, w) in best {
            units[p as usize] += f64::from(w);
        }
        let m = events.len();
        for i in 0..m {
            let left = (0..i)
                .filter(|&j| events[i].0 - events[j].0 <= window)
                .count();
            let right = (i + 1..m)
                .filter(|&j| events[j].0 - events[i].0 <= window)
                .count();
            report.capped_events += u64::from(left > cap || right > cap);
        }
        let mut this_user: HashMap<(u32, u32), f32> = HashMap::new();
        let mut record = |a: u32, b: u32, w: f32, report: &mut CoocReport| {
            if per_user {
                let e = this_user.entry((a, b)).or_insert(0.0);
                *e = e.max(w);
            } else {
                *global.entry((a, b)).or_insert(0.0) += f64::from(w);
                report.pair_incidences += 1;
            }
        };
        for i in 0..m {
            for j in i + 1..m {
                let ((ti, pi, wi), (tj, pj, wj)) = (events[i], events[j]);
                if j - i > cap || tj - ti > window {
                    break;
                }
                let tie = ti == tj;
                report.pair_visits += if symmetric || tie { 2 } else { 1 };
                if pi == pj {
                    continue;
                }
                let w = wi * wj;
                record(pi, pj, w, &mut report);
                if symmetric || tie {
                    record(pj, pi, w, &mut report);
                }
            }
        }
        if per_user {
            report.pair_incidences += this_user.len() as u64;
            for (pair, w) in this_user {
                *global.entry(pair).or_insert(0.0) += f64::from(w);
            }
        }
    }
    report.distinct_pairs = global.len() as u64;

    // Rows, marginals and pruning.
    let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n_products];
    for (&(a, b), &c) in &global {
        rows[a as usize].push((b, c));
    }
    let mut seed_max = vec![0f64; n_products];
    let mut row_sum = vec![0f64; n_products];
    let mut col_sum = vec![0f64; n_products];
    let mut csr = Csr {
        offsets: vec![0],
        recs: Vec::new(),
        counts: Vec::new(),
    };
    let min_count = f64::from(cfg.min_count);
    for (seed, row) in rows.iter_mut().enumerate() {
        row.sort_by_key(|x| x.0);
        for &(q, c) in row.iter() {
            seed_max[seed] = seed_max[seed].max(c);
            row_sum[seed] += c;
            col_sum[q as usize] += c;
        }
        let before = row.len();
        row.retain(|x| x.1 >= min_count);
        report.pruned_min_count += (before - row.len()) as u64;
        if let Some(k) = cfg.top_k.map(|k| k as usize)
            && row.len() > k
        {
            row.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            report.pruned_top_k += (row.len() - k) as u64;
            row.truncate(k);
            row.sort_by_key(|x| x.0);
        }
        for &(q, c) in row.iter() {
            csr.recs.push(q);
            csr.counts.push(c as f32);
        }
        csr.offsets.push(csr.recs.len() as u64);
        report.seeds += u64::from(!row.is_empty());
    }
    report.kept_pairs = csr.recs.len() as u64;
    let marginals = if per_user {
        Marginals {
            seed_max,
            seed_total: units.clone(),
            rec_total: units,
            total: report.users as f64,
        }
    } else {
        let total = row_sum.iter().sum();
        Marginals {
            seed_max,
            rec_total: if symmetric { row_sum.clone() } else { col_sum },
            seed_total: row_sum,
            total,
        }
    };
    report.count_secs = start.elapsed().as_secs_f64();
    Ok((
        PairCounts {
            csr,
            marginals,
            pairing,
            config: cfg.clone(),
        },
        report,
    ))
}
