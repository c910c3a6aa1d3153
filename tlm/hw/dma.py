"""DMA between external memory, the activation SRAM and the macros' weight ports."""
from __future__ import annotations

import numpy as np

from tlm.hw import cv2_pj


def transfer_cycles(arch, bits, rate_bits_per_cycle=None):
    """One burst: set-up latency plus the bits at the channel rate (or a slower sink's rate).
    Zero bits cost nothing; an unbounded bandwidth costs only the latency, and any data at least a cycle."""
    rate = arch.dma.bandwidth_bits_per_cycle if rate_bits_per_cycle is None else rate_bits_per_cycle
    cyc = np.maximum(arch.dma.latency_cycles + np.ceil(bits / rate).astype(np.int64), 1)
    return np.where(bits > 0, cyc, 0) if isinstance(bits, np.ndarray) else (int(cyc) if bits > 0 else 0)


def onchip_energy_pj(arch, bits):
    """On-chip interconnect energy of moving `bits`."""
    return cv2_pj(bits * arch.dma.c_ff_per_bit, arch.technology.vdd_digital_v)


def external_energy_pj(arch, bits):
    """Off-chip memory energy of `bits` read or written (reported apart from on-chip energy)."""
    return bits * arch.dma.external_energy_pj_per_bit
