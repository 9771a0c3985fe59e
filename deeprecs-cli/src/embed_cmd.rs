//! `deeprecs embed`: BERT sentence embeddings of stdin lines, one JSON array per line, with the
//! model folder's own pooling and normalisation.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;
use clap::{Args, ValueEnum};
use deeprecs_encoders::bert::{BertModel, TextEmbedder};

/// Lines read before embedding them (then written in input order).
const CHUNK: usize = 4096;

/// Options of `deeprecs embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// A Hugging Face BERT folder: config.json, model.safetensors, tokenizer.json (and, for
    /// sentence-transformers models, modules.json and 1_Pooling/config.json).
    #[arg(long)]
    pub bert_dir: PathBuf,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch: usize,
    /// Which implementation runs the model: the Burn-native BERT (CPU, flex backend) or
    /// rust-bert on libtorch (only in a binary built with the `rust-bert` feature).
    #[arg(long, value_enum, default_value_t = Engine::Burn)]
    pub engine: Engine,
}

/// The implementation that runs the BERT model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The Burn-native BERT of deeprecs-encoders.
    Burn,
    /// rust-bert 0.23 on libtorch 2.4 (cargo feature `rust-bert`).
    RustBert,
}

fn load(args: &EmbedArgs) -> anyhow::Result<Box<dyn TextEmbedder>> {
    match args.engine {
        Engine::Burn => Ok(Box::new(BertModel::from_dir(
            &args.bert_dir,
            &Device::flex(),
        )?)),
        #[cfg(feature = "rust-bert")]
        Engine::RustBert => Ok(Box::new(
            deeprecs_encoders::bert::libtorch::RustBertEmbedder::from_dir(&args.bert_dir)?,
        )),
        #[cfg(not(feature = "rust-bert"))]
        Engine::RustBert => anyhow::bail!(
            "--engine rust-bert: this deeprecs binary was built without the `rust-bert` \
             feature (build with `--features rust-bert` and a libtorch 2.4.0, see \
             .ci/libtorch.sh)"
        ),
    }
}

/// Reads texts one per line from `input` (a trailing `\r` is dropped; an empty line is the
/// empty text) and writes one JSON array of floats per line to `out`, in the same order.
pub fn run(args: &EmbedArgs, input: impl BufRead, out: &mut impl Write) -> anyhow::Result<()> {
    let model = load(args)?;
    let mut lines = input.lines();
    let mut chunk: Vec<String> = Vec::with_capacity(CHUNK);
    let mut line_no = 0usize;
    loop {
        chunk.clear();
        for line in lines.by_ref().take(CHUNK) {
            line_no += 1;
            let mut line = line.with_context(|| format!("reading stdin line {line_no}"))?;
            if line.ends_with('\r') {
                line.pop();
            }
            chunk.push(line);
        }
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for v in model.embed_texts(&texts, args.batch)? {
            serde_json::to_writer(&mut *out, &v)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    Ok(())
}
