//! Reading tabular input (CSV or JSON Lines, optionally gzip-compressed) row by row, keeping
//! only the columns a reader needs, with file and line numbers for every problem.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result, clip};
use crate::schema::{CheckedSkipRule, SkipCondition};

/// The layout of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableFormat {
    /// Comma- (or other delimiter-) separated values with a header line.
    Csv,
    /// One JSON object per line; keys are column names.
    JsonLines,
}

impl TableFormat {
    /// Guesses the format from the file name: `.jsonl`, `.ndjson` and `.json` (optionally
    /// followed by `.gz`) are JSON Lines; everything else is CSV.
    pub fn from_path(path: &Path) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
            Self::JsonLines
        } else {
            Self::Csv
        }
    }
}

/// Opens a file for reading, transparently decompressing gzip (recognised by its magic bytes,
/// whatever the file is called).
pub fn open_maybe_gzip(path: &Path) -> Result<Box<dyn BufRead + Send>> {
    let at = || Location::file(path.display().to_string());
    let file = File::open(path).map_err(|source| Error::Io { at: at(), source })?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader
        .fill_buf()
        .map_err(|source| Error::Io { at: at(), source })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// Why a row was skipped by policy. Reported, with counts, in a [`ReadReport`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum SkipReason {
    /// A `skip` rule of the schema matched (its label).
    Rule(String),
    /// A required field was missing or empty (the field).
    MissingRequired(String),
    /// The row's column count differs from the header's.
    WrongColumnCount,
    /// A field was not valid UTF-8 (the field, when known).
    InvalidUtf8(String),
    /// A value did not parse (the field).
    InvalidValue(String),
    /// A JSON Lines row was not a JSON object or had a value of the wrong type.
    InvalidJson,
    /// An event's product is not in the catalog.
    UnknownProduct,
    /// A catalog row repeated an id and was merged by the duplicate policy.
    DuplicateIdMerged,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rule(label) => write!(f, "{label}"),
            Self::MissingRequired(field) => write!(f, "required field `{field}` missing"),
            Self::WrongColumnCount => f.write_str("wrong column count"),
            Self::InvalidUtf8(field) if field.is_empty() => f.write_str("invalid UTF-8"),
            Self::InvalidUtf8(field) => write!(f, "invalid UTF-8 in `{field}`"),
            Self::InvalidValue(field) => write!(f, "unparsable `{field}`"),
            Self::InvalidJson => f.write_str("invalid JSON"),
            Self::UnknownProduct => f.write_str("product not in catalog"),
            Self::DuplicateIdMerged => f.write_str("duplicate id (merged by policy)"),
        }
    }
}

/// Count and first line of one skip reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkipCount {
    /// Rows skipped for this reason.
    pub rows: u64,
    /// The first line where it happened.
    pub first_line: u64,
}

/// What reading one file did: rows read, rows kept, rows skipped by reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadReport {
    /// The file read.
    pub file: String,
    /// Data rows read (header and blank JSON lines not counted).
    pub rows_read: u64,
    /// Rows that contributed to the result.
    pub rows_kept: u64,
    /// Rows not kept, by reason. Every row read is either kept or counted here. (Serialised
    /// as a list of `{reason, detail, rows, first_line}` objects, since JSON object keys must
    /// be strings.)
    #[serde(with = "skipped_list")]
    pub skipped: BTreeMap<SkipReason, SkipCount>,
}

/// Serialises the skip map as a list, so that reports round-trip through JSON.
mod skipped_list {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{SkipCount, SkipReason};

    #[derive(Serialize, Deserialize)]
    struct Entry {
        #[serde(flatten)]
        reason: SkipReason,
        rows: u64,
        first_line: u64,
    }

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<SkipReason, SkipCount>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let entries: Vec<Entry> = map
            .iter()
            .map(|(reason, c)| Entry {
                reason: reason.clone(),
                rows: c.rows,
                first_line: c.first_line,
            })
            .collect();
        entries.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<SkipReason, SkipCount>, D::Error> {
        let entries = Vec::<Entry>::deserialize(d)?;
        Ok(entries
            .into_iter()
            .map(|e| {
                (
                    e.reason,
                    SkipCount {
                        rows: e.rows,
                        first_line: e.first_line,
                    },
                )
            })
            .collect())
    }
}

impl ReadReport {
    pub(crate) fn new(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            ..Self::default()
        }
    }

    /// Counts one skipped row.
    pub(crate) fn skip(&mut self, reason: SkipReason, line: u64) {
        self.skipped
            .entry(reason)
            .and_modify(|c| c.rows += 1)
            .or_insert(SkipCount {
                rows: 1,
                first_line: line,
            });
    }

    /// Rows skipped for `reason` (0 if none).
    pub fn skipped_for(&self, reason: &SkipReason) -> u64 {
        self.skipped.get(reason).map_or(0, |c| c.rows)
    }

    /// All skipped rows.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().map(|c| c.rows).sum()
    }
}

impl fmt::Display for ReadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} rows read, {} kept",
            self.file, self.rows_read, self.rows_kept
        )?;
        for (reason, c) in &self.skipped {
            write!(
                f,
                "\n  skipped {:>9}  {reason} (first on line {})",
                c.rows, c.first_line
            )?;
        }
        Ok(())
    }
}

