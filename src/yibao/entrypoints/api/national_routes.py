"""POST /api/hsa: the national interface envelope in, ``infcode``/``err_msg``/``output`` out.

The message is read on the event loop (at most ``YIBAO_HSA_MAX_BYTES``), then parsed and run in the
thread pool, so a large upload never holds up other callers; a fee-line upload carries at most
``YIBAO_HSA_MAX_FEE_LINES`` lines (:class:`yibao.core.settings.Limits`). Every answer is an envelope,
also when the database connection fails in the middle of a transaction.
"""

import json
import logging
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import exc as db_errors

from yibao.app import ledger, national
from yibao.app.auth import Principal
from yibao.app.national_transactions import TRANSACTIONS, input_schema
from yibao.app.settlements import dump, once_json
from yibao.core.errors import InputError, InputErrors
from yibao.entrypoints.api.refusals import refusals
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of, limits_of, pack_of

router = APIRouter(tags=["national interface"])
log = logging.getLogger("yibao.hsa")
DB_GONE = "数据库连接中断，本笔交易结果未确认。请稍后用同一报文ID（msgid）重试：已完成的交易不会重复办理。"
"""The answer when the database fails mid-transaction: a retry with the same msgid is safe (exactly once)."""

ENVELOPE = {
    "type": "object",
    "required": ["infno", "msgid", "input"],
    "properties": {
        "infno": {"type": "string", "pattern": "^[0-9]{4}$", "description": "交易编号，如 1101、2207"},
        "msgid": {"type": "string", "minLength": 1, "maxLength": 64, "description": "报文ID，每条报文唯一"},
        "fixmedins_code": {"type": "string", "maxLength": 32},
        "input": input_schema(),
    },
}


def _nul(env: Any) -> tuple[str, Any] | None:
    """The first text with a NUL character (PostgreSQL can neither store nor compare one): its path and value."""
    todo: list[tuple[str, Any]] = [("", env)]
    while todo:
        path, v = todo.pop()
        if isinstance(v, str) and "\x00" in v:
            return path, v
        if isinstance(v, dict):
            for k, x in v.items():
                if "\x00" in k:
                    return f"{path}{k}", k
                todo.append((f"{path}{k}.", x))
        elif isinstance(v, list):
            todo.extend((f"{path}{i}.", x) for i, x in enumerate(v))
    return None


def _reply(body: dict[str, Any]) -> Response:
    return Response(dump(body), media_type="application/json")


DESCRIPTION = "\n".join(
    [
        "请求为国家接口报文（infno、msgid、fixmedins_code、input …），金额以元为单位（两位小数）。支持的交易：",
        "",
        *(f"- {t.infno} {t.name_zh}" for t in TRANSACTIONS.values()),
    ]
)
"""The operation's description in the OpenAPI spec: every transaction of the table."""


async def message_bytes(request: Request) -> bytes | None:
    """A dependency: the message as sent, or ``None`` when it is longer than ``YIBAO_HSA_MAX_BYTES`` (not read on)."""
    most = limits_of(request).hsa_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        return None
    size, parts = 0, []
    async for part in request.stream():
        size += len(part)
        if size > most:
            return None
        parts.append(part)
    return b"".join(parts)


def _database_gone(exc: db_errors.SQLAlchemyError) -> bool:
    """The connection failed or was lost (a server restart, a network cut, no connection free), not a bad statement."""
    lost = isinstance(exc, db_errors.DBAPIError) and exc.connection_invalidated
    return lost or isinstance(exc, db_errors.OperationalError | db_errors.InterfaceError | db_errors.TimeoutError)


def _too_many_lines(transaction_parts: dict[str, Any], inp: dict[str, Any], most: int) -> None:
    lines = inp.get("feedetail")
    if "feedetail" in transaction_parts and isinstance(lines, list) and len(lines) > most:
        raise InputError(
            "envelope",
            "input.feedetail",
            len(lines),
            f"每条报文至多 {most} 条费用明细，请分批上传 / at most {most} fee lines per message: upload them in several",
        )


@router.post(
    "/api/hsa",
    summary="国家医保信息平台接口：按 infno 分派",
    description=DESCRIPTION,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ENVELOPE}}}},
    responses=refusals(401, 403),
)
def hsa(
    request: Request,
    who: Annotated[Principal, Depends(require("national"))],
    raw: Annotated[bytes | None, Depends(message_bytes)],
) -> Response:
    """One envelope in, one out: the transaction of :data:`TRANSACTIONS` its ``infno`` names."""
    limits = limits_of(request)
    if raw is None:
        return _reply(national.envelope_error("", f"报文过大：每条报文至多 {limits.hsa_bytes:,} 字节，请分批上传"))
    try:
        env = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        return _reply(national.envelope_error("", "报文不是合法的 JSON"))
    if not isinstance(env, dict):
        return _reply(national.envelope_error("", "报文应为 JSON 对象"))
    msgid = str(env.get("msgid") or "")
    try:
        bad = _nul(env)
        if bad is not None:
            where = bad[0].rstrip(".") or "envelope"
            raise InputError("envelope", where, bad[1], "不含 NUL（\\x00）字符的文本 / text without NUL (\\x00) characters")
        infno = str(env.get("infno") or "")
        transaction = TRANSACTIONS.get(infno)
        if transaction is None:
            raise InputError("envelope", "infno", infno, "a supported transaction: " + ", ".join(sorted(TRANSACTIONS)))
        if not msgid or len(msgid) > 64:
            raise InputError("envelope", "msgid", msgid, "a message id of 1-64 characters, unique per message")
        code = str(env.get("fixmedins_code") or who.fixmedins_code or "")
        if who.role == "institution" and code != who.fixmedins_code:
            raise InputError("envelope", "fixmedins_code", code, f"your own institution code ({who.fixmedins_code})")
        inp = env.get("input")
        if not isinstance(inp, dict):
            raise InputError("envelope", "input", inp, "an object with the transaction's input")
        _too_many_lines(transaction.request, inp, limits.hsa_fee_lines)
        db, ctx = db_of(request), national.Context(pack_of(request), who, code, msgid)
        if transaction.writes:
            key = ledger.message_key("hsa", code, msgid)
            _, text, _ = once_json(db, key, infno, who.username, inp, lambda s: transaction.handler(s, ctx, inp))
            output: Any = orjson.Fragment(text)  # the output as answered (and stored), not serialised again
        else:
            with db.unit_of_work() as s:  # never committed: a reading transaction writes nothing
                output, _ = transaction.handler(s, ctx, inp)
    except InputErrors as exc:
        return _reply(national.envelope_error(msgid, exc.render("zh")))
    except InputError as exc:
        return _reply(national.envelope_error(msgid, exc.render("zh")))
    except db_errors.SQLAlchemyError as exc:
        if not _database_gone(exc):
            raise
        log.warning("hsa %s: the database failed mid-transaction (%s)", msgid, type(exc).__name__)
        return _reply(national.envelope_error(msgid, DB_GONE))
    return _reply(national.envelope_ok(msgid, output))
