//! The product catalog: products with typed field values, read from CSV or JSON Lines by a
//! [`FeatureSchema`].

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result, clip};
use crate::schema::{
    DuplicatePolicy, FeatureSchema, Field, FieldKind, InvalidRowPolicy, ListFormat,
};
use crate::table::{
    Cell, ReadReport, Row, RowFilter, SkipReason, TableFormat, TableReader, boxed_bytes, row_fault,
};

/// Dense index of a product in its [`Catalog`] (0-based, `u32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProductIdx(pub u32);

impl ProductIdx {
    /// The index as `usize`, for slicing.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One field value of one product.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldValue {
    /// No value (missing or blank in the input).
    Missing,
    /// The value of a categorical field (trimmed, not yet normalised).
    Categorical(String),
    /// The values of a multi-valued field, in input order (blank items dropped).
    Multi(Vec<String>),
    /// The text of a text field (trimmed).
    Text(String),
}

impl FieldValue {
    /// True for [`FieldValue::Missing`].
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Missing)
    }

    /// A short human-readable rendering (multi values joined by `|`).
    pub fn display(&self) -> String {
        match self {
            Self::Missing => String::new(),
            Self::Categorical(s) | Self::Text(s) => s.clone(),
            Self::Multi(v) => v.join("|"),
        }
    }

    /// Parses a JSON value as a value of `field` (for new products given as JSON).
    pub fn from_json(field: &Field, value: &serde_json::Value) -> Result<Self> {
        let cell = match value {
            serde_json::Value::Null => Cell::Missing,
            serde_json::Value::String(s) => Cell::Text(s.clone()),
            serde_json::Value::Number(n) => Cell::Text(n.to_string()),
            serde_json::Value::Bool(b) => Cell::Text(b.to_string()),
            serde_json::Value::Array(items) => Cell::List(
                items
                    .iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => Ok(s.clone()),
                        serde_json::Value::Number(n) => Ok(n.to_string()),
                        _ => Err(Error::Json {
                            at: Location::file("<json>").with_field(&field.name),
                            message: "list items must be strings or numbers".into(),
                        }),
                    })
                    .collect::<Result<_>>()?,
            ),
            serde_json::Value::Object(_) => {
                return Err(Error::Json {
                    at: Location::file("<json>").with_field(&field.name),
                    message: "expected a string, number or list, found an object".into(),
                });
            }
        };
        parse_cell(
            field,
            &cell,
            &Location::file("<json>").with_field(&field.name),
        )
    }
}

/// Parses a cell as a value of `field`; `at` names file, line and field in errors.
fn parse_cell(field: &Field, cell: &Cell, at: &Location) -> Result<FieldValue> {
    let value = match (&field.kind, cell) {
        (_, Cell::Missing) => FieldValue::Missing,
        (FieldKind::Categorical, Cell::Text(s)) => match s.trim() {
            "" => FieldValue::Missing,
            v => FieldValue::Categorical(v.to_owned()),
        },
        (FieldKind::Text { .. }, Cell::Text(s)) => match s.trim() {
            "" => FieldValue::Missing,
            v => FieldValue::Text(v.to_owned()),
        },
        (FieldKind::Categorical | FieldKind::Text { .. }, Cell::List(_)) => {
            return Err(Error::InvalidValue {
                at: at.clone(),
                value: "[…]".into(),
                expected: format!("one value for a {} field, not a list", field.kind.name()),
            });
        }
        (FieldKind::MultiCategorical { .. }, Cell::List(items)) => {
            multi(items.iter().map(String::as_str))
        }
        (FieldKind::MultiCategorical { list, .. }, Cell::Text(s)) => match list {
            ListFormat::Separated(sep) => multi(s.split(sep.as_str())),
            ListFormat::Json if s.trim().is_empty() => FieldValue::Missing,
            ListFormat::Json => {
                let items: Vec<serde_json::Value> =
                    serde_json::from_str(s).map_err(|_| Error::InvalidValue {
                        at: at.clone(),
                        value: clip(s),
                        expected: "a JSON list of strings, e.g. [\"a\",\"b\"]".into(),
                    })?;
                let items = items
                    .iter()
                    .filter_map(|v| match v {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(Ok(s.clone())),
                        serde_json::Value::Number(n) => Some(Ok(n.to_string())),
                        _ => Some(Err(Error::InvalidValue {
                            at: at.clone(),
                            value: clip(s),
                            expected: "a JSON list of strings or numbers".into(),
                        })),
                    })
                    .collect::<Result<Vec<_>>>()?;
                multi(items.iter().map(String::as_str))
            }
        },
    };
    if field.required && value.is_missing() {
        return Err(Error::MissingField { at: at.clone() });
    }
    Ok(value)
}

