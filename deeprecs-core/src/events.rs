//! The event log: who did what to which product, when — read from CSV or JSON Lines through the
//! schema's `[events]` column mapping, with products resolved against a [`Catalog`].

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, ProductIdx};
use crate::error::{Error, Location, Result, clip};
use crate::schema::{DEFAULT_EVENT_KIND, EventSchema, FeatureSchema, InvalidRowPolicy};
use crate::table::{
    ReadReport, Row, RowFilter, SkipReason, TableFormat, TableReader, boxed_bytes, column_slot,
    row_fault,
};
use crate::time::{DAY, EXPECTED_TIMESTAMP, format_timestamp, parse_timestamp};

/// Dense index of a user in its [`EventLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserIdx(pub u32);

impl UserIdx {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Dense index of an event kind (`purchase`, `view`, …) in its [`EventLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KindIdx(pub u16);

/// Dense index of a basket (order, session) in its [`EventLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BasketIdx(pub u32);

/// One event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Who.
    pub user: UserIdx,
    /// Which product.
    pub product: ProductIdx,
    /// When, in seconds since the Unix epoch (UTC).
    pub timestamp: i64,
    /// What kind of event.
    pub kind: KindIdx,
    /// How many (1 when the log has no quantity column).
    pub quantity: f32,
    /// The basket, when the log has a basket column.
    pub basket: Option<BasketIdx>,
}

/// Events in input order, with users, kinds and baskets interned to dense indices.
///
/// ```
/// use deeprecs_core::{Catalog, EventLog, FeatureSchema};
/// let schema = FeatureSchema::from_toml_str(r#"
///     id = "sku"
///     [events]
///     user = "user"
///     product = "sku"
///     timestamp = "time"
/// "#, "<s>")?;
/// let (catalog, _) = Catalog::from_csv_str("sku\nA\nB\n", &schema)?;
/// let csv = "user,sku,time\nu1,A,2024-01-01 10:00:00\nu1,B,2024-01-03T09:00:00Z\nu2,Z,1704100000\n";
/// let (log, report) = EventLog::from_csv_str(csv, &schema, &catalog)?;
/// assert_eq!(log.len(), 2);
/// assert_eq!(log.user_count(), 1);
/// assert_eq!(report.rows_read, 3);
/// assert_eq!(report.skipped_total(), 1); // Z is not in the catalog: counted, not lost
/// # Ok::<(), deeprecs_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventLog {
    events: Vec<Event>,
    users: Vec<String>,
    kinds: Vec<String>,
    baskets: Vec<String>,
}

/// Interns strings to dense indices.
#[derive(Debug, Default)]
struct Interner {
    index: HashMap<String, u32>,
}

impl Interner {
    fn intern(&mut self, names: &mut Vec<String>, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = names.len() as u32;
        names.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

/// Builds an [`EventLog`] event by event, interning users, kinds and baskets.
#[derive(Debug, Default)]
pub struct EventLogBuilder {
    log: EventLog,
    users: Interner,
    kinds: Interner,
    baskets: Interner,
}

impl EventLogBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one event. Fails only when more than 65,535 distinct kinds are used, or the
    /// quantity is not finite.
    pub fn push(
        &mut self,
        user: &str,
        product: ProductIdx,
        timestamp: i64,
        kind: &str,
        quantity: f32,
        basket: Option<&str>,
    ) -> Result<()> {
        if !quantity.is_finite() {
            return Err(Error::InvalidParameter {
                name: "quantity",
                message: format!("must be finite, got {quantity}"),
            });
        }
        let user = UserIdx(self.users.intern(&mut self.log.users, user));
        let kind = self.kinds.intern(&mut self.log.kinds, kind);
        let kind = KindIdx(u16::try_from(kind).map_err(|_| Error::InvalidParameter {
            name: "kind",
            message: "more than 65,535 distinct event kinds".into(),
        })?);
        let basket = basket.map(|b| BasketIdx(self.baskets.intern(&mut self.log.baskets, b)));
        self.log.events.push(Event {
            user,
            product,
            timestamp,
            kind,
            quantity,
            basket,
        });
        Ok(())
    }

    /// Events added so far.
    pub fn len(&self) -> usize {
        self.log.events.len()
    }

    /// True when no event was added.
    pub fn is_empty(&self) -> bool {
        self.log.events.is_empty()
    }

    /// The finished log.
    pub fn build(self) -> EventLog {
        self.log
    }
}

/// Cell positions of the event columns in a row.
struct Slots {
    user: usize,
    product: usize,
    timestamp: usize,
    kind: Option<usize>,
    quantity: Option<usize>,
    basket: Option<usize>,
}

impl EventLog {
    /// Reads an event log file (CSV or JSON Lines by its name, gzip by content). Events whose
    /// product is not in `catalog` are counted in the report, not kept.
    pub fn read(
        path: impl AsRef<Path>,
        schema: &FeatureSchema,
        catalog: &Catalog,
    ) -> Result<(Self, ReadReport)> {
        let path = path.as_ref();
        Self::read_as(path, TableFormat::from_path(path), schema, catalog)
    }

