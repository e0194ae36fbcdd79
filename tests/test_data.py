"""Where Fashion-MNIST is found, what happens when it is not, and what the loaders return."""
import gzip
import urllib.error

import numpy as np
import pytest
import torch

from helpers import data


def write_fake_copy(folder, gz=True, truncate=None, magic_shift=0):
    """Write four valid (all-zero image, label 3) IDX files, optionally broken."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in data.FILES:
        header = np.array([spec.magic + magic_shift, spec.count, *spec.item_shape], dtype=">i4").tobytes()
        body = np.full(spec.nbytes - len(header), 3 if not spec.item_shape else 0, dtype=np.uint8).tobytes()
        raw = header + body
        if truncate and spec.name == truncate:
            raw = raw[: len(raw) // 2]
        if gz:
            with gzip.open(folder / (spec.name + ".gz"), "wb", compresslevel=1) as fh:
                fh.write(raw)
        else:
            (folder / spec.name).write_bytes(raw)


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No copy anywhere: the env var unset, the Debian and repo folders pointed at empty places."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "repo-data")
    return tmp_path


def test_found_through_environment_variable_first(nowhere, monkeypatch):
    write_fake_copy(nowhere / "mine")
    write_fake_copy(data.DEBIAN_DIR)
    monkeypatch.setenv(data.ENV_VAR, str(nowhere / "mine"))
    assert data.find_fashion_mnist() == nowhere / "mine"


def test_found_in_debian_folder_and_staged_ungzipped(nowhere):
    write_fake_copy(data.DEBIAN_DIR)
    assert data.find_fashion_mnist() == data.DEBIAN_DIR
    root = data.prepare_fashion_mnist(nowhere / "stage")
    raw = root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(spec.name for spec in data.FILES)
    x, y = data.load_fashion_mnist(train=False, root=root, normalize=False)
    assert x.shape == (10_000, 1, 28, 28) and bool((y == 3).all())


def test_found_in_repo_data_folder(nowhere):
    write_fake_copy(data.REPO_DATA / "FashionMNIST" / "raw", gz=False)
    assert data.find_fashion_mnist() == data.REPO_DATA / "FashionMNIST" / "raw"
    assert data.prepare_fashion_mnist() == data.REPO_DATA


def test_staged_copy_is_what_torchvision_reads_offline(nowhere):
    from torchvision.datasets import FashionMNIST

    write_fake_copy(data.DEBIAN_DIR)
    root = data.prepare_fashion_mnist(nowhere / "stage")
    ds = FashionMNIST(root=str(root), train=False, download=True)  # must not try the network
    assert len(ds) == 10_000 and int(ds[0][1]) == 3


def test_offline_without_a_copy_names_the_three_ways(nowhere, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(data.FashionMNISTNotFound) as info:
        data.prepare_fashion_mnist(nowhere / "stage")
    message = str(info.value)
    assert data.ENV_VAR in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "internet" in message
    assert not (nowhere / "stage" / "FashionMNIST").exists()


def test_download_false_raises_without_touching_the_network(nowhere):
    with pytest.raises(data.FashionMNISTNotFound, match="download=False"):
        data.prepare_fashion_mnist(nowhere / "stage", download=False)


def test_truncated_file_gives_a_clear_error(nowhere):
    write_fake_copy(data.DEBIAN_DIR, truncate="train-labels-idx1-ubyte")
    with pytest.raises(data.FashionMNISTCorrupt, match=r"train-labels-idx1-ubyte.*truncated"):
        data.prepare_fashion_mnist(nowhere / "stage")


def test_wrong_header_gives_a_clear_error(nowhere):
    write_fake_copy(data.DEBIAN_DIR, magic_shift=1)
    with pytest.raises(data.FashionMNISTCorrupt, match="IDX header"):
        data.prepare_fashion_mnist(nowhere / "stage")


def test_broken_gzip_gives_a_clear_error(nowhere):
    write_fake_copy(data.DEBIAN_DIR)
    (data.DEBIAN_DIR / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not a gzip file")
    with pytest.raises(data.FashionMNISTCorrupt, match="cannot be read"):
        data.prepare_fashion_mnist(nowhere / "stage")


# The real data set (staged by `make test` before the tests run).
def test_real_data_is_normalised_and_subset_is_reproducible():
    x, y = data.load_fashion_mnist(train=True)
    assert x.shape == (60_000, 1, 28, 28) and y.shape == (60_000,)
    assert abs(x.mean().item()) < 1e-3 and abs(x.std().item() - 1) < 1e-3
    assert torch.bincount(y).tolist() == [6000] * 10
    a, _ = data.load_fashion_mnist(train=False, subset=100, size=14, seed=3)
    b, _ = data.load_fashion_mnist(train=False, subset=100, size=14, seed=3)
    assert a.shape == (100, 1, 14, 14) and torch.equal(a, b)


def test_loaders_and_bad_arguments():
    train, test = data.fashion_mnist_loaders(batch_size=32, subset=64, test_subset=50)
    xb, yb = next(iter(train))
    assert xb.shape == (32, 1, 28, 28) and len(test.dataset) == 50
    with pytest.raises(ValueError, match="subset"):
        data.load_fashion_mnist(subset=0)
    with pytest.raises(ValueError, match="size"):
        data.load_fashion_mnist(size=-1)


def test_d2l_data_module_reads_the_offline_copy():
    module = data.d2l_fashion_mnist(batch_size=16, num_workers=0)
    xb, yb = next(iter(module.train_dataloader()))
    assert xb.shape == (16, 1, 28, 28) and module.num_workers == 0
    assert len(module.val) == 10_000
