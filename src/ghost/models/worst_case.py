"""What a call can cost at most, and how far it may be shortened to fit what is left.

The runner reserves `worst_cost` before a call starts and settles for what it really cost;
a call whose bill is unknown (closed part-way) is recorded at `worst_usage`. When the budget
left is below the worst case, `clamped` lowers max_tokens, never below `least_useful`.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ghost.ledger import worst_input_tokens
from ghost.models.catalog import ModelInfo
from ghost.models.protocol import Request, Usage
from ghost.models.reply_checks import prompt_tokens
from ghost.tokens import count_tokens


def writes_cache(info: ModelInfo, request: Request) -> bool:
    """Whether the request marks a prefix the provider will cache (so may bill as a write)."""
    marked = [i for i, m in enumerate(request.messages) if any(p.cache for p in m.parts)]
    if marked:
        last = request.messages[marked[-1]]
        upto = max(i for i, p in enumerate(last.parts) if p.cache)
        prefix = request.system + "".join(m.text for m in request.messages[:marked[-1]]) \
            + "".join(p.text for p in last.parts[:upto + 1])
    elif request.cache_system:
        prefix = request.system
    else:
        return False
    counted = count_tokens(prefix, info.tokenizer, info.token_margin)
    return worst_input_tokens(counted) >= info.cache_min_tokens


def worst_cost(info: ModelInfo, request: Request, discount: float = 0.0) -> float:
    """The most a request can cost (0 when the model has no price): every input token (as
    counted, with the ledger's safety share) at the cache-write price when it writes the
    prompt cache (a cold cache), else at the input price, and every output token it lets the
    provider bill: its max_tokens plus the thinking allowance the adapter adds
    (ModelInfo.asked_output)."""
    if info.prices is None:
        return 0.0
    output = info.asked_output(request.max_tokens) * info.prices.output / 1e6
    return (_worst_input_cost(info, request) + output) * (1.0 - discount)


def worst_usage(info: ModelInfo, request: Request) -> Usage:
    """The tokens `worst_cost` prices: what a call whose bill is unknown (cancelled part-way,
    see ghost/models/cancel.py) is recorded as having used."""
    tokens = worst_input_tokens(prompt_tokens(info, request))
    written = writes_cache(info, request) and info.prices is not None and \
        info.prices.cache_write > info.prices.input
    return Usage(input_tokens=0 if written else tokens, cache_write_tokens=tokens if written else 0,
                 output_tokens=info.asked_output(request.max_tokens))


def _worst_input_cost(info: ModelInfo, request: Request) -> float:
    prices = info.prices
    if prices is None:
        return 0.0
    per_token = max(prices.input, prices.write_price(request.cache_ttl)) \
        if writes_cache(info, request) else prices.input
    return worst_input_tokens(prompt_tokens(info, request)) * per_token / 1e6


# A shortened call must still leave room for a useful answer: at least this many tokens, and
# at least this share of what it asked for (a thinking model: this much after its thinking).
MIN_CLAMPED_TOKENS = 256
MIN_CLAMPED_SHARE = 0.25


def least_useful(info: ModelInfo, request: Request) -> int | None:
    """The smallest max_tokens `request` may be shortened to for the budget, or None when it
    cannot be shortened usefully (it asks for little already, or a thinking model's allowance
    would leave no room to answer)."""
    tokens = max(MIN_CLAMPED_TOKENS, math.ceil(request.max_tokens * MIN_CLAMPED_SHARE))
    if info.thinking_allowance:
        tokens = max(tokens, MIN_CLAMPED_TOKENS + 1)
        if info.asked_output(tokens) <= info.thinking_allowance + MIN_CLAMPED_TOKENS:
            return None  # max_output leaves no answer room after a full allowance of thinking
    return tokens if tokens < request.max_tokens else None


def clamped(info: ModelInfo, request: Request, dollars: float) -> Request | None:
    """`request` with max_tokens lowered (below what it asks) as far as needed for its worst
    case to fit `dollars`, or None when that would leave less than `least_useful`."""
    floor, prices = least_useful(info, request), info.prices
    if floor is None or prices is None or not prices.output:
        return None
    room = (dollars - _worst_input_cost(info, request)) * 1e6 / prices.output  # output it pays
    tokens = min(request.max_tokens - 1, math.floor(room) - info.thinking_allowance)
    while tokens >= floor and worst_cost(info, replace(request, max_tokens=tokens)) > dollars:
        tokens -= 1  # the thinking allowance capped at max_output, or float rounding
    return replace(request, max_tokens=tokens) if tokens >= floor else None
