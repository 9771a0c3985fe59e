//! Errors of loading and running a BERT model.

use std::path::PathBuf;

/// Everything that can go wrong loading or running a BERT model folder. Every variant names the
/// file and, where it applies, the tensor or field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BertError {
    /// A required file or the folder itself is missing.
    #[error("{}: {what} not found", file.display())]
    MissingFile {
        /// The path that was looked for.
        file: PathBuf,
        /// What it should hold.
        what: &'static str,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file concerned.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file is malformed or lacks a required field.
    #[error("{}: {message}", file.display())]
    Parse {
        /// The file concerned.
        file: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The configuration asks for something this implementation does not run.
    #[error("{}: `{field}`: {message}", file.display())]
    Unsupported {
        /// The configuration file.
        file: PathBuf,
        /// The offending field.
        field: String,
        /// What is unsupported and what is.
        message: String,
    },
    /// A tensor the model needs is not in the weights file.
    #[error("{}: tensor `{tensor}` is missing (the config expects it)", file.display())]
    MissingTensor {
        /// The weights file.
        file: PathBuf,
        /// The tensor's name (model path, e.g. `encoder.layer.5.output.dense.weight`).
        tensor: String,
    },
    /// The weights file holds a tensor the config does not describe (e.g. more layers).
    #[error(
        "{}: tensor `{tensor}` is not part of the model config.json describes",
        file.display()
    )]
    UnexpectedTensor {
        /// The weights file.
        file: PathBuf,
        /// The tensor's name.
        tensor: String,
    },
    /// A tensor's shape does not match the config.
    #[error(
        "{}: tensor `{tensor}` has shape {found:?}, but config.json implies {expected:?}",
        file.display()
    )]
    ShapeMismatch {
        /// The weights file.
        file: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor could not be read or converted (wrong dtype, corrupt data).
    #[error("{}: tensor `{tensor}`: {message}", file.display())]
    Tensor {
        /// The weights file.
        file: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// What went wrong.
        message: String,
    },
    /// The weights file itself could not be read (not safetensors, truncated).
    #[error("{}: {message}", file.display())]
    Weights {
        /// The weights file.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The tokenizer failed to load or to encode a text.
    #[error("{}: {message}", file.display())]
    Tokenizer {
        /// The tokenizer file.
        file: PathBuf,
        /// The tokenizer's message.
        message: String,
    },
    /// The rust-bert (libtorch) engine failed (only with the `rust-bert` feature).
    #[error("{}: rust-bert: {message}", dir.display())]
    RustBert {
        /// The model folder.
        dir: PathBuf,
        /// What rust-bert or libtorch reported.
        message: String,
    },
    /// An invalid argument (e.g. a batch size of 0).
    #[error("invalid `{name}`: {message}")]
    Argument {
        /// The argument.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Result of the BERT module.
pub type BertResult<T> = std::result::Result<T, BertError>;
