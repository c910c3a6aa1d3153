"""The transaction: a slim TLM-2.0-style generic payload for an accelerator.

One `Payload` travels from an initiator (controller, macro, DMA) through plain `b_transport(txn, t)`
calls into targets (SRAM, ADC, post-processing, external memory, a macro's weight port).  `length` is in
bits; `data` is an optional numpy view for functional runs (None when only timing and energy matter).
The typed fields say what the work is: layer, tile, bit-plane (-1 = all planes of the pixels) and the
half-open output-pixel range [pixel_lo, pixel_hi) of the tile the transaction covers.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Command(enum.IntEnum):
    READ = 0      # move `length` bits out of a target (activation stream, psum read-back, DMA source)
    WRITE = 1     # move `length` bits into a target (outputs, psums, weights into a macro)
    COMPUTE = 2   # DP cycles on a macro or elementwise ops in post-processing
    CONVERT = 3   # conversions of one chunk of pixels in a macro's ADC pipeline (ABN included)
    CONFIG = 4    # load ABN gains/offsets, program a DMA descriptor (no data moved)


class Status(enum.IntEnum):
    INCOMPLETE = 0
    OK = 1
    ADDRESS_ERROR = 2
    COMMAND_ERROR = 3


@dataclass(slots=True)
class Payload:
    command: Command
    address: int = 0
    length: int = 0  # bits (or ops for post-processing COMPUTE)
    data: object = None  # numpy view or None
    status: Status = Status.INCOMPLETE
    layer: int = -1  # row of the Result the work belongs to
    tile: int = -1
    bit_plane: int = -1
    pixel_lo: int = 0
    pixel_hi: int = 0
    initiator: str = ""
