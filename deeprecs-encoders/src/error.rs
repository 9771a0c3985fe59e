//! The encoders crate's error type.

/// Everything that can go wrong when building, running, saving or loading a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is invalid (checked when the module is built).
    #[error("invalid config `{name}`: {message}")]
    Config {
        /// The offending option, e.g. `fusion.dense`.
        name: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The tower config does not fit the feature schema: a missing field, or an encoder on a
    /// field of the wrong kind.
    #[error("tower field `{field}`: {message}")]
    Schema {
        /// The field name from the tower config.
        field: String,
        /// What is wrong, naming both the encoder and the schema's kind.
        message: String,
    },
    /// An input batch does not match the model (wrong number of fields, wrong kind, wrong
    /// batch size).
    #[error("input does not match the model: {0}")]
    Input(String),
    /// Saved model files disagree with each other or with the code (config, vocabularies,
    /// weights).
    #[error("{file}: {message}")]
    Load {
        /// The file concerned.
        file: String,
        /// What does not match.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file concerned.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An error from the data model.
    #[error(transparent)]
    Core(#[from] deeprecs_core::Error),
    /// An error loading or running a BERT model.
    #[error(transparent)]
    Bert(#[from] crate::bert::BertError),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn config_error(name: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Config {
        name: name.into(),
        message: message.into(),
    }
}
