//! The header of a dataset: which column holds which data item. Names are matched without
//! regard to case (`id`, `Id` and `ID` are ID) and a few common spellings are accepted
//! (WT, WEIGHT or BW for the weight); columns the reader does not know are ignored and
//! listed, so that a misspelt column is seen rather than silently lost.

use super::error::DatasetError;

/// A data item the reader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    Id,
    Time,
    Date,
    Amt,
    Rate,
    Dur,
    Cmt,
    Evid,
    Mdv,
    Ii,
    Addl,
    Ss,
    Dv,
    Lloq,
    Blq,
    Weight,
    Age,
    Sex,
    Crcl,
    Scr,
    Disease,
}

impl Column {
    pub const ALL: [Column; 21] = [
        Column::Id,
        Column::Time,
        Column::Date,
        Column::Amt,
        Column::Rate,
        Column::Dur,
        Column::Cmt,
        Column::Evid,
        Column::Mdv,
        Column::Ii,
        Column::Addl,
        Column::Ss,
        Column::Dv,
        Column::Lloq,
        Column::Blq,
        Column::Weight,
        Column::Age,
        Column::Sex,
        Column::Crcl,
        Column::Scr,
        Column::Disease,
    ];

    /// The spellings accepted (upper case), the usual one first.
    pub fn spellings(&self) -> &'static [&'static str] {
        match self {
            Column::Id => &["ID"],
            Column::Time => &["TIME"],
            Column::Date => &["DATE"],
            Column::Amt => &["AMT"],
            Column::Rate => &["RATE"],
            Column::Dur => &["DUR"],
            Column::Cmt => &["CMT"],
            Column::Evid => &["EVID"],
            Column::Mdv => &["MDV"],
            Column::Ii => &["II"],
            Column::Addl => &["ADDL"],
            Column::Ss => &["SS"],
            Column::Dv => &["DV"],
            Column::Lloq => &["LLOQ", "LOQ"],
            Column::Blq => &["BLQ", "CENS"],
            Column::Weight => &["WT", "WEIGHT", "BW"],
            Column::Age => &["AGE"],
            Column::Sex => &["SEX"],
            Column::Crcl => &["CRCL", "CLCR"],
            Column::Scr => &["SCR", "CREAT"],
            Column::Disease => &["DISEASE"],
        }
    }

    pub fn name(&self) -> &'static str {
        self.spellings()[0]
    }
}

/// Where each known column is, and the columns ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    index: Vec<Option<usize>>,
    /// Every column as written, in file order.
    pub written: Vec<String>,
    /// Columns the reader does not know, as written.
    pub ignored: Vec<String>,
}

impl Header {
    /// Map a header line's fields. ID and TIME are required; a column given twice (WT and
    /// WEIGHT) is an error.
    pub fn parse(fields: &[&str], file: &str) -> Result<Header, DatasetError> {
        let mut index: Vec<Option<usize>> = vec![None; Column::ALL.len()];
        let mut ignored = Vec::new();
        for (i, raw) in fields.iter().enumerate() {
            let name = raw.trim().to_ascii_uppercase();
            match Column::ALL
                .iter()
                .position(|c| c.spellings().contains(&name.as_str()))
            {
                Some(k) => {
                    if let Some(j) = index[k] {
                        return Err(DatasetError::new(
                            file,
                            1,
                            raw.trim(),
                            "",
                            format!(
                                "column {} is given twice (also as '{}'); keep one",
                                Column::ALL[k].name(),
                                fields[j].trim()
                            ),
                        ));
                    }
                    index[k] = Some(i);
                }
                None => ignored.push(raw.trim().to_string()),
            }
        }
        let header = Header {
            index,
            written: fields.iter().map(|f| f.trim().to_string()).collect(),
            ignored,
        };
        for required in [Column::Id, Column::Time] {
            if header.get(required).is_none() {
                return Err(DatasetError::new(
                    file,
                    0,
                    required.name(),
                    "",
                    format!(
                        "a required column is missing; the header has: {}",
                        header.written.join(", ")
                    ),
                ));
            }
        }
        Ok(header)
    }

    /// Position of a known column.
    pub fn get(&self, column: Column) -> Option<usize> {
        self.index[column as usize]
    }

    /// The column's name as written in the header (its usual name when absent).
    pub fn label(&self, column: Column) -> &str {
        match self.get(column) {
            Some(i) => &self.written[i],
            None => column.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_without_case_and_unknown_ones_listed() {
        let h = Header::parse(&["id", "Time", "wt", "Comment", "dv"], "f.csv").unwrap();
        assert_eq!(h.get(Column::Id), Some(0));
        assert_eq!(h.get(Column::Weight), Some(2));
        assert_eq!(h.label(Column::Weight), "wt");
        assert_eq!(h.ignored, vec!["Comment".to_string()]);
    }

    #[test]
    fn a_missing_required_column_is_an_error() {
        let e = Header::parse(&["ID", "DV"], "f.csv").unwrap_err();
        assert_eq!(e.column, "TIME");
        assert!(e.to_string().contains("required column is missing"), "{e}");
    }

    #[test]
    fn a_column_given_twice_is_an_error() {
        let e = Header::parse(&["ID", "TIME", "WT", "WEIGHT"], "f.csv").unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
    }
}