    /// Reads an event log file in the given format.
    pub fn read_as(
        path: &Path,
        format: TableFormat,
        schema: &FeatureSchema,
        catalog: &Catalog,
    ) -> Result<(Self, ReadReport)> {
        let es = Self::event_schema(schema, &path.display().to_string())?;
        let (columns, slots, filter) = Self::columns(es);
        let reader = TableReader::open(path, format, es.table.delimiter, columns)?;
        Self::read_rows(reader, es, slots, filter, catalog)
    }

    /// Reads an event log from CSV text (for tests and examples).
    pub fn from_csv_str(
        text: &str,
        schema: &FeatureSchema,
        catalog: &Catalog,
    ) -> Result<(Self, ReadReport)> {
        Self::from_reader(
            "<csv>",
            boxed_bytes(text.as_bytes().to_vec()),
            TableFormat::Csv,
            schema,
            catalog,
        )
    }

    /// Reads an event log from any buffered reader; `name` names it in errors.
    pub fn from_reader(
        name: &str,
        input: Box<dyn BufRead + Send>,
        format: TableFormat,
        schema: &FeatureSchema,
        catalog: &Catalog,
    ) -> Result<(Self, ReadReport)> {
        let es = Self::event_schema(schema, name)?;
        let (columns, slots, filter) = Self::columns(es);
        let reader =
            TableReader::from_reader(name.to_owned(), input, format, es.table.delimiter, columns)?;
        Self::read_rows(reader, es, slots, filter, catalog)
    }

