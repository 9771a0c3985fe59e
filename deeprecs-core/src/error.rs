//! The crate's one error type and the [`Location`] every data error carries.

use std::fmt;

/// Where in the user's input a problem was found: the file (or another named source such as
/// `<schema string>`), the 1-based line when known, and the field (column or key) when known.
///
/// Displays as `file:line: field `name``, omitting the parts that are unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file path as given by the caller, or a name in angle brackets for in-memory input.
    pub file: String,
    /// The 1-based line number in the file, when the problem is tied to one line.
    pub line: Option<u64>,
    /// The field (CSV column or JSON key) concerned, when the problem is tied to one field.
    pub field: Option<String>,
}

impl Location {
    /// A location naming only a file.
    pub fn file(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            field: None,
        }
    }

    /// A location naming a file and a line.
    pub fn line(file: impl Into<String>, line: u64) -> Self {
        Self {
            file: file.into(),
            line: Some(line),
            field: None,
        }
    }

    /// This location with the field set.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in `deeprecs-core`. Every variant that concerns user data
/// carries a [`Location`] naming the file, line and field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("{at}: cannot read: {source}")]
    Io {
        /// The file concerned.
        at: Location,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("{at}: cannot write: {source}")]
    Write {
        /// The file concerned.
        at: Location,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The schema file is not valid TOML or does not have the expected shape (unknown field
    /// kind, unknown option, wrong type). The message includes the TOML line and column.
    #[error("{at}: invalid schema: {message}")]
    SchemaSyntax {
        /// The schema file.
        at: Location,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// The schema parsed but is inconsistent (duplicate field names, missing id column, an
    /// option that does not apply to the field's kind, …).
    #[error("{at}: invalid schema: {message}")]
    Schema {
        /// The schema file and, where it applies, the field.
        at: Location,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The input file has no header line (it is empty).
    #[error("{at}: file is empty: expected a header line naming the columns")]
    EmptyFile {
        /// The file concerned.
        at: Location,
    },
    /// The header is unusable: a needed column is absent, or a column name is duplicated.
    #[error("{at}: bad header: {message}")]
    Header {
        /// The file and line of the header.
        at: Location,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A CSV row has a different number of columns than the header.
    #[error("{at}: expected {expected} columns as in the header, found {found}")]
    ColumnCount {
        /// The file and line of the row.
        at: Location,
        /// The header's column count.
        expected: usize,
        /// The row's column count.
        found: usize,
    },
    /// A field is not valid UTF-8.
    #[error("{at}: not valid UTF-8 (invalid byte at offset {offset} of the field)")]
    InvalidUtf8 {
        /// The file, line and field.
        at: Location,
        /// Byte offset of the first invalid byte within the field.
        offset: usize,
    },
    /// A value could not be parsed as the type the schema asks for.
    #[error("{at}: cannot parse {value:?} as {expected}")]
    InvalidValue {
        /// The file, line and field.
        at: Location,
        /// The offending value (truncated to 80 characters).
        value: String,
        /// What was expected, e.g. "a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS or epoch seconds)".
        expected: String,
    },
    /// A field that the schema marks as required is missing or empty.
    #[error("{at}: required value is missing or empty")]
    MissingField {
        /// The file, line and field.
        at: Location,
    },
    /// Two catalog rows carry the same product id and the schema says duplicates are errors.
    #[error("{at}: duplicate product id {id:?} (first seen on line {first_line})")]
    DuplicateId {
        /// The file, line and id field of the second occurrence.
        at: Location,
        /// The duplicated id.
        id: String,
        /// The line of the first occurrence.
        first_line: u64,
    },
    /// A line of a JSON Lines file is not a JSON object, or a value has the wrong JSON type.
    #[error("{at}: invalid JSON: {message}")]
    Json {
        /// The file, line and (where known) field.
        at: Location,
        /// What is wrong.
        message: String,
    },
    /// The CSV reader reported a syntax problem.
    #[error("{at}: malformed CSV: {message}")]
    Csv {
        /// The file and line.
        at: Location,
        /// The CSV reader's message.
        message: String,
    },
    /// A catalog file yielded no product.
    #[error("{at}: no products were read (rows read: {rows_read}, all skipped or none present)")]
    EmptyCatalog {
        /// The catalog file.
        at: Location,
        /// How many data rows the file had.
        rows_read: u64,
    },
    /// A parameter passed to the library is invalid (checked before any work starts).
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A product id was looked up that the catalog does not contain.
    #[error("unknown product id {0:?}")]
    UnknownProduct(String),
    /// A field name was looked up that the schema does not declare.
    #[error("unknown field {name:?}; the schema declares: {declared}")]
    UnknownField {
        /// The name asked for.
        name: String,
        /// The declared field names, comma separated.
        declared: String,
    },
    /// Serialised data (a vocabulary, a schema) could not be decoded.
    #[error("{at}: cannot decode: {message}")]
    Decode {
        /// The source of the data.
        at: Location,
        /// What is wrong.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shortens a value for inclusion in an error message.
pub(crate) fn clip(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_display_omits_unknown_parts() {
        assert_eq!(Location::file("a.csv").to_string(), "a.csv");
        assert_eq!(Location::line("a.csv", 3).to_string(), "a.csv:3");
        assert_eq!(
            Location::line("a.csv", 3).with_field("brand").to_string(),
            "a.csv:3, field `brand`"
        );
    }

    #[test]
    fn clip_shortens_long_values() {
        assert_eq!(clip("abc"), "abc");
        let long = "x".repeat(100);
        assert_eq!(clip(&long).chars().count(), 81);
    }
}
