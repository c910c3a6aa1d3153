"""The plan's rules: what a layer moves, what a weight load, a spill and a live tensor cost, and where each
tensor lives in SRAM (SramLayout).  tlm/mapping/plan.py applies them; both engines read the plan.

Volume rules (one place): a conv/dense layer reads its input once per column tile (each row/group tile
its slice of the input channels), writes its outputs once, and with r > 1 row tiles writes and reads
back (r - 1) partial sums of `controller.psum_bits` per output.  A digital layer moves data (reads all
its inputs, writes its output) unless it is a view (flatten, reshape): `moves_data`; a concat moves its
inputs to requantize them to its scale (`digital_ops`).  Weight loads of a tile take
`weight_load_cycles` (DMA burst latency + the slower of the DMA channel and the macro's write port),
every tile of a layer the time of a full tile.
"""
from __future__ import annotations

import math
from dataclasses import field

import numpy as np

from tlm.records import Record, record
from tlm.hw import dma as hw_dma
from tlm.hw import macro as hw_macro
from tlm.config.workload import VIEW_TYPES, Workload

NO_MOVE_TYPES = VIEW_TYPES  # digital layers that move no data (address remapping only)


# ---- rules ----------------------------------------------------------------------------------------
def moves_data(layer) -> bool:
    """A digital layer reads its inputs from and writes its output to the SRAM (not a view)."""
    return layer.type not in NO_MOVE_TYPES


def digital_ops(layer) -> int:
    """Elementwise digital ops of a post-processing layer for one image.  A join (add, concat) of tensors
    calibrated each to its own scale requantizes every input element to the output's scale first (one
    fixed-point multiply with its zero-point subtraction and rounding: tlm/functional/joins.py), so
    an add of n inputs of E elements costs n*E rescales + (n-1)*E adds, a concat E rescales."""
    out = math.prod(layer.out_shape)
    if layer.type in ("maxpool",):
        return out * (layer.kernel[0] * layer.kernel[1] - 1)
    if layer.type == "avgpool":
        return out * layer.kernel[0] * layer.kernel[1]
    if layer.type in ("global_avgpool", "global_maxpool"):
        return math.prod(layer.in_shape)
    if layer.type == "add":
        return out * len(layer.inputs) + out * (len(layer.inputs) - 1)
    if layer.type == "concat":
        return out
    if layer.type == "eltwise":
        return out * layer.ops_per_element
    return 0  # flatten, reshape: address remapping only


def weight_load_cycles(arch, bits):
    """Cycles to load `bits` weight bits into a macro: one DMA burst (set-up latency) streaming at the
    slower of the channel (tlm/hw/dma.py) and the macro's write port (tlm/hw/macro.weight_write_cycles).
    Zero bits cost nothing, any bits at least a cycle.  Float input stays float (range checks)."""
    bw = arch.dma.bandwidth_bits_per_cycle
    fl = isinstance(bits, float) or (isinstance(bits, np.ndarray) and bits.dtype.kind == "f")
    stream = np.maximum(np.ceil(np.divide(bits, bw)),
                        np.ceil(np.divide(bits, arch.macro.weight_write_bits_per_cycle)) if fl
                        else hw_macro.weight_write_cycles(arch, bits))
    cyc = np.maximum(arch.dma.latency_cycles + stream, 1)
    cyc = np.where(np.asarray(bits) > 0, cyc, 0)
    if fl:
        return cyc
    return cyc.astype(np.int64) if isinstance(bits, np.ndarray) else int(cyc)


def bank_interleave_bits(arch) -> int:
    """Bits of consecutive addresses one SRAM bank holds (`sram.interleave_bits`, 0 = capacity / banks)."""
    s = arch.sram
    return s.interleave_bits or max(s.capacity_bits // s.banks, 1)


def spill_cycles(arch, spill_bits):
    """A spilled layer writes its overflow out and reads it back: two bursts (tlm/hw/dma.py)."""
    return 2 * hw_dma.transfer_cycles(arch, spill_bits)


def tensor_lifetimes(wl: Workload):
    """Per tensor (the image, then every layer's output, in order): its names, its bits for one image
    (a view stores nothing) and the last layer row (1-based) that reads it; a view's readers keep its
    source alive.  The one liveness rule of live_bits and tlm/mapping/batching.py."""
    names = ["input"] + [l.name for l in wl.layers]
    index = {nm: j for j, nm in enumerate(names)}
    bits = np.array([math.prod(wl.input_shape) * wl.input_bits]
                    + [0 if l.type in VIEW_TYPES else math.prod(l.out_shape) * l.bits_out for l in wl.layers],
                    dtype=np.int64)
    last_use = np.arange(len(names))
    alias = {l.name: l.inputs[0] for l in wl.layers if l.type in VIEW_TYPES}
    for i, l in enumerate(wl.layers, start=1):
        for src in l.inputs:
            last_use[index[src]] = max(last_use[index[src]], i)
            while src in alias:
                src = alias[src]
                last_use[index[src]] = max(last_use[index[src]], i)
    return names, bits, last_use


def live_bits(wl: Workload) -> np.ndarray:
    """Activation bits that must be held in SRAM while each layer runs (its inputs, its output and
    every tensor a later layer still needs), for the whole batch.  A flatten or reshape is a view: it
    stores nothing and its consumers keep its source alive."""
    names, bits, last_use = tensor_lifetimes(wl)
    delta = np.zeros(len(names) + 1, dtype=np.int64)
    np.add.at(delta, np.arange(len(names)), bits)
    np.add.at(delta, last_use + 1, -bits)
    return np.cumsum(delta)[1:len(names)] * wl.batch


def weights_resident(arch, tiles_total: int) -> bool:
    """All weight tiles of the network fit in the macros at once: loaded once, kept across inferences."""
    return tiles_total <= arch.macro.count


def split_share(total: int, parts: int, k: int) -> int:
    """Part k of `total` split into `parts` integer shares that sum exactly to `total`."""
    return total * (k + 1) // parts - total * k // parts


# ---- the SRAM layout --------------------------------------------------------------------------------
@record
class SramLayout(Record):
    """Bit addresses of the activation tensors in the SRAM.  Tensors are placed one after the other in a
    ring over the capacity, each starting on an interleave boundary (a word with word interleaving, a new
    bank with one contiguous range per bank); views share their source's address.  The bank of an
    address is `(address // interleave) % banks` (tlm/engines/transaction/sram.py), so the address of a transfer
    decides which banks serve it."""

    capacity_bits: int
    word_bits: int
    address: dict = field(default_factory=dict)  # tensor name -> first bit address
    size: dict = field(default_factory=dict)  # tensor name -> bits (whole batch)
    cursor: int = 0

    def place(self, name: str, bits: int) -> int:
        w = self.word_bits
        a = self.cursor
        self.address[name], self.size[name] = a, int(bits)
        self.cursor = (a + -(-int(bits) // w) * w) % max(self.capacity_bits, 1)
        return a

    def alias(self, name: str, source: str) -> None:
        self.address[name], self.size[name] = self.address[source], self.size[source]
