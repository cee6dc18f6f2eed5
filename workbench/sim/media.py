"""Pictures of the simulation: a shaded snapshot PNG, and an MP4 and a GIF of the cut.

Heights are shaded with matplotlib's :class:`~matplotlib.colors.LightSource` (Lambertian
hill-shading, light from the north-west at 45 degrees, as in Horn, "Hill shading and the
reflectance map", Proc. IEEE 69 (1981)). The MP4 is encoded with the ffmpeg binary of the
``imageio-ffmpeg`` wheel (H.264, yuv420p: plays in browsers), so nothing needs a system
install; the GIF is written with Pillow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import EncodingError
from .simulate import SimResult, Violation

__all__ = ["shade", "write_snapshot", "write_video", "write_gif"]

_SEV_STYLE = {"error": ("#e41a1c", "x"), "warning": ("#ff7f00", "o"), "info": ("#377eb8", ".")}


def shade(heights: np.ndarray, *, zmin: float, zmax: float, cell: float = 1.0,
          vert_exag: float = 1.0) -> np.ndarray:
    """Hill-shaded RGB image of a height grid.

    Args:
        heights: (ny, nx) heights, row 0 at the lowest y, mm; non-finite = ``zmin``.
        zmin, zmax: colour range (stock bottom and top), mm.
        cell: cell size, mm (slopes are computed in true scale).
        vert_exag: vertical exaggeration of the shading.

    Returns:
        uint8 array (ny, nx, 3), row 0 at the *top* of the picture (highest y).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import colormaps
    from matplotlib.colors import LightSource, Normalize

    z = np.where(np.isfinite(heights), heights, zmin).astype(float)
    z = np.flipud(z)
    ls = LightSource(azdeg=315, altdeg=45)
    span = max(zmax - zmin, 1e-6)
    rgb = ls.shade(z, cmap=colormaps["YlOrBr_r"], norm=Normalize(zmin - 0.15 * span, zmax),
                   vert_exag=vert_exag, dx=cell, dy=cell, blend_mode="soft")
    return (np.clip(rgb[..., :3], 0, 1) * 255).astype(np.uint8)


def write_snapshot(result: SimResult, path: str | Path, *, title: str | None = None,
                   max_labels: int = 25) -> Path:
    """Write the final stock as a shaded PNG with the violations marked.

    Each violation is a marker at its worst cell (red x: error, orange o: warning) labelled
    with its source line for the first ``max_labels``.

    Raises:
        EncodingError: the PNG cannot be written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    hm = result.heightmap
    mean = np.where(hm.material, hm.mean(), np.nan)
    img = shade(mean, zmin=hm.bottom, zmax=hm.top, cell=hm.cell)
    st = hm.stock
    w, h = st.xmax - st.xmin, st.ymax - st.ymin
    fig_w = 8.0
    fig_h = max(3.0, min(12.0, fig_w * h / max(w, 1e-6) + 1.2))
    try:
        fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=110)
        ax.imshow(img, extent=(st.xmin, st.xmax, st.ymin, st.ymax), origin="upper", interpolation="nearest")
        seen: set[str] = set()
        for n, v in enumerate(result.violations):
            color, marker = _SEV_STYLE.get(v.severity, _SEV_STYLE["info"])
            label = v.code if v.code not in seen else None
            seen.add(v.code)
            ax.scatter([v.x], [v.y], s=60, c=color, marker=marker, linewidths=2, label=label, zorder=3)
            if n < max_labels:
                ax.annotate(f"L{v.line}", (v.x, v.y), xytext=(4, 4), textcoords="offset points",
                            fontsize=7, color=color, zorder=4)
        if seen:
            ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
        ax.set_xlabel("X (mm)")
        ax.set_ylabel("Y (mm)")
        ax.set_aspect("equal")
        ax.set_title(title or (f"removed {result.removed_volume_mm3 / 1000:.1f} cm³, "
                               f"{result.collision_count} collision(s), {len(result.violations)} violation record(s)"),
                     fontsize=9)
        fig.tight_layout()
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p)
        plt.close(fig)
    except (OSError, ValueError, RuntimeError) as exc:
        raise EncodingError(f"{path}: cannot write the snapshot PNG ({exc})") from exc
    return p


def _frames_rgb(result: SimResult, max_px: int | None = None) -> list[np.ndarray]:
    hm = result.heightmap
    out = []
    stride_cell = hm.cell * max(1, int(np.ceil(max(hm.nx, hm.ny) / max(result.frames[0].shape) - 1e-9))) \
        if result.frames else hm.cell
    for fr in result.frames:
        img = shade(fr, zmin=hm.bottom, zmax=hm.top, cell=stride_cell)
        if max_px is not None and max(img.shape[:2]) > max_px:
            s = int(np.ceil(max(img.shape[:2]) / max_px))
            img = img[::s, ::s]
        out.append(img)
    return out


def _pad(img: np.ndarray, block: int = 16, min_side: int = 64) -> np.ndarray:
    """Pad an image to a multiple of ``block`` (H.264 macro blocks; yuv420p needs even sides)."""
    h, w = img.shape[:2]
    H = max(-(-h // block) * block, min_side)
    W = max(-(-w // block) * block, min_side)
    out = np.full((H, W, 3), 255, dtype=np.uint8)
    out[:h, :w] = img
    return out


def write_video(result: SimResult, path: str | Path, *, fps: int = 12,
                frames: Sequence[np.ndarray] | None = None) -> Path:
    """Write the cut progressing as an H.264 MP4 (ffmpeg from imageio-ffmpeg).

    Raises:
        EncodingError: no frames, or ffmpeg failed (its message included).
    """
    import imageio.v2 as iio

    imgs = list(frames) if frames is not None else _frames_rgb(result)
    if not imgs:
        raise EncodingError(f"{path}: no frames to encode (simulate with frames > 0)")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        with iio.get_writer(p, fps=fps, codec="libx264", pixelformat="yuv420p", macro_block_size=16,
                            ffmpeg_log_level="error", output_params=["-movflags", "+faststart"]) as w:
            for img in imgs:
                w.append_data(_pad(img))
            w.append_data(_pad(imgs[-1]))  # hold the last frame
    except Exception as exc:  # noqa: BLE001 - imageio/ffmpeg raise many kinds; report as one
        raise EncodingError(f"{p}: MP4 encoding failed ({type(exc).__name__}: {exc})") from exc
    return p


def write_gif(result: SimResult, path: str | Path, *, fps: int = 8, max_px: int = 320,
              frames: Sequence[np.ndarray] | None = None) -> Path:
    """Write the cut progressing as a looping GIF (Pillow, adaptive palette).

    Raises:
        EncodingError: no frames, or Pillow failed.
    """
    from PIL import Image

    imgs = list(frames) if frames is not None else _frames_rgb(result, max_px=max_px)
    if not imgs:
        raise EncodingError(f"{path}: no frames to encode (simulate with frames > 0)")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        pil = [Image.fromarray(i).convert("P", palette=Image.Palette.ADAPTIVE, colors=128) for i in imgs]
        pil[0].save(p, save_all=True, append_images=pil[1:], duration=int(1000 / fps), loop=0, optimize=True)
    except (OSError, ValueError) as exc:
        raise EncodingError(f"{p}: GIF encoding failed ({exc})") from exc
    return p


def media_summary(paths: dict[str, Any]) -> dict[str, Any]:
    """Sizes in bytes of the written media files (for the run log)."""
    return {k: (Path(v).stat().st_size if v and Path(v).exists() else None) for k, v in paths.items()}
