"""Coupon code templates (billing-rules §7).

A template has exactly one run of `#`, the variable part. Numeric codes count from the range
start, zero-padded to the width of the run; a number wider than the run is refused, never a
longer code. Alphanumeric codes draw random characters from an alphabet without look-alikes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from core.errors import ApplicationError
from core.i18n import _

# No 0/O, 1/I/L: codes are read off paper and typed by people.
UNAMBIGUOUS_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_RUN = re.compile(r"#+")


@dataclass(frozen=True, slots=True)
class CodeTemplate:
    prefix: str
    width: int
    suffix: str

    @classmethod
    def parse(cls, template: str) -> CodeTemplate:
        runs = list(_RUN.finditer(template))
        if len(runs) != 1:
            raise ApplicationError(
                _(
                    "The code template needs exactly one run of # for the variable part "
                    "(e.g. coupon_##); {template!r} has {count}."
                ).format(template=template, count=len(runs)),
                field="code_template",
            )
        run = runs[0]
        return cls(template[: run.start()], run.end() - run.start(), template[run.end() :])

    def render(self, variable: str) -> str:
        return f"{self.prefix}{variable}{self.suffix}"

    def numeric(self, number: int) -> str:
        digits = str(number)
        if len(digits) > self.width:
            raise ApplicationError(
                _(
                    "{number} does not fit the {width} character(s) of the template's # run: "
                    "lower the range start or the quantity, or widen the run."
                ).format(number=number, width=self.width),
                field="range_start",
            )
        return self.render(digits.zfill(self.width))


def numeric_codes(template: str, *, range_start: int, quantity: int) -> list[str]:
    """Codes for numbers range_start .. range_start + quantity - 1, all checked before any is made."""
    parsed = CodeTemplate.parse(template)
    if range_start < 0:
        raise ApplicationError(_("The range start cannot be negative."), field="range_start")
    last = range_start + quantity - 1
    first_too_wide = max(range_start, 10**parsed.width)
    if first_too_wide <= last:
        # Refuse the whole campaign, naming the first number that does not fit.
        parsed.numeric(first_too_wide)
    return [parsed.numeric(n) for n in range(range_start, last + 1)]


def alphanumeric_capacity(template: str) -> int:
    return len(UNAMBIGUOUS_ALPHABET) ** CodeTemplate.parse(template).width


def check_alphanumeric_capacity(template: str, quantity: int) -> None:
    # Demand plenty of room: near capacity, random draws would spin looking for free codes.
    if quantity * 2 > alphanumeric_capacity(template):
        raise ApplicationError(
            _(
                "{quantity} random codes do not fit comfortably in the template's # run: widen it "
                "(each # gives {size} possibilities)."
            ).format(quantity=quantity, size=len(UNAMBIGUOUS_ALPHABET)),
            field="code_template",
        )


def random_codes(template: str, count: int) -> set[str]:
    """`count` distinct random codes for the template (the caller drops those already taken)."""
    parsed = CodeTemplate.parse(template)
    made: set[str] = set()
    while len(made) < count:
        made.add(
            parsed.render(
                "".join(secrets.choice(UNAMBIGUOUS_ALPHABET) for _unused in range(parsed.width))
            )
        )
    return made
