# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""
A griffe extension that lets mkdocstrings' Google-style parser render transformers-style docstrings.

The package documents itself the way transformers does: ``name (`type`, *optional*, defaults to X):`` entries,
`` `type`: description `` returns and [`Name`] cross-references. Google parsing reads the sections but would
show the markup as written (backticks and asterisks inside the type, brackets around names). Before parsing,
this extension rewrites each docstring of the package, without touching the package itself:

- ``name (`str` or `torch.device`, *optional*, defaults to `"cpu"`):`` becomes ``name (str | torch.device):``
  and the description gains "Defaults to `"cpu"`."; ``of shape `(...)` `` moves into the description too;
- `` `str`: a folder `` in `Returns:` becomes ``str: a folder``, `` `ValueError`: ... `` in `Raises:`
  becomes ``ValueError: ...`` (with same-indent continuation lines indented, as in `Returns:`);
- [`Name`] and [`~module.Name`] become links to the documented object when it is part of the package, and
  plain code otherwise.

Fenced code blocks (the `Example:` sections) are left alone.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ARGUMENT_SECTIONS = ("Args", "Arguments", "Parameters", "Attributes", "Keyword Args", "Keyword Arguments")
RETURN_SECTIONS = ("Returns", "Yields")
RAISE_SECTIONS = ("Raises",)
SECTION_TITLE = re.compile(r"^(?P<indent>\s*)(?P<title>[A-Z][A-Za-z ]*):\s*$")
ENTRY_NAME = re.compile(r"^(?P<indent>\s*)(?P<name>\*{0,2}\w+) \(")
# `Type`: or [`Type`], [`Other`] or `Third`: at the start of a Returns / Raises entry.
LEADING_TYPE = re.compile(r"^(?P<indent>\s*)(?P<type>(?:\[?`~?[^`]+`\]?(?:,\s*|\s+or\s+)?)+):(?P<rest>\s.*|$)")
REFERENCE = re.compile(r"\[`(?P<tilde>~?)(?P<path>[\w.]+)`\](?![(\[])")
BARE_TYPE = re.compile(r"^\s*$|^\s*[\w.]+:(\s|$)")
SIMPLE_TYPE = re.compile(r"^\[?`~?(?P<expr>[^`]+)`\]?$")
FENCE = re.compile(r"^\s*(```|~~~)")
MASKED_COMMA = "\x00"


