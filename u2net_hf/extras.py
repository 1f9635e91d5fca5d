# Copyright 2026 The u2net-hf Authors. Licensed under the Apache License, Version 2.0.
"""How to install the package and its optional extras today (in a clone, or straight from the repository: the
package is not on PyPI yet), in the one wording every error message, card and docs page uses."""

from __future__ import annotations

REPOSITORY_URL = "https://github.com/u2net-hf/u2net-hf"


def install_command(extra: str | None = None) -> str:
    """
    The pip command that installs u2net-hf (with `extra`) today, without a clone.

    Example:

    ```python
    >>> from u2net_hf.extras import install_command
    >>> install_command("serve")
    'pip install "u2net-hf[serve] @ git+https://github.com/u2net-hf/u2net-hf"'
    ```
    """
    return f'pip install "u2net-hf{_brackets(extra)} @ git+{REPOSITORY_URL}"'


def install_hint(extra: str | None = None) -> str:
    """
    The install line of error messages: the command in a clone and the one without, then the command that will
    work once the package is on PyPI, marked as such.

    Example:

    ```python
    >>> from u2net_hf.extras import install_hint
    >>> install_hint("matting")
    'pip install -e ".[matting]" in a clone, or pip install "u2net-hf[matting] @ git+https://github.com/u2net-hf/u2net-hf" (pip install "u2net-hf[matting]" once on PyPI)'
    ```
    """
    return (
        f'pip install -e ".{_brackets(extra)}" in a clone, or {install_command(extra)} '
        f'(pip install "u2net-hf{_brackets(extra)}" once on PyPI)'
    )


def _brackets(extra: str | None) -> str:
    return f"[{extra}]" if extra else ""


__all__ = ["REPOSITORY_URL", "install_command", "install_hint"]
