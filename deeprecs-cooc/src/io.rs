//! The binary file format of [`PairScores`] (format version 1).
//!
//! All numbers are little-endian; sections follow each other without padding:
//!
//! | section | type | content |
//! | --- | --- | --- |
//! | magic | 8 bytes | `DRPAIRS\0` |
//! | version | `u32` | [`FORMAT_VERSION`] |
//! | header length | `u32` | bytes of the header |
//! | header | UTF-8 JSON | `n_products`, `n_pairs`, `scorer`, `pairing`, `config`, `product_ids` (the catalog's external ids by index) |
//! | offsets | `u64 × (n_products + 1)` | row starts |
//! | recs | `u32 × n_pairs` | partner indices |
//! | counts | `f32 × n_pairs` | co-occurrence counts |
//! | scores | `f32 × n_pairs` | scores in `[0, 1]` |
//! | seed_max, seed_total, rec_total | `f64 × n_products` each | [`Marginals`] |
//! | total | `f64` | grand total |
//! | end mark | 8 bytes | `DRPEND\0\0` |
//!
//! Reading checks every invariant of the table (offsets, sorted partners, scores in
//! `[0, 1]`, …) and, with [`PairScores::read`], that the product ids are those of the given
//! catalog, so a table is never silently applied to another catalog.
//!
//! ```
//! use deeprecs_core::{EventLogBuilder, ProductIdx};
//! use deeprecs_cooc::{CoocConfig, PairScores, Scorer};
//!
//! let mut b = EventLogBuilder::new();
//! b.push("u1", ProductIdx(0), 0, "purchase", 1.0, None)?;
//! b.push("u1", ProductIdx(1), 60, "purchase", 1.0, None)?;
//! let (counts, _) = CoocConfig::default().check()?.count(&b.build(), 2)?;
//! let scores = counts.into_scores(&Scorer::default())?;
//! let ids = ["A".to_owned(), "B".to_owned()];
//! let mut bytes = Vec::new();
//! scores.write_to(&mut bytes, &ids, "<memory>")?;
//! let (back, back_ids) = PairScores::read_from(bytes.as_slice(), "<memory>")?;
//! assert_eq!((back, back_ids), (scores, ids.to_vec()));
//! # Ok::<(), deeprecs_cooc::Error>(())
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use deeprecs_core::Catalog;
use serde::{Deserialize, Serialize};

use crate::config::{CoocConfig, Pairing};
use crate::counts::{Csr, Marginals};
use crate::error::{Error, Result, check_catalog_size};
use crate::table::PairScores;

/// The first 8 bytes of a pair-scores file.
pub const MAGIC: [u8; 8] = *b"DRPAIRS\0";
/// The last 8 bytes of a pair-scores file.
pub const END_MARK: [u8; 8] = *b"DRPEND\0\0";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Headers larger than this are rejected as corrupt before allocating.
const MAX_HEADER: u32 = 1 << 30;
/// Elements read or written per block.
const BLOCK: usize = 1 << 16;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    n_products: u64,
    n_pairs: u64,
    scorer: String,
    pairing: Pairing,
    config: CoocConfig,
    product_ids: Vec<String>,
}

/// A little-endian number type of the format.
trait Le: Copy + Default {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! le {
    ($($t:ty),*) => {$(
        impl Le for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(bytes);
                <$t>::from_le_bytes(a)
            }
        }
    )*};
}
le!(u32, u64, f32, f64);

fn write_all(w: &mut impl Write, bytes: &[u8], name: &str) -> Result<()> {
    w.write_all(bytes).map_err(|source| Error::Write {
        path: name.to_owned(),
        source,
    })
}

