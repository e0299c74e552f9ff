"""Recipes: YAML files (bundled by name or any path, ``base:`` to extend one), ``key=value`` overrides, saving.

YAML is read with :func:`load_yaml`: PyYAML's safe loader, except that ``1e-4`` is a number (YAML 1.2) rather
than YAML 1.1's string, so ``grpo.lr=1e-4`` is a float while a quoted ``'0.5'`` stays a string, which
number fields reject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vlenvs.core.errors import InvalidConfigError, invalid_choice
from vlenvs_train.train.config.run import TrainConfig, config_from_dict

RECIPES_DIR = Path(__file__).resolve().parent.parent.parent / "recipes"
#: Numbers in exponent notation without a dot (``1e-4``, ``5E3``): floats in YAML 1.2, strings in YAML 1.1.
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
_LOADER: type | None = None


def _loader() -> type:
    global _LOADER
    if _LOADER is None:
        import yaml

        class Loader(yaml.SafeLoader):
            """Safe loader that reads ``1e-4`` as a float."""

        Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))
        _LOADER = Loader
    return _LOADER


def load_yaml(text: str) -> Any:
    """Parse YAML safely (no object construction), reading ``1e-4`` as a float."""
    import yaml

    return yaml.load(text, Loader=_loader())  # noqa: S506 (a SafeLoader subclass)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"grpo.lr=1e-4"`` -> ``(["grpo", "lr"], 1e-4)`` (the value is parsed as YAML: numbers, bools, lists;
    quote a value to keep it a string: ``name='123'``)."""
    import yaml

    if "=" not in text:
        raise InvalidConfigError(f"invalid override {text!r}; expected KEY=VALUE such as grpo.iterations=5")
    key, raw = text.split("=", 1)
    path = [k for k in key.strip().split(".") if k]
    if not path:
        raise InvalidConfigError(f"invalid override {text!r}; the key is empty")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set each ``key=value`` override in the nested mapping ``data`` (sections are made as needed)."""
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for k in path[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise InvalidConfigError(f"override {text!r}: {k!r} is not a section")
        node[path[-1]] = value
    return data


def recipe_names() -> list[str]:
    """The bundled recipes (files starting with ``_`` are bases other recipes extend)."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml") if not p.stem.startswith("_"))


def deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``top``'s values on top, sections merged key by key."""
    out = dict(base)
    for k, v in top.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def read_recipe(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A recipe file as a mapping, merged over its ``base:`` recipe (a bundled name or a path) if it has one."""
    import yaml

    if path in seen:
        raise InvalidConfigError(f"recipe {str(path)!r} extends itself (base chain {[str(p) for p in seen]})")
    try:
        data = load_yaml(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise InvalidConfigError(f"recipe {str(path)!r} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise InvalidConfigError(f"recipe {str(path)!r} is not a YAML mapping")
    base = data.pop("base", None)
    if base is None:
        return data
    base_path = RECIPES_DIR / f"{base}.yaml" if (RECIPES_DIR / f"{base}.yaml").exists() else recipe_path(base)
    return deep_merge(read_recipe(base_path, (*seen, path)), data)


def recipe_path(name_or_path: str | Path) -> Path:
    """A bundled recipe's file (by name) or the given path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            why = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise InvalidConfigError(f"recipe file {str(path)!r} {why}")
        return path
    bundled = RECIPES_DIR / f"{name_or_path}.yaml"
    if not bundled.exists():
        raise invalid_choice("recipe", str(name_or_path), recipe_names() + ["a path to a .yaml file"])
    return bundled


def load_recipe(name_or_path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a recipe, apply ``key=value`` overrides, validate. ``name``/``out_dir`` default to the recipe's."""
    path = recipe_path(name_or_path)
    data = read_recipe(path)
    data.setdefault("name", path.stem)
    data.setdefault("out_dir", f"runs/{data['name']}")
    return config_from_dict(apply_overrides(data, overrides))


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write ``config`` as a recipe YAML file (:func:`load_recipe` reads it back to an equal config)."""
    import yaml

    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
