"""What each stable error code means in English and zh-CN, and each kind of invalid field in zh-CN.

An error's own message names the particular case in English ("no booking 7"); the title here
is the same for every error with that code, one sentence a person can read in either language
(the "title" of RFC 9457 problem details, where the message is its "detail"). Every interface
takes its texts from here: the API puts both languages beside the message, the CLI follows the
locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sparecap.domain.names import Text

ERRORS: Mapping[str, Text] = {
    # The codes of the error classes themselves, and of the API's own refusals.
    "error": {"en": "The request was refused.", "zh-CN": "请求被拒绝。"},
    "invalid_input": {"en": "The request is not valid.", "zh-CN": "请求内容无效。"},
    "unauthenticated": {"en": "Sign in first.", "zh-CN": "请先完成身份验证。"},
    "forbidden": {"en": "You may not do this.", "zh-CN": "您无权执行此操作。"},
    "not_found": {"en": "Not found.", "zh-CN": "未找到。"},
    "conflict": {
        "en": "The request clashes with the current state.",
        "zh-CN": "请求与当前状态冲突。",
    },
    "method_not_allowed": {
        "en": "This address does not take this method.",
        "zh-CN": "此地址不支持该请求方法。",
    },
    "http_error": {"en": "The request was refused.", "zh-CN": "请求被拒绝。"},
    "internal_error": {
        "en": "Something went wrong on the server; nothing was changed.",
        "zh-CN": "服务器内部错误，未做任何更改。",
    },
    "body_too_large": {"en": "The request body is too large.", "zh-CN": "请求体过大。"},
    "retry_later": {
        "en": "The request kept colliding with others; try it again.",
        "zh-CN": "请求多次与其他请求冲突，请重试。",
    },
    # Access.
    "missing_api_key": {"en": "An API key is required.", "zh-CN": "需要提供 API 密钥。"},
    "invalid_api_key": {"en": "The API key is not valid.", "zh-CN": "API 密钥无效。"},
    "role_required": {
        "en": "You do not hold the role this needs.",
        "zh-CN": "您不具备执行此操作所需的角色。",
    },
    "read_only": {"en": "Your role may only read.", "zh-CN": "您的角色只能查看。"},
    "bad_signature": {"en": "The signature does not verify.", "zh-CN": "签名验证失败。"},
    # Idempotency.
    "idempotency_key_required": {
        "en": "This call needs an Idempotency-Key header.",
        "zh-CN": "此请求需要 Idempotency-Key 请求头。",
    },
    "idempotency_key_reused": {
        "en": "This Idempotency-Key was used for a different request.",
        "zh-CN": "此 Idempotency-Key 已用于另一个请求。",
    },
    # Things that do not exist.
    "unknown_booking": {"en": "No such booking.", "zh-CN": "预订不存在。"},
    "unknown_category": {"en": "No such category.", "zh-CN": "类别不存在。"},
    "unknown_demand": {"en": "No such demand.", "zh-CN": "需求不存在。"},
    "unknown_dispute": {"en": "No such dispute.", "zh-CN": "争议不存在。"},
    "unknown_entry": {"en": "No such entry.", "zh-CN": "条目不存在。"},
    "unknown_evidence": {"en": "No such evidence.", "zh-CN": "证据不存在。"},
    "unknown_notification": {"en": "No such notification.", "zh-CN": "通知不存在。"},
    "unknown_log": {
        "en": "This witness does not witness that log.",
        "zh-CN": "本见证方不见证该日志。",
    },
    "unknown_participant": {"en": "No such participant.", "zh-CN": "参与者不存在。"},
    "unknown_payment": {"en": "No such payment.", "zh-CN": "付款不存在。"},
    "unknown_provider": {"en": "No such payment provider.", "zh-CN": "支付服务商不存在。"},
    "unknown_quote": {"en": "No such quote.", "zh-CN": "报价不存在。"},
    "unknown_resource": {"en": "No such resource.", "zh-CN": "资源不存在。"},
    "unknown_round": {"en": "No such matching round.", "zh-CN": "撮合轮次不存在。"},
    "unknown_tile": {"en": "No such tile.", "zh-CN": "瓦片不存在。"},
    "unknown_unit": {"en": "No such unit.", "zh-CN": "单元不存在。"},
    # Input that does not hold together.
    "bad_csv": {"en": "The CSV file is not valid.", "zh-CN": "CSV 文件格式无效。"},
    "category_exists": {"en": "This category already exists.", "zh-CN": "该类别已存在。"},
    "invalid_schema": {
        "en": "The attribute schema is not valid.",
        "zh-CN": "属性定义无效。",
    },
    "invalid_attributes": {
        "en": "The attributes do not fit the category.",
        "zh-CN": "属性与类别的定义不符。",
    },
    "invalid_search": {"en": "The search is not valid.", "zh-CN": "搜索条件无效。"},
    "invalid_window": {"en": "The time window is not valid.", "zh-CN": "时间窗口无效。"},
    "invalid_period": {
        "en": "The period must start before it ends.",
        "zh-CN": "时间段的开始必须早于结束。",
    },
    "invalid_amount": {"en": "The amount is not valid.", "zh-CN": "金额无效。"},
    "invalid_tariff": {"en": "The tariff is not valid.", "zh-CN": "价格方案无效。"},
    "currency_mismatch": {"en": "The currencies do not match.", "zh-CN": "币种不一致。"},
    "unbalanced_entry": {
        "en": "The entry's debits and credits do not balance.",
        "zh-CN": "分录的借贷不平衡。",
    },
    "unsupported_event": {
        "en": "This address does not take that event.",
        "zh-CN": "此地址不接受该事件。",
    },
    # Booking rules (domain/availability.py: RuleViolation).
    "misaligned": {
        "en": "The window does not fall on the resource's booking steps.",
        "zh-CN": "时间窗口未对齐资源的预订步长。",
    },
    "too_short": {
        "en": "The window is shorter than the resource allows.",
        "zh-CN": "时间窗口短于资源允许的最短时长。",
    },
    "too_long": {
        "en": "The window is longer than the resource allows.",
        "zh-CN": "时间窗口长于资源允许的最长时长。",
    },
    "insufficient_notice": {
        "en": "The window starts too soon for the resource's notice period.",
        "zh-CN": "开始时间太近，不满足资源的提前预订要求。",
    },
    "beyond_booking_window": {
        "en": "The window is further ahead than the resource takes bookings.",
        "zh-CN": "时间窗口超出了资源可预订的时间范围。",
    },
    "outside_availability": {
        "en": "The resource is not open for the whole window.",
        "zh-CN": "资源在该时间窗口内并非全程开放。",
    },
    # Capacity and the booking lifecycle.
    "capacity_conflict": {
        "en": "The capacity is already taken for that time.",
        "zh-CN": "该时段的产能已被占用。",
    },
    "resource_inactive": {"en": "The resource is not active.", "zh-CN": "资源已停用。"},
    "invalid_transition": {
        "en": "That change is not possible in the current status.",
        "zh-CN": "当前状态下不允许此变更。",
    },
    "forbidden_transition": {
        "en": "You may not make that change.",
        "zh-CN": "您无权进行此状态变更。",
    },
    "instant_book_only": {
        "en": "This resource is booked instantly; book the hold.",
        "zh-CN": "此资源为即时预订，请直接预订暂留。",
    },
    "request_to_book_only": {
        "en": "This resource takes requests; submit the hold.",
        "zh-CN": "此资源需申请预订，请提交暂留。",
    },
    "already_started": {
        "en": "A booking in use can only be extended.",
        "zh-CN": "使用中的预订只能延长。",
    },
    "reschedule_exceeds_payment": {
        "en": "The new window costs more than was paid; cancel and book again.",
        "zh-CN": "新时段的费用超过已付金额，请取消后重新预订。",
    },
    # Demands, quotes and matching.
    "demand_not_live": {
        "en": "The demand is no longer open to matching.",
        "zh-CN": "需求已不在撮合中。",
    },
    "quote_closed": {"en": "The quote is no longer open.", "zh-CN": "报价已结束。"},
    "wrong_category": {
        "en": "The resource is not in the demand's category.",
        "zh-CN": "资源类别与需求不符。",
    },
    "quantity_exceeds_demand": {
        "en": "The quantity is more than the demand has left.",
        "zh-CN": "数量超出需求的剩余数量。",
    },
    "not_splittable": {
        "en": "The demand cannot be split.",
        "zh-CN": "该需求不可拆分。",
    },
    "below_min_lot": {
        "en": "The quantity is below the demand's minimum lot.",
        "zh-CN": "数量低于需求的最小批量。",
    },
    # Money.
    "insufficient_funds": {"en": "The account holds too little.", "zh-CN": "账户余额不足。"},
    "already_paid": {"en": "The booking is already paid.", "zh-CN": "该预订已付款。"},
    "not_payable": {
        "en": "A booking in this status takes no payment.",
        "zh-CN": "处于此状态的预订不能付款。",
    },
    "nothing_to_pay": {"en": "This booking costs nothing.", "zh-CN": "该预订无需付款。"},
    "duplicate_callback": {
        "en": "This payment callback is already being processed.",
        "zh-CN": "该支付回调正在处理中。",
    },
    "refund_declined": {
        "en": "The payment provider refused the refund.",
        "zh-CN": "支付服务商拒绝了退款。",
    },
    "already_reversed": {"en": "The entry is already reversed.", "zh-CN": "该分录已冲正。"},
    "not_metering": {
        "en": "Usage is recorded only while the booking is in use.",
        "zh-CN": "只能在预订使用期间记录用量。",
    },
    "usage_id_reused": {
        "en": "Another usage reading has this id.",
        "zh-CN": "该编号已被另一条用量记录使用。",
    },
    "dispute_open": {
        "en": "A dispute on this booking is open.",
        "zh-CN": "该预订有未解决的争议。",
    },
    "dispute_resolved": {"en": "The dispute is already resolved.", "zh-CN": "该争议已解决。"},
    "not_disputable": {
        "en": "Only a completed booking can be disputed, within its dispute window.",
        "zh-CN": "只有已完成且仍在争议期内的预订才能发起争议。",
    },
    # The verifiable log and its witnesses.
    "no_checkpoint": {"en": "No checkpoint is signed yet.", "zh-CN": "尚无已签名的检查点。"},
    "not_yet_checkpointed": {
        "en": "The entry is not in a signed checkpoint yet; try again soon.",
        "zh-CN": "该条目尚未纳入已签名的检查点，请稍后重试。",
    },
    "invalid_tree_sizes": {
        "en": "The tree sizes are not valid for this log.",
        "zh-CN": "树的大小对此日志无效。",
    },
    "tile_not_signed": {
        "en": "The tile is beyond the latest signed checkpoint.",
        "zh-CN": "该瓦片超出了最新已签名检查点的范围。",
    },
    "bad_request": {
        "en": "The checkpoint request is malformed.",
        "zh-CN": "检查点请求格式错误。",
    },
    "bad_proof": {"en": "The consistency proof is not valid.", "zh-CN": "一致性证明无效。"},
    "old_size_mismatch": {
        "en": "The old size is not the size this witness last cosigned.",
        "zh-CN": "旧树大小与本见证方上次联署的大小不符。",
    },
    "inconsistent_checkpoint": {
        "en": "The checkpoint is not consistent with the one cosigned before.",
        "zh-CN": "该检查点与之前联署的检查点不一致。",
    },
    "untrusted_checkpoint": {
        "en": "The checkpoint is not signed by the log's key.",
        "zh-CN": "该检查点未经日志密钥签名。",
    },
    "fork": {
        "en": "The log has forked: two different trees claim the same history.",
        "zh-CN": "日志出现分叉：两棵不同的树声称拥有同一段历史。",
    },
}

# What each kind of invalid field means in zh-CN, by pydantic's error type, with the limits
# pydantic reports in the error's context. English keeps pydantic's own message, which says the
# same. A type not listed here (our own validators' rules, pydantic's "value_error", among them)
# keeps its English message in zh-CN too, behind a general heading.
PROBLEMS_ZH: Mapping[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不认识的字段",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限数值",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_too_short": "至少应有 {min_length} 个字符",
    "string_too_long": "最多只能有 {max_length} 个字符",
    "string_pattern_mismatch": "应符合格式 {pattern}",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "too_short": "至少应有 {min_length} 项",
    "too_long": "最多只能有 {max_length} 项",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
    "datetime_parsing": "应为日期时间（ISO 8601 格式）",
    "datetime_from_date_parsing": "应为日期时间（ISO 8601 格式）",
    "datetime_type": "应为日期时间（ISO 8601 格式）",
    "timezone_aware": "应带有时区偏移",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON",
}
OTHER_PROBLEM_ZH = "取值无效：{message}"


def error_title(code: str, fallback: str = "error") -> dict[str, str]:
    """The meaning of an error code in every language; a code this catalogue does not know reads
    as its class's title (`fallback`, e.g. "conflict"), so every refusal has both languages."""
    text = ERRORS.get(code) or ERRORS.get(fallback) or ERRORS["error"]
    return dict(text)


def problem_text(
    kind: str, message: str, context: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """One invalid field's problem in every language, from pydantic's type, message and context."""
    own = message.removeprefix("Value error, ")  # how pydantic wraps our validators' messages
    try:
        chinese = PROBLEMS_ZH.get(kind, OTHER_PROBLEM_ZH).format(message=own, **(context or {}))
    except (KeyError, IndexError):  # a limit the template names is missing from the context
        chinese = OTHER_PROBLEM_ZH.format(message=own)
    return {"en": message, "zh-CN": chinese}
