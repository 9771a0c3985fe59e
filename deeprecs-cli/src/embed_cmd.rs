//! `deeprecs embed`: BERT sentence embeddings of stdin lines, one JSON array per line, with the
//! model folder's own pooling and normalisation.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;
use clap::Args;
use deeprecs_encoders::bert::BertModel;

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
}

/// Reads texts one per line from `input` (a trailing `\r` is dropped; an empty line is the
/// empty text) and writes one JSON array of floats per line to `out`, in the same order.
pub fn run(args: &EmbedArgs, input: impl BufRead, out: &mut impl Write) -> anyhow::Result<()> {
    let model = BertModel::from_dir(&args.bert_dir, &Device::flex())?;
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
        for v in model.embed(&chunk, args.batch)? {
            serde_json::to_writer(&mut *out, &v)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    Ok(())
}
