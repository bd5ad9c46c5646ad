"""The adapter scaffold: a generated package passes its own tests, the contract included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

import frontdesk
from frontdesk.channels import scaffold
from frontdesk.channels.scaffold import create_adapter_package, render_values
from frontdesk.errors import Conflict, InvalidInput
from frontdesk.testing import ChannelContract

PLATFORM = Path(frontdesk.__file__).resolve().parent.parent
CONTRACT_CHECKS = len([name for name in dir(ChannelContract) if name.startswith("test_")])


def kit_plugin_args() -> list[str]:
    """Load the kit's plugin explicitly unless its pytest11 entry point already does."""
    autoloaded = any(
        ep.value == "frontdesk.testing.plugin" for ep in metadata.entry_points(group="pytest11")
    )
    return [] if autoloaded else ["-p", "frontdesk.testing.plugin"]


def run_its_tests(package: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the generated package's tests as its author would, from its folder."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(package / "src"), str(PLATFORM)]),
    }
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *kit_plugin_args(),
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            *args,
        ],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def counts(output: str) -> dict[str, int]:
    summary = output.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}


def test_the_generated_package_passes_its_tests_and_the_contract(tmp_path: Path) -> None:
    package = create_adapter_package("acme-crm", tmp_path)

    result = run_its_tests(package, "-v")

    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.findall(r"::(\w+)(?:\[[^\]]*\])? PASSED", result.stdout)
    contract = [line for line in result.stdout.splitlines() if "TestContract::" in line]
    assert len(contract) == CONTRACT_CHECKS
    assert all("PASSED" in line for line in contract)
    assert "test_deliver_posts_signed_json" in passed
    assert counts(result.stdout).keys() == {"passed"}


def test_its_contract_catches_a_regression_in_the_adapter(tmp_path: Path) -> None:
    package = create_adapter_package("acme-crm", tmp_path)
    adapter = package / "src" / "frontdesk_acme_crm" / "adapter.py"
    source = adapter.read_text()
    check = "        if not (given.isascii() and hmac.compare_digest(given, expected)):\n"
    assert check in source
    # The mistake of checking that a signature is there, not that it is right.
    adapter.write_text(source.replace(check, "        if False:\n"))

    result = run_its_tests(package, "-k", "verify")

    assert result.returncode == 1
    assert "FAILED tests/test_contract.py::TestContract::test_verify_rejects_bad_signatures" in (
        result.stdout
    )
    found = counts(result.stdout)
    assert (found["failed"], found["passed"]) == (1, 2)


def test_the_package_is_laid_out_for_publishing(tmp_path: Path) -> None:
    package = create_adapter_package("acme_crm", tmp_path)

    assert package == tmp_path / "frontdesk-acme_crm"
    files = {str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()}
    assert files == {
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "src/frontdesk_acme_crm/__init__.py",
        "src/frontdesk_acme_crm/adapter.py",
        "src/frontdesk_acme_crm/plugin.py",
        "src/frontdesk_acme_crm/py.typed",
        "tests/conftest.py",
        "tests/test_adapter.py",
        "tests/test_contract.py",
    }
    project = tomllib.loads((package / "pyproject.toml").read_text())
    assert project["build-system"]["build-backend"] == "hatchling.build"
    assert project["project"]["name"] == "frontdesk-acme_crm"
    assert f"frontdesk>={frontdesk.__version__}" in project["project"]["dependencies"]
    assert project["project"]["entry-points"]["frontdesk.channels"] == {
        "acme_crm": "frontdesk_acme_crm.plugin"
    }
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        "src/frontdesk_acme_crm"
    ]
    assert "frontdesk[testing]" in project["project"]["optional-dependencies"]["test"]
    adapter = (package / "src/frontdesk_acme_crm/adapter.py").read_text()
    assert 'kind = "acme_crm"' in adapter
    assert "class AcmeCrmAdapter(ChannelAdapter[Config]):" in adapter
    # No placeholder left unrendered anywhere (the README's shell variables are meant).
    placeholder = re.compile(r"\$\{?(" + "|".join(render_values("x")) + r")\b")
    for name in files:
        assert not placeholder.search((package / name).read_text()), name


def test_names_become_kind_package_and_class() -> None:
    values = render_values("acme-crm2")

    assert values["dist"] == "frontdesk-acme-crm2"
    assert values["kind"] == "acme_crm2"
    assert values["package"] == "frontdesk_acme_crm2"
    assert values["class_name"] == "AcmeCrm2Adapter"
    assert values["display_name"] == "Acme Crm2"


@pytest.mark.parametrize(
    "name",
    ["", "Acme", "1acme", "acme--crm", "acme-", "-acme", "acme crm", "acme.crm", "../acme",
     "acme/crm", "ácme", "a" * 41],
)  # fmt: skip
def test_invalid_names_are_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid adapter name"):
        create_adapter_package(name, tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    existing = tmp_path / "frontdesk-acme"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")

    with pytest.raises(Conflict, match="already exists"):
        create_adapter_package("acme", tmp_path)

    assert list(tmp_path.iterdir()) == [existing]
    assert [p.name for p in existing.iterdir()] == ["keep.txt"]


def test_the_name_of_an_installed_plugin_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scaffold, "installed_entry_points", lambda: {"webhook", "acme_crm"})

    with pytest.raises(Conflict, match="already named 'acme_crm'"):
        create_adapter_package("acme-crm", tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_a_missing_destination_is_created(tmp_path: Path) -> None:
    package = create_adapter_package("acme", tmp_path / "new" / "folder")

    assert (package / "pyproject.toml").is_file()
    assert [p.name for p in package.parent.iterdir()] == ["frontdesk-acme"]