fn multi<'a>(items: impl Iterator<Item = &'a str>) -> FieldValue {
    let values: Vec<String> = items
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if values.is_empty() {
        FieldValue::Missing
    } else {
        FieldValue::Multi(values)
    }
}

/// A borrowed view of one product.
#[derive(Debug, Clone, Copy)]
pub struct ProductRef<'a> {
    /// The product's index in the catalog.
    pub idx: ProductIdx,
    /// The product's external id.
    pub id: &'a str,
    /// Its field values, in schema order.
    pub values: &'a [FieldValue],
}

/// Products with typed field values, indexed densely by [`ProductIdx`].
///
/// ```
/// use deeprecs_core::{Catalog, FeatureSchema, FieldValue};
/// let schema = FeatureSchema::from_toml_str(
///     "id = \"sku\"\n[[fields]]\nname = \"title\"\nkind = \"text\"\n", "<s>")?;
/// let csv = "sku,title\nA1,Red mug\nB2,Tea pot\n";
/// let (catalog, report) = Catalog::from_csv_str(csv, &schema)?;
/// assert_eq!(catalog.len(), 2);
/// assert_eq!(report.rows_kept, 2);
/// let mug = catalog.index_of("A1").unwrap();
/// assert_eq!(catalog.value(mug, 0), &FieldValue::Text("Red mug".into()));
/// # Ok::<(), deeprecs_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    schema: FeatureSchema,
    ids: Vec<String>,
    values: Vec<Vec<FieldValue>>,
    index: HashMap<String, u32>,
}

/// Per product, per field: the values seen and how often (for the most-frequent policy).
type Tally = Vec<Vec<Vec<(FieldValue, u32)>>>;

