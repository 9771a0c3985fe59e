//! The feature schema: which column is the product id, what kind each feature field is, how the
//! event log's columns map to events, and which rows to skip.
//!
//! A schema is written in TOML ([`SchemaSpec`], plain serde data) and checked once, up front,
//! into a [`FeatureSchema`] — the only type the readers accept. Unknown field kinds, duplicate
//! names, a missing id column or an option that does not apply to a field's kind are errors
//! before any data is read.
//!
//! ```toml
//! id = "product_id"                 # the column (CSV) or key (JSON Lines) holding product ids
//!
//! [[fields]]
//! name = "brand"
//! kind = "categorical"              # categorical | multi_categorical | text
//!
//! [[fields]]
//! name = "categories"
//! kind = "multi_categorical"
//! separator = "|"                   # or: list = "json" for a JSON array
//!
//! [[fields]]
//! name = "title"
//! kind = "text"
//! max_tokens = 32
//! required = true
//!
//! [catalog]
//! duplicate_ids = "error"           # error | first | last | most_frequent
//! invalid_rows = "error"            # error | skip (skipped rows are counted by reason)
//!
//! [events]
//! user = "user_id"
//! product = "product_id"
//! timestamp = "timestamp"           # RFC 3339, YYYY-MM-DD HH:MM:SS or epoch seconds
//! kind = "event"                    # optional; default kind "purchase"
//! quantity = "quantity"             # optional; default 1
//! basket = "order_id"               # optional
//!
//! [[events.skip]]                   # rows skipped by policy, counted under `reason`
//! column = "user_id"
//! when = "empty"
//! ```

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use crate::text::TextOptions;

/// Default cap on tokens kept per text value.
pub const DEFAULT_MAX_TOKENS: usize = 32;
/// Default cap on values kept per multi-valued field.
pub const DEFAULT_MAX_VALUES: usize = 16;
/// Default separator of multi-valued fields.
pub const DEFAULT_SEPARATOR: &str = "|";
/// Event kind given to events when the schema maps no kind column.
pub const DEFAULT_EVENT_KIND: &str = "purchase";

/// The kind of a feature field, as written in the schema file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKindName {
    /// One value per product (e.g. brand).
    Categorical,
    /// Several values per product (e.g. categories), separated or as a JSON list.
    MultiCategorical,
    /// Free text (name, description), tokenised into words.
    Text,
}

impl std::fmt::Display for FieldKindName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Categorical => "categorical",
            Self::MultiCategorical => "multi_categorical",
            Self::Text => "text",
        })
    }
}

/// How the values of a multi-valued field are written in one cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// Values separated by a string, e.g. `"toys|gifts"`.
    Separated(String),
    /// A JSON array of strings, e.g. `["toys","gifts"]` (in JSON Lines input: an array value).
    Json,
}

/// How a list is written in the schema file: `list = "separated"` (default, with `separator`)
/// or `list = "json"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListStyle {
    /// Values separated by `separator`.
    Separated,
    /// A JSON array.
    Json,
}

/// One feature field as written in the schema file (unchecked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The field's name, unique in the schema; used by tower configs and vocabularies.
    pub name: String,
    /// The input column (CSV) or key (JSON Lines); defaults to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The field's kind.
    pub kind: FieldKindName,
    /// Multi-valued fields: how the list is written (default `separated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<ListStyle>,
    /// Multi-valued fields with `list = "separated"`: the separator (default `|`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// Lower-case values before building vocabularies (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowercase: Option<bool>,
    /// Values (or words) seen fewer times than this in training products map to the unknown
    /// id (default 1: keep every value seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<u32>,
    /// Text fields: keep at most this many tokens (default 32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<usize>,
    /// Multi-valued fields: keep at most this many values (default 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_values: Option<usize>,
    /// Text fields: keep punctuation characters as tokens of their own (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_punctuation: Option<bool>,
    /// A product whose value is missing or empty is an error (or a skipped row, by the
    /// section's `invalid_rows` policy). Default false: the value is simply absent.
    #[serde(default)]
    pub required: bool,
}

