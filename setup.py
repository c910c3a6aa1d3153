"""Build hook (everything else is in pyproject.toml): the packages are found, not listed -- every folder of
tlm/ with an __init__.py -- and the shipped configs/ and workloads/ folders join them as the packages
tlm._configs and tlm._workloads, where an installed tlm finds them (tlm/config/paths.py).
tests/test_packaging.py builds the wheel and checks both."""
from setuptools import find_packages, setup

SHIPPED = {"tlm._configs": "configs", "tlm._workloads": "workloads"}

setup(packages=find_packages(include=["tlm", "tlm.*"]) + sorted(SHIPPED), package_dir=SHIPPED)
