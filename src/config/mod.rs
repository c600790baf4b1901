//! Experiment files: raw serde structures parsed from TOML, validated once into a typed, resolved experiment.
