"""The transaction: a slim TLM-2.0-style generic payload for an accelerator.

One `Payload` travels from an initiator (controller, macro, ADC pipeline, DMA channel) through plain
`b_transport(txn, delay)` calls into a target (SRAM, ADC pipeline, post-processing, external memory, a
macro's weight port).  The target serves it at kernel time + `delay`, sets `status` and returns the
delay at which it is served; the initiator checks the status (`check`) and an error response stops the
run with a message naming the target, the initiator and the work.

Fields (every one is read by some target or initiator):
- command: what to do (READ/WRITE move data, COMPUTE runs DPs or elementwise ops, CONVERT converts).
- address: first bit address of the range [address, address + length) in the target's address space
  (the SRAM: bit addresses, a ring over its capacity; the range decides the banks that serve it).
- length: in bits, the data a READ or WRITE moves (a DMA transfer, an SRAM access, weights into a
  macro).  COMPUTE and CONVERT move no data: their work is `ops` or the pixel range.
- ops: elementwise operations a post-processing COMPUTE performs (its cost unit, tlm/hw/postproc.py).
- status: INCOMPLETE until a target answers; OK or an error.
- layer: the Result row the work belongs to (statistics, trace); tile: the tile's index in its layer;
  [pixel_lo, pixel_hi): the tile's output pixels the transaction covers.
- initiator: who sent it (error messages, trace).
- data: functional runs only (tlm/engines/transaction/datapath.py), None otherwise: a macro's COMPUTE carries numpy
  views of its inputs (DMI-like, no copy per MAC), its CONVERT the DPs the ADC pipeline converts.
"""
from __future__ import annotations

import enum

from tlm.records import Record, record

class Command(enum.IntEnum):
    READ = 0      # move `length` bits out of a target (activation stream, psum read-back, image out)
    WRITE = 1     # move `length` bits into a target (outputs, psums, image in, weights into a macro)
    COMPUTE = 2   # DPs on a macro's array or elementwise ops in post-processing
    CONVERT = 3   # conversions of a chunk of pixels in a macro's ADC pipeline (ABN included)


class Status(enum.IntEnum):
    INCOMPLETE = 0
    OK = 1
    ADDRESS_ERROR = 2
    COMMAND_ERROR = 3


class TransactionError(RuntimeError):
    """A target answered with an error: the run stops (the message names target, initiator and work)."""


@record(slots=True, generated_init=True)  # (made per tile / per transaction: the fastest __init__)
class Payload(Record):
    """One transaction: command, address and length (bits), the work it carries and the target's answer."""

    command: Command
    address: int = 0
    length: int = 0  # bits
    ops: int = 0
    status: Status = Status.INCOMPLETE
    layer: int = -1
    tile: int = -1
    pixel_lo: int = 0
    pixel_hi: int = 0
    initiator: str = ""
    data: object = None


def check(txn: Payload, target: str, names) -> None:
    """Initiator side: raise TransactionError unless `target` answered OK."""
    if txn.status is not Status.OK:
        raise error(txn, target, names)


def error(txn: Payload, target: str, names, why: str = "") -> TransactionError:
    layer = names[txn.layer] if 0 <= txn.layer < len(names) else txn.layer
    what = {Status.ADDRESS_ERROR: "address error", Status.COMMAND_ERROR: "command error",
            Status.INCOMPLETE: "no response"}.get(txn.status, txn.status.name)
    return TransactionError(f"{target} answered {what} to {txn.command.name} of {txn.length} bits at address "
                            f"{txn.address} from {txn.initiator or '?'} (layer {layer}, tile {txn.tile})"
                            + (f": {why}" if why else ""))
