"""Pipelines: ingest → chunk → map → reduce → write, one module per job."""
