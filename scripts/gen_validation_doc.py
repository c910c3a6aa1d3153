"""Refresh the command outputs embedded in docs/validation.md (`tlm chips`, `tlm paper --sensitivity`,
`tlm calibrate`) and the text of its section "The system-level overhead" (its numbers from the model).

    python scripts/gen_validation_doc.py
"""
import contextlib
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tlm.cli import main  # noqa: E402


def output(*argv) -> str:
    os.environ["COLUMNS"] = "80"  # the width the tables are laid out for (tlm/present/tables.py)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(list(argv)) == 0
    return buf.getvalue().rstrip("\n")


def replace_block(text: str, heading: str, body: str) -> str:
    """Replace the first ``` block after `heading` with `body`."""
    h = text.index(heading)
    a = text.index("```", h)
    a = text.index("\n", a) + 1
    b = text.index("```", a)
    return text[:a] + body + "\n" + text[b:]


def overhead_section() -> str:
    """The text of "## The system-level overhead", every number from the model and tlm/hw/controller.py."""
    from tlm.services import calibrate, paper
    from tlm.config.arch import load_arch
    from tlm.hw import controller as hw_ctrl
    arch = load_arch(ROOT / "configs" / "imagine.yaml")
    figs = paper.imagine_published().figures
    (sysf,) = [f for f in figs if f.metric == "system_energy_efficiency"]
    (peakf,) = [f for f in figs if f.metric == "energy_efficiency" and f.input_bits == sysf.input_bits]
    ref = paper.reference_run(paper.at_conditions(arch, sysf), sysf.input_bits, sysf.weight_bits,
                              sysf.output_bits)
    g = calibrate.overhead_gap(arch, ref, peakf.value)
    c = arch.controller

    def rng(f):
        lo, hi = hw_ctrl.published_ff(arch, f)
        return f"{lo:.3g}-{hi:.3g} fF" if hi < 1000 else f"{lo:,.0f}-{hi:,.0f} fF"

    row_hi = hw_ctrl.published_ff(arch, "c_ff_per_row_cycle")[1]
    wire = list(hw_ctrl.CLOCK_WIRE_FF_PER_UM.values())
    un = g["unexplained_pj"]
    sys, peak = sysf.value, peakf.value
    return f"""The paper's 8b system figure ({sys:g} TOPS/W) is {peak / sys:.3g}x below its 8b macro peak ({peak:g} TOPS/W): about
{100 * (1 - sys / peak):.0f}% of the on-chip energy of an 8b run that fills the macro is spent outside the macro, and the abstract
does not say where.  Data movement cannot plausibly carry it (SRAM and on-chip DMA are a few percent, table
above).  The model puts it in the controller as named components, each a capacitance per event whose range
is the span of published per-event figures (tlm/hw/controller.py `PUBLISHED_POINTS`, one place; the table
"published per-event points of the controller ranges" above lists each point with its node, supply, raw
figure and conversion):

- clock-tree root, sequencer and address generation, every cycle (`controller.c_ff_per_cycle`, assumed
  {c.c_ff_per_cycle:g} fF).  No published per-event figure for it was found: what is published is a share of chip power
  (more than a quarter of a microprocessor's: Duarte, Vijaykrishnan, Irwin, "Impact of technology scaling
  in the clock system power", ISVLSI 2002), so its {rng("c_ff_per_cycle")} range stays an assumption (source
  "assumed" in the table);
- the input-window registers of every row a tile drives: bits_in flip-flops clocked every cycle while the
  tile computes (`c_ff_per_window_bit_cycle`, {c.c_ff_per_window_bit_cycle:g} fF): a flip-flop clocked with its data held, its
  CLK pin capacitance plus the internal energy of the clock's rise and fall over V^2, from the Liberty files
  of three open PDKs: sky130 `sky130_fd_sc_hd__dfxtp_1` (130nm, 1.8 V), Nangate45 `DFF_X1` (45nm, 1.1 V)
  and ASAP7 `DFFHQNx1_ASAP7_75t_R` (7nm, 0.7 V): {rng("c_ff_per_window_bit_cycle")} at 22nm;
- the same registers written once per output pixel by im2col (`c_ff_per_window_bit`, {c.c_ff_per_window_bit:g} fF): one
  transition of D, half its pin capacitance plus the mean of its rise and fall internal energy over V^2,
  same three cells: {rng("c_ff_per_window_bit")};
- the ABN gain and offset bits of every output channel, loaded once per tile (`c_ff_per_abn_bit`, {c.abn_param_bits}
  bits of {c.c_ff_per_abn_bit:g} fF): an SRAM bit read from M. Horowitz, "Computing's energy problem (and what we can
  do about it)", ISSCC 2014 (45nm, 0.9 V: a 64-bit read of an 8 KB SRAM 10 pJ, of a 32 KB SRAM 20 pJ):
  {rng("c_ff_per_abn_bit")}, an upper span for a store of {c.abn_param_bits} bits x {arch.macro.columns} channels;
- each active row's clock spine, gating and control, every cycle of its tile (`c_ff_per_row_cycle`), whose
  published points are clock-gating cells for an enabled cycle (CLK pin, internal and gated-clock arc
  energy): sky130 `sky130_fd_sc_hd__dlclkp_1` and Nangate45 `CLKGATE_X2`: {rng("c_ff_per_row_cycle")}.

Each point's capacitance at its own node is C = pin + energy / V^2 (E = C V^2, the convention of tlm/hw);
the technology rule (tlm/hw/technology.py) takes it to 22nm as C x 22 / node, and the range is the span of
the points (at another node, x node / 22, as for the values a design inherits).  Liberty energies are in
capacitive_load_unit x voltage_unit^2 (pJ for sky130's pF, fJ for Nangate45's and ASAP7's fF), read at
each table's third input slew and smallest load; local wire is left out of the cell points (the same
flows give {min(wire):.2g}-{max(wire):.2g} fF/um for the clock layers, under a fF for a flip-flop's pitch).  Every assumed
value sits inside its range (tests/test_controller_ranges.py); those that did not moved to their range's
geometric middle.

Which component carries the remainder: the least certain one, the row clock.  Its physical identity is the
vaguest: the published points cover only its gating cell, while the wire from the clock root to each row's
registers and the row's control logic depend on a floorplan the abstract does not describe.  The clock
tree has no published figure either, but it is paid every cycle whatever the mapping; the gap follows the
mapped work, and so does the row clock.  So `c_ff_per_row_cycle` is **fitted** to the {sys:g} TOPS/W: it comes
out at {c.c_ff_per_row_cycle:g} fF, **{c.c_ff_per_row_cycle / row_hi:.2f}x the top of its published range** (marked (!) in the table).  The
gap between the {peak:g} TOPS/W macro peak and the reference run is {g["gap_pj"] / 1e3:.4g} nJ of its {ref.on_chip_energy_pj / 1e3:.4g} nJ on-chip;
with every component at most at the top of its published range, the model explains {100 * g["explained"]:.1f}% of it, and
**{100 * (1 - g["explained"]):.1f}% of the gap ({un / 1e3:.4g} nJ, {100 * un / ref.on_chip_energy_pj:.1f}% of the on-chip energy) is not explained by the
components modelled here**.  It may sit in blocks the abstract does not describe (a host processor, I/O, test logic), in a
longer row clock wire than a gating cell, or in a less efficient digital side than the published cells.
Rows a tile leaves unused are clock-gated, so the overhead follows the mapped work; set
`c_ff_per_row_cycle: 0` and raise `c_ff_per_cycle` to study the ungated reading.  The sensitivity tables
(`tlm paper --sensitivity`, above) show what each fitted parameter moves: the controller carries most of
ResNet-8's on-chip energy, so every "where does the energy go" answer depends on these components.
"""


def replace_section(text: str, heading: str, body: str) -> str:
    """Replace the prose between `heading` and the next "## " heading with `body`."""
    a = text.index(heading + "\n") + len(heading) + 1
    b = text.index("\n## ", a)
    return text[:a] + "\n" + body + text[b:]


def generate(text: str) -> str:
    text = replace_section(text, "## The system-level overhead", overhead_section())
    text = replace_block(text, "## `tlm chips`", output("chips"))
    text = replace_block(text, "## `tlm paper` on the shipped config", output("paper", "--sensitivity"))
    return replace_block(text, "## Calibration", output("calibrate", str(ROOT / "configs" / "imagine.yaml")))


if __name__ == "__main__":
    doc = ROOT / "docs" / "validation.md"
    doc.write_text(generate(doc.read_text()))
    print(f"wrote {doc}")
