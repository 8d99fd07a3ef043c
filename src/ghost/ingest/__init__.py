"""Ingest: turn files on disk (text, transcripts, samples, mail) into typed records."""
