"""The two-model dialogue transcript: render it and read it back.

The format is the one of the original claude-gpt dialogue script::

    Timestamp: 202408291810
    GPT Model: gpt-4
    Claude Model: claude-3-sonnet-20240229

    Prompt:
     Hi Claude. I've built a python script ...

    Claude:
    Hello ChatGPT! ...

    GPT:
    Hello Claude, ...

A header of `Key: value` lines (the timestamp, then one `<Label> Model:` line per speaker),
a blank line, `Prompt:` with the prompt on the next line after one space, a blank line, then
one block per turn: the speaker's label and a colon on a line of its own, the text, a blank
line. Turn texts keep their inner blank lines and spacing; a line that is only a speaker's
label and a colon, right after a blank line, starts the next turn.

When the speakers are not a Claude and a GPT model the header names them generically
(`Model A: anthropic:claude-haiku-4-5`) and the turns are labelled `A:` and `B:`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

TIMESTAMP_FORMAT = "%Y%m%d%H%M"
PROMPT_LABEL = "Prompt"
_HEADER_LINE = re.compile(r"^([A-Za-z][\w .-]*?):\s?(.*)$")
_ANY_LABEL_LINE = re.compile(r"^([A-Za-z][\w .-]{0,40}):$")


@dataclass(frozen=True)
class Speaker:
    """One side of the dialogue as the transcript names it."""

    label: str       # starts each of its turns: "Claude", "GPT", "A"
    header_key: str  # its header line's key: "Claude Model", "Model A"
    model: str       # its header line's value: "claude-sonnet-4-5" or a full provider:model


@dataclass(frozen=True)
class TranscriptTurn:
    speaker: str  # a Speaker.label
    text: str


@dataclass
class ParsedDialogue:
    """A transcript read back: header fields in file order, the prompt and the turns."""

    fields: dict[str, str] = field(default_factory=dict)
    prompt: str = ""
    turns: list[TranscriptTurn] = field(default_factory=list)

    @property
    def timestamp(self) -> str:
        return self.fields.get("Timestamp", "")

    @property
    def models(self) -> dict[str, str]:
        """Speaker label → model, from the `<Label> Model:` / `Model <Label>:` header lines."""
        out: dict[str, str] = {}
        for key, value in self.fields.items():
            label = label_of_header_key(key)
            if label:
                out[label] = value
        return out

    @property
    def speakers(self) -> list[str]:
        """The label of every turn, in order."""
        return [t.speaker for t in self.turns]


def label_of_header_key(key: str) -> str | None:
    """"GPT Model" → "GPT", "Model A" → "A"; None for other header keys."""
    if key.endswith(" Model") and len(key) > len(" Model"):
        return key[: -len(" Model")]
    if key.startswith("Model ") and len(key) > len("Model "):
        return key[len("Model "):]
    return None


def family_speakers(a_family: str, a_model: str, b_family: str,
                    b_model: str) -> tuple[Speaker, Speaker]:
    """Speakers labelled by model family (`Claude`, `GPT`), as in the original transcripts."""
    return (Speaker(a_family, f"{a_family} Model", a_model),
            Speaker(b_family, f"{b_family} Model", b_model))


def generic_speakers(a_model: str, b_model: str) -> tuple[Speaker, Speaker]:
    """Speakers labelled `A` and `B`, for pairs the family labels would not tell apart."""
    return Speaker("A", "Model A", a_model), Speaker("B", "Model B", b_model)


def header_order(speakers: Sequence[Speaker]) -> list[Speaker]:
    """The order of the model lines: the original files list GPT before Claude whoever opens."""
    labels = [s.label for s in speakers]
    if sorted(labels) == ["Claude", "GPT"]:
        return sorted(speakers, key=lambda s: s.label != "GPT")
    return list(speakers)


def render_header(timestamp: str, speakers: Sequence[Speaker], prompt: str) -> str:
    """Everything before the first turn, ending in the blank line after the prompt."""
    lines = [f"Timestamp: {timestamp}"]
    lines += [f"{s.header_key}: {s.model}" for s in header_order(speakers)]
    return "\n".join(lines) + f"\n\n{PROMPT_LABEL}:\n {prompt}\n\n"


def render_turn(label: str, text: str) -> str:
    """One turn block: the label line, the text, a blank line."""
    return f"{label}:\n{text}\n\n"


def render_dialogue(timestamp: str, speakers: Sequence[Speaker], prompt: str,
                    turns: Sequence[TranscriptTurn]) -> str:
    return render_header(timestamp, speakers, prompt) + "".join(
        render_turn(t.speaker, t.text) for t in turns)


def parse_dialogue(text: str) -> ParsedDialogue:
    """Read a transcript back. Tolerates CRLF line ends and a missing final blank line.

    Raises ValueError when there is no `Prompt:` line.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    parsed = ParsedDialogue()
    i = 0
    while i < len(lines) and lines[i] != f"{PROMPT_LABEL}:":
        line = lines[i]
        match = _HEADER_LINE.match(line)
        if match and line.strip():
            parsed.fields[match.group(1)] = match.group(2).rstrip()
        i += 1
    if i == len(lines):
        raise ValueError("not a dialogue transcript: no 'Prompt:' line")
    labels = set(parsed.models)

    def starts_turn(j: int) -> str | None:
        """The speaker label when lines[j] opens a turn (a label line after a blank line)."""
        if j == 0 or lines[j - 1] != "":
            return None
        if labels:
            label = lines[j][:-1] if lines[j].endswith(":") else None
            return label if label in labels else None
        match = _ANY_LABEL_LINE.match(lines[j])
        return match.group(1) if match and match.group(1) != PROMPT_LABEL else None

    blocks: list[tuple[str | None, list[str]]] = [(None, [])]  # None: the prompt block
    for j in range(i + 1, len(lines)):
        label = starts_turn(j)
        if label is not None:
            blocks.append((label, []))
        else:
            blocks[-1][1].append(lines[j])
    for label, body in blocks:
        while body and body[-1] == "":
            body.pop()  # the blank line after each block (and the file's final newline)
        if label is None:
            if body and body[0].startswith(" "):
                body[0] = body[0][1:]
            parsed.prompt = "\n".join(body)
        else:
            parsed.turns.append(TranscriptTurn(label, "\n".join(body)))
    return parsed
