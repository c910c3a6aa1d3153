"""Activation SRAM: banks of `width_bits` ports holding the ping-pong feature maps."""
from __future__ import annotations

from tlm.hw import controller, cv2_pj

# The range of a bit read from the activation SRAM at 22nm: the span of the same published small-SRAM reads
# as the ABN store's (tlm/hw/controller.py PUBLISHED_POINTS c_ff_per_abn_bit: Horowitz, ISSCC 2014, 8 KB and
# 32 KB SRAM 64-bit reads at 45nm 0.9 V, scaled to 22nm by the technology rule).  A write has no published
# point there; it takes the same span [assumed].
PUBLISHED_FF_22NM = {"c_read_ff_per_bit": controller.PUBLISHED_FF_22NM["c_ff_per_abn_bit"],
                     "c_write_ff_per_bit": controller.PUBLISHED_FF_22NM["c_ff_per_abn_bit"]}


def published_ff(arch, field: str) -> tuple[float, float]:
    """The published range of an SRAM capacitance per bit at the config's node (22nm span x node / 22)."""
    return controller.at_node(arch, PUBLISHED_FF_22NM[field])


def read_energy_pj(arch, bits):
    return cv2_pj(bits * arch.sram.c_read_ff_per_bit, arch.technology.vdd_digital_v)


def write_energy_pj(arch, bits):
    return cv2_pj(bits * arch.sram.c_write_ff_per_bit, arch.technology.vdd_digital_v)


def access_cycles(arch, bits, banks=None):
    """Cycles to move `bits` through `banks` banks (all of them by default) in parallel."""
    b = arch.sram.banks if banks is None else banks
    return -(-bits // (b * arch.sram.width_bits))
