//! NONMEM-style output tables ($TABLE) of a dataset run, from `TableRow`s: ID, TIME, CMT (the
//! observable's name, as the reader takes it back), DV, MDV, PRED, IPRED, RES, IRES, WRES,
//! CWRES, IWRES and one column per ETA, as CSV and Parquet bytes. `simulate --data` and the
//! fit commands write them with `output::write_set_atomic`. Empty cells (CSV) and nulls
//! (Parquet) mark values a run does not have (no DV with MDV 1, no CWRES without a fit).

use crate::output::num;
use arrow_array::builder::{BooleanBuilder, Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use il1sim_core::exchange::dataset::subjects::TableRow;
use parquet::arrow::ArrowWriter;
use std::sync::Arc;

/// The floating-point columns after ID, TIME, CMT, in order, and how to read each from a row.
#[allow(clippy::type_complexity)]
const NUMBER_COLUMNS: [(&str, fn(&TableRow) -> Option<f64>); 8] = [
    ("DV", |r| r.dv),
    ("PRED", |r| Some(r.pred)),
    ("IPRED", |r| Some(r.ipred)),
    ("RES", |r| r.res),
    ("IRES", |r| r.ires),
    ("WRES", |r| r.wres),
    ("CWRES", |r| r.cwres),
    ("IWRES", |r| r.iwres),
];

fn header(eta_names: &[String]) -> Vec<String> {
    let mut h: Vec<String> = vec!["ID".into(), "TIME".into(), "CMT".into()];
    h.extend(NUMBER_COLUMNS[..1].iter().map(|(n, _)| n.to_string()));
    h.push("MDV".into());
    h.extend(NUMBER_COLUMNS[1..].iter().map(|(n, _)| n.to_string()));
    h.extend(eta_names.iter().map(|n| format!("ETA_{n}")));
    h
}

/// The table as CSV (TIME in h; DV, PRED and the residuals in each observable's unit).
pub fn table_csv(rows: &[TableRow], eta_names: &[String]) -> Result<Vec<u8>, String> {
    let opt = |v: Option<f64>| v.map(num).unwrap_or_default();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![r.id.clone(), num(r.time_h), r.observable.clone()];
            row.push(opt(r.dv));
            row.push(if r.mdv { "1" } else { "0" }.into());
            row.extend(NUMBER_COLUMNS[1..].iter().map(|(_, get)| opt(get(r))));
            row.extend((0..eta_names.len()).map(|k| opt(r.etas.get(k).copied())));
            row
        })
        .collect();
    crate::output::csv_text(&header(eta_names), &body)
}

/// The same table as Parquet (ID and CMT text, MDV boolean, the rest float64).
pub fn table_parquet(rows: &[TableRow], eta_names: &[String]) -> Result<Vec<u8>, String> {
    let names = header(eta_names);
    let fields: Vec<Field> = names
        .iter()
        .map(|n| match n.as_str() {
            "ID" | "CMT" => Field::new(n, DataType::Utf8, false),
            "MDV" => Field::new(n, DataType::Boolean, false),
            "TIME" | "PRED" | "IPRED" => Field::new(n, DataType::Float64, false),
            _ => Field::new(n, DataType::Float64, true),
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let mut id = StringBuilder::new();
    let mut cmt = StringBuilder::new();
    let mut time = Float64Builder::new();
    let mut mdv = BooleanBuilder::new();
    let mut numbers: Vec<Float64Builder> = NUMBER_COLUMNS
        .iter()
        .map(|_| Float64Builder::new())
        .collect();
    let mut etas: Vec<Float64Builder> = eta_names.iter().map(|_| Float64Builder::new()).collect();
    for r in rows {
        id.append_value(&r.id);
        time.append_value(r.time_h);
        cmt.append_value(&r.observable);
        mdv.append_value(r.mdv);
        for (b, (_, get)) in numbers.iter_mut().zip(NUMBER_COLUMNS) {
            b.append_option(get(r));
        }
        for (k, b) in etas.iter_mut().enumerate() {
            b.append_option(r.etas.get(k).copied());
        }
    }
    let mut numbers = numbers.into_iter();
    let mut dv = numbers.next().expect("DV column");
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(time.finish()),
        Arc::new(cmt.finish()),
        Arc::new(dv.finish()),
        Arc::new(mdv.finish()),
    ];
    cols.extend(numbers.map(|mut b| Arc::new(b.finish()) as ArrayRef));
    cols.extend(etas.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    let batch = RecordBatch::try_new(schema.clone(), cols).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    {
        let mut w = ArrowWriter::try_new(
            &mut bytes,
            schema,
            Some(crate::population::outputs::writer_props()),
        )
        .map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        w.close().map_err(|e| e.to_string())?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dv: Option<f64>) -> TableRow {
        TableRow {
            id: "7".into(),
            time_h: 2.5,
            observable: "crp".into(),
            dv,
            mdv: dv.is_none(),
            pred: 10.0,
            ipred: 11.0,
            res: dv.map(|d| d - 10.0),
            ires: dv.map(|d| d - 11.0),
            wres: None,
            cwres: None,
            iwres: None,
            etas: vec![0.1],
        }
    }

    #[test]
    fn csv_has_nonmem_columns_and_empty_cells_for_missing_values() {
        let text =
            String::from_utf8(table_csv(&[row(Some(12.0)), row(None)], &["CL".into()]).unwrap())
                .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "ID,TIME,CMT,DV,MDV,PRED,IPRED,RES,IRES,WRES,CWRES,IWRES,ETA_CL"
        );
        assert_eq!(lines[1], "7,2.5,crp,12,0,10,11,2,1,,,,0.1");
        assert_eq!(lines[2], "7,2.5,crp,,1,10,11,,,,,,0.1");
    }

    #[test]
    fn parquet_reads_back() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let bytes = table_parquet(&[row(Some(12.0)), row(None)], &[]).unwrap();
        let path =
            std::env::temp_dir().join(format!("il1sim-table-{}.parquet", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
        assert_eq!(
            reader
                .metadata()
                .file_metadata()
                .schema_descr()
                .num_columns(),
            12
        );
    }
}
