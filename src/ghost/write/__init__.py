"""Write: documents and reports, always whole (temp file + rename), never half-written."""
