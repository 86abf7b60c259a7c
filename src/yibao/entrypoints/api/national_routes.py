"""POST /api/hsa: the national interface envelope in, ``infcode``/``err_msg``/``output`` out."""

import json
from decimal import Decimal
from typing import Annotated, Any

import simplejson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from yibao.app import ledger, national
from yibao.app.auth import Principal
from yibao.core.errors import InputError, InputErrors
from yibao.entrypoints.api.service_routes import once
from yibao.entrypoints.common.security import require
from yibao.policy.pack import PolicyPack
from yibao.store.db import Database

router = APIRouter(tags=["national interface"])

_TEXT = {"type": "string", "maxLength": 64}
_AMOUNT = {"type": ["number", "string"], "description": "元，两位小数 / yuan, two decimals"}
_VISIT = {
    "type": "object",
    "properties": {
        k: _TEXT
        for k in (
            "psn_no", "certno", "mdtrt_cert_no", "mdtrt_id", "med_type", "insutype", "begntime", "endtime", "dise_codg",
            "ipt_otp_no", "setl_id", "reason", "omsgid", "oinfno", "feedetl_sn", "chrg_bchno",
        )
    }
    | {"medfee_sumamt": _AMOUNT},
}  # fmt: skip
_FEE = {
    "type": "object",
    "properties": {k: _TEXT for k in ("mdtrt_id", "psn_no", "feedetl_sn", "chrgitm_lv", "med_list_codg", "med_list_name")}
    | {"det_item_fee_sumamt": _AMOUNT, "cnt": _AMOUNT, "pric": _AMOUNT},
}
ENVELOPE = {
    "type": "object",
    "required": ["infno", "msgid", "input"],
    "properties": {
        "infno": {"type": "string", "pattern": "^[0-9]{4}$", "description": "交易编号，如 1101、2207"},
        "msgid": {"type": "string", "minLength": 1, "maxLength": 64, "description": "报文ID，每条报文唯一"},
        "fixmedins_code": {"type": "string", "maxLength": 32},
        "input": {
            "type": "object",
            "properties": {
                "data": _VISIT,
                "mdtrtinfo": _VISIT,
                "dscginfo": _VISIT,
                "feedetail": {"type": "array", "items": _FEE},
            },
        },
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


@router.post(
    "/api/hsa",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ENVELOPE}}}},
)
async def hsa(request: Request, who: Annotated[Principal, Depends(require("national"))]) -> Response:
    """国家医保信息平台接口：按 infno 分派（1101、2201–2208、2301–2305、2401–2402、2601、3201–3202）。

    请求为国家接口报文（infno、msgid、fixmedins_code、input …），金额以元为单位（两位小数）。
    """
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
        if infno not in national.HANDLERS:
            raise InputError("envelope", "infno", infno, "a supported transaction: " + ", ".join(sorted(national.HANDLERS)))
        if not msgid or len(msgid) > 64:
            raise InputError("envelope", "msgid", msgid, "a message id of 1-64 characters, unique per message")
        code = str(env.get("fixmedins_code") or who.fixmedins_code or "")
        if who.role == "institution" and code != who.fixmedins_code:
            raise InputError("envelope", "fixmedins_code", code, f"your own institution code ({who.fixmedins_code})")
        inp = env.get("input")
        if not isinstance(inp, dict):
            raise InputError("envelope", "input", inp, "an object with the transaction's input")
        db: Database = request.app.state.db
        pack: PolicyPack = request.app.state.pack
        ctx = national.Context(pack, who, code, msgid)
        handler = national.HANDLERS[infno]
        if infno in national.WRITES:
            output, _ = once(
                db, ledger.message_key("hsa", code, msgid), infno, who.username, env.get("input"), lambda s: handler(s, ctx, inp)
            )
        else:
            with db.unit_of_work() as s:
                output, _ = handler(s, ctx, inp)
                s.rollback()
    except InputErrors as exc:
        return _reply(national.envelope_error(msgid, exc.render("zh")))
    except InputError as exc:
        return _reply(national.envelope_error(msgid, exc.render("zh")))
    return _reply(national.envelope_ok(msgid, output))
