//! Reading an optimiser's evaluation log (`evaluations.csv`) in tests.

use std::collections::BTreeMap;
use std::path::Path;

/// Rows of an evaluation log by id, without the wall-time column `seconds`;
/// panics on an id logged twice.
pub fn rows_by_id(log: &Path) -> BTreeMap<usize, Vec<String>> {
    let mut rdr = csv::Reader::from_path(log).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let seconds = header.iter().position(|h| h == "seconds").unwrap();
    let mut out = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let id: usize = rec[0].parse().unwrap();
        let fields: Vec<String> = rec
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != seconds)
            .map(|(_, f)| f.to_string())
            .collect();
        assert!(
            out.insert(id, fields).is_none(),
            "evaluation {id} logged twice"
        );
    }
    out
}
