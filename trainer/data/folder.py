"""An image folder as a dataset.

Layout (``class_folders``, the one rule the loader, the CLI and the window all use): when two or
more top-level sub-folders hold images, each of them is a class (sorted by name, nested folders
belong to their top-level class) and images lying directly in the root are skipped as "outside
class folders". Otherwise (no sub-folders, one class folder, or extra sub-folders without images)
every image is used, unconditionally: one class has nothing to condition on. Hidden files and
folders are ignored.

Every other file is tried with PIL. Files that are not images or are corrupt are skipped and
listed in the LoadReport. In memory, every file is fully decoded, so truncated files are caught.
When the dataset is too large for memory it streams, and files are checked up front only by
header and ``verify()`` (a structural check, e.g. PNG chunk CRCs; a JPEG whose data is cut short
can pass it): a file that still fails later is replaced by the next one (see ImageFileDataset).
StreamingData items carry no attribute values; a streamed folder keeps the CSV's values beside
them (``StreamingData.attributes``), for an in-memory sample to use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from trainer.data.attributes_csv import read_attributes_csv
from trainer.data.base import DataError, ImageData, LoadReport, StreamingData
from trainer.data.decode import (
    DECODE_ERRORS,
    GRAY_MODES,
    ImageFileDataset,
    LoadProgress,
    decode_all,
    is_very_large,
    quiet_bomb_warnings,
    read_header,
    read_mode,
    skip_reason,
)

_OUTSIDE = "outside class folders"


def load_image_folder(
    path: str | Path,
    size: int,
    attributes_csv: str | Path | None = None,
    device: torch.device | str = "cpu",
    max_in_memory_bytes: int = 2 * 1024**3,
    progress: LoadProgress | None = None,
) -> ImageData | StreamingData:
    """Load the images under ``path`` at ``size`` x ``size`` (see the module docstring).
    ``progress(done, total)`` follows the decoding of a folder that fits in memory.

    Images are 1-channel if every file is grayscale, else RGB. The result is an ImageData on
    ``device`` when N * C * size * size bytes fit in ``max_in_memory_bytes``, else StreamingData.
    """
    root = _check_root(path)
    report = LoadReport()
    files = _list_files(root, report)
    n_seen = len(files)
    table = None
    rows: dict[str, int] = {}
    if attributes_csv:
        table = read_attributes_csv(attributes_csv)
        files, rows = _with_attribute_rows(files, table.match(files), report)
        if not files:
            raise DataError(
                f"attributes CSV {attributes_csv} names none of the {n_seen} files in "
                f"{root}; its file column must hold names relative to the folder"
            )
    modes = _read_modes(root, files, report, verify=False)
    files = _drop_root_files(list(modes), report)
    if not files:
        raise _no_images(root, n_seen, report)
    channels = 1 if all(modes[f] in GRAY_MODES for f in files) else 3
    name = root.name or str(root)
    attr_names = table.names if table else []

    if len(files) * channels * size * size > max_in_memory_bytes:
        files = list(_read_modes(root, files, report, verify=True))
        if not files:
            raise _no_images(root, n_seen, report)
        labels, class_names = _labels(files)
        report.loaded = len(files)
        dataset = ImageFileDataset(
            [str(root / f) for f in files], labels or [-1] * len(files), size, channels
        )
        return StreamingData(
            dataset,
            class_names,
            channels,
            size,
            device,
            name=name,
            attribute_names=attr_names,
            report=report,
            attributes=table.values[[rows[f] for f in files]] if table else None,
        )

    images, kept, failed = decode_all([str(root / f) for f in files], size, channels, progress)
    report.skipped += [(files[i], reason) for i, reason in failed]
    files = [files[i] for i in kept]
    if not files:
        raise _no_images(root, n_seen, report)
    labels, class_names = _labels(files)
    report.loaded = len(files)
    attributes = table.values[[rows[f] for f in files]] if table else None  # (N, A) float32
    return ImageData(
        images,
        torch.tensor(labels) if labels else None,
        class_names,
        attributes,
        attr_names,
        name=name,
        report=report,
    ).to(device)


def _check_root(path: str | Path) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"image folder {root} does not exist; choose an existing folder")
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; choose the folder that holds the images")
    try:
        with os.scandir(root):
            pass
    except OSError as e:
        raise DataError(
            f"cannot read image folder {root} ({e.strerror or e}); check its permissions"
        ) from None
    return root


def class_folders(files: list[str]) -> list[str]:
    """The class names of an image folder, from its image files (posix paths relative to the
    root): the top-level sub-folders that hold at least one of them, sorted, when there are two or
    more; else [] (unconditional). The one rule for what makes a folder labelled."""
    tops = sorted({f.split("/", 1)[0] for f in files if "/" in f})
    return tops if len(tops) >= 2 else []


def folder_is_labelled(path: str | Path) -> bool:
    """Whether ``load_image_folder(path)`` will find classes, from a quick look (for the CLI's
    and the window's conditional default): ``class_folders`` applied to the first file in each
    top-level sub-folder whose header reads as an image, stopping as soon as two are found.
    False for a folder that cannot be read."""
    root = Path(path).expanduser()
    try:
        subs = sorted(e.name for e in os.scandir(root) if not e.name.startswith(".")
                      and e.is_dir())
    except OSError:
        return False
    found: list[str] = []
    for sub in subs:
        for f in _walk_files(root / sub):
            try:
                read_mode(root / sub / f)
            except DECODE_ERRORS:
                continue
            found.append(f"{sub}/{f}")
            break
        if class_folders(found):
            return True
    return False


def _list_files(root: Path, report: LoadReport) -> list[str]:
    """Non-hidden files under root as sorted posix paths relative to it; symlinks followed once."""

    def on_error(e: OSError) -> None:
        report.skipped.append((_rel(root, e.filename or str(root)), "unreadable folder"))

    return list(_walk_files(root, on_error))


def _walk_files(root: Path, on_error: Callable[[OSError], None] | None = None) -> Iterator[str]:
    """Non-hidden files under root, in sorted order, as posix paths relative to it; symlinked
    folders are followed once (a loop, or a second link to one folder, is not entered again)."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if not f.startswith("."):
                yield _rel(root, os.path.join(dirpath, f))


def _rel(root: Path, path: str) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _with_attribute_rows(
    files: list[str], matches: list[int | None], report: LoadReport
) -> tuple[list[str], dict[str, int]]:
    rows = {f: r for f, r in zip(files, matches, strict=True) if r is not None}
    report.skipped += [(f, "no row in attributes CSV") for f in files if f not in rows]
    return [f for f in files if f in rows], rows


def _read_modes(root: Path, files: list[str], report: LoadReport, verify: bool) -> dict[str, str]:
    """{file: PIL mode} for files whose header reads (in order); the rest go to the report."""

    def header(f: str) -> tuple[str, int] | BaseException:
        try:
            return read_header(root / f, verify)
        except DECODE_ERRORS as e:
            return e

    quiet_bomb_warnings()
    with ThreadPoolExecutor() as pool:  # opening many files is I/O bound (network drives)
        results = list(pool.map(header, files))
    out: dict[str, str] = {}
    for f, h in zip(files, results, strict=True):
        if isinstance(h, BaseException):
            report.skipped.append((f, skip_reason(h)))
            continue
        out[f] = h[0]
        if is_very_large(h[1]) and f not in report.very_large:
            report.very_large.append(f)
    return out


def _drop_root_files(files: list[str], report: LoadReport) -> list[str]:
    """With class folders present, images lying in the root belong to no class: skip them."""
    if not class_folders(files):
        return files
    report.skipped += [(f, _OUTSIDE) for f in files if "/" not in f]
    return [f for f in files if "/" in f]


def _labels(files: list[str]) -> tuple[list[int] | None, list[str]]:
    """Class index per file from its top-level folder, and the sorted class names.

    Computed from the files that actually loaded, so a class whose files all failed is dropped.
    """
    class_names = class_folders(files)
    if not class_names or any("/" not in f for f in files):
        return None, []
    index = {c: i for i, c in enumerate(class_names)}
    return [index[f.split("/", 1)[0]] for f in files], class_names


def _no_images(root: Path, n_seen: int, report: LoadReport) -> DataError:
    if n_seen == 0:
        return DataError(
            f"image folder {root} is empty (hidden files are ignored); put images "
            "in it, or one sub-folder of images per class"
        )
    return DataError(
        f"no usable images in {root}: looked at {n_seen} files, "
        f"{report.summary()}; add PNG or JPEG images"
    )
