"""Every shipped published design against its own paper: the rows `tlm chips` prints and
docs/validation.md shows (a service above the engines: it only chooses runs through tlm.services.paper)."""
from __future__ import annotations

from dataclasses import dataclass

from tlm.services import paper
from tlm.config.arch import load_with_published
from tlm.config.paths import shipped


@dataclass(frozen=True)
class Row:
    design: str
    figure: object  # tlm.config.published.Figure
    model: float
    error: float


@dataclass(frozen=True)
class Design:
    name: str  # shipped name, e.g. published/jia_jssc2020
    arch: object
    published: object
    rows: tuple
    fitted: dict  # parameter -> value in the config


def shipped_designs() -> dict:
    """Shipped name -> path of every shipped config with a `published:` section of its own."""
    from tlm.config.arch import load_data
    return {name: path for name, path in shipped("configs").items() if "published" in load_data(path)}


def evaluate(path, name: str | None = None) -> Design:
    """One design: its figures, the model's values and errors, and what it fitted."""
    from tlm.services.calibrate import get
    arch, pub = load_with_published(path)
    if pub is None:
        raise ValueError(f"{path} has no published: section")
    paper.check_runnable(arch, str(path), pub.figures)
    rows = tuple(Row(arch.name, f, m, e) for f, m, e in paper.comparison(arch, pub.figures))
    return Design(name or arch.name, arch, pub, rows, {p: get(arch, p) for p in pub.fitted})


def all_designs() -> list:
    return [evaluate(p, n) for n, p in shipped_designs().items()]


def designs_of(files) -> list:
    """The user's own designs: each file must have a `published:` section (one line, exit 2 otherwise)."""
    from tlm.config.arch import load_published
    from tlm.config.paths import resolve
    from tlm.errors import InputError, Where
    out = []
    for f in files:
        path = resolve(f, "configs", f)
        if load_published(path) is None:
            raise InputError("no published: section to compare with (tlm chips compares a design with its "
                             "paper's figures)", Where(str(path)), "published")
        out.append(evaluate(path, str(f)))
    return out


def in_sample_rows(designs) -> list:
    """(figure, model, error) rows of each derived design with the shipped constants (as
    tlm.services.globalfit.predictions, without importing it: it imports this module)."""
    from tlm.hw import circuit
    return [paper.comparison(d.arch, d.figures, circuit.constants()) for d in designs]


def area_rows() -> list:
    """(design, cells, periphery, DACs, ADCs, one converter um2, total mm2) of every shipped published design:
    where each macro's area comes from (tlm/hw/area.py)."""
    from tlm.config.arch import load_arch
    from tlm.hw import adc as hw_adc
    from tlm.hw import area as hw_area
    out = []
    for name, path in shipped_designs().items():
        a = load_arch(path)
        b = hw_area.macro_breakdown_mm2(a)
        out.append((name, b["cells"], b["periphery"], b["dacs"], b["adcs"], hw_adc.area_um2_per_converter(a),
                    hw_area.macro_mm2(a)))
    return out
