"""Problems reported by the rules: `{code, field, message}` for forms and the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class ProblemCode(StrEnum):
    """Stable codes; clients branch on these, so never rename a value."""

    # tax IDs
    USCC_EMPTY = "uscc_empty"
    USCC_LENGTH = "uscc_length"
    USCC_CHAR = "uscc_char"
    USCC_CHECKSUM = "uscc_checksum"
    USCC_AUTHORITY = "uscc_authority"
    USCC_ENTITY_TYPE = "uscc_entity_type"
    USCC_REGION = "uscc_region"
    USCC_IMPLAUSIBLE = "uscc_implausible"
    LEGACY15_CHECKSUM = "legacy15_checksum"
    # invoice code and number
    NUMBER_EMPTY = "number_empty"
    NUMBER_LETTER = "number_letter"
    NUMBER_NOT_DIGITS = "number_not_digits"
    NUMBER_LENGTH = "number_length"
    CODE_LENGTH = "code_length"
    CODE_MISSING = "code_missing"
    CODE_NOT_NEEDED = "code_not_needed"
    CODE_PREFIX = "code_prefix"
    CODE_NUMBER_SWAPPED = "code_number_swapped"
    DIGITAL_SPLIT = "digital_split"
    LEGACY_JOINED = "legacy_joined"
    DIGITAL_YEAR = "digital_year"
    DIGITAL_YEAR_FUTURE = "digital_year_future"
    DIGITAL_REGION_UNKNOWN = "digital_region_unknown"
    LEGACY_REGION_UNKNOWN = "legacy_region_unknown"
    NUMBER_ALL_ZERO = "number_all_zero"
    # QR payload
    QR_NOT_INVOICE = "qr_not_invoice"
    QR_MALFORMED = "qr_malformed"
    QR_INCOMPLETE = "qr_incomplete"
    QR_VERSION = "qr_version"
    QR_UNKNOWN_TYPE = "qr_unknown_type"
    QR_FIELD_MISSING = "qr_field_missing"
    QR_TYPE_MISMATCH = "qr_type_mismatch"
    QR_CODE_UNEXPECTED = "qr_code_unexpected"
    QR_FIELD_UNRECOGNIZED = "qr_field_unrecognized"
    QR_DATE_FORMAT = "qr_date_format"
    # tax arithmetic
    RATE_INVALID = "rate_invalid"
    RATE_UNKNOWN = "rate_unknown"
    EXEMPTION_RATE = "exemption_rate"
    TAX_MISMATCH = "tax_mismatch"
    TAX_NOT_ZERO = "tax_not_zero"
    AMOUNT_MISMATCH = "amount_mismatch"
    TOTAL_MISMATCH = "total_mismatch"
    PRECISION = "precision"
    SIGN = "sign"
    DISCOUNT_EXCEEDS = "discount_exceeds"
    NO_LINES = "no_lines"
    HEADER_AMOUNT = "header_amount"
    HEADER_TAX = "header_tax"
    HEADER_TOTAL = "header_total"
    TAX_ACCUMULATED = "tax_accumulated"
    # amounts in capitals
    CAPITAL_INVALID = "capital_invalid"
    CAPITAL_TOO_LARGE = "capital_too_large"


# Warnings inform the user but never block a save or a verification.
WARNING_CODES: frozenset[str] = frozenset(
    {
        ProblemCode.USCC_CHECKSUM,
        ProblemCode.LEGACY15_CHECKSUM,
        ProblemCode.CODE_NOT_NEEDED,
        ProblemCode.CODE_PREFIX,
        ProblemCode.LEGACY_REGION_UNKNOWN,
        ProblemCode.QR_VERSION,
        ProblemCode.QR_UNKNOWN_TYPE,
        ProblemCode.QR_FIELD_MISSING,
        ProblemCode.QR_TYPE_MISMATCH,
        ProblemCode.QR_CODE_UNEXPECTED,
        ProblemCode.QR_FIELD_UNRECOGNIZED,
        ProblemCode.QR_DATE_FORMAT,
    }
)


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    field: str | None
    message: str

    @property
    def is_warning(self) -> bool:
        return self.code in WARNING_CODES

    def as_dict(self) -> dict[str, str | None]:
        return {"code": str(self.code), "field": self.field, "message": self.message}


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.is_warning]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_warning]


class RulesError(ValueError):
    """Raised for input the rules refuse outright; carries the problems for the caller."""

    def __init__(self, *problems: Problem) -> None:
        if not problems:
            raise TypeError("RulesError needs at least one Problem")
        super().__init__("；".join(p.message for p in problems))
        self.problems: tuple[Problem, ...] = problems

    @property
    def problem(self) -> Problem:
        return self.problems[0]
