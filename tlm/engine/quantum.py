"""Temporal decoupling: an initiator's local time and its quantum keeper (TLM-2.0 `tlm_quantumkeeper`).

An initiator advances its local offset with each transaction's annotated delay and yields to the SimPy
kernel only when the offset reaches the quantum, or at a real synchronisation (tile done, layer
barrier).  Quantum 0 is strict mode: every delay is waited for at once, so local time always equals
the kernel's time.
"""
from __future__ import annotations


class QuantumKeeper:
    __slots__ = ("env", "quantum", "local")

    def __init__(self, env, quantum_cycles: int):
        self.env = env
        self.quantum = int(quantum_cycles)
        self.local = 0

    @property
    def now(self) -> int:
        """The initiator's local time: kernel time plus the offset it has run ahead."""
        return self.env.now + self.local

    def set(self, t: int) -> None:
        """Advance local time to absolute time `t`."""
        self.local = t - self.env.now

    def need_sync(self) -> bool:
        return self.local > 0 and self.local >= self.quantum

    def sync(self):
        """The event to yield on to bring the kernel up to local time."""
        d, self.local = self.local, 0
        return self.env.timeout(d)