/// What to do with catalog rows whose product id was already seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// A duplicate id is an error naming both lines (default).
    #[default]
    Error,
    /// Keep the first row's values.
    First,
    /// Keep the last row's values.
    Last,
    /// Per field, keep the value seen most often for the id (ties: the first seen). Suits
    /// catalogs derived from transaction logs, where one code carries several spellings.
    MostFrequent,
}

/// What to do with rows that cannot be used: wrong column count, invalid UTF-8, a value that
/// does not parse, a missing required field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidRowPolicy {
    /// Stop with an error naming file, line and field (default).
    #[default]
    Error,
    /// Skip the row and count it by reason in the read report.
    Skip,
}

/// A rule that skips rows by policy (the skipped rows are counted under the rule's reason).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRule {
    /// The column the rule looks at.
    pub column: String,
    /// The condition.
    pub when: SkipWhen,
    /// The argument of `starts_with` / `equals`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The label under which skipped rows are counted (default: generated from the rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The condition of a [`SkipRule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipWhen {
    /// The value is missing or blank.
    Empty,
    /// The value starts with `value`.
    StartsWith,
    /// The value equals `value`.
    Equals,
    /// The value parses as a number ≤ 0 (a value that does not parse is an invalid row).
    NotPositive,
}

/// Options of the `[catalog]` section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSpec {
    /// Duplicate product ids: error (default), first, last or most_frequent.
    #[serde(default)]
    pub duplicate_ids: DuplicatePolicy,
    /// Unusable rows: error (default) or skip.
    #[serde(default)]
    pub invalid_rows: InvalidRowPolicy,
    /// CSV delimiter (one ASCII character, default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Rows skipped by policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<SkipRule>,
}

/// How timestamps are written in the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    /// Any of the formats below, recognised per value (default).
    #[default]
    Auto,
    /// RFC 3339, e.g. `2011-12-09T12:50:00Z` or with an offset `+02:00`.
    Rfc3339,
    /// `YYYY-MM-DD HH:MM:SS` (or with `T`), read as UTC; a bare `YYYY-MM-DD` is midnight.
    DateTime,
    /// Seconds since 1970-01-01T00:00:00Z (integer or decimal).
    EpochSeconds,
    /// Milliseconds since 1970-01-01T00:00:00Z.
    EpochMillis,
}

/// The `[events]` section: which columns hold user, product, time and the optional extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSpec {
    /// The user (customer, household, session) column.
    pub user: String,
    /// The product id column; its values are looked up in the catalog.
    pub product: String,
    /// The timestamp column.
    pub timestamp: String,
    /// How timestamps are written (default `auto`).
    #[serde(default)]
    pub timestamp_format: TimestampFormat,
    /// The event kind column (e.g. `purchase`, `view`); absent: every event is a purchase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The quantity column; absent: quantity 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    /// The basket / order / session column; absent: no basket ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basket: Option<String>,
    /// Unusable rows: error (default) or skip.
    #[serde(default)]
    pub invalid_rows: InvalidRowPolicy,
    /// CSV delimiter (one ASCII character, default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Rows skipped by policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<SkipRule>,
}

/// A schema file as written (serde data, unchecked). Turn it into a [`FeatureSchema`] with
/// [`SchemaSpec::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSpec {
    /// The product id column (CSV) or key (JSON Lines).
    pub id: String,
    /// The feature fields, in order.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// Catalog reading options.
    #[serde(default)]
    pub catalog: CatalogSpec,
    /// The event log's column mapping (needed only to read events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsSpec>,
}

/// The checked kind of a field, with its kind-specific options.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// One value per product.
    Categorical,
    /// Several values per product.
    MultiCategorical {
        /// How the list is written.
        list: ListFormat,
        /// At most this many values are kept (the first ones).
        max_values: usize,
    },
    /// Free text.
    Text {
        /// At most this many tokens are kept (the first ones).
        max_tokens: usize,
        /// Punctuation characters become tokens of their own.
        keep_punctuation: bool,
    },
}

impl FieldKind {
    /// The kind's name as written in schema files.
    pub fn name(&self) -> FieldKindName {
        match self {
            Self::Categorical => FieldKindName::Categorical,
            Self::MultiCategorical { .. } => FieldKindName::MultiCategorical,
            Self::Text { .. } => FieldKindName::Text,
        }
    }
}

