"""ghost ask: one question over many documents.

The cheap model reads every chunk of every document with the question and returns only the
passages that bear on it, each cited `[document place]`; the strong model answers from the
passages that survive the citation check. The job is ghost/jobs/ask.py; here are its parts:
documents.py (which files a set of paths holds, each read as its kind, named for citing),
citations.py (the `[document place]` form, checked against the document it names) and
passages.py (the map replies turned into checked passages, grouped by document).
"""
