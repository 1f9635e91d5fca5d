"""The install lines of error messages, cards and docs: what works today first, PyPI's line marked as future."""

import re
from pathlib import Path

from u2net_hf.extras import REPOSITORY_URL, install_command, install_hint

PYPROJECT = (Path(__file__).parents[1] / "pyproject.toml").read_text()


def test_the_commands_install_from_the_repository_today():
    assert install_command() == f'pip install "u2net-hf @ git+{REPOSITORY_URL}"'
    assert install_command("serve") == f'pip install "u2net-hf[serve] @ git+{REPOSITORY_URL}"'
    hint = install_hint("serve")
    assert hint.startswith('pip install -e ".[serve]" in a clone, or ' + install_command("serve"))
    assert hint.endswith('(pip install "u2net-hf[serve]" once on PyPI)')
    assert install_hint().startswith('pip install -e "." in a clone')


def test_every_extra_named_in_the_package_exists():
    section = PYPROJECT.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^(\w+) = \[", section, flags=re.M))
    package = Path(__file__).parents[1] / "u2net_hf"
    named = set()
    for path in package.rglob("*.py"):
        named |= set(re.findall(r"install_hint\([\"'](\w+)[\"']\)", path.read_text()))
    assert named and named <= extras, named - extras
