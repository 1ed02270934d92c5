"""The reader resolves the tags of plain YAML values through a lookup (`parse._Loader`): every
value gets the tag libyaml's loader (`yaml.CSafeLoader`) gives it, whatever its length or how
often it recurs."""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.manifest.parse import _Loader

PLAIN = [
    *("yes", "No", "on", "OFF", "y", "n", "true", "False", "~", "null", "Null", "NULL", ""),
    *("0x1F", "0o17", "017", "0b101", "1_000", "+12", "-0", "190:20:30", "12345678901234567890123"),
    *(".5", "1e3", "1.5e+3", "6.8523015e+5", "1:30.5", ".inf", "-.Inf", ".NaN", "1.", "-1_0.5"),
    *("2030-01-31", "2001-12-14t21:59:43.10-05:00", "=", "<<", "10.0.0.1/30", "65010", "vbr-abc", "a b"),
    "1" * 150,  # longer than what is looked up: resolved directly
    "x" * 150,
]


def tags(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return (node.tag, node.value, node.style)
    if isinstance(node, yaml.SequenceNode):
        return (node.tag, [tags(item) for item in node.value])
    return (node.tag, [(tags(key), tags(value)) for key, value in node.value])


def compose(loader: type[Any], text: str) -> Any:
    instance = loader(text)
    try:
        return tags(instance.get_single_node())
    finally:
        instance.dispose()


def test_plain_values_get_pyyaml_s_tags_twice_over() -> None:
    text = "\n".join(f"k{i}: {value}" for i, value in enumerate(PLAIN))
    text += "\nquoted: ['yes', \"12\", !!str 5]\nlist: [yes, 12, 1.5, ~]\n"
    text += "\n".join(f"again{i}: {value}" for i, value in enumerate(PLAIN))  # looked up the second time
    expected = compose(yaml.CSafeLoader, text)  # what the reader used before
    assert compose(_Loader, text) == expected
    assert compose(_Loader, text) == expected
    resolved = {value[1]: value[0] for _key, value in expected[1] if len(value) == 3}
    assert resolved["1" * 150] == "tag:yaml.org,2002:int" and resolved["yes"] == "tag:yaml.org,2002:bool"


def test_quoted_and_block_values_mappings_and_sequences_get_pyyaml_s_tags() -> None:
    # None of these is plain: they get PyYAML's default tags without its resolver being asked.
    text = (
        "single: 'yes'\ndouble: \"65010\"\nempty_quoted: ''\n"
        "literal: |\n  12\n  true\nfolded: >\n  1.5\n  ~\n"
        "nested:\n  deeper:\n    - a\n    - {b: [1, 'c'], d: {}}\n  seq: []\n"
        "tagged: !!str 12\nset: !!set {a, b}\n"
        "? [complex, key]\n: value\n"
    )
    assert compose(_Loader, text) == compose(yaml.CSafeLoader, text)
