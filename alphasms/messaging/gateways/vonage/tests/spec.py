"""The published Vonage SMS spec for the tests, and a reader for the few keys they need (PyYAML is not a
dependency; the spec is plain block-style YAML)."""

from __future__ import annotations

from alphasms.testing.prism import REPO_ROOT

SPEC = REPO_ROOT / "tests" / "data" / "provider-specs" / "vonage-sms.openapi.yml"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _key(line: str) -> str:
    return line.strip().split(":")[0].strip('"')


def spec_keys(*path: str) -> set[str]:
    """The direct child keys of ``path`` in the spec, e.g. ``spec_keys("x-errors")`` -> ``{"1", "2", …}``."""
    indent, lines = -1, SPEC.read_text(encoding="utf-8").splitlines()
    for name in path:  # descend: the next line naming the key deeper than its parent
        index = next(i for i, line in enumerate(lines) if _key(line) == name and _indent(line) > indent)
        indent, lines = _indent(lines[index]), lines[index + 1 :]
    children: set[str] = set()
    child_indent = 0
    for line in filter(str.strip, lines):
        if _indent(line) <= indent:
            break
        child_indent = child_indent or _indent(line)
        if _indent(line) == child_indent:
            children.add(_key(line))
    return children
