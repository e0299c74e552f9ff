"""Sphinx configuration of the vlenvs docs: ``bash scripts/docs.sh`` builds them (warnings are errors)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "vlenvs"
author = "vlenvs developers"
copyright = "2026, vlenvs developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = "vlenvs"
html_static_path = ["_static"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Type hints name classes of other packages (numpy, torch, gymnasium) that are not documented here.
nitpicky = False

# Figures measured by the benchmarks live in benchmarks/results/; the pages show copies of them.
_generated = Path(__file__).resolve().parent / "_generated"
_generated.mkdir(exist_ok=True)
for png in (ROOT / "benchmarks" / "results").glob("*.png"):
    shutil.copy2(png, _generated / png.name)
