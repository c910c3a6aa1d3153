"""The optional extras of pyproject.toml and how to install one, for the messages that name them.

The distribution is not on a package index under its name, so a hint never says `pip install
imagine-tlm[...]`: it names the packages themselves, and the editable install of a source checkout.
tests/test_install_hints.py checks this table against pyproject.toml.
"""
from __future__ import annotations

EXTRAS = {  # extra -> the packages it installs (pyproject.toml [project.optional-dependencies])
    "onnx": ("onnx",),
    "plot": ("matplotlib",),
    "frames": ("pandas",),
    "dask": ("dask[distributed]",),
    "data": ("mlxtend", "scikit-learn", "scipy"),
}


def install_hint(extra: str) -> str:
    """'pip install onnx (in a source checkout: pip install -e ".[onnx]")'."""
    pkgs = " ".join(f"'{p}'" if "[" in p else p for p in EXTRAS[extra])
    return f"pip install {pkgs} (in a source checkout: pip install -e \".[{extra}]\")"
