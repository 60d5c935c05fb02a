"""Pure extraction logic (no Dagster): partition windows, the dataset registry, document flattening,
POS file parsing, delta detection for the sensor, and streaming a window into Parquet."""
