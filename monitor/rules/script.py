"""Chinese script folding: Traditional characters are matched as Simplified.

OpenCC's `t2s` conversion (the maintained reference converter) is applied to the document
and to every CJK term, so 對話 in an article matches 对话 in a rule and vice versa. Offsets
must not move, so conversion is kept only where it maps characters one to one; a passage
whose conversion changes length is converted character by character instead.
Regional vocabulary (人工智慧 for 人工智能, 管道 for 渠道) is a matter of the rule pack's
lists, not of script.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65536)
def _char(ch: str) -> str:
    out: str = _converter().convert(ch)
    return out if len(out) == 1 else ch


def _run(run: str) -> str:
    out: str = _converter().convert(run)
    if len(out) == len(run):
        return out
    return "".join(_char(c) for c in run)


def to_simplified(text: str) -> str:
    """`text` with Traditional Han characters folded to Simplified; same length, same offsets."""
    if text.isascii() or not _HAN.search(text):  # isascii() is O(1): most English text
        return text
    whole: str = _converter().convert(text)  # one C call for the whole text, usually 1:1
    if len(whole) == len(text):
        return whole
    return _HAN.sub(lambda m: _run(m.group()), text)
