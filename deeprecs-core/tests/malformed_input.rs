//! Every error variant a user can meet, provoked with a malformed input, and the skip policies
//! that turn row-level problems into counted skips.

use std::io::Write;

use deeprecs_core::{
    Catalog, Error, EventLog, FeatureSchema, SkipReason, TableFormat, schema::InvalidRowPolicy,
};

const SCHEMA: &str = r#"
id = "sku"
[[fields]]
name = "title"
kind = "text"
required = true
[[fields]]
name = "tags"
kind = "multi_categorical"
list = "json"
[events]
user = "user"
product = "sku"
timestamp = "time"
quantity = "qty"
"#;

fn schema() -> FeatureSchema {
    FeatureSchema::from_toml_str(SCHEMA, "schema.toml").unwrap()
}

fn skipping_schema() -> FeatureSchema {
    let text = SCHEMA.replace("[events]", "[catalog]\ninvalid_rows = \"skip\"\n[events]")
        + "invalid_rows = \"skip\"\n";
    let s = FeatureSchema::from_toml_str(&text, "schema.toml").unwrap();
    assert_eq!(s.catalog_options().invalid_rows, InvalidRowPolicy::Skip);
    s
}

fn catalog() -> Catalog {
    Catalog::from_csv_str(
        "sku,title,tags\nA,Red mug,\nB,Tea pot,\"[\"\"tea\"\"]\"\n",
        &schema(),
    )
    .unwrap()
    .0
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    path
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let e = Catalog::read("/nonexistent/catalog.csv", &schema()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/catalog.csv: cannot read"),
        "{e}"
    );
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "empty.csv", b"");
    let e = Catalog::read(&path, &schema()).unwrap_err();
    assert!(matches!(e, Error::EmptyFile { .. }), "{e}");
    assert!(e.to_string().contains("empty.csv: file is empty"), "{e}");
    // A header without rows is an empty catalog: an error too, with the count of rows read.
    let path = write(&dir, "header.csv", b"sku,title,tags\n");
    let e = Catalog::read(&path, &schema()).unwrap_err();
    assert!(matches!(e, Error::EmptyCatalog { rows_read: 0, .. }), "{e}");
}

