"""Stable codes of what an import reports per row. Problems found by `fapiao.rules` keep the rules'
own codes (`uscc_char`, `number_length`, `tax_mismatch`...); these are the import's additions."""

from enum import StrEnum


class ImportErrorCode(StrEnum):
    VALUE_MISSING = "value_missing"
    TOO_LONG = "too_long"
    DATE_INVALID = "date_invalid"
    DATE_FUTURE = "date_future"
    AMOUNT_INVALID = "amount_invalid"
    AMOUNT_TOO_LARGE = "amount_too_large"
    NUMBER_INVALID = "number_invalid"  # 数量、单价
    RATE_MISSING = "rate_missing"
    TYPE_UNKNOWN = "type_unknown"
    TYPE_MISSING = "type_missing"
    STATUS_UNKNOWN = "status_unknown"
    TAX_CODE_INVALID = "tax_code_invalid"
    NOT_OWN_INVOICE = "not_own_invoice"
    ROWS_DISAGREE = "rows_disagree"  # rows of one invoice disagree on an invoice column
    INVOICE_REJECTED = "invoice_rejected"  # another row of the same invoice is wrong
    DUPLICATE_IN_FILE = "duplicate_in_file"  # the same invoice again, identical (skipped)
    DUPLICATE_IN_FILE_CONFLICT = "duplicate_in_file_conflict"
    DUPLICATE_CONFLICT = "duplicate_conflict"  # stored already, with other values


WARNING_CODES = frozenset({ImportErrorCode.DUPLICATE_IN_FILE})
