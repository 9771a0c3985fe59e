//! The serving artifact: one file of named, checksummed sections, written atomically.
//!
//! An artifact holds everything needed to serve: the model's config, weights, vocabularies and
//! schema (opaque byte sections to this crate, filled by the model crates) and the index's
//! product ids and rec embeddings ([`EmbeddingStore::save`](crate::EmbeddingStore::save)).
//!
//! # Format (version 1)
//!
//! All integers are little-endian. Offsets are from the start of the file.
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `89 44 52 41 0D 0A 1A 0A` (`\x89DRA\r\n\x1a\n`, PNG-style: catches text-mode and 7-bit transfers) |
//! | 8 | 4 | format version, `u32` (= [`FORMAT_VERSION`]) |
//! | 12 | 4 | section count `N`, `u32` (at most [`MAX_SECTIONS`]) |
//! | 16 | 8 | file length in bytes, `u64`, trailer included |
//! | 24 | 8 | header checksum, `u64`: XXH3-64 of bytes 0..24 followed by the section table |
//! | 32 | 64·N | section table, one 64-byte entry per section in file order (below) |
//! | … | … | section payloads, each at an offset that is a multiple of 64, zero padding between |
//! | len−16 | 8 | file checksum, `u64`: XXH3-64 of bytes `0..len−16` |
//! | len−8 | 8 | end marker `DRA-END\n` |
//!
//! A section-table entry:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 32 | name: 1 to 32 bytes of `[a-z0-9_.-]`, zero-padded |
//! | 32 | 8 | payload offset, `u64`, a multiple of 64 |
//! | 40 | 8 | payload length in bytes, `u64` |
//! | 48 | 8 | payload checksum, `u64`: XXH3-64 of the payload |
//! | 56 | 8 | reserved, zero |
//!
//! Names are unique; payloads lie after the table, before the trailer, in table order and do
//! not overlap. The first 16 bytes and the trailer keep this layout in every future version,
//! so a reader can always tell a newer artifact from a damaged one.
//!
//! **Checksums.** XXH3-64 (the `xxhash-rust` crate, pure Rust; the XXH3 algorithm has been
//! frozen since xxHash 0.8.0, so stored values stay valid) detects any accidental change with
//! probability 1 − 2⁻⁶⁴ and hashes at many GB/s, so checking a 150 MB artifact costs
//! milliseconds. It is not a cryptographic signature: it guards against damage, not against
//! tampering.
//!
//! **Reading** ([`Artifact::read`], [`Artifact::from_bytes`]) never trusts a length before
//! checking it against the actual file size, so a corrupt length field can neither panic nor
//! allocate more than the file. The order of checks:
//!
//! 1. the magic bytes ([`Error::NotAnArtifact`]; a file too short to hold the fixed parts is
//!    [`Error::Truncated`]);
//! 2. the end marker and the file checksum; if they fail, the damage is located: a header
//!    length larger than the file is [`Error::Truncated`], otherwise the header checksum and
//!    each section's checksum name the damaged part ([`Error::ChecksumMismatch`]);
//! 3. the format version ([`Error::UnsupportedVersion`]), the declared length, the header
//!    checksum and the table's structure ([`Error::Malformed`]);
//! 4. every section's checksum.
//!
//! **Writing** ([`ArtifactBuilder::write_atomic`]) goes to a temporary file in the target's
//! directory, which is flushed and `fsync`ed, then renamed over the target (and the directory
//! synced): a reader sees the old file or the new one, never a half-written one.
//!
//! # Sections written by this crate
//!
//! [`EmbeddingStore::save`](crate::EmbeddingStore::save) writes three sections:
//!
//! - `index_meta`: JSON `{"index_format": 1, "dim": D, "rows": R, "metric": "cosine"}`;
//! - `ids`: `R` product ids, each a `u32` byte length and UTF-8 bytes;
//! - `embeddings`: `R × D` `f32` values, row-major: the L2-normalised rec vectors, in id
//!   order (removed rows are not written).
//!
//! [`HnswIndex::save`](crate::HnswIndex::save) adds the approximate index's graph, so that
//! loading needs no rebuild:
//!
//! - `ann_params`: JSON `{"connectivity": M, "expansion_add": …, "expansion_search": …}`;
//! - `ann_graph`: the HNSW graph in `usearch`'s own serialisation (with node keys = rows).
//!
//! The model's sections use the names in [`names`].

