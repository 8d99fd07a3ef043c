"""What a reply that came back still has to be checked for: tokens the server did not count,
a reply cut off at its limit (and a limit the server lowered), an empty reply.

Real OpenAI-compatible servers differ here from the APIs they copy: llama.cpp's streams carry
no usage at all, and it lowers max_tokens to fit its context window without a word.
"""

from __future__ import annotations

from dataclasses import replace

from ghost.errors import ModelCallError
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Completion, Request, Usage
from ghost.tokens import count_tokens

# A reply that stopped on `length` this far below the max_tokens it was sent was stopped by
# a lower limit of the server's own (llama.cpp fits max_tokens to what its context has left).
# Counted by ghost (no usage from the server), tokens may be off by a tokenizer's difference.
LOWERED_SHARE = 0.9
LOWERED_SHARE_COUNTED = 0.5
# An empty reply to a prompt this long (or half the context the table gives) most likely
# means the prompt did not fit: real windows are often smaller than a models file says.
LARGE_PROMPT = 4096


def prompt_tokens(info: ModelInfo, request: Request) -> int:
    """The request's input tokens as ghost counts them (the model's tokenizer and margin)."""
    text = request.system + "".join(m.text for m in request.messages)
    return count_tokens(text, info.tokenizer, info.token_margin)


def with_counted_usage(info: ModelInfo, request: Request, completion: Completion) -> Completion:
    """`completion`, with the tokens ghost counts itself when the server sent no usage.

    >>> from ghost.models.catalog import load_catalog
    >>> from ghost.models.protocol import Message
    >>> info = load_catalog().resolve("openai:gpt-4o-mini")
    >>> ask = Request("Be brief.", (Message.user("Say hello."),))
    >>> with_counted_usage(info, ask, Completion("Hello there.")).usage
    Usage(input_tokens=6, output_tokens=3, cache_write_tokens=0, cache_read_tokens=0, \
cache_write_1h_tokens=0, estimated=True)
    """
    if completion.cached or completion.usage.reported:
        return completion
    counted = Usage(input_tokens=prompt_tokens(info, request),
                    output_tokens=count_tokens(completion.text, info.tokenizer,
                                               info.token_margin), estimated=True)
    return replace(completion, usage=counted)


def cut_off_warning(stage: str, info: ModelInfo, sent: Request, completion: Completion) -> str:
    """The line that says a reply stopped at its limit, and whose limit it was."""
    asked = info.asked_output(sent.max_tokens)
    used = completion.usage.output_tokens
    share = LOWERED_SHARE_COUNTED if completion.usage.estimated else LOWERED_SHARE
    if 0 < used < asked * share:
        counted = "counted by ghost" if completion.usage.estimated else "as the server counts"
        return (f"{stage}: the server stopped a reply at {used:,} tokens ({counted}) of the "
                f"{asked:,} asked (finish reason '{completion.stop_reason}'): it lowered "
                "max_tokens, most likely to fit its context window "
                f"({prompt_tokens(info, sent):,} prompt tokens); the reply is cut short")
    return (f"{stage}: a reply was cut off at its {asked:,}-token limit (finish reason "
            f"'{completion.stop_reason}')")


def empty_reply(info: ModelInfo, request: Request, completion: Completion) -> ModelCallError:
    """The error for a reply with no text: what most likely happened, and what to change."""
    counted = prompt_tokens(info, request)
    said = (f"{info.spec} gave an empty reply to a {request.stage} call (stop reason "
            f"'{completion.stop_reason or 'none'}')")
    if completion.truncated:
        why = ("; it used its whole max_tokens: for a model that thinks or reasons, raise its "
               "thinking_allowance in a models file")
    elif counted > min(info.context // 2, LARGE_PROMPT):
        why = (f"; it stopped before writing anything, as a server does when the prompt "
               f"({counted:,} tokens counted) does not fit its context window: send less at "
               "once (--chunk-tokens, --reduce-input-tokens) or give the model its real "
               f"context in a models file (now {info.context:,})")
    else:
        why = (f"; it stopped before writing anything, though its prompt ({counted:,} tokens "
               "counted) is small: the model had nothing to say to it (a system prompt may "
               "help a small model)")
    return ModelCallError(said + why)