    fn event_schema<'a>(schema: &'a FeatureSchema, file: &str) -> Result<&'a EventSchema> {
        schema.events().ok_or_else(|| Error::Schema {
            at: Location::file(file),
            message:
                "the schema has no [events] section mapping user, product and timestamp columns"
                    .into(),
        })
    }

    fn columns(es: &EventSchema) -> (Vec<String>, Slots, RowFilter) {
        let mut columns = Vec::new();
        let slots = Slots {
            user: column_slot(&mut columns, &es.user),
            product: column_slot(&mut columns, &es.product),
            timestamp: column_slot(&mut columns, &es.timestamp),
            kind: es.kind.as_ref().map(|c| column_slot(&mut columns, c)),
            quantity: es.quantity.as_ref().map(|c| column_slot(&mut columns, c)),
            basket: es.basket.as_ref().map(|c| column_slot(&mut columns, c)),
        };
        let filter = RowFilter::new(&es.table.skip, &mut columns);
        (columns, slots, filter)
    }

    fn read_rows(
        mut reader: TableReader,
        es: &EventSchema,
        slots: Slots,
        filter: RowFilter,
        catalog: &Catalog,
    ) -> Result<(Self, ReadReport)> {
        let file = reader.file().to_owned();
        let mut report = ReadReport::new(&file);
        let mut builder = EventLogBuilder::new();
        let mut row = Row::default();
        let required = |row: &Row, slot: usize, column: &str| -> Result<String> {
            row.cells[slot]
                .text()
                .map(|s| s.trim().to_owned())
                .ok_or_else(|| Error::MissingField {
                    at: Location::line(&file, row.line).with_field(column),
                })
        };
        loop {
            let outcome = reader.next_row(&mut row).and_then(|more| {
                if !more {
                    return Ok(None);
                }
                if let Some(reason) = filter.check(&row, &file)? {
                    return Ok(Some(Err(reason)));
                }
                let product_id = required(&row, slots.product, &es.product)?;
                let user = required(&row, slots.user, &es.user)?;
                let ts_text = required(&row, slots.timestamp, &es.timestamp)?;
                let timestamp =
                    parse_timestamp(&ts_text, es.timestamp_format).ok_or_else(|| {
                        Error::InvalidValue {
                            at: Location::line(&file, row.line).with_field(&es.timestamp),
                            value: clip(&ts_text),
                            expected: EXPECTED_TIMESTAMP.into(),
                        }
                    })?;
                let quantity = match (slots.quantity, &es.quantity) {
                    (Some(slot), Some(col)) => {
                        let q = required(&row, slot, col)?;
                        match q.parse::<f32>() {
                            Ok(v) if v.is_finite() => v,
                            _ => {
                                return Err(Error::InvalidValue {
                                    at: Location::line(&file, row.line).with_field(col),
                                    value: clip(&q),
                                    expected: "a finite number".into(),
                                });
                            }
                        }
                    }
                    _ => 1.0,
                };
                let kind = match (slots.kind, &es.kind) {
                    (Some(slot), Some(col)) => required(&row, slot, col)?,
                    _ => DEFAULT_EVENT_KIND.to_owned(),
                };
                let basket = match slots.basket {
                    Some(slot) => row.cells[slot].text().map(|s| s.trim().to_owned()),
                    None => None,
                };
                let Some(product) = catalog.index_of(&product_id) else {
                    return Ok(Some(Err(SkipReason::UnknownProduct)));
                };
                Ok(Some(Ok((user, product, timestamp, kind, quantity, basket))))
            });
            match outcome {
                Ok(None) => break,
                Ok(Some(Ok((user, product, timestamp, kind, quantity, basket)))) => {
                    report.rows_read += 1;
                    report.rows_kept += 1;
                    builder
                        .push(
                            &user,
                            product,
                            timestamp,
                            &kind,
                            quantity,
                            basket.as_deref(),
                        )
                        .map_err(|e| match e {
                            Error::InvalidParameter { message, .. } => Error::InvalidValue {
                                at: Location::line(&file, row.line),
                                value: kind.clone(),
                                expected: message,
                            },
                            other => other,
                        })?;
                }
                Ok(Some(Err(reason))) => {
                    report.rows_read += 1;
                    report.skip(reason, row.line);
                }
                Err(e) => match row_fault(&e) {
                    Some(reason) if es.table.invalid_rows == InvalidRowPolicy::Skip => {
                        report.rows_read += 1;
                        report.skip(reason, row.line);
                    }
                    _ => return Err(e),
                },
            }
        }
        Ok((builder.build(), report))
    }

    /// The events, in input order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when there is no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Number of distinct users.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The external id of a user.
    pub fn user_id(&self, user: UserIdx) -> &str {
        &self.users[user.index()]
    }

    /// Event kind names, indexed by [`KindIdx`].
    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// The index of a kind name, if any event has it.
    pub fn kind_index(&self, name: &str) -> Option<KindIdx> {
        self.kinds
            .iter()
            .position(|k| k == name)
            .map(|i| KindIdx(i as u16))
    }

    /// Number of distinct baskets (0 when the log has no basket column).
    pub fn basket_count(&self) -> usize {
        self.baskets.len()
    }

    /// The earliest and latest timestamps, or `None` for an empty log.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        let min = self.events.iter().map(|e| e.timestamp).min()?;
        let max = self.events.iter().map(|e| e.timestamp).max()?;
        Some((min, max))
    }

    /// Events per product, indexed by [`ProductIdx`] for a catalog of `n_products`.
    pub fn events_per_product(&self, n_products: usize) -> Vec<u32> {
        let mut counts = vec![0u32; n_products];
        for e in &self.events {
            if let Some(c) = counts.get_mut(e.product.index()) {
                *c += 1;
            }
        }
        counts
    }

    /// Keeps only the events for which `keep` is true (users, kinds and baskets keep their
    /// indices).
    pub fn retain(&mut self, keep: impl FnMut(&Event) -> bool) {
        self.events.retain(keep);
    }

    /// A summary of the log against its catalog (see [`LogSummary`]).
    pub fn summary(&self, catalog: &Catalog, long_tail_below: u32) -> LogSummary {
        let per_product = self.events_per_product(catalog.len());
        let with_events = per_product.iter().filter(|&&c| c > 0).count();
        let long_tail = per_product
            .iter()
            .filter(|&&c| c > 0 && c < long_tail_below)
            .count();
        LogSummary {
            events: self.len(),
            users: self.user_count(),
            baskets: self.basket_count(),
            kinds: self.kinds.clone(),
            span: self.time_span(),
            products_in_catalog: catalog.len(),
            products_with_events: with_events,
            long_tail_below,
            long_tail_products: long_tail,
        }
    }
}

/// Headline numbers of an event log, as printed by `deeprecs inspect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogSummary {
    /// Events kept.
    pub events: usize,
    /// Distinct users.
    pub users: usize,
    /// Distinct baskets.
    pub baskets: usize,
    /// Event kinds seen.
    pub kinds: Vec<String>,
    /// Earliest and latest timestamp.
    pub span: Option<(i64, i64)>,
    /// Products in the catalog.
    pub products_in_catalog: usize,
    /// Products with at least one event.
    pub products_with_events: usize,
    /// The long-tail threshold: products with fewer events than this (but at least one).
    pub long_tail_below: u32,
    /// Products in the long tail.
    pub long_tail_products: usize,
}

