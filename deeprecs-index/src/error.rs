//! The crate's one error type.
//!
//! Every variant says what was wrong and where: the product id, the file and the artifact
//! section concerned. Nothing in this crate panics on bad input; it returns one of these.

use std::path::PathBuf;

/// Everything that can go wrong in `deeprecs-index`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A dimension of 0 was asked for.
    #[error("invalid embedding dimension 0: vectors need at least one component")]
    ZeroDimension,

    /// A vector (or a matrix of vectors) does not have the index's dimension.
    #[error("{what} has dimension {got}, but the index has dimension {expected}")]
    DimensionMismatch {
        /// What the vector is (e.g. ``product `P1` `` or `query 3`).
        what: String,
        /// The index's dimension.
        expected: usize,
        /// The vector's dimension.
        got: usize,
    },

    /// A vector has a NaN or infinite component.
    #[error("{what} has a non-finite value ({value}) at component {component}")]
    NonFiniteVector {
        /// What the vector is.
        what: String,
        /// The 0-based component index of the first bad value.
        component: usize,
        /// The bad value.
        value: f32,
    },

    /// A vector is all zeros (or so close that it has no direction), so cosine scores are
    /// undefined for it.
    #[error("{what} is a zero vector: it has no direction, so its cosine score is undefined")]
    ZeroVector {
        /// What the vector is.
        what: String,
    },

    /// A product id is empty.
    #[error("product ids must not be empty")]
    EmptyProductId,

    /// A product id is not in the index.
    #[error("unknown product `{0}`: it is not in the index (or was removed)")]
    UnknownProduct(String),

    /// A product id is already in the index (for `insert`, or twice in one batch of rows).
    #[error("product `{0}` is already in the index")]
    DuplicateProduct(String),

    /// A row index is out of range or names a removed row.
    #[error("row {row} is not a live row of the index ({rows} rows, removed ones included)")]
    InvalidRow {
        /// The row asked for.
        row: usize,
        /// The number of rows, removed ones included.
        rows: usize,
    },

    /// The ids and the vectors given together have different lengths.
    #[error("{ids} product ids were given for {rows} vectors")]
    IdCountMismatch {
        /// The number of ids.
        ids: usize,
        /// The number of vectors (matrix rows).
        rows: usize,
    },

    /// The index cannot hold more rows (row numbers are stored as `u32`).
    #[error("the index is full: it holds at most {max} rows, removed ones included (compact it)")]
    CapacityExceeded {
        /// The largest number of rows.
        max: usize,
    },

    /// A parameter is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// A batch's per-query list has the wrong length.
    #[error("{what} has {got} entries for a batch of {expected} queries")]
    BatchLength {
        /// What the list is.
        what: &'static str,
        /// The number of queries.
        expected: usize,
        /// The number of entries given.
        got: usize,
    },

    /// A cart query was given no seed.
    #[error("the cart is empty: a cart query needs at least one seed vector")]
    EmptyCart,

    /// The approximate-nearest-neighbour library reported an error.
    #[error("approximate index: {0}")]
    Ann(String),

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file does not start with the artifact magic bytes: it is not a DeepRecs artifact.
    #[error("{file}: not a DeepRecs artifact (wrong magic bytes at the start)")]
    NotAnArtifact {
        /// The file (or `<memory>`).
        file: String,
    },

    /// The artifact (or one of its sections) was written in a newer or unknown format
    /// version.
    #[error(
        "{file}: {what} version {found} is not supported (this build reads version {supported})"
    )]
    UnsupportedVersion {
        /// The file.
        file: String,
        /// Whose version: `artifact format`, or a section such as ``section `index_meta` ``.
        what: String,
        /// The version in the file.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// The artifact is shorter than its header says: it was cut off (an interrupted copy or
    /// download).
    #[error("{file}: truncated artifact: the header says {expected} bytes, the file has {actual}")]
    Truncated {
        /// The file.
        file: String,
        /// The length the header declares (or the minimum length of any artifact).
        expected: u64,
        /// The actual length.
        actual: u64,
    },

    /// A checksum does not match: the bytes were changed after writing.
    #[error(
        "{file}: checksum mismatch in {section}: stored {stored:#018x}, computed {computed:#018x} (the file is corrupt)"
    )]
    ChecksumMismatch {
        /// The file.
        file: String,
        /// The section (`header` for the header and section table, `file` for the whole file).
        section: String,
        /// The checksum stored in the file.
        stored: u64,
        /// The checksum of the bytes as read.
        computed: u64,
    },

    /// The artifact's structure is invalid (bad lengths, overlapping sections, bad names …).
    #[error("{file}: malformed artifact ({section}): {detail}")]
    Malformed {
        /// The file.
        file: String,
        /// The part concerned (`header`, `section table`, or a section name).
        section: String,
        /// What is wrong.
        detail: String,
    },

    /// A section the reader needs is absent.
    #[error("{file}: the artifact has no `{section}` section")]
    MissingSection {
        /// The file.
        file: String,
        /// The missing section.
        section: String,
    },

    /// The artifact is intact but its content does not fit together or does not fit what the
    /// caller expects (e.g. an embedding dimension other than the model's).
    #[error("{file}: section `{section}` does not match: {detail}")]
    Mismatch {
        /// The file.
        file: String,
        /// The section concerned.
        section: String,
        /// What does not match.
        detail: String,
    },

    /// The model (the two towers) failed: building it, loading its weights, or running it
    /// on a product. `context` says what was being done (and names the product or file).
    #[error("{context}: {cause}")]
    Model {
        /// What was being done, e.g. ``embedding product `P1` ``.
        context: String,
        /// The model crate's error (boxed: it is large and rare).
        cause: Box<deeprecs_encoders::Error>,
    },

    /// A product's metadata could not be parsed or encoded (bad JSON, a value of the wrong
    /// kind for its field, a missing required field).
    #[error("product `{product}`: {cause}")]
    ProductData {
        /// The product id (or `<new product>` when the JSON has no usable id).
        product: String,
        /// The data model's error, naming the field (boxed: it is large and rare).
        cause: Box<deeprecs_core::Error>,
    },

    /// The catalog does not fit the model (a schema with other fields, or vocabularies of
    /// another schema).
    #[error("the catalog does not fit the model: {detail}")]
    CatalogMismatch {
        /// What differs, naming the field.
        detail: String,
    },

    /// A section name is invalid or used twice when building an artifact.
    #[error("invalid artifact section name `{name}`: {reason}")]
    InvalidSectionName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
