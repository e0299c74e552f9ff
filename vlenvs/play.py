"""Play any vlenvs env with the keyboard: ``python -m vlenvs.play vlenvs/Maze2D-v0 [--seed N] [key=value ...]``.

Keys: the arrows and space map to actions by name (up/down/left/right/stop, forward/turn_left/
turn_right/done); digits 1-9 pick action 1-9 by index; ``r`` starts a new episode; ``q``/Esc quits.
"""

from __future__ import annotations

import argparse
import ast
import os
from collections.abc import Iterable
from typing import Any

import gymnasium as gym

import vlenvs  # noqa: F401  (registers the ids)
from vlenvs.core.errors import InvalidConfigError

#: Key name (pygame.key.name) -> action names it triggers, first match wins.
KEY_ACTIONS: dict[str, tuple[str, ...]] = {
    "up": ("up", "forward"),
    "down": ("down",),
    "left": ("left", "turn_left"),
    "right": ("right", "turn_right"),
    "space": ("stop", "done"),
    "return": ("stop", "done"),
}


def action_for_key(key: str, action_names: tuple[str, ...]) -> int | None:
    """The action a key press means in an env with these action names, or None."""
    for name in KEY_ACTIONS.get(key, ()):
        if name in action_names:
            return action_names.index(name)
    if key.isdigit() and 1 <= int(key) <= len(action_names):
        return int(key) - 1
    return None


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``key=value`` pairs to env kwargs; values are Python literals where they parse, else strings."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InvalidConfigError(f"invalid override {item!r}; expected key=value, e.g. size=11")
        key, value = item.split("=", 1)
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def play(env_id: str, seed: int | None = None, keys: Iterable[str] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run the env in a window; ``keys`` replaces the keyboard with a scripted list of key names (tests).

    Returns a summary: episodes finished, successes and the total reward.
    """
    env = gym.make(env_id, render_mode="human", **kwargs)
    if not isinstance(env.action_space, gym.spaces.Discrete):
        env.close()
        raise InvalidConfigError(f"{env_id} has a {type(env.action_space).__name__} action space; play needs Discrete")
    names = tuple(env.unwrapped.action_names)
    print(f"{env_id}: actions {dict(enumerate(names))}; arrows/space act, r resets, q quits")
    obs, _ = env.reset(seed=seed)
    print("instruction:", obs["instruction"])
    summary = {"episodes": 0, "successes": 0, "return": 0.0, "steps": 0}
    import pygame  # only now: a window was asked for

    for key in keys if keys is not None else _keyboard(pygame):
        if key in ("q", "escape"):
            break
        if key == "r":
            obs, _ = env.reset()
            print("instruction:", obs["instruction"])
            continue
        action = action_for_key(key, names)
        if action is None:
            continue
        obs, reward, terminated, truncated, info = env.step(action)
        summary["return"] += reward
        summary["steps"] += 1
        if terminated or truncated:
            summary["episodes"] += 1
            summary["successes"] += int(bool(info.get("success", False)))
            print(f"episode over: success={info.get('success')} reward={reward}")
            obs, _ = env.reset()
            print("instruction:", obs["instruction"])
    env.close()
    return summary


def _keyboard(pygame: Any) -> Iterable[str]:
    while True:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                return
            if event.type == pygame.KEYDOWN:
                yield pygame.key.name(event.key)
        pygame.time.wait(10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env_id", choices=sorted(vlenvs.ENVS), help="registered env id")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("overrides", nargs="*", help="env keyword arguments as key=value (e.g. size=11)")
    args = parser.parse_args(argv)
    if os.environ.get("SDL_VIDEODRIVER") == "dummy":
        print("SDL_VIDEODRIVER=dummy: no window will show")
    print(play(args.env_id, seed=args.seed, **parse_overrides(args.overrides)))


if __name__ == "__main__":
    main()
