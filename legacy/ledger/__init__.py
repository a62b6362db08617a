"""The migration ledger: each old route's state, the gates a promotion must pass, and
the history of every change with the evidence it was made on.

    records.py      LedgerEntry (a route and since when it is in its state), EvidenceAt
                    (the figures at the moment of a change), LedgerChange (one history entry)
    gates.py        which gates a move crosses, and each gate's verdict over ports.Evidence
    transitions.py  one route's change, judged and recorded; a whole ledger replaced
    observed.py     NothingObserved: the Observations of a gateway whose router sees nothing

Everything here is pure: the control plane (gateway/control.py) stores what it returns.
"""

from legacy.ledger.gates import GateRefused, Verdict, crossed_gates, judge
from legacy.ledger.observed import NothingObserved
from legacy.ledger.records import EvidenceAt, LedgerChange, LedgerEntry
from legacy.ledger.transitions import (
    Actor,
    LedgerPlan,
    LedgerRefused,
    change_route,
    replace_ledger,
)

__all__ = [
    "Actor",
    "EvidenceAt",
    "GateRefused",
    "LedgerChange",
    "LedgerEntry",
    "LedgerPlan",
    "LedgerRefused",
    "NothingObserved",
    "Verdict",
    "change_route",
    "crossed_gates",
    "judge",
    "replace_ledger",
]