impl Catalog {
    /// An empty catalog for `schema`, to fill with [`Catalog::push`].
    pub fn new(schema: FeatureSchema) -> Self {
        Self {
            schema,
            ids: Vec::new(),
            values: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Reads a catalog file (CSV or JSON Lines by its name, gzip by its content).
    pub fn read(path: impl AsRef<Path>, schema: &FeatureSchema) -> Result<(Self, ReadReport)> {
        let path = path.as_ref();
        Self::read_as(path, TableFormat::from_path(path), schema)
    }

    /// Reads a catalog file in the given format.
    pub fn read_as(
        path: &Path,
        format: TableFormat,
        schema: &FeatureSchema,
    ) -> Result<(Self, ReadReport)> {
        let (columns, filter) = Self::columns(schema);
        let reader = TableReader::open(path, format, schema.catalog_options().delimiter, columns)?;
        Self::read_rows(reader, filter, schema)
    }

    /// Reads a catalog from CSV text (for tests and examples).
    pub fn from_csv_str(text: &str, schema: &FeatureSchema) -> Result<(Self, ReadReport)> {
        Self::from_reader(
            "<csv>",
            boxed_bytes(text.as_bytes().to_vec()),
            TableFormat::Csv,
            schema,
        )
    }

    /// Reads a catalog from any buffered reader; `name` names it in errors.
    pub fn from_reader(
        name: &str,
        input: Box<dyn BufRead + Send>,
        format: TableFormat,
        schema: &FeatureSchema,
    ) -> Result<(Self, ReadReport)> {
        let (columns, filter) = Self::columns(schema);
        let reader = TableReader::from_reader(
            name.to_owned(),
            input,
            format,
            schema.catalog_options().delimiter,
            columns,
        )?;
        Self::read_rows(reader, filter, schema)
    }

    /// Columns read: id, then fields in order, then skip-rule columns.
    fn columns(schema: &FeatureSchema) -> (Vec<String>, RowFilter) {
        let mut columns = vec![schema.id_column().to_owned()];
        columns.extend(schema.fields().iter().map(|f| f.column.clone()));
        let filter = RowFilter::new(&schema.catalog_options().skip, &mut columns);
        (columns, filter)
    }

    fn read_rows(
        mut reader: TableReader,
        filter: RowFilter,
        schema: &FeatureSchema,
    ) -> Result<(Self, ReadReport)> {
        let file = reader.file().to_owned();
        let mut report = ReadReport::new(&file);
        let mut catalog = Self::new(schema.clone());
        let mut first_lines: Vec<u64> = Vec::new();
        let policy = schema.duplicate_ids();
        let mut tally: Tally = Vec::new();
        let mut row = Row::default();
        let n_fields = schema.fields().len();
        loop {
            let parsed = reader.next_row(&mut row).and_then(|more| {
                if !more {
                    return Ok(None);
                }
                if let Some(reason) = filter.check(&row, &file)? {
                    return Ok(Some(Err(reason)));
                }
                let at = Location::line(&file, row.line);
                let id = match row.cells[0].text() {
                    Some(id) => id.trim().to_owned(),
                    None => {
                        return Err(Error::MissingField {
                            at: at.with_field(schema.id_column()),
                        });
                    }
                };
                let values = schema
                    .fields()
                    .iter()
                    .zip(&row.cells[1..=n_fields])
                    .map(|(f, cell)| parse_cell(f, cell, &at.clone().with_field(&f.column)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some(Ok((id, values))))
            });
            let (id, values) = match parsed {
                Ok(None) => break,
                Ok(Some(Ok(product))) => {
                    report.rows_read += 1;
                    product
                }
                Ok(Some(Err(reason))) => {
                    report.rows_read += 1;
                    report.skip(reason, row.line);
                    continue;
                }
                Err(e) => match row_fault(&e) {
                    Some(reason)
                        if schema.catalog_options().invalid_rows == InvalidRowPolicy::Skip =>
                    {
                        report.rows_read += 1;
                        report.skip(reason, row.line);
                        continue;
                    }
                    _ => return Err(e),
                },
            };
            match catalog.index.get(&id).copied() {
                None => {
                    if policy == DuplicatePolicy::MostFrequent {
                        tally.push(
                            values
                                .iter()
                                .map(|v| {
                                    if v.is_missing() {
                                        vec![]
                                    } else {
                                        vec![(v.clone(), 1)]
                                    }
                                })
                                .collect(),
                        );
                    }
                    catalog.push_unchecked(id, values)?;
                    first_lines.push(row.line);
                    report.rows_kept += 1;
                }
                Some(existing) => {
                    let existing = existing as usize;
                    match policy {
                        DuplicatePolicy::Error => {
                            return Err(Error::DuplicateId {
                                at: Location::line(&file, row.line).with_field(schema.id_column()),
                                id,
                                first_line: first_lines[existing],
                            });
                        }
                        DuplicatePolicy::First => {}
                        DuplicatePolicy::Last => catalog.values[existing] = values,
                        DuplicatePolicy::MostFrequent => {
                            for (slot, v) in tally[existing].iter_mut().zip(values) {
                                if v.is_missing() {
                                    continue;
                                }
                                match slot.iter_mut().find(|(seen, _)| *seen == v) {
                                    Some((_, n)) => *n += 1,
                                    None => slot.push((v, 1)),
                                }
                            }
                        }
                    }
                    report.skip(SkipReason::DuplicateIdMerged, row.line);
                }
            }
        }
        if policy == DuplicatePolicy::MostFrequent {
            for (values, fields) in catalog.values.iter_mut().zip(tally) {
                for (value, counts) in values.iter_mut().zip(fields) {
                    // The first entry with the highest count wins (ties: first seen).
                    let mut best: Option<(FieldValue, u32)> = None;
                    for (v, n) in counts {
                        if best.as_ref().is_none_or(|(_, b)| n > *b) {
                            best = Some((v, n));
                        }
                    }
                    if let Some((v, _)) = best {
                        *value = v;
                    }
                }
            }
        }
        if catalog.is_empty() {
            return Err(Error::EmptyCatalog {
                at: Location::file(&file),
                rows_read: report.rows_read,
            });
        }
        Ok((catalog, report))
    }

    /// Adds a product; its values must match the schema's fields in number and kind.
    /// Returns its index. A duplicate id is an error.
    pub fn push(&mut self, id: impl Into<String>, values: Vec<FieldValue>) -> Result<ProductIdx> {
        let id = id.into();
        if self.index.contains_key(&id) {
            return Err(Error::InvalidParameter {
                name: "id",
                message: format!("product id {id:?} is already in the catalog"),
            });
        }
        self.check_values(&values)?;
        self.push_unchecked(id, values)
    }

    /// Replaces the values of an existing product (checked like [`Catalog::push`]).
    pub fn update(&mut self, idx: ProductIdx, values: Vec<FieldValue>) -> Result<()> {
        if idx.index() >= self.len() {
            return Err(Error::UnknownProduct(format!("#{}", idx.0)));
        }
        self.check_values(&values)?;
        self.values[idx.index()] = values;
        Ok(())
    }

    fn check_values(&self, values: &[FieldValue]) -> Result<()> {
        let fields = self.schema.fields();
        if values.len() != fields.len() {
            return Err(Error::InvalidParameter {
                name: "values",
                message: format!(
                    "expected {} values (one per schema field), found {}",
                    fields.len(),
                    values.len()
                ),
            });
        }
        for (f, v) in fields.iter().zip(values) {
            let ok = matches!(
                (&f.kind, v),
                (_, FieldValue::Missing)
                    | (FieldKind::Categorical, FieldValue::Categorical(_))
                    | (FieldKind::MultiCategorical { .. }, FieldValue::Multi(_))
                    | (FieldKind::Text { .. }, FieldValue::Text(_))
            );
            if !ok {
                return Err(Error::InvalidParameter {
                    name: "values",
                    message: format!("field `{}` is {}, got {v:?}", f.name, f.kind.name()),
                });
            }
            if f.required && v.is_missing() {
                return Err(Error::MissingField {
                    at: Location::file("<values>").with_field(&f.name),
                });
            }
        }
        Ok(())
    }

    fn push_unchecked(&mut self, id: String, values: Vec<FieldValue>) -> Result<ProductIdx> {
        let idx = u32::try_from(self.ids.len()).map_err(|_| Error::InvalidParameter {
            name: "catalog",
            message: "more than 4,294,967,295 products".into(),
        })?;
        self.index.insert(id.clone(), idx);
        self.ids.push(id);
        self.values.push(values);
        Ok(ProductIdx(idx))
    }

    /// Parses a product given as a JSON object (`{"<id column>": "...", "<field column>": ...}`)
    /// into its id and values, without adding it. Used for brand-new products at serving time.
    pub fn parse_json_product(&self, json: &str) -> Result<(String, Vec<FieldValue>)> {
        let at = Location::file("<json product>");
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::Json {
            at: at.clone(),
            message: e.to_string(),
        })?;
        let serde_json::Value::Object(map) = value else {
            return Err(Error::Json {
                at,
                message: "expected a JSON object".into(),
            });
        };
        let id = match map.get(self.schema.id_column()) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => {
                return Err(Error::MissingField {
                    at: at.with_field(self.schema.id_column()),
                });
            }
        };
        let values = self
            .schema
            .fields()
            .iter()
            .map(|f| {
                FieldValue::from_json(f, map.get(&f.column).unwrap_or(&serde_json::Value::Null))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((id, values))
    }

    /// The schema the catalog was read with.
    pub fn schema(&self) -> &FeatureSchema {
        &self.schema
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the catalog has no product.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// All external ids, indexed by [`ProductIdx`].
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The external id of a product. Panics if `idx` is out of range (an invariant: indices
    /// come from this catalog).
    pub fn id(&self, idx: ProductIdx) -> &str {
        &self.ids[idx.index()]
    }

    /// The index of an external id.
    pub fn index_of(&self, id: &str) -> Option<ProductIdx> {
        self.index.get(id).map(|&i| ProductIdx(i))
    }

    /// The index of an external id, or [`Error::UnknownProduct`].
    pub fn require(&self, id: &str) -> Result<ProductIdx> {
        self.index_of(id)
            .ok_or_else(|| Error::UnknownProduct(id.to_owned()))
    }

    /// One value of one product.
    pub fn value(&self, idx: ProductIdx, field: usize) -> &FieldValue {
        &self.values[idx.index()][field]
    }

    /// All values of one product, in schema order.
    pub fn values(&self, idx: ProductIdx) -> &[FieldValue] {
        &self.values[idx.index()]
    }

    /// A view of one product.
    pub fn product(&self, idx: ProductIdx) -> ProductRef<'_> {
        ProductRef {
            idx,
            id: &self.ids[idx.index()],
            values: &self.values[idx.index()],
        }
    }

    /// Iterates over all products in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ProductRef<'_>> + '_ {
        (0..self.len() as u32).map(move |i| self.product(ProductIdx(i)))
    }

    /// A short label for a product: the first text field's value, else its id.
    pub fn label(&self, idx: ProductIdx) -> String {
        let text = self
            .schema
            .fields()
            .iter()
            .position(|f| matches!(f.kind, FieldKind::Text { .. }));
        match text.map(|i| self.value(idx, i)) {
            Some(FieldValue::Text(t)) => t.clone(),
            _ => self.id(idx).to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(extra: &str) -> FeatureSchema {
        FeatureSchema::from_toml_str(
            &format!(
                "id = \"sku\"\n[[fields]]\nname = \"brand\"\nkind = \"categorical\"\n[[fields]]\nname = \"cats\"\nkind = \"multi_categorical\"\n[[fields]]\nname = \"title\"\nkind = \"text\"\nrequired = true\n{extra}"
            ),
            "s.toml",
        )
        .unwrap()
    }

    #[test]
    fn reads_typed_values() {
        let (c, r) = Catalog::from_csv_str(
            "sku,brand,cats,title\nA, Acme ,toys| gifts|,Red car\nB,,,Blue car\n",
            &schema(""),
        )
        .unwrap();
        assert_eq!(r.rows_read, 2);
        let a = c.require("A").unwrap();
        assert_eq!(c.value(a, 0), &FieldValue::Categorical("Acme".into()));
        assert_eq!(
            c.value(a, 1),
            &FieldValue::Multi(vec!["toys".into(), "gifts".into()])
        );
        let b = c.require("B").unwrap();
        assert!(c.value(b, 0).is_missing());
        assert!(c.value(b, 1).is_missing());
        assert_eq!(c.label(b), "Blue car");
        assert!(matches!(c.require("Z"), Err(Error::UnknownProduct(_))));
    }

    #[test]
    fn duplicate_policies() {
        let csv = "sku,brand,cats,title\nA,x,,one\nA,y,,two\nA,y,,one\nB,z,,b\n";
        let e = Catalog::from_csv_str(csv, &schema("")).unwrap_err();
        match &e {
            Error::DuplicateId { at, first_line, .. } => {
                assert_eq!(at.line, Some(3));
                assert_eq!(*first_line, 2);
            }
            other => panic!("{other}"),
        }
        let title = |policy: &str| {
            let s = schema(&format!("[catalog]\nduplicate_ids = \"{policy}\"\n"));
            let (c, r) = Catalog::from_csv_str(csv, &s).unwrap();
            assert_eq!(r.skipped_for(&SkipReason::DuplicateIdMerged), 2);
            assert_eq!(c.len(), 2);
            let a = c.require("A").unwrap();
            (c.value(a, 0).display(), c.value(a, 2).display())
        };
        assert_eq!(title("first"), ("x".into(), "one".into()));
        assert_eq!(title("last"), ("y".into(), "one".into()));
        assert_eq!(title("most_frequent"), ("y".into(), "one".into()));
    }

    #[test]
    fn json_products_parse_by_schema() {
        let (c, _) = Catalog::from_csv_str("sku,brand,cats,title\nA,x,,t\n", &schema("")).unwrap();
        let (id, values) = c
            .parse_json_product(
                r#"{"sku": "N1", "brand": "Acme", "cats": ["a", "b"], "title": "New mug"}"#,
            )
            .unwrap();
        assert_eq!(id, "N1");
        assert_eq!(values[1], FieldValue::Multi(vec!["a".into(), "b".into()]));
        let e = c
            .parse_json_product(r#"{"sku": "N1", "brand": "Acme"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("field `title`"), "{e}");
        let e = c
            .parse_json_product(r#"{"sku": "N1", "title": {"a": 1}}"#)
            .unwrap_err();
        assert!(matches!(e, Error::Json { .. }), "{e}");
    }

    #[test]
    fn push_checks_kinds() {
        let (mut c, _) =
            Catalog::from_csv_str("sku,brand,cats,title\nA,x,,t\n", &schema("")).unwrap();
        let e = c.push(
            "B",
            vec![
                FieldValue::Text("x".into()),
                FieldValue::Missing,
                FieldValue::Text("t".into()),
            ],
        );
        assert!(e.is_err());
        let e = c.push(
            "A",
            vec![
                FieldValue::Missing,
                FieldValue::Missing,
                FieldValue::Text("t".into()),
            ],
        );
        assert!(e.is_err());
        let b = c
            .push(
                "B",
                vec![
                    FieldValue::Missing,
                    FieldValue::Missing,
                    FieldValue::Text("t".into()),
                ],
            )
            .unwrap();
        assert_eq!(b, ProductIdx(1));
    }
}
