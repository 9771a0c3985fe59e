//! One data set, prepared once, for training, tuning and evaluation.
//!
//! [`Experiment::prepare`] turns a catalog and an event log into everything the other parts
//! of this crate need, following one [`DataConfig`]:
//!
//! 1. the time **split** (training, validation and test periods; cold-start products whose
//!    events never reach training; the long-tail slice) of `deeprecs-cooc`;
//! 2. **training pairs**: co-occurrence scores counted on the training period only, each
//!    seed's [`train_top_k`](DataConfig::train_top_k) strongest partners; **validation pairs**
//!    likewise from the validation period (empty when the two cutoffs coincide);
//! 3. **vocabularies** fitted on the products that have training events — a cold product's
//!    words are known only when other products use them, as for a product added tomorrow;
//! 4. the **encoded catalog** (every product's ids, computed once);
//! 5. the **evaluation set** of the test period ([`EvalSet`]: positives with at least
//!    `min_support` customers).
//!
//! The CLI's `train`, `eval`, `tune` and `demo`, and the examples, all go through it, so
//! every number they print comes from the same protocol.
//!
//! ```
//! use burn::tensor::Device;
//! use deeprecs_core::synthetic::{generate, SyntheticConfig};
//! use deeprecs_encoders::{TowerConfig, TwoTowerConfig};
//! use deeprecs_train::{DataConfig, Experiment, TrainConfig};
//!
//! let data = generate(&SyntheticConfig { products: 200, users: 400, ..SyntheticConfig::default() })?;
//! let exp = Experiment::prepare(data.schema, data.catalog, data.events, &DataConfig::default())?;
//! let model = TwoTowerConfig::new(TowerConfig::for_schema(exp.schema()).with_dim(16));
//! let train = TrainConfig { epochs: 1, ..TrainConfig::default() }.check()?;
//! let (bundle, outcome) = exp.fit(&model, &train, &Device::flex().autodiff(), None, &mut ())?;
//! let result = exp.evaluate_model("deeprecs", &outcome.model)?;
//! assert_eq!(result.seeds(), exp.eval_set().cases().len());
//! # let _ = bundle;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use deeprecs_cooc::{CoocConfig, CoocCounter, PairScores, Part, Scorer, Split, SplitConfig};
use deeprecs_core::{Catalog, EncodedCatalog, EventLog, FeatureSchema, ProductIdx, Vocabularies};
use deeprecs_encoders::{ModelBundle, TwoTower, TwoTowerConfig};
use serde::{Deserialize, Serialize};

use crate::embed::CatalogEmbeddings;
use crate::error::{Error, Result};
use crate::eval::{
    CoocRecommender, EvalConfig, EvalResult, EvalSet, PopularityRecommender, RandomRecommender,
    TfIdfConfig, TfIdfRecommender, evaluate,
};
use crate::trainer::{TrainData, TrainObserver, TrainOutcome, TrainParams};

/// How a data set becomes training pairs and an evaluation set: plain data (serde, JSON),
/// checked by [`Experiment::prepare`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// The time split and the cold-start and long-tail products.
    pub split: SplitConfig,
    /// How pairs are counted — the same options for training pairs and for the test
    /// period's positives.
    pub cooc: CoocConfig,
    /// How training counts become scores in [0, 1].
    pub scorer: Scorer,
    /// Keep each seed's strongest partners only (default 50): a few bulk buyers otherwise
    /// contribute most training pairs.
    pub train_top_k: Option<u32>,
    /// The evaluation protocol (cut-offs, minimum support).
    pub eval: EvalConfig,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            split: SplitConfig::default(),
            cooc: CoocConfig::default(),
            scorer: Scorer::default(),
            train_top_k: Some(50),
            eval: EvalConfig::default(),
        }
    }
}

impl DataConfig {
    /// Reads a config from a JSON file; unknown keys are errors that name the file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            file: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Data(format!(
                "{}: line {}, column {}: not a data config: {e}",
                path.display(),
                e.line(),
                e.column()
            ))
        })
    }
}

/// Counts of what [`Experiment::prepare`] built, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentSummary {
    /// Catalog products.
    pub products: usize,
    /// Events in the log.
    pub events: usize,
    /// Training-period events.
    pub train_events: usize,
    /// Cold-start products (no training event).
    pub cold_products: usize,
    /// Scored training pairs (directed).
    pub train_pairs: usize,
    /// Scored validation pairs (directed).
    pub valid_pairs: usize,
    /// Test seeds per slice: cold, tail, warm.
    pub test_seeds: [usize; 3],
}

