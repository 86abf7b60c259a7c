"""Chinese and English labels for national interface field names, for tables, exports and pages."""

from __future__ import annotations

FIELDS: dict[str, tuple[str, str]] = {
    "claim_id": ("结算单号", "claim"),
    "setl_id": ("结算ID", "settlement id"),
    "psn_no": ("人员编号", "person"),
    "psn_name": ("姓名", "name"),
    "setl_date": ("结算日期", "date"),
    "insutype": ("险种", "insurance type"),
    "med_type": ("医疗类别", "med type"),
    "line": ("待遇类别", "benefit line"),
    "identity": ("身份类别", "identity"),
    "hosp_lv": ("医院等级", "hospital level"),
    "medfee_sumamt": ("医疗总费用", "total cost"),
    "fulamt_ownpay_amt": ("全自费金额", "fully self-paid"),
    "overlmt_selfpay": ("超限价自费", "over price limit"),
    "preselfpay_amt": ("先行自付金额", "self-pay first"),
    "inscp_scp_amt": ("政策范围内费用", "policy-range cost"),
    "act_pay_dedc": ("实际支付起付线", "deductible paid"),
    "hifp_pay": ("基本医保统筹支付", "basic insurance"),
    "pool_prop_selfpay": ("统筹基金支付比例自付", "basic co-payment"),
    "hifmi_pay": ("大病保险支付", "critical illness"),
    "maf_pay": ("医疗救助支付", "medical assistance"),
    "oth_pay": ("倾斜救助支付", "tilted assistance"),
    "fund_pay_sumamt": ("基金支付总额", "funds total"),
    "psn_part_amt": ("个人负担总额", "patient pays"),
    "acct_pay": ("个人账户支出", "personal account"),
    "psn_cash_pay": ("个人现金支出", "patient cash"),
}

AMOUNT_FIELDS = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "pool_prop_selfpay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
)


def field_label(name: str, lang: str = "zh") -> str:
    pair = FIELDS.get(name)
    if pair is None:
        return name
    return pair[0] if lang == "zh" else pair[1]
