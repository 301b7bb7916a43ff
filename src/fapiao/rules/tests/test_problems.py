import pytest

from fapiao import rules
from fapiao.rules.problems import Problem, ProblemCode, RulesError, errors, warnings


def test_problem_serialises_to_code_field_message():
    problem = Problem(ProblemCode.USCC_CHECKSUM, "seller_tax_id", "校验位不符")
    assert problem.as_dict() == {
        "code": "uscc_checksum",
        "field": "seller_tax_id",
        "message": "校验位不符",
    }
    assert problem.is_warning


def test_codes_are_stable_snake_case():
    for code in ProblemCode:
        assert code.value == code.name.lower()


def test_errors_and_warnings_split_problems():
    problems = [
        Problem(ProblemCode.USCC_CHECKSUM, None, "a"),
        Problem(ProblemCode.USCC_CHAR, None, "b"),
    ]
    assert errors(problems) == [problems[1]]
    assert warnings(problems) == [problems[0]]


def test_rules_error_carries_its_problems():
    error = RulesError(Problem("x", None, "甲"), Problem("y", "f", "乙"))
    assert isinstance(error, ValueError)
    assert str(error) == "甲；乙"
    assert error.problem.code == "x"
    with pytest.raises(TypeError):
        RulesError()


def test_package_re_exports_modules():
    for name in ("uscc", "numbers", "types", "qr", "tax", "rmb", "regions", "text"):
        assert hasattr(rules, name)
    assert rules.Problem is Problem


def test_rules_package_imports_no_django():
    import subprocess
    import sys

    code = "import sys, fapiao.rules; print(any(m.startswith('django') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