/// One cell of a row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Cell {
    /// Absent key or JSON null.
    #[default]
    Missing,
    /// A scalar value as text (CSV cell, JSON string/number/bool).
    Text(String),
    /// A JSON array of scalars.
    List(Vec<String>),
}

impl Cell {
    /// The value when it is non-blank text.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) if !s.trim().is_empty() => Some(s.as_str()),
            _ => None,
        }
    }

    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Missing => true,
            Cell::Text(s) => s.trim().is_empty(),
            Cell::List(v) => v.iter().all(|s| s.trim().is_empty()),
        }
    }
}

/// A row: its line and the needed cells, in the order the columns were asked for.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub line: u64,
    pub cells: Vec<Cell>,
}

enum Inner {
    Csv {
        rdr: csv::Reader<Box<dyn BufRead + Send>>,
        index: Vec<usize>,
        header_len: usize,
        record: csv::ByteRecord,
    },
    Json {
        input: Box<dyn BufRead + Send>,
        buf: Vec<u8>,
        line: u64,
    },
}

/// Reads the needed columns of a CSV or JSON Lines file.
pub(crate) struct TableReader {
    file: String,
    columns: Vec<String>,
    inner: Inner,
}

impl TableReader {
    /// Opens `path` and, for CSV, reads and checks the header: every column in `columns` must
    /// be present exactly once.
    pub(crate) fn open(
        path: &Path,
        format: TableFormat,
        delimiter: u8,
        columns: Vec<String>,
    ) -> Result<Self> {
        let input = open_maybe_gzip(path)?;
        Self::from_reader(
            path.display().to_string(),
            input,
            format,
            delimiter,
            columns,
        )
    }

    pub(crate) fn from_reader(
        file: String,
        input: Box<dyn BufRead + Send>,
        format: TableFormat,
        delimiter: u8,
        columns: Vec<String>,
    ) -> Result<Self> {
        let inner = match format {
            TableFormat::JsonLines => Inner::Json {
                input,
                buf: Vec::new(),
                line: 0,
            },
            TableFormat::Csv => {
                let mut rdr = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .has_headers(true)
                    .from_reader(input);
                let header = rdr.byte_headers().map_err(|e| csv_error(&file, e))?.clone();
                if header.is_empty() {
                    return Err(Error::EmptyFile {
                        at: Location::file(&file),
                    });
                }
                let names = header
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        std::str::from_utf8(h)
                            .map(|s| s.trim().trim_start_matches('\u{feff}'))
                            .map_err(|_| Error::Header {
                                at: Location::line(&file, 1),
                                message: format!("column {} is not valid UTF-8", i + 1),
                            })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let mut index = Vec::with_capacity(columns.len());
                for col in &columns {
                    let hits: Vec<usize> = names
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| **n == col.as_str())
                        .map(|(i, _)| i)
                        .collect();
                    match hits.as_slice() {
                        [i] => index.push(*i),
                        [] => {
                            return Err(Error::Header {
                                at: Location::line(&file, 1).with_field(col),
                                message: format!(
                                    "no column named {col:?}; the header has: {}",
                                    clip(&names.join(", "))
                                ),
                            });
                        }
                        _ => {
                            return Err(Error::Header {
                                at: Location::line(&file, 1).with_field(col),
                                message: format!("column {col:?} appears {} times", hits.len()),
                            });
                        }
                    }
                }
                Inner::Csv {
                    rdr,
                    index,
                    header_len: header.len(),
                    record: csv::ByteRecord::new(),
                }
            }
        };
        Ok(Self {
            file,
            columns,
            inner,
        })
    }

    /// The file name used in errors.
    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// Reads the next row into `row`. `Ok(false)` at the end. A row-level problem (see
    /// [`row_fault`]) leaves the reader usable for the next row.
    pub(crate) fn next_row(&mut self, row: &mut Row) -> Result<bool> {
        row.cells.resize_with(self.columns.len(), Cell::default);
        match &mut self.inner {
            Inner::Csv {
                rdr,
                index,
                header_len,
                record,
            } => {
                let more = rdr
                    .read_byte_record(record)
                    .map_err(|e| csv_error(&self.file, e))?;
                if !more {
                    return Ok(false);
                }
                row.line = record.position().map_or(0, |p| p.line());
                if record.len() != *header_len {
                    return Err(Error::ColumnCount {
                        at: Location::line(&self.file, row.line),
                        expected: *header_len,
                        found: record.len(),
                    });
                }
                for ((cell, &i), col) in row.cells.iter_mut().zip(index.iter()).zip(&self.columns) {
                    let bytes = record.get(i).unwrap_or_default();
                    let text = std::str::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 {
                        at: Location::line(&self.file, row.line).with_field(col),
                        offset: e.valid_up_to(),
                    })?;
                    match cell {
                        Cell::Text(s) => {
                            s.clear();
                            s.push_str(text);
                        }
                        _ => *cell = Cell::Text(text.to_owned()),
                    }
                }
                Ok(true)
            }
            Inner::Json { input, buf, line } => loop {
                buf.clear();
                let n = input.read_until(b'\n', buf).map_err(|source| Error::Io {
                    at: Location::line(&self.file, *line + 1),
                    source,
                })?;
                if n == 0 {
                    return Ok(false);
                }
                *line += 1;
                row.line = *line;
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let text = std::str::from_utf8(buf).map_err(|e| Error::InvalidUtf8 {
                    at: Location::line(&self.file, *line),
                    offset: e.valid_up_to(),
                })?;
                let value: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| Error::Json {
                        at: Location::line(&self.file, *line),
                        message: e.to_string(),
                    })?;
                let serde_json::Value::Object(map) = value else {
                    return Err(Error::Json {
                        at: Location::line(&self.file, *line),
                        message: "expected a JSON object per line".into(),
                    });
                };
                for (cell, col) in row.cells.iter_mut().zip(&self.columns) {
                    *cell = match map.get(col) {
                        None | Some(serde_json::Value::Null) => Cell::Missing,
                        Some(v) => match v {
                            serde_json::Value::Array(items) => Cell::List(
                                items
                                    .iter()
                                    .filter(|v| !v.is_null())
                                    .map(|v| {
                                        scalar(v).ok_or_else(|| Error::Json {
                                            at: Location::line(&self.file, *line).with_field(col),
                                            message: "list items must be strings or numbers".into(),
                                        })
                                    })
                                    .collect::<Result<_>>()?,
                            ),
                            other => Cell::Text(scalar(other).ok_or_else(|| Error::Json {
                                at: Location::line(&self.file, *line).with_field(col),
                                message: "expected a string, number, boolean or list".into(),
                            })?),
                        },
                    };
                }
                return Ok(true);
            },
        }
    }
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn csv_error(file: &str, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    let at = Location {
        file: file.to_owned(),
        line,
        field: None,
    };
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Io { at, source },
        other => Error::Csv {
            at,
            message: format!("{other:?}"),
        },
    }
}

