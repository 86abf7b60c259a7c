"""Resident ID numbers never reach the logs: a filter that masks them in every record."""

import logging
import re

ID_NUMBER = re.compile(r"(?<![0-9])([1-9][0-9]{5})([0-9]{8})([0-9]{3}[0-9Xx])(?![0-9])")


def mask_ids(text: str) -> str:
    return ID_NUMBER.sub(lambda m: m.group(1) + "********" + m.group(3), text)


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_ids(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(mask_ids(a) if isinstance(a, str) else a for a in args)
        return True


def install(names: tuple[str, ...] = ("uvicorn.access", "uvicorn.error", "yibao", "")) -> None:
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskIdNumbers) for f in logger.filters):
            logger.addFilter(MaskIdNumbers())