use std::borrow::Cow;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::{Xxh3Default, xxh3_64};

use crate::error::{Error, Result};

/// The magic bytes every artifact starts with.
pub const MAGIC: [u8; 8] = [0x89, b'D', b'R', b'A', b'\r', b'\n', 0x1A, b'\n'];
/// The end marker every artifact finishes with.
pub const END_MARKER: [u8; 8] = *b"DRA-END\n";
/// The container format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The most sections an artifact may have.
pub const MAX_SECTIONS: usize = 1024;
/// The longest section name, in bytes.
pub const MAX_NAME_LEN: usize = 32;

const HEADER_LEN: usize = 32;
const ENTRY_LEN: usize = 64;
const TRAILER_LEN: usize = 16;
const ALIGN: usize = 64;
/// The smallest possible artifact: header, no section, trailer.
const MIN_LEN: usize = HEADER_LEN + TRAILER_LEN;

/// Conventional section names.
pub mod names {
    /// The index's metadata (JSON), written by this crate.
    pub const INDEX_META: &str = "index_meta";
    /// The product ids, written by this crate.
    pub const IDS: &str = "ids";
    /// The rec embeddings, written by this crate.
    pub const EMBEDDINGS: &str = "embeddings";
    /// The model's configuration (JSON), written by the model crate.
    pub const MODEL_CONFIG: &str = "model_config";
    /// The model's weights (a Burn record), written by the model crate.
    pub const WEIGHTS: &str = "weights";
    /// The fitted vocabularies (JSON), written by the model crate.
    pub const VOCABULARIES: &str = "vocabularies";
    /// The feature schema (TOML), written by the model crate.
    pub const SCHEMA: &str = "schema";
}

/// Checks a section name: 1 to [`MAX_NAME_LEN`] bytes of `[a-z0-9_.-]`.
pub fn check_section_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("it is longer than 32 bytes")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'))
    {
        Some("only a-z, 0-9, '_', '.' and '-' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidSectionName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// A section's content when building.
#[derive(Debug, Clone)]
enum Payload<'a> {
    Bytes(Cow<'a, [u8]>),
    /// Written as little-endian `f32`s.
    F32(Cow<'a, [f32]>),
}

impl Payload<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::F32(v) => v.len() * 4,
        }
    }

    /// Feeds the payload's bytes, in order, to `sink`.
    fn for_each_chunk(&self, mut sink: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        match self {
            Self::Bytes(b) => sink(b),
            Self::F32(v) => {
                let mut buf = Vec::with_capacity(16 * 1024 * 4);
                for chunk in v.chunks(16 * 1024) {
                    buf.clear();
                    for x in chunk {
                        buf.extend_from_slice(&x.to_le_bytes());
                    }
                    sink(&buf)?;
                }
                Ok(())
            }
        }
    }

    fn checksum(&self) -> u64 {
        match self {
            Self::Bytes(b) => xxh3_64(b),
            Self::F32(_) => {
                let mut h = Xxh3Default::new();
                // Hashing into memory cannot fail.
                let _ = self.for_each_chunk(|c| {
                    h.update(c);
                    Ok(())
                });
                h.digest()
            }
        }
    }
}

/// Builds an artifact from named sections, in the order they are added.
///
/// ```
/// use deeprecs_index::artifact::{Artifact, ArtifactBuilder};
///
/// let bytes = ArtifactBuilder::new()
///     .section("model_config", br#"{"dim": 64}"#.as_slice())?
///     .section_f32("scales", &[1.0, 0.5])?
///     .to_bytes();
/// let artifact = Artifact::from_bytes(bytes, "<memory>")?;
/// assert_eq!(artifact.section("model_config"), Some(br#"{"dim": 64}"#.as_slice()));
/// assert_eq!(artifact.section_names().collect::<Vec<_>>(), ["model_config", "scales"]);
/// # Ok::<(), deeprecs_index::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ArtifactBuilder<'a> {
    sections: Vec<(String, Payload<'a>)>,
}

