"""Reduce: the strong model turns the notes into the final writing, collapsing them first if
they do not fit."""
