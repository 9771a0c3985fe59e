//! Pictures as PNG files (drawn with `plotters`, text in an embedded subset of DejaVu Sans, so
//! no system fonts are needed): training and validation loss curves, the long-tail curve of
//! events per product, and a 2-D map of the product vector space.
//!
//! ```
//! use deeprecs_train::plot::{long_tail, pca_2d};
//!
//! let dir = tempfile::tempdir()?;
//! let events = [120, 40, 9, 3, 1, 1, 0];
//! long_tail(&events, "Events per product", &dir.path().join("long_tail.png"))?;
//! assert!(std::fs::read(dir.path().join("long_tail.png"))?.starts_with(b"\x89PNG"));
//!
//! // Three 3-d points on a line project onto the first component.
//! let points = pca_2d(&[1.0, 1.0, 0.0, 2.0, 2.0, 0.0, 3.0, 3.0, 0.0], 3);
//! assert_eq!(points.len(), 3);
//! assert!((points[2][0] - points[0][0]).abs() > 2.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};
use crate::trainer::EpochRecord;

/// Width and height of every picture, in pixels.
pub const SIZE: (u32, u32) = (960, 640);

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");
static REGISTER: Once = Once::new();

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in; a failure here would be a broken build, and plotters
        // then falls back to drawing no text rather than failing.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Plot {
        file: path.display().to_string(),
        message: e.to_string(),
    }
}

fn canvas(path: &Path) -> Result<DrawingArea<BitMapBackend<'_>, Shift>> {
    register_font();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            file: dir.display().to_string(),
            source,
        })?;
    }
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    Ok(root)
}

/// Training (and, when present, validation) loss per epoch.
pub fn loss_curves(history: &[EpochRecord], path: &Path) -> Result<()> {
    if history.is_empty() {
        return Err(plot_error(path, "no epochs to plot"));
    }
    let root = canvas(path)?;
    let err = |e: &dyn std::fmt::Display| plot_error(path, e);
    let values = history
        .iter()
        .flat_map(|r| std::iter::once(r.train_loss).chain(r.valid_loss))
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = ((hi - lo) * 0.1).max(1e-3);
    let last = history.len() as f32;
    let mut chart = ChartBuilder::on(&root)
        .caption("Training and validation loss", ("sans-serif", 28))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.5f32..last + 0.5, (lo - pad).max(0.0)..hi + pad)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;
    let train: Vec<(f32, f32)> = history
        .iter()
        .map(|r| (r.epoch as f32, r.train_loss))
        .collect();
    chart
        .draw_series(LineSeries::new(train.clone(), BLUE.stroke_width(3)))
        .map_err(|e| err(&e))?
        .label("training")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(3)));
    chart
        .draw_series(train.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))
        .map_err(|e| err(&e))?;
    let valid: Vec<(f32, f32)> = history
        .iter()
        .filter_map(|r| r.valid_loss.map(|v| (r.epoch as f32, v)))
        .collect();
    if !valid.is_empty() {
        chart
            .draw_series(LineSeries::new(valid.clone(), RED.stroke_width(3)))
            .map_err(|e| err(&e))?
            .label("validation")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3)));
        chart
            .draw_series(valid.iter().map(|&p| Circle::new(p, 4, RED.filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 18))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// The long-tail curve: products sorted by their number of events, most first, on a log
/// scale (products with no event are left out and counted in the caption).
pub fn long_tail(events_per_product: &[u32], title: &str, path: &Path) -> Result<()> {
    let mut counts: Vec<u32> = events_per_product
        .iter()
        .copied()
        .filter(|&c| c > 0)
        .collect();
    if counts.is_empty() {
        return Err(plot_error(path, "no product has an event"));
    }
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let zero = events_per_product.len() - counts.len();
    let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    // The share of products that make half of all events.
    let mut acc = 0u64;
    let head = counts
        .iter()
        .take_while(|&&c| {
            acc += u64::from(c);
            acc * 2 < total
        })
        .count()
        + 1;
    let root = canvas(path)?;
    let err = |e: &dyn std::fmt::Display| plot_error(path, e);
    let max = f64::from(counts[0]);
    let caption = format!(
        "{title}: {} products, {:.1} % of them make half the events{}",
        counts.len(),
        100.0 * head as f64 / counts.len() as f64,
        if zero > 0 {
            format!(" ({zero} without events)")
        } else {
            String::new()
        }
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..counts.len() as f64, (0.8f64..max * 1.2).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("products, by number of events")
        .y_desc("events (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(AreaSeries::new(
            counts
                .iter()
                .enumerate()
                .map(|(i, &c)| (i as f64, f64::from(c))),
            0.8,
            BLUE.mix(0.3),
        ))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(
            counts
                .iter()
                .enumerate()
                .map(|(i, &c)| (i as f64, f64::from(c))),
            BLUE.stroke_width(2),
        ))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}

