"""Fashion-MNIST, found offline when a copy exists and loaded fast for small CPU experiments.

Where the data comes from, in this order:

1. the folder named by the environment variable ``FASHION_MNIST_DIR``;
2. the Debian package's folder ``/usr/share/datasets/fashion-mnist``
   (``apt-get install dataset-fashion-mnist``);
3. the repository's git-ignored ``data/`` folder (a copy staged or downloaded before).

Whatever is found is staged, un-gzipped, in ``<root>/FashionMNIST/raw/``: the place where
``torchvision.datasets.FashionMNIST`` and ``d2l.FashionMNIST`` look, so both work offline. With no
copy anywhere, torchvision downloads it as usual; offline, a :class:`FashionMNISTNotFound` error says
how to get the data.
"""
from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from .checks import check_choice, check_int

ENV_VAR = "FASHION_MNIST_DIR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
REPO_ROOT = Path(__file__).resolve().parent.parent
REPO_DATA = REPO_ROOT / "data"

CLASS_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle boot")

# The mean and standard deviation of the training images' pixels (scaled to [0, 1]).
MEAN, STD = 0.2860, 0.3530


@dataclass(frozen=True)
class _IdxFile:
    name: str
    magic: int
    count: int
    item_shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        header = 4 * (1 + 1 + len(self.item_shape))
        return header + self.count * int(np.prod(self.item_shape, dtype=np.int64))


FILES = (
    _IdxFile("train-images-idx3-ubyte", 2051, 60_000, (28, 28)),
    _IdxFile("train-labels-idx1-ubyte", 2049, 60_000, ()),
    _IdxFile("t10k-images-idx3-ubyte", 2051, 10_000, (28, 28)),
    _IdxFile("t10k-labels-idx1-ubyte", 2049, 10_000, ()),
)


class FashionMNISTNotFound(FileNotFoundError):
    """No copy of Fashion-MNIST was found and it could not be downloaded."""


class FashionMNISTCorrupt(ValueError):
    """A Fashion-MNIST file is truncated or is not the file its name says."""


def _not_found_message(tried: list[Path], reason: str) -> str:
    places = "\n".join(f"  - {p}" for p in tried)
    return (
        "Fashion-MNIST was not found on this machine and could not be downloaded "
        f"({reason}).\nLooked in:\n{places}\n"
        "Get the data in one of three ways:\n"
        f"  1. set {ENV_VAR} to a folder holding the four files "
        "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]);\n"
        "  2. on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist "
        f"(installs them in {DEBIAN_DIR});\n"
        f"  3. run once with internet access: the files are downloaded to {REPO_DATA}/FashionMNIST/raw/."
    )


def candidate_dirs() -> list[Path]:
    """The folders searched for Fashion-MNIST, in order of preference."""
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]).expanduser())
    dirs.append(DEBIAN_DIR)
    dirs.append(REPO_DATA / "FashionMNIST" / "raw")
    return dirs


