//! The error type of offline evaluation.

use deeprecs_core::ProductIdx;

/// Everything that can go wrong while building an evaluation set, fitting a baseline or
/// evaluating a recommender. Errors about user input name the option, the model or the
/// product concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// An evaluation or baseline option is invalid (checked before any work).
    #[error("invalid evaluation option `{name}`: {message}")]
    Config {
        /// The option.
        name: &'static str,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The evaluation data cannot be used as given (a product outside the catalog, no test
    /// seed, mismatched lengths …).
    #[error("evaluation data: {0}")]
    Data(String),
    /// A recommender was built for a catalog of another size than the evaluation set.
    #[error(
        "recommender `{model}` scores {found} products but the evaluation set has {expected}: was it built for another catalog?"
    )]
    CatalogMismatch {
        /// The recommender's name.
        model: String,
        /// The evaluation set's catalog size.
        expected: usize,
        /// The recommender's catalog size.
        found: usize,
    },
    /// A recommender returned NaN as the score of a product.
    #[error("recommender `{model}` returned NaN as the score of product #{} for seed #{}", product.0, seed.0)]
    NanScore {
        /// The recommender's name.
        model: String,
        /// The seed being scored.
        seed: ProductIdx,
        /// The product whose score was NaN.
        product: ProductIdx,
    },
    /// An error from the co-occurrence crate (counting the test pairs or the training pairs).
    #[error(transparent)]
    Cooc(#[from] deeprecs_cooc::Error),
    /// Results could not be written as JSON.
    #[error("cannot write the results as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub(crate) fn config(name: &'static str, message: impl Into<String>) -> EvalError {
    EvalError::Config {
        name,
        message: message.into(),
    }
}
