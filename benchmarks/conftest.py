"""Benchmarks import tlm from this checkout, whatever is installed.  Run: cd benchmarks && python -m pytest"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
