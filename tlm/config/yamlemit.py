"""Text into YAML files: only through the emitter (never string formatting), one line per value.

`tlm import` writes a workload whose names come from the model (node names, the file name, a weights
file name the user typed); `yaml_flow` quotes and escapes them so that each reads back as itself, and
`yaml_comment` keeps a header line one comment whatever it holds (tests/test_robustness3.py round-trips
newlines, '#', ':', '*', '[', 'yes', '-', U+2028 and U+0085).
"""
from __future__ import annotations

import functools

import yaml

_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")  # what YAML (1.1, PyYAML) reads as a line break


@functools.lru_cache(maxsize=None)
def _dumper():
    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter: the same text, 4x faster

    class OneLine(base):
        """Strings with a line break or an unprintable character double-quoted (escaped, one line)."""

    def str_one_line(dumper, s):
        style = '"' if any(b in s for b in _BREAKS) or not s.isprintable() else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=style)
    OneLine.add_representer(str, str_one_line)
    return OneLine


def yaml_flow(value) -> str:
    """`value` (a scalar, or lists and mappings of them) as one line of YAML flow text, by the emitter: a
    string is quoted when it must be (`yes`, `-`, `#x`, `a: b`, `*a`, `[x]`) and escaped when it holds a
    line break (newline, U+0085, U+2028, U+2029) or an unprintable character, so it reads back as itself."""
    text = yaml.dump(value, Dumper=_dumper(), default_flow_style=True, sort_keys=False, width=1 << 30).strip()
    text = text[:-3].strip() if text.endswith("\n...") else text  # a scalar ends its document
    assert "\n" not in text, text
    return text


def yaml_comment(text: str) -> str:
    """`# text` as one comment line: every line break and unprintable character shown as its escape, so
    that no text can end the comment and start a key."""
    return "# " + "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))
