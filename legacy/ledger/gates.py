"""Promotion gates: pure verdicts over a route's evidence.

    shadow → canary    the mismatch rate is under `gates.mismatch_rate`, over at least
                       `gates.min_samples` shadow comparisons
    canary → function  the function's error rate is no worse than the old API's over the
                       same window, with requests on both sides

A move that skips states crosses every gate in between (legacy → canary needs the shadow
evidence too). A move back is never gated. Rates are compared as exact fractions, with
the threshold read as the decimal it was written as, so 1 mismatch in 100 is not under
`0.01` even though the binary float 0.01 is a hair above 1/100.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from legacy.config import STATES, GatesConfig, State
from legacy.ports import Evidence

Gate = Literal["mismatch_rate", "error_rate"]
# (from, to, gate): the promotions that need evidence.
_GATES: tuple[tuple[State, State, Gate], ...] = (
    ("shadow", "canary", "mismatch_rate"),
    ("canary", "function", "error_rate"),
)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    gate: Gate
    passed: bool
    # With the numbers: "mismatch rate 3.2% over 140 samples is not under 1.0%".
    reason: str


class GateRefused(Exception):
    """A promotion the evidence does not support; `reasons` name the numbers."""

    def __init__(self, path: str, before: State, after: State, reasons: tuple[str, ...]) -> None:
        self.path = path
        self.before = before
        self.after = after
        self.reasons = reasons
        self.message = (
            f"{path}: {before} → {after} refused: {'; '.join(reasons)} (--force overrides)"
        )
        super().__init__(self.message)


def is_promotion(before: State, after: State) -> bool:
    return STATES.index(after) > STATES.index(before)


def crossed_gates(before: State, after: State) -> tuple[Gate, ...]:
    """The gates a move from `before` to `after` must pass; none for a move back."""
    start, end = STATES.index(before), STATES.index(after)
    return tuple(
        gate
        for source, target, gate in _GATES
        if start <= STATES.index(source) and STATES.index(target) <= end
    )


def judge(gate: Gate, evidence: Evidence | None, config: GatesConfig) -> Verdict:
    if gate == "mismatch_rate":
        return _mismatch_gate(evidence, config)
    return _error_gate(evidence)


def _mismatch_gate(evidence: Evidence | None, config: GatesConfig) -> Verdict:
    samples = evidence.samples if evidence else 0
    mismatches = evidence.mismatches if evidence else 0
    # The decimal the threshold was written as, not the binary float's exact value.
    threshold = Fraction(repr(config.mismatch_rate))
    if samples < config.min_samples:
        seen = (
            "no shadow samples yet"
            if samples == 0
            else f"only {samples} shadow samples ({mismatches} mismatched,"
            f" {_percent(Fraction(mismatches, samples), threshold)})"
        )
        return Verdict(
            gate="mismatch_rate",
            passed=False,
            reason=f"{seen}: at least {config.min_samples} are needed",
        )
    rate = Fraction(mismatches, samples)
    passed = rate < threshold
    return Verdict(
        gate="mismatch_rate",
        passed=passed,
        reason=f"mismatch rate {_percent(rate, threshold)} ({mismatches} of {samples})"
        f" over {samples} samples is {'' if passed else 'not '}under"
        f" {_exact_percent(threshold)}",
    )


def _error_gate(evidence: Evidence | None) -> Verdict:
    legacy_requests = evidence.legacy.requests if evidence else 0
    function_requests = evidence.function.requests if evidence else 0
    if legacy_requests == 0 or function_requests == 0:
        return Verdict(
            gate="error_rate",
            passed=False,
            reason="the error rates need requests on both sides, and the old API has"
            f" {legacy_requests}, the function {function_requests}",
        )
    assert evidence is not None
    function = Fraction(evidence.function.errors, function_requests)
    legacy = Fraction(evidence.legacy.errors, legacy_requests)
    passed = function <= legacy
    return Verdict(
        gate="error_rate",
        passed=passed,
        reason=f"function error rate {_percent(function, legacy)}"
        f" ({evidence.function.errors} of {function_requests}) is"
        f" {'no worse than' if passed else 'worse than'} the old API's"
        f" {_percent(legacy, function)} ({evidence.legacy.errors} of {legacy_requests})",
    )


def _exact_percent(value: Fraction) -> str:
    """A threshold as written: 1.0%, 0.15%."""
    digits = 1
    while digits < 6 and value * 100 * 10**digits != int(value * 100 * 10**digits):
        digits += 1
    return f"{float(value * 100):.{digits}f}%"


def _percent(value: Fraction, other: Fraction) -> str:
    """`value` as a percent with one decimal, or more where one would make it read the
    same as a different `other` ("1.0% is not under 1.0%")."""
    digits = 1
    while True:
        text = f"{float(value * 100):.{digits}f}%"
        if value == other or digits >= 6 or text != f"{float(other * 100):.{digits}f}%":
            return text
        digits += 1
