"""Temporal decoupling: an initiator's local time and its quantum keeper (TLM-2.0 `tlm_quantumkeeper`).

An initiator advances its local offset with each transaction's annotated delay and yields to the SimPy
kernel only when the offset reaches the quantum, before an access to a target it shares with other
initiators running at the same time, or at a real synchronisation (tile done, layer barrier).
Quantum 0 is strict mode: every delay is waited for at once, so local time always equals the kernel's
time.
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

    def need_sync(self, shared: bool = False) -> bool:
        """Yield now?  When the quantum is used up, or before an access to a target that other
        initiators use at the same time (`shared`): such accesses stay in time order, so the target
        arbitrates them first come, first served exactly as in strict mode."""
        return self.local > 0 and (shared or self.local >= self.quantum)

    def sync(self):
        """The event to yield on to bring the kernel up to local time."""
        d, self.local = self.local, 0
        return self.env.timeout(d)