/// The first two principal components of `vectors` (row-major, `dim` columns): each row's
/// coordinates, by power iteration on the covariance (deterministic).
pub fn pca_2d(vectors: &[f32], dim: usize) -> Vec<[f32; 2]> {
    if dim == 0 || vectors.len() < dim {
        return Vec::new();
    }
    let n = vectors.len() / dim;
    let mut mean = vec![0f64; dim];
    for row in vectors.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut cov = vec![0f64; dim * dim];
    for row in vectors.chunks_exact(dim) {
        let c: Vec<f64> = row
            .iter()
            .zip(&mean)
            .map(|(&v, m)| f64::from(v) - m)
            .collect();
        for i in 0..dim {
            for j in 0..dim {
                cov[i * dim + j] += c[i] * c[j];
            }
        }
    }
    let mut components: Vec<Vec<f64>> = Vec::new();
    for k in 0..2.min(dim) {
        let mut v: Vec<f64> = (0..dim)
            .map(|i| 1.0 + (i * (k + 1)) as f64 * 0.01)
            .collect();
        for _ in 0..200 {
            let mut w = vec![0f64; dim];
            for i in 0..dim {
                w[i] = (0..dim).map(|j| cov[i * dim + j] * v[j]).sum();
            }
            for c in &components {
                let d: f64 = w.iter().zip(c).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(c).for_each(|(a, b)| *a -= d * b);
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm < 1e-12 {
                break;
            }
            v = w.into_iter().map(|x| x / norm).collect();
        }
        components.push(v);
    }
    vectors
        .chunks_exact(dim)
        .map(|row| {
            let mut out = [0f32; 2];
            for (k, c) in components.iter().enumerate() {
                out[k] = row
                    .iter()
                    .zip(&mean)
                    .zip(c)
                    .map(|((&v, m), w)| (f64::from(v) - m) * w)
                    .sum::<f64>() as f32;
            }
            out
        })
        .collect()
}

/// A scatter plot of 2-D points coloured by `groups` (the 10 most frequent groups get a
/// colour, the rest are grey "other"), with `marked` points (e.g. cold-start products) drawn
/// as black-edged crosses on top.
pub fn embedding_map(
    points: &[[f32; 2]],
    groups: &[String],
    marked: &[bool],
    title: &str,
    path: &Path,
) -> Result<()> {
    if points.is_empty() || groups.len() != points.len() || marked.len() != points.len() {
        return Err(plot_error(
            path,
            format!(
                "{} points, {} groups and {} marks: need the same positive number",
                points.len(),
                groups.len(),
                marked.len()
            ),
        ));
    }
    let mut freq: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for g in groups {
        *freq.entry(g.as_str()).or_default() += 1;
    }
    let mut top: Vec<(&str, usize)> = freq.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    top.truncate(10);
    let colour_of = |g: &str| {
        top.iter()
            .position(|(t, _)| *t == g)
            .map_or(RGBColor(190, 190, 190), |i| {
                let (r, gg, b) = Palette99::pick(i).rgb();
                RGBColor(r, gg, b)
            })
    };
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in points {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    let px = ((x1 - x0) * 0.05).max(1e-3);
    let py = ((y1 - y0) * 0.05).max(1e-3);
    let root = canvas(path)?;
    let err = |e: &dyn std::fmt::Display| plot_error(path, e);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("first principal component")
        .y_desc("second principal component")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(
            points
                .iter()
                .zip(groups)
                .map(|(p, g)| Circle::new((p[0], p[1]), 3, colour_of(g).mix(0.7).filled())),
        )
        .map_err(|e| err(&e))?;
    for (name, _) in &top {
        let c = colour_of(name);
        chart
            .draw_series(std::iter::empty::<Circle<(f32, f32), i32>>())
            .map_err(|e| err(&e))?
            .label(name.to_string())
            .legend(move |(x, y)| Circle::new((x + 8, y), 5, c.filled()));
    }
    if marked.iter().any(|&m| m) {
        chart
            .draw_series(
                points
                    .iter()
                    .zip(marked)
                    .filter(|(_, m)| **m)
                    .map(|(p, _)| Cross::new((p[0], p[1]), 5, BLACK.stroke_width(2))),
            )
            .map_err(|e| err(&e))?
            .label("cold start")
            .legend(|(x, y)| Cross::new((x + 8, y), 5, BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))
}
