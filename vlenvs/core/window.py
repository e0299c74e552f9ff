"""A pygame window for ``render_mode="human"`` and the play script (pygame is imported here only)."""

from __future__ import annotations

import importlib.util

import numpy as np

from vlenvs.core.errors import VlenvsError

#: How to get pygame for ``render_mode="human"`` and the play script.
HUMAN_EXTRA = "pip install 'vlenvs[human]'"


def pygame_available() -> bool:
    """Whether pygame can be imported, without importing it (``import vlenvs`` stays light)."""
    try:
        return importlib.util.find_spec("pygame") is not None
    except (ImportError, ValueError):  # a blocked or half-imported pygame
        return False


class Window:
    """Shows RGB frames scaled up to at least ``min_side`` pixels, with the instruction as the caption."""

    def __init__(self, title: str = "vlenvs", fps: int = 8, min_side: int = 512) -> None:
        try:
            import pygame
        except ImportError as e:  # pragma: no cover - depends on the install
            raise VlenvsError(
                f"render_mode='human' and the play script need pygame: {HUMAN_EXTRA}"
            ) from e
        self._pg = pygame
        pygame.init()
        pygame.display.init()
        self.title, self.fps, self.min_side = title, fps, min_side
        self.screen = None
        self.clock = pygame.time.Clock()

    def show(self, frame: np.ndarray, caption: str = "") -> None:
        """Draw one ``uint8[H, W, 3]`` frame."""
        pg = self._pg
        h, w = frame.shape[:2]
        scale = max(1, -(-self.min_side // max(h, w)))
        size = (w * scale, h * scale)
        if self.screen is None or self.screen.get_size() != size:
            self.screen = pg.display.set_mode(size)
        pg.display.set_caption(f"{self.title}: {caption}" if caption else self.title)
        surf = pg.surfarray.make_surface(np.ascontiguousarray(frame.transpose(1, 0, 2)))
        self.screen.blit(pg.transform.scale(surf, size), (0, 0))
        pg.event.pump()
        pg.display.flip()
        self.clock.tick(self.fps)

    def snapshot(self) -> np.ndarray:
        """What the window shows now, ``uint8[H, W, 3]`` (for tests)."""
        assert self.screen is not None, "snapshot() before show()"
        return self._pg.surfarray.array3d(self.screen).transpose(1, 0, 2).copy()

    def close(self) -> None:
        """Close the window."""
        self._pg.display.quit()
