//! Pure process functions of the column model: no state, no I/O. Each documents its units and the literature it follows.

pub mod canopy;
pub mod detmath;
pub mod hydrology;
pub mod powtable;
pub mod sfcdif_myj;
pub mod sfcdif_y08;
pub mod snow;
pub mod surface;
pub mod thermal;
pub mod tridiag;
