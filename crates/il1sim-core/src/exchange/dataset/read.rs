//! Reading a dataset: CSV text (no I/O here) through the header, each record and the subject
//! builder into a [`Dataset`]. Lines starting with `#` are comments.

use super::build::{group, subject, Context};
use super::columns::{Column, Header};
use super::compartments::cmt_table;
use super::error::DatasetError;
use super::records::{parse_record, Fields};
use super::subjects::Dataset;
use crate::model::definition::Model;
use crate::model::patient::Patient;

/// What the reader needs besides the file.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetOptions {
    /// Covariates and disease for a file without a column for them (WT, AGE, SEX, CRCL or
    /// SCR, DISEASE); each use is listed in `Dataset::defaulted`.
    pub defaults: Patient,
}

/// Read a NONMEM-style dataset (`file` names it in errors) in the terms of `model`.
pub fn read_dataset(
    text: &str,
    file: &str,
    model: &Model,
    options: &DatasetOptions,
) -> Result<Dataset, DatasetError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = reader.records();
    let header_row = match rows.next() {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(csv_error(file, &e)),
        None => {
            return Err(DatasetError::new(
                file,
                0,
                "ID",
                "",
                "the file is empty; a header line (ID, TIME, ...) and records are needed",
            ))
        }
    };
    let header_line = header_row.position().map_or(1, |p| p.line() as usize);
    let names: Vec<&str> = header_row.iter().collect();
    let header = Header::parse(&names, file).map_err(|mut e| {
        if e.line != 0 {
            e.line = header_line;
        }
        e
    })?;
    let cmts = cmt_table(model);
    let mut records = Vec::new();
    for row in rows {
        let row = row.map_err(|e| csv_error(file, &e))?;
        let line = row.position().map_or(0, |p| p.line() as usize);
        let values: Vec<&str> = row.iter().collect();
        if values.len() > header.written.len() {
            return Err(DatasetError::new(
                file,
                line,
                "(record)",
                format!("{} fields", values.len()),
                format!(
                    "at most as many fields as the header has ({})",
                    header.written.len()
                ),
            ));
        }
        let fields = Fields {
            values: &values,
            header: &header,
            file,
            line,
        };
        records.push(parse_record(&fields, &cmts)?);
    }
    if records.is_empty() {
        return Err(DatasetError::new(
            file,
            0,
            "ID",
            "",
            "the file has a header but no records",
        ));
    }
    let cx = Context {
        file,
        header: &header,
        model,
        defaults: &options.defaults,
    };
    let subjects = group(records, &cx)?
        .into_iter()
        .map(|g| subject(g, &cx))
        .collect::<Result<Vec<_>, _>>()?;
    let d = &options.defaults;
    let mut defaulted = Vec::new();
    let absent = |c: Column| header.get(c).is_none();
    if absent(Column::Weight) {
        defaulted.push(format!("weight_kg = {} (no WT column)", d.weight_kg));
    }
    if absent(Column::Age) {
        defaulted.push(format!("age_y = {} (no AGE column)", d.age_y));
    }
    if absent(Column::Sex) {
        defaulted.push(format!("sex = {} (no SEX column)", d.sex.label()));
    }
    if absent(Column::Crcl) && absent(Column::Scr) {
        defaulted.push(format!(
            "crcl_ml_min = {} (no CRCL or SCR column)",
            d.crcl_ml_min
        ));
    }
    if absent(Column::Disease) {
        defaulted.push(format!("disease = {} (no DISEASE column)", d.disease));
    }
    Ok(Dataset {
        subjects,
        ignored_columns: header.ignored.clone(),
        defaulted,
    })
}