/// A checked feature field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    /// The field's unique name.
    pub name: String,
    /// The input column or key.
    pub column: String,
    /// The kind and its options.
    pub kind: FieldKind,
    /// Values are lower-cased before vocabulary lookup.
    pub lowercase: bool,
    /// Minimum count in training products for a value to get its own vocabulary id.
    pub min_count: u32,
    /// Missing values are errors (or skipped rows).
    pub required: bool,
}

impl Field {
    /// The text normalisation options this field uses.
    pub fn text_options(&self) -> TextOptions {
        let (max_tokens, keep_punctuation) = match self.kind {
            FieldKind::Text {
                max_tokens,
                keep_punctuation,
            } => (max_tokens, keep_punctuation),
            _ => (usize::MAX, false),
        };
        TextOptions {
            lowercase: self.lowercase,
            keep_punctuation,
            max_tokens,
        }
    }
}

/// A checked skip rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedSkipRule {
    /// The column looked at.
    pub column: String,
    /// The condition, with its argument.
    pub condition: SkipCondition,
    /// The label skipped rows are counted under.
    pub reason: String,
}

/// A checked skip condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipCondition {
    /// Missing or blank.
    Empty,
    /// Starts with the string.
    StartsWith(String),
    /// Equals the string.
    Equals(String),
    /// A number ≤ 0.
    NotPositive,
}

/// Checked options of one input table (catalog or events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableOptions {
    /// The CSV delimiter byte.
    pub delimiter: u8,
    /// Unusable rows: error or skip.
    pub invalid_rows: InvalidRowPolicy,
    /// Rows skipped by policy, tried in order (a row is counted under the first rule it meets).
    pub skip: Vec<CheckedSkipRule>,
}

/// The checked `[events]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSchema {
    /// User column.
    pub user: String,
    /// Product id column.
    pub product: String,
    /// Timestamp column.
    pub timestamp: String,
    /// Timestamp format.
    pub timestamp_format: TimestampFormat,
    /// Optional event kind column.
    pub kind: Option<String>,
    /// Optional quantity column.
    pub quantity: Option<String>,
    /// Optional basket column.
    pub basket: Option<String>,
    /// Table options.
    pub table: TableOptions,
}

/// A checked schema: the only form the catalog and event readers accept.
///
/// ```
/// use deeprecs_core::{FeatureSchema, FieldKindName};
/// let schema = FeatureSchema::from_toml_str(r#"
///     id = "sku"
///     [[fields]]
///     name = "title"
///     kind = "text"
/// "#, "<example>")?;
/// assert_eq!(schema.id_column(), "sku");
/// assert_eq!(schema.fields()[0].kind.name(), FieldKindName::Text);
///
/// // A field kind the library does not know is an error before any data is read.
/// let err = FeatureSchema::from_toml_str("id = \"sku\"\n[[fields]]\nname = \"x\"\nkind = \"colour\"\n", "<bad>")
///     .unwrap_err();
/// assert!(err.to_string().contains("unknown variant `colour`"));
/// # Ok::<(), deeprecs_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSchema {
    id_column: String,
    fields: Vec<Field>,
    duplicate_ids: DuplicatePolicy,
    catalog: TableOptions,
    events: Option<EventSchema>,
}