impl std::fmt::Display for LogSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "events            {}", self.events)?;
        writeln!(f, "users             {}", self.users)?;
        if self.baskets > 0 {
            writeln!(f, "baskets           {}", self.baskets)?;
        }
        writeln!(f, "event kinds       {}", self.kinds.join(", "))?;
        match self.span {
            Some((a, b)) => writeln!(
                f,
                "date span         {} .. {} ({:.1} days)",
                format_timestamp(a),
                format_timestamp(b),
                (b - a) as f64 / DAY as f64
            )?,
            None => writeln!(f, "date span         (no events)")?,
        }
        let share = |n: usize, of: usize| {
            if of == 0 {
                0.0
            } else {
                100.0 * n as f64 / of as f64
            }
        };
        writeln!(
            f,
            "products w/ events {} of {} ({:.1} %)",
            self.products_with_events,
            self.products_in_catalog,
            share(self.products_with_events, self.products_in_catalog)
        )?;
        write!(
            f,
            "long tail         {} products with 1..{} events ({:.1} % of products with events)",
            self.long_tail_products,
            self.long_tail_below.saturating_sub(1),
            share(self.long_tail_products, self.products_with_events)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(extra: &str) -> (FeatureSchema, Catalog) {
        let schema = FeatureSchema::from_toml_str(
            &format!("id = \"sku\"\n[events]\nuser = \"u\"\nproduct = \"sku\"\ntimestamp = \"t\"\n{extra}"),
            "s.toml",
        )
        .unwrap();
        let (catalog, _) = Catalog::from_csv_str("sku\nA\nB\nC\n", &schema).unwrap();
        (schema, catalog)
    }

    #[test]
    fn reads_and_interns() {
        let (s, c) = setup("kind = \"k\"\nquantity = \"q\"\nbasket = \"b\"\n");
        let (log, r) = EventLog::from_csv_str(
            "u,sku,t,k,q,b\nx,A,2024-01-01,view,1,o1\nx,B,2024-01-02,purchase,2.5,o1\ny,A,2024-01-05,view,1,\n",
            &s,
            &c,
        )
        .unwrap();
        assert_eq!(r.rows_kept, 3);
        assert_eq!(log.user_count(), 2);
        assert_eq!(log.kinds(), ["view", "purchase"]);
        assert_eq!(log.basket_count(), 1);
        assert_eq!(log.events()[1].quantity, 2.5);
        assert_eq!(log.events()[2].basket, None);
        assert_eq!(log.time_span(), Some((1_704_067_200, 1_704_412_800)));
        let summary = log.summary(&c, 2);
        assert_eq!(summary.products_with_events, 2);
        assert_eq!(summary.long_tail_products, 1);
    }

    #[test]
    fn unparsable_timestamp_names_line_and_field() {
        let (s, c) = setup("");
        let e =
            EventLog::from_csv_str("u,sku,t\nx,A,2024-01-01\nx,A,yesterday\n", &s, &c).unwrap_err();
        assert_eq!(
            e.to_string(),
            "<csv>:3, field `t`: cannot parse \"yesterday\" as a timestamp (RFC 3339, `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DD`, or epoch seconds)"
        );
        let (s, c) = setup("invalid_rows = \"skip\"\n");
        let (log, r) =
            EventLog::from_csv_str("u,sku,t\nx,A,2024-01-01\nx,A,yesterday\n", &s, &c).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(r.skipped_for(&SkipReason::InvalidValue("t".into())), 1);
    }

    #[test]
    fn empty_log_is_valid() {
        let (s, c) = setup("");
        let (log, r) = EventLog::from_csv_str("u,sku,t\n", &s, &c).unwrap();
        assert!(log.is_empty());
        assert_eq!(log.time_span(), None);
        assert_eq!(r.rows_read, 0);
        assert!(log.summary(&c, 5).to_string().contains("(no events)"));
    }

    #[test]
    fn schema_without_events_is_an_error() {
        let schema = FeatureSchema::from_toml_str("id = \"sku\"\n", "s.toml").unwrap();
        let (catalog, _) = Catalog::from_csv_str("sku\nA\n", &schema).unwrap();
        let e = EventLog::from_csv_str("u,sku,t\n", &schema, &catalog).unwrap_err();
        assert!(e.to_string().contains("no [events] section"), "{e}");
    }
}
