"""The key server's request budgets: evaluations per account, per client address and in all.

A key server cannot tell a reporter naming people from someone testing guesses against the
OPRF key, so it bounds how fast either can go: per certified account key (one account is one
administrator's invite), per client address (the socket's peer unless a proxy is trusted), and
a global budget over everyone, which bounds what many accounts together get and is logged when
80 % of it is spent. Each identifier counts as one evaluation. Charged through
``services.limits.Budgets``, like the escrow server's, all three together or none
(``Budgets.charge_all``): a request one budget refuses spends nothing of the other two.
"""

from __future__ import annotations

from dataclasses import dataclass

from consilience.services.limits import Rate, RateLimits, positive

#: The share of the global budget spent at which the key server logs a warning.
GLOBAL_WARNING_AT = 0.8


@dataclass(frozen=True)
class LimitSettings(RateLimits):
    """(per hour, burst) for each budget."""

    evaluations_per_account: Rate = Rate(120.0, 60.0)
    #: the same for a client address
    evaluations_per_address: Rate = Rate(2_000.0, 500.0)
    #: every evaluation this key server answers, whoever asks
    evaluations_total: Rate = Rate(20_000.0, 5_000.0)

    def as_args(self) -> list[str]:
        """The ``consilience keyserver`` options that reproduce these settings (for the launcher)."""
        account, address, total = self.evaluations_per_account, self.evaluations_per_address, self.evaluations_total
        return ["--rate-per-hour", repr(account.per_hour), "--burst", repr(account.burst),
                "--address-rate-per-hour", repr(address.per_hour), "--address-burst", repr(address.burst),
                "--total-rate-per-hour", repr(total.per_hour), "--total-burst", repr(total.burst)]


def limits_with(*, per_account_per_hour: float | None = None, per_account_burst: float | None = None,
                per_address_per_hour: float | None = None, per_address_burst: float | None = None,
                total_per_hour: float | None = None, total_burst: float | None = None) -> LimitSettings:
    """The defaults with each of the operator's knobs (``consilience keyserver --rate-per-hour`` …) that is set.

    A knob's bad value is refused by the knob's own name, which is what the operator typed.
    """
    default = LimitSettings()

    def knob(name: str, value: float | None, fallback: float) -> float:
        return fallback if value is None else positive(name, value)

    account, address, total = default.evaluations_per_account, default.evaluations_per_address, \
        default.evaluations_total
    return LimitSettings(
        evaluations_per_account=Rate(knob("per account per hour", per_account_per_hour, account.per_hour),
                                     knob("per account burst", per_account_burst, account.burst)),
        evaluations_per_address=Rate(knob("per address per hour", per_address_per_hour, address.per_hour),
                                     knob("per address burst", per_address_burst, address.burst)),
        evaluations_total=Rate(knob("total per hour", total_per_hour, total.per_hour),
                               knob("total burst", total_burst, total.burst)),
    )
