"""Write a list of RGB frames as a GIF (Pillow) or an MP4 (imageio-ffmpeg, imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

MP4_EXTRA = "pip install 'vlenvs[record]'  (imageio-ffmpeg)"


def mp4_backend() -> Any:
    """The ``imageio_ffmpeg`` module, or an ImportError telling which extra to install."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ImportError(f"recording MP4 needs imageio-ffmpeg: {MP4_EXTRA}; or record format='gif'") from None
    return imageio_ffmpeg


def write_gif(path: Path, frames: Sequence[np.ndarray], fps: float) -> None:
    """An endlessly looping GIF. Pillow merges identical consecutive frames into one longer frame."""
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)


def write_mp4(path: Path, frames: Sequence[np.ndarray], fps: float) -> None:
    """An H.264 MP4 (yuv420p); odd frame sides are padded by one edge pixel, as the codec needs even ones."""
    ffmpeg = mp4_backend()
    h, w = frames[0].shape[:2]
    pad = ((0, h % 2), (0, w % 2), (0, 0))
    writer = ffmpeg.write_frames(str(path), (w + w % 2, h + h % 2), fps=fps, codec="libx264",
                                 macro_block_size=1, ffmpeg_log_level="error")
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(np.pad(frame, pad, mode="edge") if h % 2 or w % 2 else frame))
    finally:
        writer.close()


WRITERS = {"gif": write_gif, "mp4": write_mp4}
