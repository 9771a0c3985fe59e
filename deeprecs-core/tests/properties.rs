//! Property tests: schema and vocabulary serde round-trips, the tokenizer and the timestamp
//! parser on arbitrary input. Seeds are fixed so CI runs are reproducible.

use deeprecs_core::schema::{
    CatalogSpec, FieldKindName, FieldSpec, InvalidRowPolicy, ListStyle, SchemaSpec, SkipRule,
    SkipWhen,
};
use deeprecs_core::text::{TextOptions, tokenize};
use deeprecs_core::time::{format_timestamp, parse_timestamp};
use deeprecs_core::{
    Catalog, FeatureSchema, FieldValue, TimestampFormat, Vocabularies, Vocabulary,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    Config {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x5EED),
        failure_persistence: None,
        ..Config::default()
    }
}

fn field_spec() -> impl Strategy<Value = FieldSpec> {
    (
        prop_oneof![
            Just(FieldKindName::Categorical),
            Just(FieldKindName::MultiCategorical),
            Just(FieldKindName::Text)
        ],
        any::<bool>(),
        1u32..5,
        1usize..64,
        any::<bool>(),
        prop_oneof![
            Just(None),
            Just(Some(",".to_owned())),
            Just(Some(";;".to_owned()))
        ],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(kind, lowercase, min_count, max, json_list, sep, required, punct)| {
                let multi = kind == FieldKindName::MultiCategorical;
                let text = kind == FieldKindName::Text;
                FieldSpec {
                    name: String::new(),
                    column: None,
                    kind,
                    list: (multi && json_list).then_some(ListStyle::Json),
                    separator: if multi && !json_list { sep } else { None },
                    lowercase: Some(lowercase),
                    min_count: Some(min_count),
                    max_tokens: text.then_some(max),
                    max_values: multi.then_some(max),
                    keep_punctuation: text.then_some(punct),
                    required,
                }
            },
        )
}

fn schema_spec() -> impl Strategy<Value = SchemaSpec> {
    (
        prop::collection::vec(field_spec(), 0..6),
        "[a-z][a-z0-9_ ]{0,12}",
        any::<bool>(),
    )
        .prop_map(|(mut fields, id, skip)| {
            for (i, f) in fields.iter_mut().enumerate() {
                f.name = format!("field {i}");
                if i % 2 == 1 {
                    f.column = Some(format!("Column \"{i}\""));
                }
            }
            SchemaSpec {
                id: format!("id_{id}"),
                fields,
                catalog: CatalogSpec {
                    invalid_rows: if skip {
                        InvalidRowPolicy::Skip
                    } else {
                        InvalidRowPolicy::Error
                    },
                    skip: vec![SkipRule {
                        column: "x".into(),
                        when: SkipWhen::StartsWith,
                        value: Some("C".into()),
                        reason: None,
                    }],
                    ..CatalogSpec::default()
                },
                events: None,
            }
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn schema_round_trips_through_toml(spec in schema_spec()) {
        let checked = spec.check().unwrap();
        let text = checked.to_toml_string();
        let back = FeatureSchema::from_toml_str(&text, "<round trip>").unwrap();
        prop_assert_eq!(&back, &checked);
        let json = serde_json::to_string(&checked).unwrap();
        let back: FeatureSchema = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, checked);
    }

    #[test]
    fn vocabularies_round_trip_through_json(
        titles in prop::collection::vec("\\PC{0,30}", 1..20),
        min_count in 1u32..3,
    ) {
        let schema = FeatureSchema::from_toml_str(
            &format!("id = \"sku\"\n[[fields]]\nname = \"t\"\nkind = \"text\"\nmin_count = {min_count}\n[[fields]]\nname = \"b\"\nkind = \"categorical\"\n"),
            "<s>",
        ).unwrap();
        let mut catalog = Catalog::new(schema);
        for (i, t) in titles.iter().enumerate() {
            catalog.push(format!("P{i}"), vec![
                FieldValue::Text(t.clone()),
                FieldValue::Categorical(t.chars().take(3).collect()),
            ]).unwrap();
        }
        let vocabs = Vocabularies::fit(&catalog, catalog.iter().map(|p| p.idx)).unwrap();
        let json = serde_json::to_string(&vocabs).unwrap();
        let back: Vocabularies = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &vocabs);
        for v in back.fields() {
            for id in 2..v.len() as u32 {
                let token = v.token(id).unwrap();
                prop_assert_eq!(v.id(token), id);
                prop_assert!(v.count(id) >= min_count || v.field() == "b");
            }
        }
        let single: Vocabulary = serde_json::from_str(&serde_json::to_string(&vocabs.fields()[0]).unwrap()).unwrap();
        prop_assert_eq!(&single, &vocabs.fields()[0]);
    }

    #[test]
    fn tokenizer_never_panics_and_emits_clean_tokens(
        text in "\\PC{0,80}|.{0,80}",
        lowercase in any::<bool>(),
        keep_punctuation in any::<bool>(),
        max_tokens in 0usize..20,
    ) {
        let opts = TextOptions { lowercase, keep_punctuation, max_tokens };
        let tokens = tokenize(&text, &opts);
        prop_assert!(tokens.len() <= max_tokens);
        for t in &tokens {
            prop_assert!(!t.is_empty());
            prop_assert!(!t.chars().any(char::is_whitespace), "{:?}", t);
        }
    }

    #[test]
    fn tokenizing_tokens_again_is_stable(words in prop::collection::vec("[A-Za-z0-9àáâäçèéêëíîïñóôöúûüÀÉÖÜß]{1,8}", 0..10)) {
        let opts = TextOptions::default();
        let tokens = tokenize(&words.join(" - "), &opts);
        prop_assert_eq!(tokenize(&tokens.join(" "), &opts), tokens.clone());
        prop_assert_eq!(tokens.len(), words.len());
    }

    #[test]
    fn timestamp_parser_never_panics(text in "\\PC{0,40}|[0-9: T+.Z-]{0,30}") {
        for format in [TimestampFormat::Auto, TimestampFormat::Rfc3339, TimestampFormat::DateTime,
                       TimestampFormat::EpochSeconds, TimestampFormat::EpochMillis] {
            let _ = parse_timestamp(&text, format);
        }
    }

    #[test]
    fn timestamps_round_trip(t in -5_000_000_000i64..10_000_000_000) {
        let s = format_timestamp(t);
        prop_assert_eq!(parse_timestamp(&s, TimestampFormat::DateTime), Some(t));
        prop_assert_eq!(parse_timestamp(&format!("{}Z", s.replace(' ', "T")), TimestampFormat::Rfc3339), Some(t));
    }
}