def _source(folder: Path, spec: _IdxFile) -> Path | None:
    for name in (spec.name, spec.name + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist() -> Path | None:
    """Return the first folder that holds all four Fashion-MNIST files (raw or .gz), else None."""
    for folder in candidate_dirs():
        if all(_source(folder, spec) for spec in FILES):
            return folder
    return None


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise FashionMNISTCorrupt(f"{path} cannot be read ({err}); delete it and fetch it again.") from err


def _check_idx(raw: bytes, spec: _IdxFile, path: Path) -> None:
    if len(raw) != spec.nbytes:
        raise FashionMNISTCorrupt(
            f"{path} has {len(raw):,} bytes, expected {spec.nbytes:,} for {spec.name} "
            "(truncated or the wrong file); delete it and fetch it again.")
    header = np.frombuffer(raw[:8], dtype=">i4")
    if header[0] != spec.magic or header[1] != spec.count:
        raise FashionMNISTCorrupt(
            f"{path} does not start with the IDX header of {spec.name} "
            f"(magic {spec.magic}, {spec.count} items); delete it and fetch it again.")


def prepare_fashion_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Stage Fashion-MNIST un-gzipped in ``<root>/FashionMNIST/raw/`` and return ``root``.

    ``root`` defaults to the repository's ``data/`` folder (d2l's default ``../data`` seen from
    ``notebooks/``). Files already staged are checked, not copied again.
    """
    root = Path(root) if root is not None else REPO_DATA
    raw_dir = root / "FashionMNIST" / "raw"
    if all((raw_dir / spec.name).is_file() for spec in FILES):
        for spec in FILES:
            _check_idx(_read_bytes(raw_dir / spec.name), spec, raw_dir / spec.name)
        return root
    found = find_fashion_mnist()
    if found is None:
        if not download:
            raise FashionMNISTNotFound(_not_found_message(candidate_dirs(), "download=False"))
        _download(root)
        return root
    raw_dir.mkdir(parents=True, exist_ok=True)
    for spec in FILES:
        src = _source(found, spec)
        raw = _read_bytes(src)
        _check_idx(raw, spec, src)
        if src != raw_dir / spec.name:
            tmp = raw_dir / (spec.name + ".part")
            tmp.write_bytes(raw)
            tmp.replace(raw_dir / spec.name)
    return root


def _download(root: Path) -> None:
    """Download with torchvision; turn a network failure into one clear error."""
    from torchvision.datasets import FashionMNIST

    try:
        for train in (True, False):
            FashionMNIST(root=str(root), train=train, download=True)
    except (OSError, RuntimeError) as err:
        shutil.rmtree(root / "FashionMNIST", ignore_errors=True)
        raise FashionMNISTNotFound(_not_found_message(candidate_dirs(), f"{type(err).__name__}: {err}")) from err


def _load_split(train: bool, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    raw_dir = root / "FashionMNIST" / "raw"
    images_spec, labels_spec = (FILES[0], FILES[1]) if train else (FILES[2], FILES[3])
    arrays = []
    for spec in (images_spec, labels_spec):
        raw = _read_bytes(raw_dir / spec.name)
        _check_idx(raw, spec, raw_dir / spec.name)
        offset = 4 * (2 + len(spec.item_shape))
        arrays.append(np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(spec.count, *spec.item_shape))
    return torch.from_numpy(arrays[0].copy()), torch.from_numpy(arrays[1].astype(np.int64))


def load_fashion_mnist(train: bool = True, subset: int | None = None, size: int | None = None,
                       normalize: bool = True, seed: int = 0,
                       root: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole split as in-memory tensors: images ``(N, 1, H, W)`` float32 and labels ``(N,)``.

    ``subset`` keeps that many images, drawn at random with ``seed`` (class balance is not forced);
    ``size`` resizes to ``size x size`` (bilinear); ``normalize`` standardises with the training mean
    and standard deviation, otherwise pixels are in ``[0, 1]``.
    """
    if subset is not None and (not isinstance(subset, int) or subset < 1):
        raise ValueError(f"subset must be a positive int or None, got {subset!r}")
    if size is not None and (not isinstance(size, int) or size < 1):
        raise ValueError(f"size must be a positive int or None, got {size!r}")
    images, labels = _load_split(train, prepare_fashion_mnist(root))
    if subset is not None and subset < len(labels):
        idx = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:subset]
        images, labels = images[idx], labels[idx]
    x = images.unsqueeze(1).float().div_(255.0)
    if size is not None and size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    if normalize:
        x = (x - MEAN) / STD
    return x, labels


def fashion_mnist_loaders(batch_size: int = 256, subset: int | None = None, test_subset: int | None = None,
                          size: int | None = None, seed: int = 0,
                          root: str | os.PathLike | None = None) -> tuple[DataLoader, DataLoader]:
    """Training and test ``DataLoader``s over in-memory tensors (no worker processes needed)."""
    x_train, y_train = load_fashion_mnist(True, subset, size, seed=seed, root=root)
    x_test, y_test = load_fashion_mnist(False, test_subset, size, seed=seed, root=root)
    gen = torch.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True, generator=gen)
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=1024, shuffle=False)
    return train, test


def d2l_fashion_mnist(batch_size: int = 64, resize: tuple[int, int] = (28, 28), num_workers: int = 0,
                      root: str | os.PathLike | None = None):
    """A ``d2l.FashionMNIST`` data module that reads the staged offline copy (for ``d2l.Trainer``).

    d2l defaults to 4 loader workers. For 28x28 images on a 2-core machine workers barely help (60
    batches of 64: 0.56 s with 0 workers, 0.52 s with 2, 0.64 s with 4, measured by
    ``benchmarks/fast_recipe.py --loader-workers``), so the default here is 0: no processes to start.
    """
    from d2l import torch as d2l
    from torchvision import transforms
    from torchvision.datasets import FashionMNIST

    root = str(prepare_fashion_mnist(root))

    class OfflineFashionMNIST(d2l.FashionMNIST):
        def __init__(self):
            # d2l's own __init__ would read its default root '../data'; ours points at the copy.
            d2l.DataModule.__init__(self, root=root, num_workers=num_workers)
            self.batch_size, self.resize = batch_size, resize
            trans = transforms.Compose([transforms.Resize(resize), transforms.ToTensor()])
            self.train = FashionMNIST(root=root, train=True, transform=trans, download=False)
            self.val = FashionMNIST(root=root, train=False, transform=trans, download=False)

    return OfflineFashionMNIST()



TASKS = ("reverse", "sort")


def sequence_task(n: int, task: str = "reverse", length: int = 12, vocab: int = 16,
                  seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random token sequences (ids below ``vocab``) and their targets: the sequence reversed,
    or sorted. A toy task for a small transformer (notebook 07): each output position must attend
    to the right input positions."""
    check_int("n", n)
    check_choice("task", task, TASKS)
    check_int("length", length, minimum=2)
    check_int("vocab", vocab, minimum=2)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (n, length), generator=generator)
    return x, (x.flip(1) if task == "reverse" else x.sort(dim=1).values)