fn write_section<T: Le>(w: &mut impl Write, values: &[T], name: &str) -> Result<()> {
    let mut buf = Vec::with_capacity(BLOCK.min(values.len()) * T::SIZE);
    for block in values.chunks(BLOCK) {
        buf.clear();
        for &v in block {
            v.put(&mut buf);
        }
        write_all(w, &buf, name)?;
    }
    Ok(())
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], name: &str, section: &str) -> Result<()> {
    r.read_exact(buf).map_err(|source| {
        if source.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::Format {
                path: name.to_owned(),
                message: format!("truncated in section `{section}`"),
            }
        } else {
            Error::Read {
                path: name.to_owned(),
                source,
            }
        }
    })
}

fn read_section<T: Le>(r: &mut impl Read, len: u64, name: &str, section: &str) -> Result<Vec<T>> {
    let len = usize::try_from(len).map_err(|_| Error::Format {
        path: name.to_owned(),
        message: format!("section `{section}` has {len} entries, too many for this machine"),
    })?;
    // Grow block by block, so a corrupt length fails at the end of the file instead of
    // allocating up front.
    let mut out = Vec::with_capacity(len.min(BLOCK));
    let mut buf = vec![0u8; BLOCK.min(len.max(1)) * T::SIZE];
    let mut left = len;
    while left > 0 {
        let n = left.min(BLOCK);
        let bytes = &mut buf[..n * T::SIZE];
        read_exact(r, bytes, name, section)?;
        out.extend(bytes.chunks_exact(T::SIZE).map(T::get));
        left -= n;
    }
    Ok(out)
}

impl PairScores {
    /// Writes the table to `path` with the product ids of `catalog`, the catalog it was
    /// counted for.
    pub fn write(&self, path: impl AsRef<Path>, catalog: &Catalog) -> Result<()> {
        let path = path.as_ref();
        let name = path.display().to_string();
        check_catalog_size(&name, "table", self.n_products(), catalog.len())?;
        let file = File::create(path).map_err(|source| Error::Write {
            path: name.clone(),
            source,
        })?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        self.write_to(&mut w, catalog.ids(), &name)?;
        w.flush()
            .map_err(|source| Error::Write { path: name, source })
    }

    /// Writes the table in the binary format to any writer; `ids` are the external product
    /// ids by index and `name` names the destination in errors.
    pub fn write_to(&self, mut w: impl Write, ids: &[String], name: &str) -> Result<()> {
        if ids.len() != self.n_products() {
            return Err(Error::CatalogMismatch {
                path: name.to_owned(),
                message: format!(
                    "{} product ids given for a table of {} products",
                    ids.len(),
                    self.n_products()
                ),
            });
        }
        let header = Header {
            n_products: self.n_products() as u64,
            n_pairs: self.len() as u64,
            scorer: self.scorer.clone(),
            pairing: self.pairing,
            config: self.config.clone(),
            product_ids: ids.to_vec(),
        };
        let json = serde_json::to_vec(&header).map_err(|e| Error::Write {
            path: name.to_owned(),
            source: std::io::Error::other(e),
        })?;
        let header_len = u32::try_from(json.len())
            .ok()
            .filter(|&l| l <= MAX_HEADER)
            .ok_or_else(|| Error::Write {
                path: name.to_owned(),
                source: std::io::Error::other("the header (product ids) exceeds 1 GiB"),
            })?;
        let w = &mut w;
        write_all(w, &MAGIC, name)?;
        write_all(w, &FORMAT_VERSION.to_le_bytes(), name)?;
        write_all(w, &header_len.to_le_bytes(), name)?;
        write_all(w, &json, name)?;
        write_section(w, &self.csr.offsets, name)?;
        write_section(w, &self.csr.recs, name)?;
        write_section(w, &self.csr.counts, name)?;
        write_section(w, &self.scores, name)?;
        write_section(w, &self.marginals.seed_max, name)?;
        write_section(w, &self.marginals.seed_total, name)?;
        write_section(w, &self.marginals.rec_total, name)?;
        write_all(w, &self.marginals.total.to_le_bytes(), name)?;
        write_all(w, &END_MARK, name)
    }