impl<'a> ArtifactBuilder<'a> {
    /// An artifact with no section yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(mut self, name: &str, payload: Payload<'a>) -> Result<Self> {
        check_section_name(name)?;
        if self.sections.iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidSectionName {
                name: name.to_owned(),
                reason: "a section of that name was already added",
            });
        }
        if self.sections.len() >= MAX_SECTIONS {
            return Err(Error::InvalidSectionName {
                name: name.to_owned(),
                reason: "an artifact holds at most 1024 sections",
            });
        }
        self.sections.push((name.to_owned(), payload));
        Ok(self)
    }

    /// Adds a section of raw bytes (borrowed or owned).
    pub fn section(self, name: &str, bytes: impl Into<Cow<'a, [u8]>>) -> Result<Self> {
        self.add(name, Payload::Bytes(bytes.into()))
    }

    /// Adds several byte sections `(name, bytes)` in order (e.g. a model's config and
    /// weights next to an index).
    pub fn sections(mut self, sections: &[(&str, &'a [u8])]) -> Result<Self> {
        for (name, bytes) in sections {
            self = self.section(name, *bytes)?;
        }
        Ok(self)
    }

    /// Adds a section of `f32` values, stored little-endian (borrowed or owned; converted
    /// while writing, without a byte copy of the whole slice).
    pub fn section_f32(self, name: &str, values: impl Into<Cow<'a, [f32]>>) -> Result<Self> {
        self.add(name, Payload::F32(values.into()))
    }

    /// The section names added so far.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|(n, _)| n.as_str())
    }

    /// The file length and each section's offset.
    fn layout(&self) -> (u64, Vec<u64>) {
        let mut pos = HEADER_LEN + ENTRY_LEN * self.sections.len();
        let mut offsets = Vec::with_capacity(self.sections.len());
        for (_, p) in &self.sections {
            pos = pos.next_multiple_of(ALIGN);
            offsets.push(pos as u64);
            pos += p.len();
        }
        ((pos + TRAILER_LEN) as u64, offsets)
    }

    /// The header and section table bytes.
    fn header_and_table(&self) -> Vec<u8> {
        let (file_len, offsets) = self.layout();
        let mut out = Vec::with_capacity(HEADER_LEN + ENTRY_LEN * self.sections.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        out.extend_from_slice(&file_len.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // header checksum, filled below
        for ((name, payload), offset) in self.sections.iter().zip(&offsets) {
            let mut name_field = [0u8; MAX_NAME_LEN];
            name_field[..name.len()].copy_from_slice(name.as_bytes());
            out.extend_from_slice(&name_field);
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            out.extend_from_slice(&payload.checksum().to_le_bytes());
            out.extend_from_slice(&[0; 8]);
        }
        let checksum = header_checksum(&out[..24], &out[HEADER_LEN..]);
        out[24..32].copy_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Writes the artifact to `w`; returns the number of bytes written.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<u64> {
        let head = self.header_and_table();
        let (file_len, offsets) = self.layout();
        let mut hasher = Xxh3Default::new();
        let mut pos = 0usize;
        let mut put = |w: &mut W, bytes: &[u8], pos: &mut usize| -> io::Result<()> {
            hasher.update(bytes);
            *pos += bytes.len();
            w.write_all(bytes)
        };
        put(w, &head, &mut pos)?;
        for ((_, payload), &offset) in self.sections.iter().zip(&offsets) {
            let pad = offset as usize - pos;
            put(w, &[0u8; ALIGN][..pad], &mut pos)?;
            payload.for_each_chunk(|c| put(w, c, &mut pos))?;
        }
        let checksum = hasher.digest();
        w.write_all(&checksum.to_le_bytes())?;
        w.write_all(&END_MARKER)?;
        Ok(file_len)
    }

    /// The artifact as bytes in memory.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (file_len, _) = self.layout();
        let mut out = Vec::with_capacity(usize::try_from(file_len).unwrap_or(0));
        // Writing to a Vec cannot fail.
        let _ = self.write_to(&mut out);
        out
    }

    /// Writes the artifact to `path` atomically: to a temporary file in the same directory,
    /// flushed and synced to disk, then renamed over `path`. On error the temporary file is
    /// removed and `path` is untouched.
    pub fn write_atomic(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io_err = |p: &Path| {
            let p = p.to_path_buf();
            move |source| Error::Io { path: p, source }
        };
        let file_name = path.file_name().ok_or_else(|| Error::Io {
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tmp, file) = create_temp(&dir, file_name).map_err(io_err(&dir))?;
        let written = (|| -> io::Result<()> {
            let mut w = BufWriter::with_capacity(1 << 20, file);
            self.write_to(&mut w)?;
            let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(&tmp)(e));
        }
        if let Err(e) = fs::rename(&tmp, path) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(path)(e));
        }
        // Make the rename itself durable; not every platform can sync a directory.
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Creates a new, unique temporary file next to the target.
fn create_temp(dir: &Path, file_name: &std::ffi::OsStr) -> io::Result<(PathBuf, fs::File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for _ in 0..100 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".tmp-{}-{nanos}-{n}", std::process::id()));
        let tmp = dir.join(name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a unique temporary file",
    ))
}

