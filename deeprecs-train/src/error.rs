//! The training crate's error type.

/// Everything that can go wrong while preparing data, training or checkpointing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A training option is invalid (checked before any work).
    #[error("invalid training option `{name}`: {message}")]
    Config {
        /// The option.
        name: &'static str,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The data cannot train a model (e.g. no positive pair).
    #[error("training data: {0}")]
    Data(String),
    /// A checkpoint cannot be written or does not fit the model.
    #[error("checkpoint {file}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A loss became NaN or infinite.
    #[error(
        "the loss diverged (value {value}) at epoch {epoch}, step {step}; lower the learning rate"
    )]
    Diverged {
        /// The epoch (1-based).
        epoch: usize,
        /// The step within the epoch.
        step: usize,
        /// The loss value.
        value: f32,
    },
    /// An error from the model crate.
    #[error(transparent)]
    Model(#[from] deeprecs_encoders::Error),
    /// An error from the co-occurrence crate.
    #[error(transparent)]
    Cooc(#[from] deeprecs_cooc::Error),
    /// An error from the data model.
    #[error(transparent)]
    Core(#[from] deeprecs_core::Error),
    /// An error from the evaluation harness.
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    /// A picture could not be drawn or written.
    #[error("{file}: cannot draw the picture: {message}")]
    Plot {
        /// The PNG file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn config(name: &'static str, message: impl Into<String>) -> Error {
    Error::Config {
        name,
        message: message.into(),
    }
}
