"""Tax rules of Chinese invoices in plain Python (no Django): the heart of the domain.

Modules: `text` (normalisation), `regions`, `uscc` (纳税人识别号), `types` (invoice type codes per
channel), `numbers` (发票代码/号码), `qr` (QR payload), `tax` (rates and line arithmetic), `rmb`
(大写). Every problem is a `Problem(code, field, message)` with a stable code and a Chinese message.
"""

from fapiao.rules import numbers, qr, regions, rmb, tax, text, types, uscc
from fapiao.rules.problems import Problem, ProblemCode, RulesError

__all__ = [
    "Problem",
    "ProblemCode",
    "RulesError",
    "numbers",
    "qr",
    "regions",
    "rmb",
    "tax",
    "text",
    "types",
    "uscc",
]
