"""Screening: a cheap model sorts a source into a category by answering with one letter.

The categories live in the `screen` template (`categories.md`: letter, label, action, meaning;
default A ok / B borderline / C refuse). Each category's action decides what happens to the
main request it guards: `pass` sends it as asked, `caution` sends it with a caution appended to
its system part (our own text, never the source's), `cancel` does not send it.

`screened_call` runs the screen alongside the main request. The main request waits for the
verdict up to a short head start (the screen asks for a handful of tokens and normally answers
well within it), so that a caution never pays for the main request twice and a refusal never
pays for it at all. A screen slower than the head start (rate limits, retries) does not hold
the run up: the main request then starts speculatively in a daemon thread, without the cache;
a `cancel` verdict abandons it without waiting, a `caution` verdict abandons it and sends the
cautioned request instead, a `pass` verdict waits for it, uses it and only then caches it.

Hand-labelled examples (`--examples FILE.jsonl`, see screen_examples) can calibrate the
classifier: the k most similar to the text go into the user part of its prompt, delimited, with
their labels. The categories and the reading of replies are in screen_categories.
"""
