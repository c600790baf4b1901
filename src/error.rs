//! Error values for every layer of calimap.
//!
//! The library never panics or exits on bad input: each failure is a value that
//! names the file, line, variable, key or cell it concerns. `main` maps them to
//! a message and a non-zero exit code.

use std::path::PathBuf;

/// The crate-wide error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file could be read but its contents are wrong; `line` is 1-based when known.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// An experiment or model configuration is invalid; `key` names the offending TOML key.
    #[error("{}: {key}: {message}", path.display())]
    Config {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// Forcing data is missing, in the wrong unit, or not finite.
    #[error("forcing {source_name}: variable `{variable}`: {message}")]
    Forcing {
        source_name: String,
        variable: String,
        message: String,
    },
    /// A parameter value or combination is physically impossible.
    #[error("parameter `{name}`: {message}")]
    Parameter { name: String, message: String },
    /// A model run failed (non-finite state, solver failure) at a given cell or step.
    #[error("model failure{}: {message}", cell.as_ref().map(|c| format!(" at cell {c}")).unwrap_or_default())]
    Model {
        cell: Option<String>,
        message: String,
    },
    /// Two grids or rasters that must match do not.
    #[error("grid mismatch: {0}")]
    Grid(String),
    /// A netCDF library error, with the file and variable it concerns.
    #[error("{}: netCDF: {message}", path.display())]
    NetCdf { path: PathBuf, message: String },
    /// A feature that is not available in this build or for this input.
    #[error("{0}")]
    Unsupported(String),
    /// Anything else, with a message that says what went wrong.
    #[error("{0}")]
    Other(String),
}

/// Shorthand for results in calimap.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error that names its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A parse error at an optional 1-based line of a file.
    pub fn parse(
        path: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// A configuration error naming the file and key.
    pub fn config(
        path: impl Into<PathBuf>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Config {
            path: path.into(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// A model failure, optionally at a named cell.
    pub fn model(cell: Option<String>, message: impl Into<String>) -> Self {
        Error::Model {
            cell,
            message: message.into(),
        }
    }
}
