import logging

from yibao.entrypoints.common.logmask import MaskIdNumbers, mask_ids


def test_id_numbers_are_masked_in_log_text() -> None:
    line = 'GET /api/persons/11010519491231002X?on=2022-01-01 HTTP/1.1" 200 — psn P1 amount 1234567890123'
    assert mask_ids(line) == 'GET /api/persons/110105********002X?on=2022-01-01 HTTP/1.1" 200 — psn P1 amount 1234567890123'


def test_filter_masks_arguments_of_access_log_records() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s"', ("127.0.0.1", "GET", "/api/persons/530902196212273709"), None
    )
    MaskIdNumbers().filter(record)
    assert record.getMessage() == '127.0.0.1 - "GET /api/persons/530902********3709"'
