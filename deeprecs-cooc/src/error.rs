//! The crate's error type.

/// Everything that can go wrong in `deeprecs-cooc`. Errors about user input say what was wrong
/// and where (the parameter, the file, the value).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from `deeprecs-core` (reading a schema, catalog or event log, …).
    #[error(transparent)]
    Core(#[from] deeprecs_core::Error),
    /// A parameter is invalid (checked before any work starts).
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A duration (a pairing window) could not be parsed.
    #[error(
        "cannot parse {value:?} as a duration: expected a whole number followed by s, m, h, d or w (e.g. `7d`, `12h`, `30m`, `3600s`), or `0`"
    )]
    InvalidDuration {
        /// The text given.
        value: String,
    },
    /// The events span more time than the counter can represent (about 136 years), which
    /// usually means timestamps in milliseconds were read as seconds.
    #[error(
        "the events span {span_secs} seconds (more than 4,294,967,295 s, about 136 years): are some timestamps in milliseconds?"
    )]
    TimeSpanTooLong {
        /// Latest minus earliest timestamp of the events used.
        span_secs: u128,
    },
    /// A product index is outside the catalog the table or sampler was built for.
    #[error("product index {index} is out of range for a catalog of {n_products} products")]
    ProductOutOfRange {
        /// The index given.
        index: u32,
        /// The catalog size.
        n_products: usize,
    },
    /// A [`PairScorer`](crate::PairScorer) returned a value outside `[0, 1]` or not finite.
    #[error(
        "scorer `{scorer}` returned {value} for the pair (#{seed}, #{rec}); scores must be finite and within [0, 1]"
    )]
    InvalidScore {
        /// The scorer's name.
        scorer: String,
        /// The seed product index.
        seed: u32,
        /// The recommended product index.
        rec: u32,
        /// The value returned.
        value: f64,
    },
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A file is not in the expected format, or is damaged or truncated.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong, with the offending section or line.
        message: String,
    },
    /// A file was written for a different catalog than the one given.
    #[error("{path}: written for a different catalog: {message}")]
    CatalogMismatch {
        /// The file.
        path: String,
        /// What differs.
        message: String,
    },
}

/// [`Error::CatalogMismatch`] unless `what` (a table, a split, a file) has exactly as many
/// products as the catalog it is written or read with.
pub(crate) fn check_catalog_size(
    path: &str,
    what: &str,
    n_products: usize,
    catalog_len: usize,
) -> std::result::Result<(), Error> {
    if n_products == catalog_len {
        return Ok(());
    }
    Err(Error::CatalogMismatch {
        path: path.to_owned(),
        message: format!("the {what} has {n_products} products, the catalog {catalog_len}"),
    })
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for an [`Error::InvalidParameter`].
pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidParameter {
        name,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_and_where() {
        assert_eq!(
            invalid("top_k", "must be at least 1, got 0").to_string(),
            "invalid parameter `top_k`: must be at least 1, got 0"
        );
        let e = Error::Format {
            path: "scores.bin".into(),
            message: "truncated in section `recs`".into(),
        };
        assert_eq!(e.to_string(), "scores.bin: truncated in section `recs`");
        let core: Error = deeprecs_core::Error::UnknownProduct("X1".into()).into();
        assert_eq!(core.to_string(), "unknown product id \"X1\"");
    }
}
