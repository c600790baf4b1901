//! Summary tables written as CSV (RFC 4180, via the `csv` crate) and as
//! GitHub-flavoured Markdown, both atomically.

use std::path::Path;

use crate::io::atomic::write_atomic;
use crate::{Error, Result};

/// A rectangular table of text cells with a header row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Column names.
    pub headers: Vec<String>,
    /// Rows, each as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

/// Format a number with `decimals` digits; an empty cell for NaN or infinity.
pub fn fmt_num(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        // Adding 0.0 turns -0.0 into 0.0.
        let scale = 10f64.powi(decimals as i32);
        format!("{:.*}", decimals, (v * scale).round() / scale + 0.0)
    } else {
        String::new()
    }
}

impl Table {
    /// An empty table with these column names.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Append a row; errors when its length differs from the header's.
    pub fn push<S: Into<String>>(&mut self, row: impl IntoIterator<Item = S>) -> Result<()> {
        let row: Vec<String> = row.into_iter().map(Into::into).collect();
        if row.len() != self.headers.len() {
            return Err(Error::Other(format!(
                "table row {} has {} cells but the table has {} columns",
                self.rows.len() + 1,
                row.len(),
                self.headers.len()
            )));
        }
        self.rows.push(row);
        Ok(())
    }

    /// Write as CSV with a header line.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let err = |e: csv::Error| Error::Other(format!("{}: CSV: {e}", path.display()));
        write_atomic(path, |w| {
            let mut cw = csv::Writer::from_writer(w);
            cw.write_record(&self.headers).map_err(err)?;
            for r in &self.rows {
                cw.write_record(r).map_err(err)?;
            }
            cw.flush().map_err(|e| Error::io(path, e))
        })
    }

    /// The table as GitHub-flavoured Markdown (pipes in cells escaped;
    /// columns whose every cell parses as a number are right-aligned).
    pub fn to_markdown(&self) -> String {
        let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let numeric: Vec<bool> = (0..self.headers.len())
            .map(|c| {
                !self.rows.is_empty()
                    && self
                        .rows
                        .iter()
                        .all(|r| r[c].is_empty() || r[c].parse::<f64>().is_ok())
            })
            .collect();
        let mut out = String::new();
        out.push_str("| ");
        out.push_str(
            &self
                .headers
                .iter()
                .map(|h| esc(h))
                .collect::<Vec<_>>()
                .join(" | "),
        );
        out.push_str(" |\n|");
        for &n in &numeric {
            out.push_str(if n { " ---: |" } else { " --- |" });
        }
        out.push('\n');
        for r in &self.rows {
            out.push_str("| ");
            out.push_str(&r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | "));
            out.push_str(" |\n");
        }
        out
    }

    /// Write [`Table::to_markdown`] to `path`.
    pub fn write_markdown(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::atomic::write_bytes_atomic(path, self.to_markdown().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_markdown_output() {
        let mut t = Table::new(["variable", "n", "RMSE"]);
        t.push(["ALT", "83", &fmt_num(0.6849, 2)]).unwrap();
        t.push(["TTOP, C", "83", &fmt_num(f64::NAN, 2)]).unwrap();
        t.push(["a|b", "1", &fmt_num(-0.0001, 2)]).unwrap();
        assert!(t.push(["x"]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.csv");
        t.write_csv(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "variable,n,RMSE\nALT,83,0.68\n\"TTOP, C\",83,\na|b,1,0.00\n"
        );
        assert_eq!(
            t.to_markdown(),
            "| variable | n | RMSE |\n| --- | ---: | ---: |\n| ALT | 83 | 0.68 |\n\
             | TTOP, C | 83 |  |\n| a\\|b | 1 | 0.00 |\n"
        );
        let m = dir.path().join("summary.md");
        t.write_markdown(&m).unwrap();
        assert_eq!(std::fs::read_to_string(&m).unwrap(), t.to_markdown());
    }
}