    /// Reads a table written by [`write`](Self::write) and checks that it was written for
    /// `catalog` (same product ids at the same indices).
    pub fn read(path: impl AsRef<Path>, catalog: &Catalog) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| Error::Read {
            path: name.clone(),
            source,
        })?;
        let (table, ids) = Self::read_from(BufReader::with_capacity(1 << 20, file), &name)?;
        check_catalog_size(&name, "file", ids.len(), catalog.len())?;
        if let Some((i, (a, b))) = ids
            .iter()
            .zip(catalog.ids())
            .enumerate()
            .find(|(_, (a, b))| a != b)
        {
            return Err(Error::CatalogMismatch {
                path: name,
                message: format!("product #{i} is {a:?} in the file but {b:?} in the catalog"),
            });
        }
        Ok(table)
    }

    /// Reads a table in the binary format from any reader; returns it with the product ids
    /// stored in the file. `name` names the source in errors.
    pub fn read_from(mut r: impl Read, name: &str) -> Result<(Self, Vec<String>)> {
        let r = &mut r;
        let bad = |message: String| Error::Format {
            path: name.to_owned(),
            message,
        };
        let mut magic = [0u8; 8];
        read_exact(r, &mut magic, name, "magic")?;
        if magic != MAGIC {
            return Err(bad(
                "not a DeepRecs pair-scores file (it does not start with `DRPAIRS`)".into(),
            ));
        }
        let mut word = [0u8; 4];
        read_exact(r, &mut word, name, "version")?;
        let version = u32::from_le_bytes(word);
        if version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {version} is not supported (this build reads version {FORMAT_VERSION})"
            )));
        }
        read_exact(r, &mut word, name, "header length")?;
        let header_len = u32::from_le_bytes(word);
        if header_len > MAX_HEADER {
            return Err(bad(format!("header length {header_len} is implausible")));
        }
        let mut json = vec![0u8; header_len as usize];
        read_exact(r, &mut json, name, "header")?;
        let header: Header =
            serde_json::from_slice(&json).map_err(|e| bad(format!("invalid header: {e}")))?;
        if header.product_ids.len() as u64 != header.n_products {
            return Err(bad(format!(
                "the header lists {} product ids for {} products",
                header.product_ids.len(),
                header.n_products
            )));
        }
        let (n, m) = (header.n_products, header.n_pairs);
        let offsets = read_section::<u64>(r, n + 1, name, "offsets")?;
        let recs = read_section::<u32>(r, m, name, "recs")?;
        let counts = read_section::<f32>(r, m, name, "counts")?;
        let scores = read_section::<f32>(r, m, name, "scores")?;
        let seed_max = read_section::<f64>(r, n, name, "seed_max")?;
        let seed_total = read_section::<f64>(r, n, name, "seed_total")?;
        let rec_total = read_section::<f64>(r, n, name, "rec_total")?;
        let total = read_section::<f64>(r, 1, name, "total")?;
        let mut end = [0u8; 8];
        read_exact(r, &mut end, name, "end mark")?;
        if end != END_MARK {
            return Err(bad(
                "the end mark is missing: the sections do not match the header".into(),
            ));
        }
        let mut extra = [0u8; 1];
        match r.read(&mut extra) {
            Ok(0) => {}
            Ok(_) => return Err(bad("unexpected bytes after the end mark".into())),
            Err(source) => {
                return Err(Error::Read {
                    path: name.to_owned(),
                    source,
                });
            }
        }
        let table = PairScores::from_parts(
            Csr {
                offsets,
                recs,
                counts,
            },
            scores,
            Marginals {
                seed_max,
                seed_total,
                rec_total,
                total: total.first().copied().unwrap_or(0.0),
            },
            header.scorer,
            header.pairing,
            header.config,
        );
        table
            .validate()
            .map_err(|m| bad(format!("corrupt table: {m}")))?;
        Ok((table, header.product_ids))
    }
}
