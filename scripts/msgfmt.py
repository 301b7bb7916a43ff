"""Compile gettext .po catalogues to .mo without GNU gettext (which a fresh machine may lack).

Usage: python scripts/msgfmt.py DIR...   (every *.po below each DIR is compiled beside itself)
Fuzzy entries are left out, as msgfmt does (but for the header).
"""

import ast
import struct
import sys
from pathlib import Path


def parse_po(text: str) -> dict[str, str]:
    messages: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    current: str | None = None
    fuzzy = False

    def flush():
        nonlocal entry, fuzzy
        # The header (empty msgid) is kept even when fuzzy, as GNU msgfmt does: it names the
        # charset, without which gettext cannot decode the Chinese msgids.
        if "msgid" in entry and (not fuzzy or "".join(entry["msgid"]) == ""):
            msgid = "".join(entry["msgid"])
            if "msgctxt" in entry:
                msgid = "".join(entry["msgctxt"]) + "\x04" + msgid
            if "msgid_plural" in entry:
                msgid += "\x00" + "".join(entry["msgid_plural"])
                forms = sorted(k for k in entry if k.startswith("msgstr["))
                msgstr = "\x00".join("".join(entry[k]) for k in forms)
            else:
                msgstr = "".join(entry.get("msgstr", []))
            if msgstr.replace("\x00", "") or msgid == "":
                messages[msgid] = msgstr
        entry, fuzzy = {}, False

    def has_msgstr() -> bool:
        return any(key.startswith("msgstr") for key in entry)

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if has_msgstr():
                flush()
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            continue
        if line.startswith('"'):
            if current is None:
                raise ValueError(f"line {number}: a string without a keyword before it")
            entry[current].append(ast.literal_eval(line))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgid", "msgctxt") and has_msgstr():
            flush()
        current = keyword
        entry[current] = [ast.literal_eval(rest.strip())]
    flush()
    return messages


def write_mo(messages: dict[str, str], path: Path) -> None:
    keys = sorted(messages)
    ids = [k.encode("utf-8") for k in keys]
    strs = [messages[k].encode("utf-8") for k in keys]
    header_size = 7 * 4
    ids_table = header_size
    strs_table = ids_table + 8 * len(keys)
    data_start = strs_table + 8 * len(keys)
    offsets, data = [], b""
    for blob in ids:
        offsets.append((len(blob), data_start + len(data)))
        data += blob + b"\x00"
    str_offsets = []
    for blob in strs:
        str_offsets.append((len(blob), data_start + len(data)))
        data += blob + b"\x00"
    out = struct.pack("<7I", 0x950412DE, 0, len(keys), ids_table, strs_table, 0, 0)
    for length, offset in offsets + str_offsets:
        out += struct.pack("<2I", length, offset)
    path.write_bytes(out + data)


def main(dirs: list[str]) -> int:
    for directory in dirs:
        for po in sorted(Path(directory).rglob("*.po")):
            write_mo(parse_po(po.read_text(encoding="utf-8")), po.with_suffix(".mo"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