#[test]
fn bad_header_missing_column() {
    let e = Catalog::from_csv_str("id,title,tags\nA,x,\n", &schema()).unwrap_err();
    assert!(matches!(e, Error::Header { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "<csv>:1, field `sku`: bad header: no column named \"sku\"; the header has: id, title, tags"
    );
}

#[test]
fn bad_header_duplicate_column() {
    let e = Catalog::from_csv_str("sku,title,title,tags\nA,x,y,\n", &schema()).unwrap_err();
    assert!(matches!(e, Error::Header { .. }), "{e}");
    assert!(e.to_string().contains("\"title\" appears 2 times"), "{e}");
}

#[test]
fn wrong_column_count() {
    let e = Catalog::from_csv_str("sku,title,tags\nA,x,\nB,y\n", &schema()).unwrap_err();
    match &e {
        Error::ColumnCount {
            at,
            expected,
            found,
        } => {
            assert_eq!((at.line, *expected, *found), (Some(3), 3, 2));
        }
        other => panic!("{other}"),
    }
    let (c, r) = Catalog::from_csv_str("sku,title,tags\nA,x,\nB,y\n", &skipping_schema()).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(r.skipped_for(&SkipReason::WrongColumnCount), 1);
    assert_eq!(r.rows_read, 2);
}

#[test]
fn invalid_utf8_csv_names_field() {
    let bytes = b"sku,title,tags\nA,caf\xe9,\n".to_vec();
    let e = Catalog::from_reader(
        "cat.csv",
        Box::new(std::io::Cursor::new(bytes.clone())),
        TableFormat::Csv,
        &schema(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidUtf8 { offset: 3, .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("cat.csv:2, field `title`: not valid UTF-8"),
        "{e}"
    );
    let e = Catalog::from_reader(
        "cat.csv",
        Box::new(std::io::Cursor::new(bytes)),
        TableFormat::Csv,
        &skipping_schema(),
    )
    .unwrap_err();
    // The only row is skipped, so the catalog is empty — an error that still counts the row.
    assert!(matches!(e, Error::EmptyCatalog { rows_read: 1, .. }), "{e}");
}

#[test]
fn invalid_utf8_and_json_in_json_lines() {
    let bad_utf8 = b"{\"sku\": \"A\", \"title\": \"caf\xe9\"}\n".to_vec();
    let e = Catalog::from_reader(
        "cat.jsonl",
        Box::new(std::io::Cursor::new(bad_utf8)),
        TableFormat::JsonLines,
        &schema(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidUtf8 { .. }), "{e}");
    assert!(e.to_string().starts_with("cat.jsonl:1"), "{e}");

    let text = "{\"sku\": \"A\", \"title\": \"mug\", \"tags\": [\"x\", \"y\"]}\n\n{\"sku\": \"B\", \"title\": \n[1,2]\n";
    let e = Catalog::from_reader(
        "cat.jsonl",
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        TableFormat::JsonLines,
        &schema(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Json { .. }), "{e}");
    assert!(
        e.to_string().starts_with("cat.jsonl:3: invalid JSON"),
        "{e}"
    );
    let (c, r) = Catalog::from_reader(
        "cat.jsonl",
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        TableFormat::JsonLines,
        &skipping_schema(),
    )
    .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(r.skipped_for(&SkipReason::InvalidJson), 2, "{r}");
    assert_eq!(r.rows_read, 3, "the blank line is not a row");
}

#[test]
fn json_list_field_that_is_not_a_list() {
    let e = Catalog::from_csv_str("sku,title,tags\nA,mug,not json\n", &schema()).unwrap_err();
    assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
    assert!(e.to_string().contains("field `tags`"), "{e}");
}

#[test]
fn missing_required_field() {
    let e = Catalog::from_csv_str("sku,title,tags\nA,  ,\n", &schema()).unwrap_err();
    assert!(matches!(e, Error::MissingField { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "<csv>:2, field `title`: required value is missing or empty"
    );
    let e = Catalog::from_csv_str("sku,title,tags\n,mug,\n", &schema()).unwrap_err();
    assert!(e.to_string().contains("field `sku`"), "{e}");
    let (c, r) =
        Catalog::from_csv_str("sku,title,tags\nA,  ,\nB,mug,\n", &skipping_schema()).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(
        r.skipped_for(&SkipReason::MissingRequired("title".into())),
        1
    );
}

#[test]
fn duplicate_product_id() {
    let e = Catalog::from_csv_str("sku,title,tags\nA,x,\nB,y,\nA,z,\n", &schema()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<csv>:4, field `sku`: duplicate product id \"A\" (first seen on line 2)"
    );
}

#[test]
fn unknown_field_kind() {
    let e = FeatureSchema::from_toml_str(
        "id = \"sku\"\n[[fields]]\nname = \"x\"\nkind = \"image\"\n",
        "bad.toml",
    )
    .unwrap_err();
    assert!(matches!(e, Error::SchemaSyntax { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.starts_with("bad.toml: invalid schema"), "{msg}");
    assert!(msg.contains("unknown variant `image`"), "{msg}");
    assert!(
        msg.contains("`categorical`, `multi_categorical`, `text`"),
        "{msg}"
    );
    assert!(msg.contains("line 4, column 8"), "{msg}");
}

#[test]
fn unparsable_timestamp_and_quantity() {
    let c = catalog();
    let e = EventLog::from_csv_str("user,sku,time,qty\nu,A,01/12/2010 08:26,1\n", &schema(), &c)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("<csv>:2, field `time`: cannot parse \"01/12/2010 08:26\""),
        "{e}"
    );
    let e = EventLog::from_csv_str("user,sku,time,qty\nu,A,2010-12-01,many\n", &schema(), &c)
        .unwrap_err();
    assert!(e.to_string().starts_with("<csv>:2, field `qty`"), "{e}");
    let e = EventLog::from_csv_str("user,sku,time,qty\nu,A,2010-12-01,NaN\n", &schema(), &c)
        .unwrap_err();
    assert!(e.to_string().contains("a finite number"), "{e}");
}

#[test]
fn events_unknown_products_and_blank_users_are_counted() {
    let c = catalog();
    let s = skipping_schema();
    let (log, r) = EventLog::from_csv_str(
        "user,sku,time,qty\nu,A,2010-12-01,1\nu,ZZ,2010-12-01,1\n,B,2010-12-01,1\nv,B,bad,1\nv,B,2010-12-02,2\n",
        &s,
        &c,
    )
    .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(r.rows_read, 5);
    assert_eq!(r.rows_kept, 2);
    assert_eq!(r.skipped_for(&SkipReason::UnknownProduct), 1);
    assert_eq!(
        r.skipped_for(&SkipReason::MissingRequired("user".into())),
        1
    );
    assert_eq!(r.skipped_for(&SkipReason::InvalidValue("time".into())), 1);
    assert_eq!(
        r.rows_kept + r.skipped_total(),
        r.rows_read,
        "no silent loss"
    );
    // Under the default policy, the blank user is an error naming line and field.
    let e =
        EventLog::from_csv_str("user,sku,time,qty\n,B,2010-12-01,1\n", &schema(), &c).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<csv>:2, field `user`: required value is missing or empty"
    );
}

#[test]
fn gzip_is_detected_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"sku,title,tags\nA,mug,\n").unwrap();
    let path = write(&dir, "catalog.data", &gz.finish().unwrap());
    let (c, _) = Catalog::read(&path, &schema()).unwrap();
    assert_eq!(c.ids(), ["A"]);
}

#[test]
fn skip_rule_on_non_numeric_value_is_an_invalid_value() {
    let s = FeatureSchema::from_toml_str(
        "id = \"sku\"\n[events]\nuser = \"u\"\nproduct = \"sku\"\ntimestamp = \"t\"\n[[events.skip]]\ncolumn = \"q\"\nwhen = \"not_positive\"\n",
        "s.toml",
    )
    .unwrap();
    let (c, _) = Catalog::from_csv_str("sku\nA\n", &s).unwrap();
    let (log, r) =
        EventLog::from_csv_str("u,sku,t,q\nx,A,2020-01-01,-1\nx,A,2020-01-01,2\n", &s, &c).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        r.skipped_for(&SkipReason::Rule("q is not positive".into())),
        1
    );
    let e = EventLog::from_csv_str("u,sku,t,q\nx,A,2020-01-01,lots\n", &s, &c).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("<csv>:2, field `q`: cannot parse \"lots\" as a number"),
        "{e}"
    );
}

#[test]
fn read_reports_round_trip_through_json() {
    let (_, r) =
        Catalog::from_csv_str("sku,title,tags\nA,x,\nB,y\nC,  ,\n", &skipping_schema()).unwrap();
    assert_eq!(r.skipped_total(), 2);
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"reason\":\"wrong_column_count\""), "{json}");
    assert!(json.contains("\"detail\":\"title\""), "{json}");
    let back: deeprecs_core::ReadReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}
