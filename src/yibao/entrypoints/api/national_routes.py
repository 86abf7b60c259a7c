"""POST /api/hsa: the national interface envelope in, ``infcode``/``err_msg``/``output`` out."""

import json
from decimal import Decimal
from typing import Annotated, Any

import simplejson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from yibao.app import ledger, national
from yibao.app.auth import Principal
from yibao.app.national_transactions import TRANSACTIONS, input_schema
from yibao.app.settlements import once
from yibao.core.errors import InputError, InputErrors
from yibao.entrypoints.common.security import require
from yibao.entrypoints.common.state import db_of, pack_of

router = APIRouter(tags=["national interface"])

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
    return Response(simplejson.dumps(body, use_decimal=True, ensure_ascii=False), media_type="application/json")


DESCRIPTION = "\n".join(
    [
        "请求为国家接口报文（infno、msgid、fixmedins_code、input …），金额以元为单位（两位小数）。支持的交易：",
        "",
        *(f"- {t.infno} {t.name_zh}" for t in TRANSACTIONS.values()),
    ]
)
"""The operation's description in the OpenAPI spec: every transaction of the table."""


@router.post(
    "/api/hsa",
    summary="国家医保信息平台接口：按 infno 分派",
    description=DESCRIPTION,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ENVELOPE}}}},
)
async def hsa(request: Request, who: Annotated[Principal, Depends(require("national"))]) -> Response:
    """One envelope in, one out: the transaction of :data:`TRANSACTIONS` its ``infno`` names."""
    raw = await request.body()
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
        db, ctx = db_of(request), national.Context(pack_of(request), who, code, msgid)
        if transaction.writes:
            key = ledger.message_key("hsa", code, msgid)
            output, _ = once(db, key, infno, who.username, inp, lambda s: transaction.handler(s, ctx, inp))
        else:
            with db.unit_of_work() as s:  # never committed: a reading transaction writes nothing
                output, _ = transaction.handler(s, ctx, inp)
    except InputErrors as exc:
        return _reply(national.envelope_error(msgid, exc.render("zh")))
    except InputError as exc:
        return _reply(national.envelope_error(msgid, exc.render("zh")))
    return _reply(national.envelope_ok(msgid, output))