fn csv_error(file: &str, e: &csv::Error) -> DatasetError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    DatasetError::new(
        file,
        line,
        "(record)",
        "",
        format!("not readable as CSV: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dosing::regimen::{Administration, Repeat};

    fn read(text: &str) -> Result<Dataset, DatasetError> {
        let model = crate::il1_model();
        let options = DatasetOptions {
            defaults: Patient::adult("ra"),
        };
        read_dataset(text, "t.csv", &model, &options)
    }

    /// The error of a file of one header and these records: its line, column and message.
    fn error(records: &str) -> DatasetError {
        let header = "ID,TIME,AMT,RATE,DUR,CMT,EVID,MDV,II,ADDL,SS,DV,WT\n";
        read(&format!("{header}{records}")).unwrap_err()
    }

    fn expect(records: &str, line: usize, column: &str, words: &str) {
        let e = error(records);
        let text = e.to_string();
        assert_eq!((e.line, e.column.as_str()), (line, column), "{text}");
        assert!(text.contains(words), "'{words}' not in: {text}");
        assert!(text.starts_with("t.csv"), "{text}");
    }

    #[test]
    fn a_dataset_is_read_into_regimens_and_observations() {
        let text = "ID,TIME,AMT,CMT,EVID,II,ADDL,DV,WT,Site\n\
                    1,0,100,anakinra_sc,1,24,6,.,80,A\n\
                    1,2,.,anakinra_plasma,0,.,.,350,80,A\n\
                    1,30,.,crp,0,.,.,12,.,A\n\
                    2,0,200,2,1,.,.,.,60,B\n\
                    2,1,.,101,0,.,.,900,60,B\n";
        let d = read(text).unwrap();
        assert_eq!(d.subjects.len(), 2);
        assert_eq!(d.ignored_columns, vec!["Site".to_string()]);
        let s = &d.subjects[0];
        assert_eq!(s.patient.weight_kg, 80.0);
        assert_eq!(s.regimens[0].repeat, Repeat::Count(7));
        assert_eq!(s.regimens[0].interval_h, 24.0);
        assert_eq!(s.observations.len(), 2);
        assert_eq!(s.observations[1].value, Some(12.0));
        assert_eq!(s.occasions.len(), 1);
        assert_eq!(
            d.subjects[1].regimens[0].administration,
            Administration::IvBolus
        );
        assert_eq!(d.subjects[1].observations[0].line, 6);
    }

    #[test]
    fn resets_and_steady_state_doses_start_occasions() {
        let text = "ID,TIME,AMT,CMT,EVID,II,SS,ADDL,DV\n\
                    1,0,100,anakinra_sc,1,.,0,.,.\n\
                    1,5,.,anakinra_plasma,0,.,0,.,300\n\
                    1,100,.,.,3,.,0,.,.\n\
                    1,105,.,anakinra_plasma,0,.,0,.,10\n\
                    1,200,100,anakinra_sc,1,24,1,2,.\n\
                    1,210,.,anakinra_plasma,0,.,0,.,500\n";
        let s = &read(text).unwrap().subjects[0];
        let starts: Vec<f64> = s.occasions.iter().map(|o| o.start_h).collect();
        assert_eq!(starts, vec![0.0, 100.0, 200.0]);
        assert_eq!(s.occasions[2].regimens, 1..2);
        assert!(s.regimens[1].steady_state);
        assert_eq!(s.regimens[1].start_h, 0.0);
    }

    #[test]
    fn date_and_clock_time_give_hours_since_the_first_record() {
        let text = "ID,DATE,TIME,AMT,CMT,EVID,DV\n\
                    1,2026-03-01,08:00,100,anakinra_sc,1,.\n\
                    1,2026-03-02,07:30,.,anakinra_plasma,0,120\n";
        let s = &read(text).unwrap().subjects[0];
        assert_eq!(s.observations[0].time_h, 23.5);
    }

    #[test]
    fn below_lloq_is_censored() {
        let text = "ID,TIME,AMT,CMT,EVID,DV,LLOQ,BLQ\n\
                    1,0,100,anakinra_sc,1,.,.,.\n\
                    1,60,.,anakinra_plasma,0,20,50,0\n\
                    1,70,.,anakinra_plasma,0,.,50,1\n";
        let o = &read(text).unwrap().subjects[0].observations;
        assert!(o[0].below_lloq && o[0].value.is_none() && o[0].lloq == Some(50.0));
        assert!(o[1].below_lloq);
    }

    #[test]
    fn serum_creatinine_gives_cockcroft_gault() {
        let text = "ID,TIME,AMT,CMT,AGE,WT,SEX,SCR\n1,0,100,anakinra_sc,60,72,M,1.0\n";
        let p = &read(text).unwrap().subjects[0].patient;
        assert!((p.crcl_ml_min - 80.0).abs() < 1e-12);
    }

    // ---------------------------------------------------------------- one test per error

    #[test]
    fn time_that_decreases() {
        expect(
            "1,5,.,.,.,crp,0,0,.,.,.,3,70\n1,4,.,.,.,crp,0,0,.,.,.,3,70\n",
            3,
            "TIME",
            "do not decrease",
        );
    }

    #[test]
    fn unknown_cmt() {
        expect("1,0,100,.,.,7a,1,1,.,.,.,.,70\n", 2, "CMT", "anakinra_sc");
        expect(
            "1,0,100,.,.,99,1,1,.,.,.,.,70\n",
            2,
            "CMT",
            "by number or name",
        );
    }

    #[test]
    fn observation_with_a_route_cmt() {
        expect(
            "1,0,.,.,.,anakinra_sc,0,0,.,.,.,3,70\n",
            2,
            "CMT",
            "routes are for doses",
        );
    }

    #[test]
    fn dose_with_an_observable_cmt() {
        expect(
            "1,0,100,.,.,crp,1,1,.,.,.,.,70\n",
            2,
            "CMT",
            "needs the route",
        );
    }

    #[test]
    fn amt_with_evid_0() {
        expect(
            "1,0,100,.,.,crp,0,0,.,.,.,3,70\n",
            2,
            "AMT",
            "no amount on a record with EVID 0",
        );
    }

    #[test]
    fn negative_amt() {
        expect(
            "1,0,-5,.,.,anakinra_sc,1,1,.,.,.,.,70\n",
            2,
            "AMT",
            ">= 0 mg",
        );
    }

    #[test]
    fn dose_without_amount() {
        expect(
            "1,0,.,.,.,anakinra_sc,1,1,.,.,.,.,70\n",
            2,
            "AMT",
            "needs an amount > 0",
        );
    }

    #[test]
    fn ss_without_ii() {
        expect(
            "1,0,100,.,.,anakinra_sc,1,1,.,.,1,.,70\n",
            2,
            "SS",
            "interval II > 0",
        );
    }

    #[test]
    fn ii_without_addl_or_ss() {
        expect(
            "1,0,100,.,.,anakinra_sc,1,1,24,.,.,.,70\n",
            2,
            "II",
            "ADDL > 0 or SS",
        );
    }

    #[test]
    fn addl_without_ii() {
        expect(
            "1,0,100,.,.,anakinra_sc,1,1,.,3,.,.,70\n",
            2,
            "ADDL",
            "interval II > 0",
        );
    }

    #[test]
    fn addl_not_whole() {
        expect(
            "1,0,100,.,.,anakinra_sc,1,1,24,2.5,.,.,70\n",
            2,
            "ADDL",
            "whole number",
        );
    }

    #[test]
    fn non_numeric_value() {
        expect(
            "1,0,abc,.,.,anakinra_sc,1,1,.,.,.,.,70\n",
            2,
            "AMT",
            "a number",
        );
    }

    #[test]
    fn id_not_contiguous() {
        expect(
            "1,0,.,.,.,crp,0,0,.,.,.,3,70\n2,0,.,.,.,crp,0,0,.,.,.,3,70\n1,5,.,.,.,crp,0,0,.,.,.,3,70\n",
            4,
            "ID",
            "already ended at line 2",
        );
    }

    #[test]
    fn dv_on_a_dose_record() {
        expect(
            "1,0,100,.,.,anakinra_sc,1,1,.,.,.,55,70\n",
            2,
            "DV",
            "on a dose record",
        );
    }

    #[test]
    fn observation_without_dv() {
        expect(
            "1,0,.,.,.,crp,0,0,.,.,.,.,70\n",
            2,
            "DV",
            "a measured value",
        );
    }

    #[test]
    fn mdv_0_on_a_dose() {
        expect(
            "1,0,100,.,.,anakinra_sc,1,0,.,.,.,.,70\n",
            2,
            "MDV",
            "MDV = 1 on a record with EVID 1",
        );
    }

    #[test]
    fn evid_out_of_range() {
        expect(
            "1,0,100,.,.,anakinra_sc,5,1,.,.,.,.,70\n",
            2,
            "EVID",
            "4 (reset and dose)",
        );
    }

    #[test]
    fn ss_out_of_range() {
        expect(
            "1,0,100,.,.,anakinra_sc,1,1,24,.,3,.,70\n",
            2,
            "SS",
            "SS 0 (none)",
        );
    }

    #[test]
    fn ss_2_after_earlier_doses() {
        expect(
            "1,0,100,.,.,anakinra_sc,1,1,.,.,.,.,70\n1,12,100,.,.,anakinra_sc,1,1,24,.,2,.,70\n",
            3,
            "SS",
            "superposition",
        );
    }

    #[test]
    fn rate_on_a_subcutaneous_dose() {
        expect(
            "1,0,100,50,.,anakinra_sc,1,1,.,.,.,.,70\n",
            2,
            "RATE",
            "needs an IV route",
        );
    }

    #[test]
    fn rate_minus_1() {
        expect(
            "1,0,100,-1,.,anakinra_iv,1,1,.,.,.,.,70\n",
            2,
            "RATE",
            "not supported",
        );
    }

    #[test]
    fn rate_minus_2_without_dur() {
        expect(
            "1,0,100,-2,.,anakinra_iv,1,1,.,.,.,.,70\n",
            2,
            "DUR",
            "takes the infusion's duration from DUR",
        );
    }

    #[test]
    fn dur_without_rate_minus_2() {
        expect(
            "1,0,100,.,2,anakinra_iv,1,1,.,.,.,.,70\n",
            2,
            "DUR",
            "unless RATE = -2",
        );
    }

    #[test]
    fn infusion_longer_than_its_interval() {
        expect(
            "1,0,100,-2,30,anakinra_iv,1,1,24,2,.,.,70\n",
            2,
            "DUR",
            "no longer than the dosing interval",
        );
    }

    #[test]
    fn dosing_item_on_an_observation() {
        expect(
            "1,0,.,.,.,crp,0,0,24,.,.,3,70\n",
            2,
            "II",
            "belongs to dose records",
        );
    }

    #[test]
    fn covariate_that_changes() {
        expect(
            "1,0,.,.,.,crp,0,0,.,.,.,3,70\n1,5,.,.,.,crp,0,0,.,.,.,3,71\n",
            3,
            "WT",
            "constant within a subject",
        );
    }

    #[test]
    fn covariate_column_without_a_value() {
        expect(
            "1,0,.,.,.,crp,0,0,.,.,.,3,.\n",
            2,
            "WT",
            "the default is not used",
        );
    }

    #[test]
    fn covariate_out_of_range() {
        expect(
            "1,0,.,.,.,crp,0,0,.,.,.,3,4000\n",
            2,
            "WT",
            "allowed: 0.5 to 400 kg",
        );
    }

    #[test]
    fn too_many_fields() {
        expect(
            "1,0,.,.,.,crp,0,0,.,.,.,3,70,9\n",
            2,
            "(record)",
            "at most as many fields",
        );
    }

    #[test]
    fn missing_time() {
        expect("1,.,.,.,.,crp,0,0,.,.,.,3,70\n", 2, "TIME", "needs a TIME");
    }

    #[test]
    fn clock_time_without_date() {
        expect(
            "1,08:00,.,.,.,crp,0,0,.,.,.,3,70\n",
            2,
            "TIME",
            "needs a DATE column",
        );
    }

    #[test]
    fn bad_date_and_clock() {
        let e = read("ID,DATE,TIME,CMT,DV\n1,03/01/2026,08:00,crp,3\n").unwrap_err();
        assert_eq!((e.line, e.column.as_str()), (2, "DATE"), "{e}");
        let e = read("ID,DATE,TIME,CMT,DV\n1,2026-03-01,25:00,crp,3\n").unwrap_err();
        assert_eq!((e.line, e.column.as_str()), (2, "TIME"), "{e}");
    }

    #[test]
    fn numeric_sex_and_unknown_disease() {
        let e = read("ID,TIME,CMT,DV,SEX\n1,0,crp,3,1\n").unwrap_err();
        assert!(e.to_string().contains("numeric codes"), "{e}");
        let e = read("ID,TIME,CMT,DV,DISEASE\n1,0,crp,3,gout\n").unwrap_err();
        assert_eq!(e.column, "DISEASE");
        assert!(e.to_string().contains("allowed: "), "{e}");
    }

    #[test]
    fn missing_required_column_and_empty_file() {
        let e = read("ID,DV\n1,3\n").unwrap_err();
        assert_eq!((e.line, e.column.as_str()), (0, "TIME"), "{e}");
        assert!(read("").is_err());
        assert!(read("ID,TIME\n")
            .unwrap_err()
            .to_string()
            .contains("no records"));
    }
}
