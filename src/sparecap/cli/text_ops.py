"""What the operator's commands say (`demo`, `db`, `operator`, `resources`, `timers`, `money`,
`ledger`), in English and zh-CN; text.py merges these into its MESSAGES.

Prefixes that scripts read stay outside these texts, in the commands themselves, so no locale
changes them: `ledger verify`'s and `ledger audit`'s `OK:`, `FAILED:` and `final:`, and the whole
`DIVERGED at entry N:` lead of an audit. So do the lines that are data: a bare API key, a signed
checkpoint note, CSV and JSON, a bundle's entry lines.
"""

from __future__ import annotations

OPS_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        # sparecap demo, db, operator, resources, timers
        "demo_urls": "Status page: http://{host}:{port}/   API docs: http://{host}:{port}/docs",
        "demo_title": "Demo participants and their API keys",
        "demo_headers": "who|id|API key",
        "demo_money": "  money: {line}",
        "demo_matching": "  matching: {line}",
        "demo_seeded": "{resources} resources, {bookings} bookings seeded.",
        "migration_failed": "migration failed:",
        "at_head": "database at head: {url}",
        "operator_created": "operator {id} created; API key (shown once): {api_key}",
        "not_utf8": "the file is not UTF-8 text",
        "imported": "imported {count} resources: {ids}",
        "wrote": "wrote {path}",
        "timers_fired": "{count} timers fired",
        # sparecap money
        "payment": "payment {id}: {status} ({amount} {currency} minor units)",
        "settled": "settled {count} booking(s)",
        "balance_headers": "account kind, currency|balance (minor units)",
        "journal_size": "{entries} entries, {lines} lines",
        "problem": "problem:",
        "reconciles": "journal reconciles",
        # sparecap ledger
        "not_verified": "{reason}",
        "verified": "{count} entries in {origin} at size {size}",
        "unpinned": "note: checked against the key inside the bundle; "
        "pass --vkey to pin the signer",
        "cosigned_by": "cosigned by {names} (quorum {quorum})",
        "audit_agree": "{entries} entries, {bookings} bookings and {accounts} account "
        "balances agree",
        "audit_unsigned": "{agree}; root {root}; no checkpoint signed yet",
        "audit_signed": "{agree}; root {root} matches checkpoint {size}{later}",
        "audit_later": "; {count} later entries not yet checkpointed",
        "expected": "  expected: {value}",
        "found": "  found:    {value}",
        "witness_outcome": "{witness}: {outcome} {detail}",
        "finality": "checkpoint {size}: {state} ({count}/{quorum})",
        "not_rotated": "{reason}",
        "retired_key": "retired:        {vkey} at {at}",
        "new_key": "new signer key: {vkey}",
    },
    "zh-CN": {
        "demo_urls": "状态页：http://{host}:{port}/   接口文档：http://{host}:{port}/docs",
        "demo_title": "演示参与者及其 API 密钥",
        "demo_headers": "参与者|编号|API 密钥",
        "demo_money": "  资金：{line}",
        "demo_matching": "  撮合：{line}",
        "demo_seeded": "已写入演示数据：{resources} 个资源，{bookings} 笔预订。",
        "migration_failed": "数据库迁移失败：",
        "at_head": "数据库已是最新版本：{url}",
        "operator_created": "已创建运营方 {id}；API 密钥（仅显示这一次）：{api_key}",
        "not_utf8": "文件不是 UTF-8 编码的文本",
        "imported": "已导入 {count} 个资源：{ids}",
        "wrote": "已写入 {path}",
        "timers_fired": "已触发 {count} 个预订计时器",
        "payment": "付款 {id}：{status}，金额 {amount} {currency}（最小货币单位）",
        "settled": "已结算 {count} 笔预订",
        "balance_headers": "账户类型，币种|余额（最小货币单位）",
        "journal_size": "共 {entries} 笔分录，{lines} 条分录行",
        "problem": "问题：",
        "reconciles": "日记账对账一致",
        "not_verified": "验证未通过：{reason}",
        "verified": "{origin} 中的 {count} 个条目验证通过（检查点大小 {size}）",
        "unpinned": "注意：仅用证据包自带的密钥核验；请用 --vkey 指定您信任的签名密钥",
        "cosigned_by": "已由 {names} 联署（所需联署数 {quorum}）",
        "audit_agree": "{entries} 个条目、{bookings} 笔预订和 {accounts} 个账户余额均一致",
        "audit_unsigned": "{agree}；根哈希 {root}；尚无已签名的检查点",
        "audit_signed": "{agree}；根哈希 {root} 与检查点 {size} 一致{later}",
        "audit_later": "；另有 {count} 个后续条目尚未纳入检查点",
        "expected": "  预期：{value}",
        "found": "  实际：{value}",
        "witness_outcome": "见证方 {witness}：{outcome} {detail}",
        "finality": "检查点 {size}：{state}（{count}/{quorum}）",
        "not_rotated": "无法轮换检查点密钥：{reason}",
        "retired_key": "已停用的密钥（停用于 {at}）：{vkey}",
        "new_key": "新的签名密钥：{vkey}",
    },
}

# A witness's answer to one cosigning round (services/ledger_cosigning.py: Submission) and whether
# the newest checkpoint is final.
OPS_NAMES_ZH: dict[str, str] = {
    "cosigned": "已联署",
    "already": "此前已联署",
    "failed": "失败",
    "final": "已最终确认",
    "not final": "尚未最终确认",
}
