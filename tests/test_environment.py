"""The install: pyproject.toml and environment.yml agree, and the OpenCV trap is avoided."""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib

from ecgutils.config import project_root


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((project_root() / "pyproject.toml").read_text())


def _env_pip_list() -> list[str]:
    """The pip: list of environment.yml (a tiny parser: the file is ours and simple)."""
    lines = (project_root() / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    items = []
    for line in lines[start + 1 :]:
        if not line.startswith("      - "):
            break
        items.append(line.strip()[2:].strip())
    return items


def test_environment_yml_matches_pyproject():
    project = _pyproject()["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    env = _env_pip_list()
    assert "-e ." in env, "environment.yml must install ecgutils editable"
    env_specs = [e for e in env if e != "-e ."]
    assert sorted(env_specs) == sorted(declared)


def test_environment_yml_pins_python_311():
    assert "  - python=3.11" in (project_root() / "environment.yml").read_text().splitlines()


def test_every_dependency_has_a_lower_bound():
    project = _pyproject()["project"]
    for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert ">=" in spec, spec


def test_required_packages_are_declared():
    names = {_name(s) for s in _pyproject()["project"]["dependencies"]}
    needed = {
        "jupyterlab",
        "ipywidgets",
        "wfdb",
        "biosppy",
        "peakutils",
        "matplotlib",
        "opencv-python",
        "tensorflow",
        "keras",
        "scikit-learn",
        "seaborn",
        "numpy",
        "scipy",
        "pandas",
        "tqdm",
    }
    assert needed <= names


def test_exactly_one_opencv_wheel_installed():
    opencv = sorted(
        {
            d.metadata["Name"].lower()
            for d in md.distributions()
            if "opencv" in d.metadata["Name"].lower()
        }
    )
    assert opencv == ["opencv-python"], f"several OpenCV wheels share cv2: {opencv}"


def test_biosppy_imports_with_its_undeclared_peakutils():
    import biosppy.signals.ecg as ecg
    import cv2

    assert callable(ecg.hamilton_segmenter) and cv2.__version__


def test_keras_is_version_3():
    assert int(md.version("keras").split(".")[0]) >= 3
