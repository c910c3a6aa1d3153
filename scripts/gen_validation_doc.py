"""Refresh the generated parts of docs/validation.md: the command outputs (`tlm chips`, `tlm chips --loo`,
`tlm paper --sensitivity`, `tlm calibrate`), the tables of the global constants and of the technology
table, and the text of "The system-level overhead" (its numbers from the model).

    python scripts/gen_validation_doc.py

The leave-one-out tables refit the constants once per design (minutes): they are recomputed only when the
fingerprint of their inputs changed (the circuit model, the designs, the fit, and every design's figures as
the simulator gives them); tests/test_chips.py checks the fingerprint instead of rerunning them.
"""
import contextlib
import dataclasses
import hashlib
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.cli import main  # noqa: E402

LOO_INPUTS = ("configs/imagine.yaml", "configs/published/*.yaml", "tlm/hw/*.py", "tlm/config/circuit.py",
              "tlm/services/globalfit.py", "tlm/cli/commands/chips.py")
FINGERPRINT = "leave-one-out inputs fingerprint: "


def output(*argv) -> str:
    os.environ["COLUMNS"] = "80"  # the width the tables are laid out for (tlm/present/tables.py)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(list(argv)) == 0
    return buf.getvalue().rstrip("\n")


def fingerprint() -> str:
    """sha256 of the circuit model's sources, the designs, the fit and the table's code (LOO_INPUTS), and of
    every design's figures as the simulator gives them with the shipped constants (so a change of the
    engine that moves no figure leaves it alone, one that moves a figure does not)."""
    from tlm.services import chips, globalfit
    h = hashlib.sha256()
    for pattern in LOO_INPUTS:
        for p in sorted(ROOT.glob(pattern)):
            h.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes())
    designs = globalfit.derived_designs()
    for d, rows in zip(designs, chips.in_sample_rows(designs)):
        h.update(repr((d.name, [(f.key, f"{m:.6g}") for f, m, _ in rows])).encode())
    return h.hexdigest()[:16]


def replace_block(text: str, heading: str, body: str) -> str:
    """Replace the first ``` block after `heading` with `body`."""
    h = text.index(heading)
    a = text.index("```", h)
    a = text.index("\n", a) + 1
    b = text.index("```", a)
    return text[:a] + body + "\n" + text[b:]


def block(text: str, heading: str) -> str:
    h = text.index(heading)
    a = text.index("\n", text.index("```", h)) + 1
    return text[a:text.index("```", a)].rstrip("\n")


def loo_block(text: str, recompute: bool = True) -> str:
    """`tlm chips --loo`'s two tables with their fingerprint; the block already in `text` when its
    fingerprint is current; otherwise recomputed (or, with `recompute` False, the old block under the new
    fingerprint, so that a check fails)."""
    fp = FINGERPRINT + fingerprint()
    old = block(text, "## Leave one design out")
    if old.startswith(fp) or not recompute:
        return fp + old[old.index("\n"):] if "\n" in old else fp
    full = output("chips", "--loo")
    return fp + "\n" + full[full.index("leave one design out: every figure"):].rstrip()


def constants_table() -> str:
    from tlm.hw import constants as hw_const
    lines = ["| constant | value | published range | unit | what it is | source |", "|---|---|---|---|---|---|"]
    for c in hw_const.CONSTANTS:
        lines.append(f"| `{c.name}` | {hw_const.VALUES[c.name]:.4g} | {c.lo:g}-{c.hi:g} | {c.unit} | {c.meaning} | "
                     f"{c.source} |")
    return "\n".join(lines)


