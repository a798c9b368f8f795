"""Policy parameters of appeals. Values are in the shipped profiles (yishi/policy/profiles/*.json)."""

from yishi.policy.registry import declare

declare("appeals.anonymous_submit", "bool", "允许匿名提交诉求")
declare("appeals.limit.accept", "limit", "签收时限")
declare("appeals.limit.first_contact", "limit", "首次联系群众时限")
declare("appeals.limit.by_urgency", "map", "按紧急程度的办结时限", "urgency → {amount, unit}; applies first when the urgency is listed")
declare("appeals.limit.by_nature", "map", "按诉求性质的办结时限", "nature → {amount, unit}; applies when the urgency is not listed")
declare("appeals.limit.default", "limit", "默认办结时限")
declare("appeals.limit.fast_lane", "limit", "民生微实事快速通道办结时限")
declare("appeals.limit.callback", "limit", "回访时限（答复后）")
declare("appeals.extension.max_working_days", "int", "单次延期最多工作日")
declare("appeals.extension.max_count", "int", "最多延期次数")
declare("appeals.supervision.escalate_after_working_days", "int", "超期后升级督办的工作日数")
declare("appeals.duplicate_window_days", "int", "重复件判定窗口（天）")
declare("appeals.reopen_window_days", "int", "可申请重办的期限（答复后天数）")
declare("appeals.text_max_length", "int", "诉求内容最大字数")
declare("appeals.title_max_length", "int", "标题最大字数")
declare("appeals.photo_max_bytes", "int", "单张照片最大字节数")
declare("appeals.photo_max_count", "int", "最多照片数")
declare("appeals.kpi_weights", "weights", "三率综合得分权重", "response / resolution / satisfaction")
declare("appeals.ranking_list_size", "int", "红黑榜名次数")
declare("appeals.dashboard_max_staleness_seconds", "int", "统计看板数据最长延迟（秒）",
        "the monthly rollup is served as it is for this long after its computation, then checked and recomputed when stale; 0: always exact")
declare("appeals.public_board", "bool", "公开诉求看板")
declare("appeals.auto_dispatch", "bool", "受理即按派单规则自动派单（智能派单）", "On: an appeal whose category × area matches a routing rule is dispatched to its units in the submission's own transaction; off: it waits for the community's triage")
declare("appeals.open311_window_days", "int", "Open311 查询默认时间窗（天）")
