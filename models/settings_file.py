"""A YAML settings file (the config, the playbook) read with limits: a regular file of at most
MAX_BYTES that expands to at most MAX_NODES values. yaml.safe_load builds no object of its own
but still expands aliases, so a few hundred bytes of nested anchors ("billion laughs") become
billions of values once the settings are validated or copied, and an anchor may even hold itself:
such a file is refused from its node graph, before anything is built.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from features.errors import ContractError

MAX_BYTES = 1 << 20    # a settings file of a megabyte is already a hundred times the largest real one
MAX_NODES = 100_000    # values once every alias is expanded (the shipped config holds a few hundred)


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document at `path` (`what`: "config file", "playbook file"), or a ContractError
    naming the file: missing, not a regular file (a folder, a FIFO, /dev/zero), too large, not
    UTF-8, not YAML, too many aliases."""
    path = Path(path)
    source = str(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        problem = "not found" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc.strerror})"
        raise ContractError(f"{what} {problem}", file=source) from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise ContractError(f"is {kind}, not a {what}", file=source)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ContractError(f"{what} cannot be read ({exc.strerror})", file=source) from None
    if len(raw) > MAX_BYTES:
        raise ContractError(f"is over {MAX_BYTES:,} bytes, too large for a {what}", file=source)
    try:
        return parse_yaml(raw.decode("utf-8"), source)
    except UnicodeDecodeError as exc:
        raise ContractError(f"is not UTF-8 text (byte {exc.start})", file=source) from None


def parse_yaml(text: str, source: str) -> Any:
    """The document of `text`, its size with every alias expanded counted before anything is built."""
    try:
        loader = yaml.SafeLoader(text)  # yaml.safe_load, with a look at the node graph in between
        try:
            root = loader.get_single_node()
            if root is not None and _expanded_size(root, {}, set()) > MAX_NODES:
                raise ContractError(f"expands to over {MAX_NODES:,} values through its aliases: nested or "
                                    f"self-referring anchors are refused", file=source)
            return None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ContractError(f"is not valid YAML: {str(exc).splitlines()[0]}", file=source) from None
    except RecursionError:
        raise ContractError("is nested too deeply to be settings", file=source) from None


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """Values under `node` with aliases expanded (shared nodes counted once per use), capped just past
    MAX_NODES; a node that holds itself counts as past the cap."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        return MAX_NODES + 1
    open_.add(key)
    children = (node.value if isinstance(node, yaml.SequenceNode)
                else [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else [])
    total = 1
    for child in children:
        total = min(total + _expanded_size(child, sizes, open_), MAX_NODES + 1)
    open_.discard(key)
    sizes[key] = total
    return total