/// A data set prepared for training and evaluation; see the [module docs](self).
#[derive(Debug)]
pub struct Experiment {
    schema: FeatureSchema,
    catalog: Catalog,
    log: EventLog,
    config: DataConfig,
    counter: CoocCounter,
    split: Split,
    vocabs: Vocabularies,
    encoded: EncodedCatalog,
    train_pairs: PairScores,
    valid_pairs: Option<PairScores>,
    popularity: Vec<u32>,
    eval_set: EvalSet,
    summary: ExperimentSummary,
}

impl Experiment {
    /// Splits, counts, fits vocabularies and builds the evaluation set; see the
    /// [module docs](self).
    pub fn prepare(
        schema: FeatureSchema,
        catalog: Catalog,
        log: EventLog,
        config: &DataConfig,
    ) -> Result<Self> {
        let n = catalog.len();
        let split = config.split.clone().check()?.split(&log, n)?;
        let counter = config.cooc.clone().check()?;
        let eval_params = config.eval.clone().check()?;
        let (eval_set, _) = EvalSet::from_split(&eval_params, &split, &log, &counter)?;
        let top = CoocConfig {
            top_k: config.train_top_k,
            ..config.cooc.clone()
        }
        .check()?;
        let count = |part: Part| -> Result<PairScores> {
            let (counts, _) = top.count(&split.log(&log, part), n)?;
            Ok(counts.into_scores(&config.scorer)?)
        };
        let train_pairs = count(Part::Train)?;
        if train_pairs.is_empty() {
            return Err(Error::Data(
                "the training period has no co-occurring pairs: move the training cutoff \
                 later, widen the window, or check the event log"
                    .into(),
            ));
        }
        let valid_pairs = Some(count(Part::Validation)?).filter(|v| !v.is_empty());
        let popularity = split.train_events().to_vec();
        let trained: Vec<ProductIdx> = catalog
            .iter()
            .map(|p| p.idx)
            .filter(|p| popularity.get(p.index()).is_some_and(|&c| c > 0))
            .collect();
        let vocabs = Vocabularies::fit(&catalog, trained)?;
        let encoded = EncodedCatalog::encode(&catalog, &vocabs)?;
        let slices = [
            crate::eval::Slice::Cold,
            crate::eval::Slice::Tail,
            crate::eval::Slice::Warm,
        ];
        let summary = ExperimentSummary {
            products: n,
            events: log.len(),
            train_events: popularity.iter().map(|&c| c as usize).sum(),
            cold_products: split.products(deeprecs_cooc::ProductRole::Cold).count(),
            train_pairs: train_pairs.len(),
            valid_pairs: valid_pairs.as_ref().map_or(0, PairScores::len),
            test_seeds: slices.map(|s| eval_set.seeds_in(s)),
        };
        Ok(Self {
            schema,
            catalog,
            log,
            config: config.clone(),
            counter,
            split,
            vocabs,
            encoded,
            train_pairs,
            valid_pairs,
            popularity,
            eval_set,
            summary,
        })
    }

    /// The schema.
    pub fn schema(&self) -> &FeatureSchema {
        &self.schema
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The whole event log.
    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// The options it was prepared with.
    pub fn config(&self) -> &DataConfig {
        &self.config
    }

    /// The split.
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// Vocabularies fitted on the products with training events.
    pub fn vocabularies(&self) -> &Vocabularies {
        &self.vocabs
    }

    /// Every product's encoded features.
    pub fn encoded(&self) -> &EncodedCatalog {
        &self.encoded
    }

    /// Training pairs (training period, top-k partners per seed).
    pub fn train_pairs(&self) -> &PairScores {
        &self.train_pairs
    }

    /// Validation pairs, when the validation period has any.
    pub fn valid_pairs(&self) -> Option<&PairScores> {
        self.valid_pairs.as_ref()
    }

    /// Training events per product.
    pub fn popularity(&self) -> &[u32] {
        &self.popularity
    }

    /// The test period's evaluation set.
    pub fn eval_set(&self) -> &EvalSet {
        &self.eval_set
    }

    /// What was built.
    pub fn summary(&self) -> &ExperimentSummary {
        &self.summary
    }

    /// The trainer's view of the data.
    pub fn train_data(&self) -> TrainData<'_> {
        TrainData {
            encoded: &self.encoded,
            train: &self.train_pairs,
            valid: self.valid_pairs.as_ref(),
            popularity: &self.popularity,
        }
    }

    /// A model bundle of `model`'s architecture for this data set's schema and vocabularies
    /// (checked: every configured field exists with an encoder of its kind).
    pub fn bundle(&self, model: &TwoTowerConfig) -> Result<ModelBundle> {
        Ok(ModelBundle::new(
            model.clone(),
            self.schema.clone(),
            self.vocabs.clone(),
        )?)
    }

