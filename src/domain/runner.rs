//! Per-cell outcomes of domain runs (see `workflow::domain::DomainSetup::run`,
//! which runs cells and parameter sets tile by tile in parallel). A failing
//! cell is recorded as a failed outcome with its message; it never aborts the run.

/// The outcome of one cell.
#[derive(Clone, Debug)]
pub struct CellOutcome<O> {
    /// Index of the cell in the caller's cell list.
    pub index: usize,
    /// The cell's output, or the error message of its failure.
    pub result: std::result::Result<O, String>,
}
