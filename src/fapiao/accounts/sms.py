"""Sending text messages, behind one small interface.

The default writes each message to a file under FAPIAO_SMS_DIR (and the log), so demos and
tests can read the codes; `console` prints them. A real SMS gateway is a class with the same
`send(mobile, text)` method, named in settings.SMS_BACKEND as a dotted path.
"""

import logging
import time
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("fapiao.sms")


class FileSender:
    def send(self, mobile: str, text: str) -> None:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}-{mobile}.txt"
        (folder / name).write_text(f"To: {mobile}\n\n{text}\n", encoding="utf-8")
        logger.info("SMS to %s written to %s", mobile, folder / name)


class ConsoleSender:
    def send(self, mobile: str, text: str) -> None:
        print(f"[SMS to {mobile}] {text}", flush=True)


def sender():
    backend = settings.SMS_BACKEND
    if backend == "file":
        return FileSender()
    if backend == "console":
        return ConsoleSender()
    return import_string(backend)()


def send_sms(mobile: str, text: str) -> None:
    sender().send(mobile, text)