fn header_checksum(first24: &[u8], table: &[u8]) -> u64 {
    let mut h = Xxh3Default::new();
    h.update(first24);
    h.update(table);
    h.digest()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// One section of a read artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SectionEntry {
    name: String,
    offset: usize,
    len: usize,
    checksum: u64,
}

/// A verified artifact in memory: every checksum matched and the structure is valid.
#[derive(Debug, Clone)]
pub struct Artifact {
    file: String,
    bytes: Vec<u8>,
    sections: Vec<SectionEntry>,
    checksum: u64,
}

impl Artifact {
    /// Reads and verifies the artifact at `path`.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(bytes, path.display().to_string())
    }

    /// Verifies an artifact held in memory; `file` names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, file: impl Into<String>) -> Result<Self> {
        let file = file.into();
        let len = bytes.len();
        let malformed = |section: &str, detail: String| Error::Malformed {
            file: file.clone(),
            section: section.to_owned(),
            detail,
        };

        // 1. Magic.
        if !bytes.starts_with(&MAGIC) {
            return Err(if len < MAGIC.len() && MAGIC.starts_with(&bytes) {
                Error::Truncated {
                    file,
                    expected: MIN_LEN as u64,
                    actual: len as u64,
                }
            } else {
                Error::NotAnArtifact { file }
            });
        }
        if len < HEADER_LEN {
            return Err(Error::Truncated {
                file,
                expected: MIN_LEN as u64,
                actual: len as u64,
            });
        }
        let version = u32_at(&bytes, 8);
        let count = u32_at(&bytes, 12) as usize;
        let declared_len = u64_at(&bytes, 16);

        // 2. End marker and whole-file checksum.
        let intact = len >= MIN_LEN && bytes[len - 8..] == END_MARKER && {
            let stored = u64_at(&bytes, len - TRAILER_LEN);
            xxh3_64(&bytes[..len - TRAILER_LEN]) == stored
        };
        if !intact {
            return Err(Self::locate_damage(
                &bytes,
                &file,
                version,
                count,
                declared_len,
            ));
        }
        let checksum = u64_at(&bytes, len - TRAILER_LEN);

        // 3. Version, length, header checksum, table structure.
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                file,
                what: "artifact format".to_owned(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if declared_len != len as u64 {
            return Err(malformed(
                "header",
                format!("declares {declared_len} bytes, but the file has {len}"),
            ));
        }
        let table_end = table_end(count, len).map_err(|d| malformed("section table", d))?;
        let stored = u64_at(&bytes, 24);
        let computed = header_checksum(&bytes[..24], &bytes[HEADER_LEN..table_end]);
        if stored != computed {
            return Err(Error::ChecksumMismatch {
                file,
                section: "header".to_owned(),
                stored,
                computed,
            });
        }
        let sections =
            parse_table(&bytes, count, table_end, len).map_err(|(s, d)| malformed(&s, d))?;

        // 4. Section checksums.
        for s in &sections {
            let computed = xxh3_64(&bytes[s.offset..s.offset + s.len]);
            if computed != s.checksum {
                return Err(Error::ChecksumMismatch {
                    file,
                    section: s.name.clone(),
                    stored: s.checksum,
                    computed,
                });
            }
        }
        Ok(Self {
            file,
            bytes,
            sections,
            checksum,
        })
    }

    /// For a file whose trailer or whole-file checksum failed: the most precise error.
    fn locate_damage(
        bytes: &[u8],
        file: &str,
        version: u32,
        count: usize,
        declared_len: u64,
    ) -> Error {
        let len = bytes.len();
        let file = file.to_owned();
        if declared_len > len as u64 || len < MIN_LEN {
            return Error::Truncated {
                file,
                expected: declared_len.max(MIN_LEN as u64),
                actual: len as u64,
            };
        }
        if declared_len < len as u64 {
            return Error::Malformed {
                file,
                section: "trailer".to_owned(),
                detail: format!(
                    "{} bytes follow the artifact's declared end at byte {declared_len}",
                    len as u64 - declared_len
                ),
            };
        }
        // Same length as declared: something inside was changed. Name the part if we can.
        if version == FORMAT_VERSION
            && let Ok(table_end) = table_end(count, len)
        {
            let stored = u64_at(bytes, 24);
            let computed = header_checksum(&bytes[..24], &bytes[HEADER_LEN..table_end]);
            if stored != computed {
                return Error::ChecksumMismatch {
                    file,
                    section: "header".to_owned(),
                    stored,
                    computed,
                };
            }
            if let Ok(sections) = parse_table(bytes, count, table_end, len) {
                for s in sections {
                    let computed = xxh3_64(&bytes[s.offset..s.offset + s.len]);
                    if computed != s.checksum {
                        return Error::ChecksumMismatch {
                            file,
                            section: s.name,
                            stored: s.checksum,
                            computed,
                        };
                    }
                }
            }
        }
        if bytes[len - 8..] != END_MARKER {
            return Error::Malformed {
                file,
                section: "trailer".to_owned(),
                detail: "the end marker is missing or damaged".to_owned(),
            };
        }
        Error::ChecksumMismatch {
            file,
            section: "file".to_owned(),
            stored: u64_at(bytes, len - TRAILER_LEN),
            computed: xxh3_64(&bytes[..len - TRAILER_LEN]),
        }
    }

    /// The name the artifact was read under (its path, or what [`from_bytes`](Self::from_bytes)
    /// was given).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The container format version (always [`FORMAT_VERSION`] for a verified artifact).
    pub fn version(&self) -> u32 {
        FORMAT_VERSION
    }

    /// The whole-file checksum: a content id (equal artifacts have equal checksums).
    pub fn checksum(&self) -> u64 {
        self.checksum
    }

    /// The artifact's bytes as read (and verified).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The section names, in file order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|s| s.name.as_str())
    }

    /// A section's payload, if present.
    pub fn section(&self, name: &str) -> Option<&[u8]> {
        self.sections
            .iter()
            .find(|s| s.name == name)
            .map(|s| &self.bytes[s.offset..s.offset + s.len])
    }

    /// A section's payload, or [`Error::MissingSection`].
    pub fn require(&self, name: &str) -> Result<&[u8]> {
        self.section(name).ok_or_else(|| Error::MissingSection {
            file: self.file.clone(),
            section: name.to_owned(),
        })
    }

    /// A section of little-endian `f32` values; errors if absent or its length is not a
    /// multiple of 4.
    pub fn section_f32(&self, name: &str) -> Result<Vec<f32>> {
        let bytes = self.require(name)?;
        if bytes.len() % 4 != 0 {
            return Err(self.mismatch(
                name,
                format!("{} bytes is not a whole number of f32 values", bytes.len()),
            ));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// An [`Error::Mismatch`] naming this artifact's file and `section` (for readers of model
    /// sections that find content that does not fit, e.g. a dimension other than expected).
    pub fn mismatch(&self, section: &str, detail: impl Into<String>) -> Error {
        Error::Mismatch {
            file: self.file.clone(),
            section: section.to_owned(),
            detail: detail.into(),
        }
    }
}

/// The end of the section table, checked against the file length.
fn table_end(count: usize, len: usize) -> std::result::Result<usize, String> {
    if count > MAX_SECTIONS {
        return Err(format!("{count} sections (at most {MAX_SECTIONS})"));
    }
    let end = HEADER_LEN + count * ENTRY_LEN;
    if end > len.saturating_sub(TRAILER_LEN) {
        return Err(format!(
            "a table of {count} sections needs {end} bytes before the trailer; the file has {len}"
        ));
    }
    Ok(end)
}

/// Parses and checks the section table (bounds, order, names); errors are (part, detail).
fn parse_table(
    bytes: &[u8],
    count: usize,
    table_end: usize,
    len: usize,
) -> std::result::Result<Vec<SectionEntry>, (String, String)> {
    let payload_end = len - TRAILER_LEN;
    let mut sections: Vec<SectionEntry> = Vec::with_capacity(count);
    let mut prev_end = table_end;
    for i in 0..count {
        let e = HEADER_LEN + i * ENTRY_LEN;
        let raw_name = &bytes[e..e + MAX_NAME_LEN];
        let name_len = raw_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(MAX_NAME_LEN);
        let part = format!("section table entry {i}");
        if raw_name[name_len..].iter().any(|&b| b != 0) {
            return Err((part, "the name's padding is not zero".to_owned()));
        }
        let name = std::str::from_utf8(&raw_name[..name_len])
            .ok()
            .filter(|n| check_section_name(n).is_ok())
            .ok_or_else(|| (part.clone(), "invalid section name".to_owned()))?
            .to_owned();
        let offset = u64_at(bytes, e + 32);
        let length = u64_at(bytes, e + 40);
        let checksum = u64_at(bytes, e + 48);
        if u64_at(bytes, e + 56) != 0 {
            return Err((name, "reserved field is not zero".to_owned()));
        }
        if !offset.is_multiple_of(ALIGN as u64) {
            return Err((
                name,
                format!("offset {offset} is not a multiple of {ALIGN}"),
            ));
        }
        let end = offset
            .checked_add(length)
            .filter(|&end| end <= payload_end as u64);
        let Some(end) = end else {
            return Err((
                name,
                format!("payload at {offset} of {length} bytes runs past byte {payload_end}"),
            ));
        };
        if offset < prev_end as u64 {
            return Err((
                name,
                format!("payload at {offset} overlaps the table or the previous section"),
            ));
        }
        if sections.iter().any(|s| s.name == name) {
            return Err((name, "the name is used twice".to_owned()));
        }
        // Both fit in usize: they are at most `len`.
        prev_end = end as usize;
        sections.push(SectionEntry {
            name,
            offset: offset as usize,
            len: length as usize,
            checksum,
        });
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        ArtifactBuilder::new()
            .section("a", b"hello".as_slice())
            .unwrap()
            .section_f32("b", vec![1.0f32, -2.5])
            .unwrap()
            .section("empty", Vec::new())
            .unwrap()
            .to_bytes()
    }

    #[test]
    fn layout_is_as_specified() {
        let bytes = sample();
        assert_eq!(&bytes[..8], &MAGIC);
        assert_eq!(u32_at(&bytes, 8), FORMAT_VERSION);
        assert_eq!(u32_at(&bytes, 12), 3);
        assert_eq!(u64_at(&bytes, 16), bytes.len() as u64);
        assert_eq!(&bytes[bytes.len() - 8..], &END_MARKER);
        // First payload right after the 3-entry table, aligned to 64.
        assert_eq!(u64_at(&bytes, 32 + 32), 256);
        assert_eq!(&bytes[256..261], b"hello");
        assert_eq!(&bytes[320..324], &1.0f32.to_le_bytes());
        assert_eq!(&bytes[324..328], &(-2.5f32).to_le_bytes());
    }

    #[test]
    fn rejects_bad_names() {
        for bad in ["", "Upper", "with space", "x".repeat(33).as_str(), "é"] {
            assert!(
                matches!(
                    ArtifactBuilder::new().section(bad, Vec::new()),
                    Err(Error::InvalidSectionName { .. })
                ),
                "{bad:?}"
            );
        }
        let dup = ArtifactBuilder::new()
            .section("a", Vec::new())
            .unwrap()
            .section("a", Vec::new());
        assert!(matches!(dup, Err(Error::InvalidSectionName { .. })));
    }

    #[test]
    fn reads_back_sections() {
        let a = Artifact::from_bytes(sample(), "x").unwrap();
        assert_eq!(a.section("a"), Some(b"hello".as_slice()));
        assert_eq!(a.section_f32("b").unwrap(), vec![1.0, -2.5]);
        assert_eq!(a.section("empty"), Some(&[][..]));
        assert!(matches!(
            a.require("nope"),
            Err(Error::MissingSection { .. })
        ));
        assert!(matches!(a.section_f32("a"), Err(Error::Mismatch { .. })));
    }
}