def technology_tables() -> str:
    from tlm.hw import technology_table as tt
    cols = [("vdd_nom_v", "Vdd V"), ("vt_v", "Vt V"), ("alpha", "alpha"), ("fo4_ps", "FO4 ps"),
            ("r_on_ohm_um", "R_on ohm um"), ("w_min_um", "W_min um"), ("c_gate_ff_per_um", "C_gate fF/um"),
            ("c_wire_ff_per_um", "C_wire fF/um"), ("r_wire_ohm_per_um", "R_wire ohm/um"),
            ("cap_density_ff_per_um2", "MOM fF/um2"), ("cap_over_cell_ff_per_um2", "over cell fF/um2"),
            ("c_unit_min_ff", "unit fF"), ("sram_6t_um2", "6T um2"), ("i_leak_cell_pa", "6T leak pA")]
    out = ["| node | " + " | ".join(h for _, h in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for n in tt.nodes():
        out.append(f"| {n}nm | " + " | ".join(f"{tt.NODES[n][f].value:g} ({tt.NODES[n][f].lo:g}-"
                                             f"{tt.NODES[n][f].hi:g})" for f, _ in cols) + " |")
    for n, fields in tt.LP.items():
        out.append(f"| {n}nm LP | " + " | ".join(f"{fields[f].value:g}" if f in fields else "" for f, _ in cols)
                   + " |")
    out.append("")
    out.append("| field | source of the values |")
    out.append("|---|---|")
    for f, h in cols:
        srcs = dict.fromkeys(tt.NODES[n][f].source for n in tt.nodes())
        out.append(f"| {h} | " + "; ".join(srcs) + " |")
    out += ["", "| converter figure (`CONVERTERS`) | value (range) | unit | source |", "|---|---|---|---|"]
    out += [f"| `{k}` | {v.value:g} ({v.lo:g}-{v.hi:g}) | {v.unit} | {v.source} |" for k, v in tt.CONVERTERS.items()]
    return "\n".join(out)


def overhead_section() -> str:
    """The text of "## The system-level overhead", every number from the model and tlm/hw/controller.py."""
    from tlm.services import calibrate, paper
    from tlm.config.arch import load_arch
    from tlm.hw import controller as hw_ctrl
    from tlm.hw import sram as hw_sram
    arch = load_arch(ROOT / "configs" / "imagine.yaml")
    figs = paper.imagine_published().figures
    (sysf,) = [f for f in figs if f.metric == "system_energy_efficiency"]
    (peakf,) = [f for f in figs if f.metric == "energy_efficiency" and f.input_bits == sysf.input_bits]
    ref = paper.reference_run(paper.at_conditions(arch, sysf), sysf.input_bits, sysf.weight_bits,
                              sysf.output_bits)
    model = paper.model_value(arch, sysf)
    macro8 = paper.model_value(arch, peakf)
    g = calibrate.overhead_gap(arch, ref, macro8)
    c = arch.controller

    def rng(f):
        lo, hi = hw_ctrl.published_ff(arch, f)
        return f"{lo:.3g}-{hi:.3g} fF" if hi < 1000 else f"{lo:,.0f}-{hi:,.0f} fF"

    def rng_sram(f):
        lo, hi = hw_sram.published_ff(arch, f)
        return f"{lo:.3g}-{hi:.3g} fF"

    sys_, peak = sysf.value, peakf.value
    need = ref.on_chip_energy_pj * (model / sys_ - 1)
    ends = {}
    for end in (0, 1):  # every controller component at the bottom / top of its range
        ctl = dataclasses.replace(c, **{f: hw_ctrl.published_ff(arch, f)[end] for f in hw_ctrl.PUBLISHED_FF_22NM})
        mem = dataclasses.replace(arch.sram, **{f: hw_sram.published_ff(arch, f)[end]
                                                for f in hw_sram.PUBLISHED_FF_22NM})
        ends[end] = paper.model_value(dataclasses.replace(arch, controller=ctl, sram=mem), sysf)
    more = "more" if need >= 0 else "less"
    reach = ("inside" if min(ends.values()) <= sys_ <= max(ends.values()) else "outside")
    return f"""The paper's 8b system figure ({sys_:g} TOPS/W) is {peak / sys_:.3g}x below its 8b macro peak ({peak:g} TOPS/W): about
{100 * (1 - sys_ / peak):.0f}% of the on-chip energy of an 8b run that fills the macro is spent outside the macro, and the abstract
does not say where.  The model puts it in the activation SRAM and the controller as named components, each a
capacitance per event inside the span of published per-event figures (tlm/hw/controller.py `PUBLISHED_POINTS`;
the table "published per-event points of the controller ranges" above lists each point), none fitted:

- the activation SRAM's reads and writes (`sram.c_read_ff_per_bit`, {arch.sram.c_read_ff_per_bit:g} fF, and
  `c_write_ff_per_bit`, {arch.sram.c_write_ff_per_bit:g} fF; Horowitz ISSCC 2014 SRAM reads:
  {rng_sram("c_read_ff_per_bit")}, a write assumed to span the same: tlm/hw/sram.py);

- clock-tree root, sequencer and address generation, every cycle (`c_ff_per_cycle`, {c.c_ff_per_cycle:g} fF; its
  {rng("c_ff_per_cycle")} range stays an assumption: no published per-event figure was found);
- the input-window registers of every row a tile drives, clocked every cycle (`c_ff_per_window_bit_cycle`,
  {c.c_ff_per_window_bit_cycle:g} fF; Liberty flip-flops of sky130, Nangate45 and ASAP7: {rng("c_ff_per_window_bit_cycle")});
- the same registers written once per output pixel by im2col (`c_ff_per_window_bit`, {c.c_ff_per_window_bit:g} fF;
  {rng("c_ff_per_window_bit")});
- the ABN gain and offset bits loaded once per tile (`c_ff_per_abn_bit`, {c.c_ff_per_abn_bit:g} fF; Horowitz ISSCC 2014
  SRAM reads: {rng("c_ff_per_abn_bit")});
- each active row's clock spine, gating and control (`c_ff_per_row_cycle`, {c.c_ff_per_row_cycle:g} fF: the geometric
  middle of the {rng("c_ff_per_row_cycle")} published for a clock-gating cell).

There is no remainder term, and no component is chosen to meet the paper's figure (each published one sits at
the geometric middle of its span).  With the macro as the circuit model predicts it ({macro8:.4g} TOPS/W at 8b
against the paper's {peak:g}), the reference run comes out at **{model:.4g} TOPS/W against the paper's {sys_:g}**
({100 * (model / sys_ - 1):+.1f}%): reaching {sys_:g} would take {abs(need) / 1e3:.4g} nJ {more} of the run's
{ref.on_chip_energy_pj / 1e3:.4g} nJ on-chip energy.  With every component at the bottom of its range the run gives
{ends[0]:.4g} TOPS/W, at the top {ends[1]:.4g}: the paper's figure is {reach} what the ranges allow.  The
controller's clocked parts follow the run's cycles, so this figure moves with the derived DP timing.  Rows
a tile leaves unused are clock-gated, so the overhead follows the mapped work.
"""


def replace_section(text: str, heading: str, body: str) -> str:
    """Replace the prose between `heading` and the next "## " heading with `body`."""
    a = text.index(heading + "\n") + len(heading) + 1
    b = text.index("\n## ", a)
    return text[:a] + "\n" + body + text[b:]


def replace_between(text: str, start: str, end: str, body: str) -> str:
    a = text.index(start) + len(start)
    b = text.index(end, a)
    return text[:a] + "\n" + body + "\n" + text[b:]


def generate(text: str, recompute_loo: bool = True) -> str:
    text = replace_section(text, "## The system-level overhead", overhead_section())
    text = replace_between(text, "<!-- constants -->", "<!-- /constants -->", constants_table())
    text = replace_between(text, "<!-- technology -->", "<!-- /technology -->", technology_tables())
    text = replace_block(text, "## `tlm chips`", output("chips"))
    text = replace_block(text, "## Leave one design out", loo_block(text, recompute_loo))
    text = replace_block(text, "## `tlm paper` on the shipped config", output("paper", "--sensitivity"))
    return replace_block(text, "## Calibration", output("calibrate", str(ROOT / "configs" / "imagine.yaml")))


if __name__ == "__main__":
    doc = ROOT / "docs" / "validation.md"
    doc.write_text(generate(doc.read_text()))
    print(f"wrote {doc}")
