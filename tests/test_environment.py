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


def _declared() -> list[str]:
    project = _pyproject()["project"]
    return project["dependencies"] + project["optional-dependencies"]["test"]


def _lock() -> dict[str, str]:
    """requirements.lock as name -> exact version."""
    pins = {}
    for line in (project_root() / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"requirements.lock: {line!r} is not name==version"
            pins[_name(name)] = version
    return pins


def test_environment_yml_matches_pyproject():
    env = _env_pip_list()
    assert "-e ." in env, "environment.yml must install ecgutils editable"
    assert "-c requirements.lock" in env, "environment.yml must install the locked versions"
    env_specs = [e for e in env if e not in ("-e .", "-c requirements.lock")]
    assert sorted(env_specs) == sorted(_declared())


def test_lock_pins_every_dependency_within_its_declared_range():
    from packaging.requirements import Requirement

    pins = _lock()
    assert len(pins) > 50  # transitive dependencies too, not only the declared ones
    for spec in _declared():
        req = Requirement(spec)
        name = _name(req.name)
        assert name in pins, f"{name} is declared in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {spec}"


def test_installed_versions_are_the_locked_ones():
    """What `make install` installed is what the lock says (a hand-made venv may differ: then
    `make install`, or `pip install -c requirements.lock -e '.[test]'`)."""
    pins = _lock()
    installed = {_name(d.metadata["Name"]): d.version for d in md.distributions()}
    wrong = {n: (installed[n], v) for n, v in pins.items() if n in installed and installed[n] != v}
    assert not wrong, f"installed != locked: {wrong}"
    missing = sorted(set(pins) - set(installed))
    assert not missing, f"locked but not installed: {missing}"


def test_everything_ecgutils_imports_is_declared():
    import ast
    import sys

    declared = {_name(s) for s in _pyproject()["project"]["dependencies"]}
    owners = md.packages_distributions()
    undeclared = {}
    for path in (project_root() / "ecgutils").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                if top in sys.stdlib_module_names or top == "ecgutils":
                    continue
                dists = {_name(d) for d in owners.get(top, [top])}
                if not dists & declared:
                    undeclared[top] = path.name
    assert not undeclared, f"imported by ecgutils but not declared in pyproject.toml: {undeclared}"


def test_environment_yml_pins_python_311():
    assert "  - python=3.11" in (project_root() / "environment.yml").read_text().splitlines()
    assert _pyproject()["project"]["requires-python"] == ">=3.11,<3.12"
    assert "# Python 3.11." in (project_root() / "requirements.lock").read_text()


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
