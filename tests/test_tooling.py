"""The newcomer's tools: the interpreter finder and the catalogue compiler used by the Makefile."""

import gettext
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import msgfmt  # noqa: E402


def test_find_python_finds_3_12_or_newer():
    result = subprocess.run([REPO / "scripts" / "find-python"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    version = subprocess.run(
        [result.stdout.strip(), "-c", "import sys; print(sys.version_info[:2] >= (3, 12))"],
        capture_output=True,
        text=True,
    )
    assert version.stdout.strip() == "True"


def test_msgfmt_compiles_what_gettext_reads(tmp_path):
    po = tmp_path / "en" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        '#, fuzzy\nmsgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        '#: a.html:1\nmsgid "帮助"\nmsgstr "Help"\n\n'
        'msgid "多行"\n"文本"\nmsgstr ""\n"Multi-line "\n"text"\n\n'
        'msgctxt "菜单"\nmsgid "首页"\nmsgstr "Home"\n\n'
        '#, fuzzy\nmsgid "模糊"\nmsgstr "Fuzzy"\n\n'
        'msgid "一张"\nmsgid_plural "多张"\nmsgstr[0] "one invoice"\nmsgstr[1] "invoices"\n\n'
        'msgid "未译"\nmsgstr ""\n',
        encoding="utf-8",
    )
    msgfmt.main([str(tmp_path)])
    with po.with_suffix(".mo").open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    assert catalogue.gettext("帮助") == "Help"
    assert catalogue.gettext("多行文本") == "Multi-line text"
    assert catalogue.pgettext("菜单", "首页") == "Home"
    assert catalogue.gettext("模糊") == "模糊"
    assert catalogue.ngettext("一张", "多张", 3) == "invoices"
    assert catalogue.gettext("未译") == "未译"


def test_english_catalogue_is_complete():
    po = REPO / "src" / "fapiao" / "locale" / "en" / "LC_MESSAGES" / "django.po"
    text = po.read_text(encoding="utf-8")
    entries = [block for block in text.split("\n\n") if "msgid" in block]
    untranslated = [
        block
        for block in entries[1:]
        if "#, fuzzy" in block or block.rstrip().endswith('msgstr ""')
    ]
    assert untranslated == [], "translate these (make makemessages, then edit the .po):\n" + (
        "\n\n".join(untranslated)
    )
