"""Documentation that is generated or promised stays true."""
import re
import subprocess
import sys

from conftest import ROOT


def test_config_reference_is_current():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_config_reference.py"), "--check"])
    assert r.returncode == 0, "docs/config-reference.md is stale: run python scripts/gen_config_reference.py"


def test_every_shipped_config_value_says_where_it_comes_from():
    """Each `key: value` line of a shipped config carries a [paper]/[derived]/[fitted]/[assumed] tag."""
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            m = re.match(r"^\s+([a-z_0-9]+):\s*(\S.*)$", code)
            if not m:
                continue
            assert re.search(r"#.*\[(paper|derived|fitted|assumed)\]", line), f"{path.name}:{n}: {line.strip()}"


def test_readme_commands_are_the_ci_ones():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'python -m pip install -e ".[test,all]"' in readme and 'pip install --quiet -e ".[test,all]"' in ci
    assert "python -m pytest" in readme and "python -m pytest" in ci


def test_readme_outputs_are_what_the_commands_print():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_readme.py"), "--check"])
    assert r.returncode == 0, "README.md shows stale command output: run python scripts/gen_readme.py"
