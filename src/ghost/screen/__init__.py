"""Screening: a cheap model sorts a source into a category by answering with one letter.

The categories live in the `screen` template (`categories.md`: letter, label, action, meaning;
default A ok / B borderline / C refuse). Each category's action decides what happens to the
main request it guards: `pass` sends it as asked, `caution` sends it with a caution appended to
its system part (our own text, never the source's), `cancel` does not send it.

`screened_call` starts the screen and the main request together (unless the verdict or the
main answer is already cached, when the main request waits for the verdict: nothing to gain).
The main request runs without the cache and can be cancelled (ghost/models/cancel.py: it
streams, and a cancel closes its stream at the next event). `pass` waits for it, uses it and
only then caches it; `caution` closes it and sends the cautioned request at once; `cancel`
closes it. A closed call is billed at its worst case (what the provider generated before the
close is not knowable) in the ledger row `<stage> (cancelled)`, and the screened call returns
only once it has landed there; the report says what it cost (`speculative_cost_usd`).

Hand-labelled examples (`--examples FILE.jsonl`, see screen_examples) can calibrate the
classifier: the k most similar to the text go into the user part of its prompt, delimited, with
their labels. The categories and the reading of replies are in screen_categories.
"""