/// The skip reason for a row-level error that a `skip` policy may pass over, or `None` for a
/// fatal error (I/O, header).
pub(crate) fn row_fault(e: &Error) -> Option<SkipReason> {
    match e {
        Error::ColumnCount { .. } => Some(SkipReason::WrongColumnCount),
        Error::InvalidUtf8 { at, .. } => Some(SkipReason::InvalidUtf8(
            at.field.clone().unwrap_or_default(),
        )),
        Error::Json { .. } => Some(SkipReason::InvalidJson),
        Error::InvalidValue { at, .. } => Some(SkipReason::InvalidValue(
            at.field.clone().unwrap_or_default(),
        )),
        Error::MissingField { at } => Some(SkipReason::MissingRequired(
            at.field.clone().unwrap_or_default(),
        )),
        _ => None,
    }
}

/// Skip rules resolved to cell positions in a row.
pub(crate) struct RowFilter {
    rules: Vec<(usize, CheckedSkipRule)>,
}

impl RowFilter {
    /// Adds each rule's column to `columns` (if not there) and remembers its position.
    pub(crate) fn new(rules: &[CheckedSkipRule], columns: &mut Vec<String>) -> Self {
        let rules = rules
            .iter()
            .map(|r| (column_slot(columns, &r.column), r.clone()))
            .collect();
        Self { rules }
    }

    /// The reason of the first rule that matches `row`, or `None` to keep it. A
    /// `not_positive` rule on a value that is not a number is an [`Error::InvalidValue`].
    pub(crate) fn check(&self, row: &Row, file: &str) -> Result<Option<SkipReason>> {
        for (slot, rule) in &self.rules {
            let cell = &row.cells[*slot];
            let hit = match &rule.condition {
                SkipCondition::Empty => cell.is_blank(),
                SkipCondition::StartsWith(p) => cell
                    .text()
                    .is_some_and(|t| t.trim().starts_with(p.as_str())),
                SkipCondition::Equals(v) => cell.text().is_some_and(|t| t.trim() == v),
                SkipCondition::NotPositive => match cell.text() {
                    None => false,
                    Some(t) => {
                        let v: f64 = t.trim().parse().map_err(|_| Error::InvalidValue {
                            at: Location::line(file, row.line).with_field(&rule.column),
                            value: clip(t),
                            expected: "a number".into(),
                        })?;
                        v.is_nan() || v <= 0.0
                    }
                },
            };
            if hit {
                return Ok(Some(SkipReason::Rule(rule.reason.clone())));
            }
        }
        Ok(None)
    }
}

/// The position of `column` in `columns`, appending it when absent.
pub(crate) fn column_slot(columns: &mut Vec<String>, column: &str) -> usize {
    match columns.iter().position(|c| c == column) {
        Some(i) => i,
        None => {
            columns.push(column.to_owned());
            columns.len() - 1
        }
    }
}

/// Reads all of `input` into memory as a boxed reader (for in-memory tables in tests/examples).
pub(crate) fn boxed_bytes(bytes: Vec<u8>) -> Box<dyn BufRead + Send> {
    Box::new(std::io::Cursor::new(bytes))
}