    /// Trains a fresh model of `model`'s architecture on `device` (an autodiff device).
    pub fn fit(
        &self,
        model: &TwoTowerConfig,
        params: &TrainParams,
        device: &Device,
        checkpoint_dir: Option<&Path>,
        observer: &mut dyn TrainObserver,
    ) -> Result<(ModelBundle, TrainOutcome)> {
        let bundle = self.bundle(model)?;
        let outcome = params.fit(&bundle, self.train_data(), device, checkpoint_dir, observer)?;
        Ok((bundle, outcome))
    }

    /// Every product's seed and rec vectors under `model` (computed on the CPU).
    pub fn embed(&self, model: &TwoTower) -> Result<CatalogEmbeddings> {
        let device = Device::flex();
        let model = model.valid().to_device(&device);
        CatalogEmbeddings::compute(&model, &self.encoded, &device, 1024)
    }

    /// Evaluates a trained model on the test set under the name `name`.
    pub fn evaluate_model(&self, name: &str, model: &TwoTower) -> Result<EvalResult> {
        let recommender = self.embed(model)?.into_recommender(name)?;
        Ok(evaluate(&recommender, &self.eval_set)?)
    }

    /// Evaluates a model saved with its own vocabularies (e.g. one loaded from disk, trained
    /// on another preparation of the data): the catalog is encoded with `vocabularies`.
    pub fn evaluate_with_vocabularies(
        &self,
        name: &str,
        model: &TwoTower,
        vocabularies: &Vocabularies,
    ) -> Result<EvalResult> {
        let encoded = EncodedCatalog::encode(&self.catalog, vocabularies)?;
        let device = Device::flex();
        let model = model.valid().to_device(&device);
        let recommender =
            CatalogEmbeddings::compute(&model, &encoded, &device, 1024)?.into_recommender(name)?;
        Ok(evaluate(&recommender, &self.eval_set)?)
    }

    /// The frozen pre-trained BERT baseline: cosine of the sentence embeddings of text field
    /// `field` (no training), from the Hugging Face model folder `bert_dir`, named
    /// `frozen-bert`. Embeddings are cached in `cache_dir` (keyed by model and text) when
    /// given.
    pub fn frozen_bert_baseline(
        &self,
        bert_dir: &Path,
        field: &str,
        cache_dir: Option<&Path>,
    ) -> Result<EvalResult> {
        use deeprecs_encoders::bert::{BertModel, ProductTextVectors, TextEmbeddingCache};
        let device = Device::flex();
        let bert =
            BertModel::from_dir(bert_dir, &device).map_err(deeprecs_encoders::Error::from)?;
        let mut cache = match cache_dir {
            Some(dir) => {
                TextEmbeddingCache::open(dir, &bert).map_err(deeprecs_encoders::Error::from)?
            }
            None => TextEmbeddingCache::in_memory(&bert),
        };
        let vectors = ProductTextVectors::compute(&self.catalog, field, &bert, &mut cache, 64)?;
        let recommender = crate::eval::EmbeddingRecommender::symmetric(
            "frozen-bert",
            vectors.dim(),
            vectors.values().to_vec(),
        )?;
        Ok(evaluate(&recommender, &self.eval_set)?)
    }

    /// The first text field of the schema, if any (the field the text baselines read).
    pub fn first_text_field(&self) -> Option<&str> {
        self.schema
            .fields()
            .iter()
            .find(|f| f.kind.name() == deeprecs_core::FieldKindName::Text)
            .map(|f| f.name.as_str())
    }

    /// The baselines on the same test set: item-item co-occurrence (training period, the
    /// same counting options), TF-IDF cosine of product text, popularity, random.
    pub fn baselines(&self) -> Result<Vec<EvalResult>> {
        let n = self.catalog.len();
        let mut out = vec![evaluate(
            &CoocRecommender::fit(&self.counter, &self.split, &self.log, &self.config.scorer)?,
            &self.eval_set,
        )?];
        if self
            .schema
            .fields()
            .iter()
            .any(|f| f.kind.name() == deeprecs_core::FieldKindName::Text)
        {
            out.push(evaluate(
                &TfIdfRecommender::fit(&self.catalog, &TfIdfConfig::default())?,
                &self.eval_set,
            )?);
        }
        out.push(evaluate(
            &PopularityRecommender::from_split(&self.split),
            &self.eval_set,
        )?);
        out.push(evaluate(
            &RandomRecommender::new(n, self.config.split.seed),
            &self.eval_set,
        )?);
        Ok(out)
    }
}
