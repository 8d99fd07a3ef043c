"""Chunk: cut a long source into token-bounded pieces that each carry a citation label."""
