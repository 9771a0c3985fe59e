//! Text normalisation and the word tokenizer used by the from-scratch attention text encoder.
//!
//! Normalisation is Unicode NFKC (so `ﬁ` becomes `fi` and full-width `Ｔ` becomes `T`), optional
//! lower-casing, and whitespace collapsing. Tokenisation splits on whitespace and punctuation:
//! a word is a run of alphanumeric characters (and combining marks); punctuation and symbols end
//! a word and are either dropped (default) or kept as one-character tokens.
//!
//! ```
//! use deeprecs_core::text::{tokenize, TextOptions};
//! let opts = TextOptions::default();
//! assert_eq!(tokenize("WHITE HANGING HEART T-LIGHT HOLDER", &opts),
//!            ["white", "hanging", "heart", "t", "light", "holder"]);
//! let keep = TextOptions { keep_punctuation: true, ..TextOptions::default() };
//! assert_eq!(tokenize("Girls' ﬁne tee!", &keep), ["girls", "'", "fine", "tee", "!"]);
//! ```
//!
//! BERT encoders do not use this tokenizer; they use the model's own `tokenizer.json`.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Options of [`tokenize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TextOptions {
    /// Lower-case after NFKC.
    pub lowercase: bool,
    /// Keep punctuation and symbol characters as one-character tokens.
    pub keep_punctuation: bool,
    /// Keep at most this many tokens (the first ones).
    pub max_tokens: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self {
            lowercase: true,
            keep_punctuation: false,
            max_tokens: usize::MAX,
        }
    }
}

/// NFKC-normalises `text`, optionally lower-cases it, trims it and collapses runs of
/// whitespace into one space. This is how categorical values are compared.
///
/// ```
/// assert_eq!(deeprecs_core::text::normalize("  Ｂｉｇ   Brand ", true), "big brand");
/// ```
pub fn normalize(text: &str, lowercase: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.nfkc() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if lowercase {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// Combining marks that NFKC leaves separate (e.g. in Indic scripts) belong to the word.
fn is_combining_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0951..=0x0957 | 0x0981..=0x0983 | 0x09BC..=0x09D7
        | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF
        | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Splits `text` into normalised word tokens (see the module docs). Never panics; an empty or
/// all-punctuation text gives no tokens.
pub fn tokenize(text: &str, opts: &TextOptions) -> Vec<String> {
    let mut tokens = Vec::new();
    tokenize_into(text, opts, |t| {
        tokens.push(t.to_owned());
        true
    });
    tokens
}

/// Calls `emit` with each token of `text` in order, stopping early when `emit` returns false
/// or `opts.max_tokens` tokens were emitted. Avoids allocating a vector per text.
pub fn tokenize_into(text: &str, opts: &TextOptions, mut emit: impl FnMut(&str) -> bool) {
    if opts.max_tokens == 0 {
        return;
    }
    let mut emitted = 0usize;
    let mut word = String::new();
    let mut punct = [0u8; 4];
    let mut push = |t: &str, emitted: &mut usize| -> bool {
        *emitted += 1;
        emit(t) && *emitted < opts.max_tokens
    };
    for c in text.nfkc() {
        if is_word_char(c) {
            if opts.lowercase {
                word.extend(c.to_lowercase());
            } else {
                word.push(c);
            }
            continue;
        }
        if !word.is_empty() {
            if !push(&word, &mut emitted) {
                return;
            }
            word.clear();
        }
        if opts.keep_punctuation && !c.is_whitespace() && !c.is_control() {
            let s = c.encode_utf8(&mut punct);
            if !push(s, &mut emitted) {
                return;
            }
        }
    }
    if !word.is_empty() {
        push(&word, &mut emitted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_punctuation_and_lowercases() {
        let o = TextOptions::default();
        assert_eq!(
            tokenize("SET/3 RED retro-spot Cups", &o),
            ["set", "3", "red", "retro", "spot", "cups"]
        );
        assert!(tokenize("", &o).is_empty());
        assert!(tokenize(" ,;!? ", &o).is_empty());
    }

    #[test]
    fn nfkc_folds_compatibility_characters() {
        let o = TextOptions::default();
        assert_eq!(tokenize("ＴＥＡ ｃｕｐ", &o), ["tea", "cup"]);
        assert_eq!(tokenize("ﬁsh", &o), ["fish"]);
        assert_eq!(tokenize("café", &o), ["café"]);
        // decomposed é (e + U+0301) composes under NFKC into one word
        assert_eq!(tokenize("cafe\u{301} noir", &o), ["café", "noir"]);
    }

    #[test]
    fn case_is_kept_when_asked() {
        let o = TextOptions {
            lowercase: false,
            ..TextOptions::default()
        };
        assert_eq!(tokenize("Tea Cup", &o), ["Tea", "Cup"]);
    }

    #[test]
    fn max_tokens_truncates() {
        let o = TextOptions {
            max_tokens: 2,
            keep_punctuation: true,
            ..TextOptions::default()
        };
        assert_eq!(tokenize("a, b c", &o), ["a", ","]);
        let o = TextOptions {
            max_tokens: 0,
            ..TextOptions::default()
        };
        assert!(tokenize("a b", &o).is_empty());
    }

    #[test]
    fn normalize_collapses_whitespace() {
        assert_eq!(normalize("\tA  b\n", false), "A b");
        assert_eq!(normalize("", true), "");
    }
}