class TransformersDocstrings(griffe.Extension):
    """Rewrite transformers-style docstrings of a loaded package into plain Google style (see the module)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = rewrite_docstring(obj.docstring.value, obj, pkg)


def _walk(obj: griffe.Object):
    yield obj
    for member in obj.members.values():
        if not member.is_alias and member.path.startswith(obj.path + "."):
            yield from _walk(member)


def rewrite_docstring(text: str, obj: griffe.Object | None = None, pkg: griffe.Module | None = None) -> str:
    """Return `text` in Google style; `obj` and `pkg` serve to resolve [`Name`] references."""
    lines = text.splitlines()
    output: list[str] = []
    index = 0
    in_fence = False
    while index < len(lines):
        line = lines[index]
        if FENCE.match(line):
            in_fence = not in_fence
        title = None if in_fence else SECTION_TITLE.match(line)
        if title is None or title["title"] not in (*ARGUMENT_SECTIONS, *RETURN_SECTIONS, *RAISE_SECTIONS):
            output.append(line if in_fence else _references(line, obj, pkg))
            index += 1
            continue
        body_end = _section_end(lines, index, len(title["indent"]))
        body = lines[index + 1 : body_end]
        if title["title"] in ARGUMENT_SECTIONS:
            body = _rewrite_arguments(body)
        else:
            body = _rewrite_leading_types(body, indent_continuations=title["title"] in RAISE_SECTIONS)
        output.append(line)
        output.extend(_references(body_line, obj, pkg) for body_line in body)
        index = body_end
    return "\n".join(output)


def _section_end(lines: list[str], title_index: int, title_indent: int) -> int:
    end = title_index + 1
    last_content = end
    while end < len(lines):
        line = lines[end]
        if line.strip():
            if _indent(line) <= title_indent:
                break
            last_content = end + 1
        end += 1
    return last_content


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _rewrite_arguments(body: list[str]) -> list[str]:
    entry_indent = min((_indent(line) for line in body if line.strip()), default=0)
    output: list[str] = []
    pending_notes: list[str] = []
    notes_indent = entry_indent + 4
    for line in body:
        is_entry = line.strip() and _indent(line) == entry_indent
        if is_entry:
            _flush_notes(output, pending_notes, notes_indent)
            parsed = _parse_entry(line)
            if parsed is None:
                output.append(line)
                continue
            indent, name, type_text, rest = parsed
            annotation, pending_notes = convert_type(type_text)
            output.append(f"{indent}{name} ({annotation}):{rest}" if annotation else f"{indent}{name}:{rest}")
            notes_indent = entry_indent + 4
        else:
            if line.strip():
                notes_indent = _indent(line)
            output.append(line)
    _flush_notes(output, pending_notes, notes_indent)
    return output


def _flush_notes(output: list[str], notes: list[str], indent: int) -> None:
    if notes:
        # After the entry's last non-blank line, so that a blank line does not cut the description.
        position = len(output)
        while position > 0 and not output[position - 1].strip():
            position -= 1
        output.insert(position, " " * indent + " ".join(notes))
        notes.clear()


def _parse_entry(line: str) -> tuple[str, str, str, str] | None:
    """Split ``name (type): rest`` where the type may hold parentheses, brackets and colons in backticks."""
    match = ENTRY_NAME.match(line)
    if match is None:
        return None
    depth, in_code = 1, False
    for position in range(match.end(), len(line)):
        char = line[position]
        if char == "`":
            in_code = not in_code
        elif not in_code and char == "(":
            depth += 1
        elif not in_code and char == ")":
            depth -= 1
            if depth == 0:
                if not line.startswith(":", position + 1):
                    return None
                return match["indent"], match["name"], line[match.end() : position], line[position + 2 :]
    return None


def convert_type(type_text: str) -> tuple[str, list[str]]:
    """
    Turn the text in a transformers-style entry's parentheses into a Google-style annotation and sentences for
    the description: ``"`int`, *optional*, defaults to 8"`` -> ``("int", ["Defaults to 8."])``.
    """
    type_parts, notes, optional = [], [], False
    for part in _split_top_level(type_text):
        if part == "*optional*":
            optional = True
        elif optional or part.startswith("defaults to "):
            # Whatever follows *optional* qualifies the argument: "defaults to X", "returned when ...".
            notes.append(_sentence(part))
        else:
            type_parts.append(part)
    text = ", ".join(type_parts)
    if " of shape " in text:
        text, shape = text.split(" of shape ", 1)
        notes.insert(0, _sentence(f"shape {shape}"))
    return _annotation(text), notes


def _split_top_level(text: str) -> list[str]:
    parts, current, depth, in_code = [], [], 0, False
    for char in text:
        if char == "`":
            in_code = not in_code
        elif not in_code and char in "([{":
            depth += 1
        elif not in_code and char in ")]}":
            depth -= 1
        if char == "," and depth == 0 and not in_code:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _annotation(text: str) -> str:
    """``"`str`, `os.PathLike` or [`Model`]"`` -> ``"str | os.PathLike | Model"``; anything that is not a plain
    list of types keeps its words, without markup."""
    alternatives = [part.strip() for part in re.split(r",\s+|\s+or\s+", _mask_code_commas(text))]
    simple = [SIMPLE_TYPE.match(part.replace(MASKED_COMMA, ",")) for part in alternatives]
    if alternatives and all(simple):
        return " | ".join(_short(match["expr"], tilde="`~" in match[0]) for match in simple)
    return re.sub(r"\[?`~?([^`]+)`\]?", r"\1", text)


def _mask_code_commas(text: str) -> str:
    # `tuple[int, ...]` holds a comma that does not separate alternatives.
    return re.sub(r"`[^`]*`", lambda match: match[0].replace(",", MASKED_COMMA), text)


def _short(expr: str, *, tilde: bool) -> str:
    return expr.rsplit(".", 1)[-1] if tilde else expr


def _rewrite_leading_types(body: list[str], *, indent_continuations: bool) -> list[str]:
    entry_indent = min((_indent(line) for line in body if line.strip()), default=0)
    output = []
    for line in body:
        match = LEADING_TYPE.match(line) if _indent(line) == entry_indent else None
        if match is not None:
            output.append(f"{match['indent']}{_annotation(match['type'].strip())}:{match['rest']}")
        elif indent_continuations and _indent(line) == entry_indent and output and not BARE_TYPE.match(line):
            output.append("    " + line)
        else:
            output.append(line)
    return output


def _references(line: str, obj: griffe.Object | None, pkg: griffe.Module | None) -> str:
    def replace(match: re.Match) -> str:
        path = match["path"]
        title = path.rsplit(".", 1)[-1] if match["tilde"] else path
        target = _resolve(path, obj, pkg)
        if target is None:
            return f"`{title}`"
        return f'<autoref identifier="{target}" optional>`{title}`</autoref>'

    return REFERENCE.sub(replace, line)


def _resolve(path: str, obj: griffe.Object | None, pkg: griffe.Module | None) -> str | None:
    """The canonical path of a package object named `path` as seen from `obj`, or None."""
    if pkg is None:
        return None
    scopes = []
    if obj is not None:
        scopes += [obj.path] if obj.is_class else []
        scopes += [obj.parent.path] if obj.parent is not None and obj.parent.is_class else []
        scopes.append(obj.module.path)
    scopes.append(pkg.path)
    candidates = [path] + [f"{scope}.{path}" for scope in scopes]
    for candidate in candidates:
        if not candidate.startswith(pkg.path + "."):
            continue
        try:
            found = pkg[candidate[len(pkg.path) + 1 :]]
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
        target = found.target_path if found.is_alias else found.path
        if target.startswith(pkg.path + "."):
            return target
    return None
