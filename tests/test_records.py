"""tlm/records.py: `@record` classes behave as the `@dataclass` classes they replace (the same equality,
repr, errors, defaults, factories, slots, pickling, `replace`), and a `tlm simulate -q` compiles no
dataclass method but the three listed hot `__init__`s (tlm/records.py says why)."""
import copy
import dataclasses
import json
import os
import pickle
import subprocess
import sys
from dataclasses import field

import pytest

from conftest import ROOT
from tlm.records import Record, record


def _pair(slots=False):
    """The same class twice: a plain dataclass and a record (the same qualname, so messages compare)."""
    def body(base):
        class C(*base):
            """A test class."""
            a: int
            b: str = "x"
            c: list = field(default_factory=list)
            d: float = field(default=0.5, compare=False)
            e: object = field(default=None, repr=False)

            def __post_init__(self):
                self.c.append(self.a)
        C.__qualname__ = "C"
        return C
    return dataclasses.dataclass(body(()), slots=slots), record(body((Record,)), slots=slots)


@pytest.mark.parametrize("slots", [False, True])
def test_a_record_equals_compares_and_prints_as_its_dataclass(slots):
    D, R = _pair(slots)
    for cls in (D, R):
        x, y = cls(1, "y", d=2.0), cls(a=1, b="y", d=9.0)
        assert x == y and x.c == [1] and y.c == [1] and x.c is not y.c  # d: compare=False; c: a fresh list each
        assert cls(1) != cls(2) and cls(1) == cls(1)
        assert (x == 3) is False and x.__eq__(3) is NotImplemented
        with pytest.raises(TypeError):
            hash(x)
        assert dataclasses.replace(x, a=5).a == 5 and dataclasses.replace(x, a=5).b == "y"
        assert copy.deepcopy(x) == x and copy.copy(x) == x
        assert hasattr(x, "__dict__") is not slots
        if not slots:
            assert list(vars(x)) == ["a", "b", "c", "d", "e"]  # field order: pickles byte for byte as before
    assert repr(R(1, "y", e=7)) == repr(D(1, "y", e=7)) == "C(a=1, b='y', c=[1], d=0.5)"  # e: repr=False
    assert (D(1) == R(1)) is False  # another class: not equal, as between two dataclasses


@record
class Point(Record):
    """A module-level record (pickle finds its class by name)."""
    x: int
    y: list = field(default_factory=list)


def test_a_record_pickles_and_unpickles_without_init():
    p = Point(1, [2])
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.y is not p.y and pickle.dumps(q) == pickle.dumps(Point(x=1, y=[2]))


def test_a_recursive_record_prints_dots():
    D, R = _pair()
    for cls in (D, R):
        x = cls(1)
        x.c.append(x)
        assert repr(x) == "C(a=1, b='x', c=[1, ...], d=0.5)"


@pytest.mark.parametrize("args, kwargs", [((), {}), ((1,), {"a": 2}), ((1,), {"z": 2}), ((1, 2, 3, 4, 5, 6), {}),
                                          ((), {"b": "q"})])
def test_bad_arguments_raise_the_dataclass_errors(args, kwargs):
    D, R = _pair()
    errors = []
    for cls in (D, R):
        with pytest.raises(TypeError) as e:
            cls(*args, **kwargs)
        errors.append(str(e.value))
    assert errors[0] == errors[1]


def test_too_many_arguments_of_a_class_without_defaults():
    errors = []
    for deco, base in ((dataclasses.dataclass, ()), (record, (Record,))):
        cls = type("K", base, {"__annotations__": {"a": "int"}, "__doc__": "K.", "__module__": __name__})
        with pytest.raises(TypeError) as e:
            deco(cls)(1, 2)
        errors.append(str(e.value))
    assert errors[0] == errors[1] == "K.__init__() takes 2 positional arguments but 3 were given"


def test_record_refuses_what_it_does_not_implement():
    with pytest.raises(TypeError, match="Record"):
        record(type("X", (), {"__annotations__": {"a": "int"}}))
    with pytest.raises(TypeError, match="frozen"):
        record(frozen=True)


CODE = """
import json, sys
from tlm.cli import main
rc = main(sys.argv[1:])
generated = {}
for name, mod in list(sys.modules.items()):
    if not name.startswith("tlm"):
        continue
    for obj in list(vars(mod).values()):
        if isinstance(obj, type) and obj.__module__ == name and hasattr(obj, "__dataclass_fields__"):
            made = sorted(k for k, v in vars(obj).items() if getattr(getattr(v, "__code__", None), "co_filename", "") == "<string>")
            if made:
                generated[obj.__qualname__] = made
sys.stderr.write("\\nGENERATED " + json.dumps(generated) + "\\n")
sys.exit(rc)
"""


def test_simulate_compiles_no_dataclass_method_but_the_hot_inits():
    """Every dataclass `tlm simulate -q` loads from tlm is a record or a frozen section (no generated
    method, the ~0.2 ms each at every start), but the tile's, the transaction's and the placement's
    `__init__` (made per tile or per transaction: the generated one is the fastest).  A new @dataclass on
    this path, or a record turned back into one, fails here."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", CODE, "simulate", "resnet8", "-q"], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    line = [ln for ln in p.stderr.splitlines() if ln.startswith("GENERATED ")][-1]
    generated = json.loads(line[len("GENERATED "):])
    assert generated == {"Tile": ["__init__"], "Payload": ["__init__"], "Place": ["__init__"]}
