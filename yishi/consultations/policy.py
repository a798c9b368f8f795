"""Policy parameters of consultations (values in yishi/policy/profiles/*.json)."""

from yishi.policy.registry import declare

declare("consultations.notice_min_days", "int", "会议通知最少提前天数")
declare("consultations.notice_max_days", "int", "会议通知建议最多提前天数")
declare("consultations.quorum_percent", "percent", "法定出席比例（占有表决权参与者）")
declare("consultations.speech_seconds", "int", "每次发言时长（秒）")
declare("consultations.speeches_per_motion", "int", "每人每项动议发言次数")
declare("consultations.pass_percent", "percent", "表决通过比例（占投票者，弃权不计赞成）")
declare("consultations.min_research_records", "int", "召开会议前至少通过的调研记录数")
declare("consultations.task_default_working_days", "int", "责任清单默认办理时限（工作日）")
declare("consultations.regression_window_days", "int", "闭环后同类诉求复发观察期（天）")
declare("consultations.regression_threshold", "int", "复发判定：观察期内同类诉求件数")
declare("consultations.required_participant_kinds", "list", "代表性面板：应当到场的主体类别")
declare("consultations.attachment_max_bytes", "int", "调研附件单个文件最大字节数")
declare("consultations.attachment_max_count", "int", "每份调研记录最多附件数")
declare("consultations.attachment_kinds", "list", "调研附件允许的文件类型（pdf、docx、xlsx、pptx、jpeg、png、gif、webp）")
