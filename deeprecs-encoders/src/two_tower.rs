//! [`TwoTower`]: a seed tower and a rec tower of identical architecture, scored by cosine
//! similarity.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use deeprecs_core::{FeatureSchema, Vocabularies};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::input::TowerInput;
use crate::tower::{ProductTower, TowerConfig};

/// Configuration of a [`TwoTower`] model.
#[derive(Config, Debug)]
pub struct TwoTowerConfig {
    /// The architecture of both towers.
    pub tower: TowerConfig,
    /// One set of weights for both towers. Default false: the seed and rec towers learn
    /// separately, so "what goes with a phone" need not equal "what a phone goes with".
    #[config(default = false)]
    pub shared: bool,
}

impl TwoTowerConfig {
    /// Builds the model for `schema`, sizing embedding tables from `vocabs`.
    pub fn init(
        &self,
        schema: &FeatureSchema,
        vocabs: &Vocabularies,
        device: &Device,
    ) -> Result<TwoTower> {
        let seed = self.tower.init(schema, vocabs, device)?;
        let rec = if self.shared {
            None
        } else {
            Some(self.tower.init(schema, vocabs, device)?)
        };
        Ok(TwoTower { seed, rec })
    }
}

/// The two-tower model.
///
/// Scores are cosine similarities of L2-normalised vectors, in [-1, 1].
#[derive(Module, Debug)]
pub struct TwoTower {
    seed: ProductTower,
    rec: Option<ProductTower>,
}

/// How an [`Explanation`] was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplainMethod {
    /// The product vectors are linear in the field vectors (no dense layers): the score is
    /// split exactly, and the contributions add up to the score.
    Exact,
    /// Dense layers make the towers non-linear: each contribution is the score drop when the
    /// field's vector is replaced by zeros in both towers (occlusion). They do not add up to
    /// the score.
    Occlusion,
}

/// Per-field contributions to one pair's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The pair's score (cosine similarity).
    pub score: f32,
    /// How the contributions were computed.
    pub method: ExplainMethod,
    /// `(field, contribution)` in tower config order.
    pub contributions: Vec<(String, f32)>,
}

fn to_vec(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Input(format!("cannot read tensor: {e:?}")))
}

impl TwoTower {
    /// The seed tower.
    pub fn seed_tower(&self) -> &ProductTower {
        &self.seed
    }

    /// The rec tower (the seed tower when weights are shared).
    pub fn rec_tower(&self) -> &ProductTower {
        self.rec.as_ref().unwrap_or(&self.seed)
    }

    /// True when both towers share one set of weights.
    pub fn is_shared(&self) -> bool {
        self.rec.is_none()
    }

    /// Seed vectors `[batch, out]`, L2-normalised.
    pub fn embed_seed(&self, input: &TowerInput) -> Result<Tensor<2>> {
        self.seed.forward(input)
    }

    /// Rec vectors `[batch, out]`, L2-normalised.
    pub fn embed_rec(&self, input: &TowerInput) -> Result<Tensor<2>> {
        self.rec_tower().forward(input)
    }

    /// Cosine similarity of each (seed, rec) pair: `[batch]`. Both inputs must have the same
    /// batch size.
    pub fn score(&self, seeds: &TowerInput, recs: &TowerInput) -> Result<Tensor<1>> {
        if seeds.batch_size() != recs.batch_size() {
            return Err(Error::Input(format!(
                "{} seeds but {} recs; score() compares pairs",
                seeds.batch_size(),
                recs.batch_size()
            )));
        }
        let s = self.embed_seed(seeds)?;
        let r = self.embed_rec(recs)?;
        Ok((s * r).sum_dim(1).squeeze_dim::<1>(1))
    }

    /// Cosine similarity of every seed with every rec: `[seeds, recs]`.
    pub fn score_matrix(&self, seeds: &TowerInput, recs: &TowerInput) -> Result<Tensor<2>> {
        let s = self.embed_seed(seeds)?;
        let r = self.embed_rec(recs)?;
        Ok(s.matmul(r.transpose()))
    }

    /// Splits each (seed, rec) pair's score into per-field contributions.
    ///
    /// Without dense layers (`fusion.dense = []`) the product vector is
    /// `v = Σ_f w_f x_f / ‖Σ_f w_f x_f‖`, so `score = Σ_f (w_f x_f^seed / n_seed) · v_rec`
    /// exactly; the reported contribution of field `f` is the mean of that seed-side term and
    /// the symmetric rec-side term, and the contributions add up to the score
    /// ([`ExplainMethod::Exact`]). With dense layers the contribution is the score drop when
    /// the field's vector is zeroed in both towers ([`ExplainMethod::Occlusion`]).
    pub fn explain(&self, seeds: &TowerInput, recs: &TowerInput) -> Result<Vec<Explanation>> {
        if seeds.batch_size() != recs.batch_size() {
            return Err(Error::Input(format!(
                "{} seeds but {} recs; explain() compares pairs",
                seeds.batch_size(),
                recs.batch_size()
            )));
        }
        let sp = self.seed.forward_parts(seeds)?;
        let rp = self.rec_tower().forward_parts(recs)?;
        let batch = seeds.batch_size();
        let names = self.seed.field_names().to_vec();
        let n_fields = names.len();
        let score = (sp.fusion.output.clone() * rp.fusion.output.clone()).sum_dim(1);
        let scores = to_vec(score.clone())?;
        let linear = !self.seed.fusion().has_dense();
        let mut per_field: Vec<Vec<f32>> = Vec::with_capacity(n_fields);
        if linear {
            let norm = |c: Tensor<2>| {
                c.powi_scalar(2)
                    .sum_dim(1)
                    .sqrt()
                    .clamp_min(crate::ops::EPS)
            };
            let ns = norm(sp.fusion.combined.clone());
            let nr = norm(rp.fusion.combined.clone());
            for f in 0..n_fields {
                let ws = sp.fusion.weights.clone().narrow(1, f, 1);
                let wr = rp.fusion.weights.clone().narrow(1, f, 1);
                let seed_side =
                    (sp.fields[f].clone() * ws / ns.clone() * rp.fusion.output.clone()).sum_dim(1);
                let rec_side =
                    (rp.fields[f].clone() * wr / nr.clone() * sp.fusion.output.clone()).sum_dim(1);
                per_field.push(to_vec((seed_side + rec_side) / 2.0)?);
            }
        } else {
            for f in 0..n_fields {
                let occlude = |fields: &[Tensor<2>]| {
                    let mut v = fields.to_vec();
                    v[f] = v[f].clone().zeros_like();
                    v
                };
                let s = self.seed.fuse(occlude(&sp.fields));
                let r = self.rec_tower().fuse(occlude(&rp.fields));
                let occluded = (s * r).sum_dim(1);
                per_field.push(to_vec(score.clone() - occluded)?);
            }
        }
        Ok((0..batch)
            .map(|i| Explanation {
                score: scores[i],
                method: if linear {
                    ExplainMethod::Exact
                } else {
                    ExplainMethod::Occlusion
                },
                contributions: names
                    .iter()
                    .zip(&per_field)
                    .map(|(n, c)| (n.clone(), c[i]))
                    .collect(),
            })
            .collect())
    }
}