impl FeatureSchema {
    /// Reads and checks a schema TOML file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            at: Location::file(&name),
            source,
        })?;
        Self::from_toml_str(&text, &name)
    }

    /// Parses and checks a schema from TOML text; `source_name` names it in errors.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Self> {
        let spec: SchemaSpec = toml::from_str(text).map_err(|e| Error::SchemaSyntax {
            at: Location::file(source_name),
            message: e.to_string().trim_end().to_owned(),
        })?;
        spec.check_named(source_name)
    }

    /// The product id column.
    pub fn id_column(&self) -> &str {
        &self.id_column
    }

    /// The feature fields, in schema order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The index of the field named `name`.
    pub fn field_index(&self, name: &str) -> Result<usize> {
        self.fields
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| Error::UnknownField {
                name: name.to_owned(),
                declared: self
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Result<&Field> {
        Ok(&self.fields[self.field_index(name)?])
    }

    /// The duplicate-id policy of the catalog.
    pub fn duplicate_ids(&self) -> DuplicatePolicy {
        self.duplicate_ids
    }

    /// The catalog table options.
    pub fn catalog_options(&self) -> &TableOptions {
        &self.catalog
    }

    /// The event log mapping, if the schema has an `[events]` section.
    pub fn events(&self) -> Option<&EventSchema> {
        self.events.as_ref()
    }

    /// Back to the plain, serialisable form (round-trips through [`SchemaSpec::check`]).
    pub fn to_spec(&self) -> SchemaSpec {
        let fields = self
            .fields
            .iter()
            .map(|f| {
                let mut spec = FieldSpec {
                    name: f.name.clone(),
                    column: (f.column != f.name).then(|| f.column.clone()),
                    kind: f.kind.name(),
                    list: None,
                    separator: None,
                    lowercase: Some(f.lowercase),
                    min_count: Some(f.min_count),
                    max_tokens: None,
                    max_values: None,
                    keep_punctuation: None,
                    required: f.required,
                };
                match &f.kind {
                    FieldKind::Categorical => {}
                    FieldKind::MultiCategorical { list, max_values } => {
                        spec.max_values = Some(*max_values);
                        match list {
                            ListFormat::Json => spec.list = Some(ListStyle::Json),
                            ListFormat::Separated(sep) => {
                                spec.list = Some(ListStyle::Separated);
                                spec.separator = Some(sep.clone());
                            }
                        }
                    }
                    FieldKind::Text {
                        max_tokens,
                        keep_punctuation,
                    } => {
                        spec.max_tokens = Some(*max_tokens);
                        spec.keep_punctuation = Some(*keep_punctuation);
                    }
                }
                spec
            })
            .collect();
        let rules = |t: &TableOptions| {
            t.skip
                .iter()
                .map(|r| {
                    let (when, value) = match &r.condition {
                        SkipCondition::Empty => (SkipWhen::Empty, None),
                        SkipCondition::StartsWith(v) => (SkipWhen::StartsWith, Some(v.clone())),
                        SkipCondition::Equals(v) => (SkipWhen::Equals, Some(v.clone())),
                        SkipCondition::NotPositive => (SkipWhen::NotPositive, None),
                    };
                    SkipRule {
                        column: r.column.clone(),
                        when,
                        value,
                        reason: Some(r.reason.clone()),
                    }
                })
                .collect::<Vec<_>>()
        };
        let delimiter = |t: &TableOptions| Some(char::from(t.delimiter).to_string());
        SchemaSpec {
            id: self.id_column.clone(),
            fields,
            catalog: CatalogSpec {
                duplicate_ids: self.duplicate_ids,
                invalid_rows: self.catalog.invalid_rows,
                delimiter: delimiter(&self.catalog),
                skip: rules(&self.catalog),
            },
            events: self.events.as_ref().map(|e| EventsSpec {
                user: e.user.clone(),
                product: e.product.clone(),
                timestamp: e.timestamp.clone(),
                timestamp_format: e.timestamp_format,
                kind: e.kind.clone(),
                quantity: e.quantity.clone(),
                basket: e.basket.clone(),
                invalid_rows: e.table.invalid_rows,
                delimiter: delimiter(&e.table),
                skip: rules(&e.table),
            }),
        }
    }

    /// The schema as TOML text.
    pub fn to_toml_string(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        toml::to_string_pretty(&self.to_spec()).unwrap_or_default()
    }
}

impl SchemaSpec {
    /// Checks the schema into a [`FeatureSchema`].
    pub fn check(self) -> Result<FeatureSchema> {
        self.check_named("<schema>")
    }

    /// Checks the schema, naming it `source_name` in errors.
    pub fn check_named(self, source_name: &str) -> Result<FeatureSchema> {
        let err = |field: Option<&str>, message: String| {
            let mut at = Location::file(source_name);
            at.field = field.map(str::to_owned);
            Error::Schema { at, message }
        };
        if self.id.trim().is_empty() {
            return Err(err(
                Some("id"),
                "the product id column is empty; expected `id = \"<column name>\"`".into(),
            ));
        }
        let mut names = HashSet::new();
        let mut columns = HashSet::new();
        let mut fields = Vec::with_capacity(self.fields.len());
        for spec in self.fields {
            let name = spec.name.trim().to_owned();
            if name.is_empty() {
                return Err(err(None, "a field has an empty `name`".into()));
            }
            let f = Some(name.as_str());
            if !names.insert(name.clone()) {
                return Err(err(
                    f,
                    format!("duplicate field name {name:?}; names must be unique"),
                ));
            }
            let column = spec.column.clone().unwrap_or_else(|| name.clone());
            if column == self.id {
                return Err(err(
                    f,
                    format!(
                        "column {column:?} is the product id column; it cannot also be a feature"
                    ),
                ));
            }
            if !columns.insert(column.clone()) {
                return Err(err(f, format!("column {column:?} is used by two fields")));
            }
            let not_for = |option: &str, kinds: &str| {
                err(
                    f,
                    format!(
                        "option `{option}` applies to {kinds} fields only, and this field is {}",
                        spec.kind
                    ),
                )
            };
            let min_count = spec.min_count.unwrap_or(1);
            if min_count == 0 {
                return Err(err(f, "`min_count` must be at least 1".into()));
            }
            let kind = match spec.kind {
                FieldKindName::Categorical => {
                    if spec.list.is_some() {
                        return Err(not_for("list", "multi_categorical"));
                    }
                    if spec.separator.is_some() {
                        return Err(not_for("separator", "multi_categorical"));
                    }
                    if spec.max_values.is_some() {
                        return Err(not_for("max_values", "multi_categorical"));
                    }
                    if spec.max_tokens.is_some() {
                        return Err(not_for("max_tokens", "text"));
                    }
                    if spec.keep_punctuation.is_some() {
                        return Err(not_for("keep_punctuation", "text"));
                    }
                    FieldKind::Categorical
                }
                FieldKindName::MultiCategorical => {
                    if spec.max_tokens.is_some() {
                        return Err(not_for("max_tokens", "text"));
                    }
                    if spec.keep_punctuation.is_some() {
                        return Err(not_for("keep_punctuation", "text"));
                    }
                    let list = match (spec.list.unwrap_or(ListStyle::Separated), spec.separator) {
                        (ListStyle::Json, Some(_)) => {
                            return Err(err(
                                f,
                                "`separator` cannot be combined with `list = \"json\"`".into(),
                            ));
                        }
                        (ListStyle::Json, None) => ListFormat::Json,
                        (ListStyle::Separated, Some(sep)) if sep.is_empty() => {
                            return Err(err(f, "`separator` must not be empty".into()));
                        }
                        (ListStyle::Separated, sep) => ListFormat::Separated(
                            sep.unwrap_or_else(|| DEFAULT_SEPARATOR.to_owned()),
                        ),
                    };
                    let max_values = spec.max_values.unwrap_or(DEFAULT_MAX_VALUES);
                    if max_values == 0 {
                        return Err(err(f, "`max_values` must be at least 1".into()));
                    }
                    FieldKind::MultiCategorical { list, max_values }
                }
                FieldKindName::Text => {
                    if spec.list.is_some() {
                        return Err(not_for("list", "multi_categorical"));
                    }
                    if spec.separator.is_some() {
                        return Err(not_for("separator", "multi_categorical"));
                    }
                    if spec.max_values.is_some() {
                        return Err(not_for("max_values", "multi_categorical"));
                    }
                    let max_tokens = spec.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
                    if max_tokens == 0 {
                        return Err(err(f, "`max_tokens` must be at least 1".into()));
                    }
                    FieldKind::Text {
                        max_tokens,
                        keep_punctuation: spec.keep_punctuation.unwrap_or(false),
                    }
                }
            };
            fields.push(Field {
                name,
                column,
                kind,
                lowercase: spec.lowercase.unwrap_or(true),
                min_count,
                required: spec.required,
            });
        }
        let table = |section: &str,
                     delimiter: Option<String>,
                     invalid_rows: InvalidRowPolicy,
                     skip: Vec<SkipRule>|
         -> Result<TableOptions> {
            let delimiter = match delimiter.as_deref() {
                None => b',',
                Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
                Some("\\t") => b'\t',
                Some(d) => {
                    return Err(err(
                        Some(&format!("{section}.delimiter")),
                        format!("expected one ASCII character, found {d:?}"),
                    ));
                }
            };
            let skip = skip
                .into_iter()
                .map(|rule| check_skip_rule(rule, section, &err))
                .collect::<Result<Vec<_>>>()?;
            Ok(TableOptions {
                delimiter,
                invalid_rows,
                skip,
            })
        };
        let catalog = table(
            "catalog",
            self.catalog.delimiter,
            self.catalog.invalid_rows,
            self.catalog.skip,
        )?;
        let events = match self.events {
            None => None,
            Some(e) => {
                for (key, value) in [
                    ("events.user", &e.user),
                    ("events.product", &e.product),
                    ("events.timestamp", &e.timestamp),
                ] {
                    if value.trim().is_empty() {
                        return Err(err(Some(key), "the column name is empty".into()));
                    }
                }
                Some(EventSchema {
                    table: table("events", e.delimiter, e.invalid_rows, e.skip)?,
                    user: e.user,
                    product: e.product,
                    timestamp: e.timestamp,
                    timestamp_format: e.timestamp_format,
                    kind: e.kind,
                    quantity: e.quantity,
                    basket: e.basket,
                })
            }
        };
        Ok(FeatureSchema {
            id_column: self.id,
            fields,
            duplicate_ids: self.catalog.duplicate_ids,
            catalog,
            events,
        })
    }
}

fn check_skip_rule(
    rule: SkipRule,
    section: &str,
    err: &dyn Fn(Option<&str>, String) -> Error,
) -> Result<CheckedSkipRule> {
    let key = format!("{section}.skip");
    let condition = match (rule.when, rule.value) {
        (SkipWhen::Empty, None) => SkipCondition::Empty,
        (SkipWhen::NotPositive, None) => SkipCondition::NotPositive,
        (SkipWhen::StartsWith, Some(v)) => SkipCondition::StartsWith(v),
        (SkipWhen::Equals, Some(v)) => SkipCondition::Equals(v),
        (when @ (SkipWhen::Empty | SkipWhen::NotPositive), Some(_)) => {
            return Err(err(
                Some(&key),
                format!(
                    "rule on column {:?}: `when = {when:?}` takes no `value`",
                    rule.column
                ),
            ));
        }
        (when, None) => {
            return Err(err(
                Some(&key),
                format!(
                    "rule on column {:?}: `when = {when:?}` needs a `value`",
                    rule.column
                ),
            ));
        }
    };
    let reason = rule.reason.unwrap_or_else(|| match &condition {
        SkipCondition::Empty => format!("{} is empty", rule.column),
        SkipCondition::StartsWith(v) => format!("{} starts with {v:?}", rule.column),
        SkipCondition::Equals(v) => format!("{} equals {v:?}", rule.column),
        SkipCondition::NotPositive => format!("{} is not positive", rule.column),
    });
    Ok(CheckedSkipRule {
        column: rule.column,
        condition,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<FeatureSchema> {
        FeatureSchema::from_toml_str(text, "s.toml")
    }

    #[test]
    fn minimal_schema_gets_defaults() {
        let s = check("id = \"sku\"\n[[fields]]\nname = \"cats\"\nkind = \"multi_categorical\"\n")
            .unwrap();
        let f = &s.fields()[0];
        assert_eq!(f.column, "cats");
        assert!(f.lowercase);
        assert_eq!(f.min_count, 1);
        assert_eq!(
            f.kind,
            FieldKind::MultiCategorical {
                list: ListFormat::Separated("|".into()),
                max_values: DEFAULT_MAX_VALUES
            }
        );
        assert_eq!(s.catalog_options().delimiter, b',');
        assert!(s.events().is_none());
    }

    #[test]
    fn unknown_kind_is_a_syntax_error_with_position() {
        let e = check("id = \"sku\"\n[[fields]]\nname = \"x\"\nkind = \"colour\"\n").unwrap_err();
        assert!(matches!(e, Error::SchemaSyntax { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("s.toml"), "{msg}");
        assert!(msg.contains("line 4"), "{msg}");
    }

    #[test]
    fn missing_id_is_an_error() {
        let e = check("[[fields]]\nname = \"x\"\nkind = \"text\"\n").unwrap_err();
        assert!(matches!(e, Error::SchemaSyntax { .. }), "{e}");
        assert!(e.to_string().contains("missing field `id`"), "{e}");
        let e = check("id = \" \"\n").unwrap_err();
        assert!(matches!(e, Error::Schema { .. }), "{e}");
    }

    #[test]
    fn duplicate_field_names_are_errors() {
        let e = check(
            "id = \"sku\"\n[[fields]]\nname = \"a\"\nkind = \"text\"\n[[fields]]\nname = \"a\"\ncolumn = \"b\"\nkind = \"categorical\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("duplicate field name \"a\""), "{e}");
    }

    #[test]
    fn options_must_fit_the_kind() {
        let e = check(
            "id = \"sku\"\n[[fields]]\nname = \"a\"\nkind = \"categorical\"\nmax_tokens = 3\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("`max_tokens` applies to text"),
            "{e}"
        );
        let e =
            check("id = \"sku\"\n[[fields]]\nname = \"a\"\nkind = \"text\"\nseparator = \",\"\n")
                .unwrap_err();
        assert!(e.to_string().contains("field `a`"), "{e}");
        let e = check(
            "id = \"sku\"\n[[fields]]\nname = \"a\"\nkind = \"multi_categorical\"\nlist = \"json\"\nseparator = \",\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot be combined"), "{e}");
        let e = check("id = \"sku\"\n[[fields]]\nname = \"a\"\nkind = \"text\"\nmax_tokens = 0\n")
            .unwrap_err();
        assert!(e.to_string().contains("at least 1"), "{e}");
    }

    #[test]
    fn id_column_cannot_be_a_feature() {
        let e = check("id = \"sku\"\n[[fields]]\nname = \"sku\"\nkind = \"categorical\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("product id column"), "{e}");
    }

    #[test]
    fn unknown_options_are_rejected() {
        let e = check("id = \"sku\"\n[[fields]]\nname = \"a\"\nkind = \"text\"\nmax_tokenz = 3\n")
            .unwrap_err();
        assert!(e.to_string().contains("max_tokenz"), "{e}");
    }

    #[test]
    fn skip_rules_are_checked() {
        let ok = check(
            "id = \"sku\"\n[events]\nuser = \"u\"\nproduct = \"sku\"\ntimestamp = \"t\"\n[[events.skip]]\ncolumn = \"inv\"\nwhen = \"starts_with\"\nvalue = \"C\"\n",
        )
        .unwrap();
        let rule = &ok.events().unwrap().table.skip[0];
        assert_eq!(rule.condition, SkipCondition::StartsWith("C".into()));
        assert_eq!(rule.reason, "inv starts with \"C\"");
        let e = check(
            "id = \"sku\"\n[events]\nuser = \"u\"\nproduct = \"sku\"\ntimestamp = \"t\"\n[[events.skip]]\ncolumn = \"inv\"\nwhen = \"starts_with\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs a `value`"), "{e}");
    }

    #[test]
    fn bad_delimiter_is_an_error() {
        let e = check("id = \"sku\"\n[catalog]\ndelimiter = \";;\"\n").unwrap_err();
        assert!(e.to_string().contains("catalog.delimiter"), "{e}");
        let s = check("id = \"sku\"\n[catalog]\ndelimiter = \"\\\\t\"\n").unwrap();
        assert_eq!(s.catalog_options().delimiter, b'\t');
    }

    #[test]
    fn unknown_field_lookup_names_declared_fields() {
        let s = check("id = \"sku\"\n[[fields]]\nname = \"a\"\nkind = \"text\"\n").unwrap();
        let e = s.field_index("b").unwrap_err();
        assert_eq!(e.to_string(), "unknown field \"b\"; the schema declares: a");
    }
}
