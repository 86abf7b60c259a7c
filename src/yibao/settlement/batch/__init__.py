"""The vectorised batch engine: engine, frames, Parquet/CSV input and output."""
