"""The pages' words in English and Chinese: a message catalogue, and picking the language.

The language is the user's switch (the ``fd_lang`` cookie, also saved as the
user's locale), else the browser's Accept-Language, else English.
"""

from __future__ import annotations

LOCALES = ("en", "zh")
LANG_COOKIE = "fd_lang"

CATALOGUE: dict[str, tuple[str, str]] = {
    "app": ("Frontdesk", "Frontdesk 客服台"),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出"),
    "tenant": ("Company", "公司"),
    "email": ("Email", "邮箱"),
    "password": ("Password", "密码"),
    "wrong_credentials": ("Wrong company, email or password.", "公司、邮箱或密码错误。"),
    "sign_in_sso": ("Sign in with SSO", "使用单点登录(SSO)"),
    "sso_required": (
        "Your company signs in through single sign-on: use “Sign in with SSO”.",
        "贵公司使用单点登录:请点击“使用单点登录(SSO)”。",
    ),
    "sso_required_note": (
        "Your company signs in through single sign-on; passwords are for its emergency admin only.",
        "贵公司使用单点登录;密码登录仅限紧急管理员。",
    ),
    # A refused single sign-on, by the reason the audit entry records.
    "sso.refused": (
        "Single sign-on did not sign you in. Try again, or ask your administrator.",
        "单点登录未能完成。请重试,或联系管理员。",
    ),
    "sso.state_invalid": (
        "This sign-in was not started here. Start again.",
        "此次登录并非从这里发起。请重新开始。",
    ),
    "sso.state_used": (
        "This sign-in link was already used. Start again.",
        "此登录链接已被使用。请重新开始。",
    ),
    "sso.state_expired": ("This sign-in took too long. Start again.", "登录超时。请重新开始。"),
    "sso.browser_mismatch": (
        "This sign-in was started in another browser. Start again here.",
        "此次登录是在另一个浏览器中发起的。请在此重新开始。",
    ),
    "sso.provider_error": (
        "Your company's sign-in provider refused the sign-in.",
        "贵公司的身份提供方拒绝了此次登录。",
    ),
    "sso.provider_unreachable": (
        "Your company's sign-in provider could not be reached. Try again later.",
        "无法连接贵公司的身份提供方。请稍后重试。",
    ),
    "sso.provider_misconfigured": (
        "Single sign-on is not set up correctly. Ask your administrator.",
        "单点登录配置有误。请联系管理员。",
    ),
    "sso.code_rejected": (
        "The sign-in provider did not accept this sign-in. Start again.",
        "身份提供方未接受此次登录。请重新开始。",
    ),
    "sso.token_invalid": (
        "The sign-in provider's answer could not be verified.",
        "无法验证身份提供方的应答。",
    ),
    "sso.token_expired": ("The sign-in expired. Start again.", "登录已过期。请重新开始。"),
    "sso.issuer_mismatch": (
        "The answer came from another sign-in provider.",
        "应答来自其他身份提供方。",
    ),
    "sso.audience_mismatch": (
        "The answer was meant for another application.",
        "应答是发给其他应用的。",
    ),
    "sso.nonce_mismatch": (
        "The answer belongs to another sign-in. Start again.",
        "应答属于另一次登录。请重新开始。",
    ),
    "sso.email_missing": (
        "The sign-in provider did not say which email address signed in.",
        "身份提供方未提供登录的邮箱地址。",
    ),
    "sso.email_invalid": (
        "The sign-in provider sent an unusable email address.",
        "身份提供方提供的邮箱地址无效。",
    ),
    "sso.email_unverified": (
        "Your email address is not verified at the sign-in provider.",
        "你的邮箱地址在身份提供方处尚未验证。",
    ),
    "sso.unknown_user": (
        "No user with this email address in this company. Ask your administrator.",
        "该公司没有使用此邮箱的用户。请联系管理员。",
    ),
    "sso.user_deactivated": (
        "This user is deactivated. Ask your administrator.",
        "此用户已停用。请联系管理员。",
    ),
    "inbox": ("Inbox", "收件箱"),
    "admin": ("Admin", "管理"),
    "view.open": ("Open", "未结"),
    "view.mine": ("Mine", "我的"),
    "view.team": ("My team", "我的团队"),
    "view.unassigned": ("Unassigned", "未分配"),
    "view.escalated": ("Escalated", "已升级"),
    "view.breaching": ("Breaching", "即将超时"),
    "view.handoffs": ("Hand-offs to my team", "转交给我的团队"),
    "view.all": ("All", "全部"),
    "search": ("Search", "搜索"),
    "filter": ("Filter", "筛选"),
    "any": ("Any", "任意"),
    "channel": ("Channel", "渠道"),
    "customer": ("Customer", "客户"),
    "subject": ("Subject", "主题"),
    "state": ("State", "状态"),
    "priority": ("Priority", "优先级"),
    "assignee": ("Assignee", "处理人"),
    "team": ("Team", "团队"),
    "sla": ("SLA", "时效"),
    "no_tickets": ("No tickets here.", "这里没有工单。"),
    "next_page": ("Older", "更早"),
    "new_messages": ("New activity", "有新动态"),
    "timeline": ("Timeline", "时间线"),
    "reply": ("Reply", "回复"),
    # The ticket page's reply picker, mentions, merge, survey, calls and callbacks.
    "reply_via": ("Reply via", "回复渠道"),
    "mention": ("Mention", "提及"),
    "merge_ticket": ("Merge into ticket", "合并到工单"),
    "merge_ticket_number": ("Ticket number", "工单编号"),
    "merge_button": ("Merge", "合并"),
    "merged_into": ("Merged into", "已合并到"),
    "merged_here": ("Merged here", "已合并至此"),
    "satisfaction": ("Satisfaction", "满意度"),
    "calls": ("Calls", "通话"),
    "callbacks": ("Callbacks", "回拨任务"),
    "duration": ("Duration", "时长"),
    "wait": ("Wait", "等待"),
    "recording": ("Recording", "录音"),
    "transcript": ("Transcript", "转写"),
    "note": ("Internal note", "内部备注"),
    "send": ("Send", "发送"),
    "canned": ("Canned reply", "话术"),
    "insert": ("Insert", "插入"),
    "save": ("Save", "保存"),
    "assign": ("Assign", "分配"),
    "transfer": ("Transfer to team", "转给团队"),
    "escalate": ("Escalate", "升级"),
    "handoff": ("Request a hand-off", "请求转交"),
    "due_minutes": ("Due in minutes", "期限(分钟)"),
    "description": ("Description", "描述"),
    "category": ("Category", "分类"),
    "mood": ("Mood", "情绪"),
    "unassigned": ("Unassigned", "未分配"),
    "nobody": ("—", "—"),
    "viewing": ("{name} is viewing this ticket", "{name} 正在查看此工单"),
    "typing": ("{name} is typing a reply", "{name} 正在输入回复"),
    "other_tickets": ("This customer's other tickets", "该客户的其他工单"),
    "contacts": ("Contact points", "联系方式"),
    "reveal": ("Reveal", "显示"),
    "merge": ("Merge customers", "合并客户"),
    "merge_source": ("Customer id to merge into this one", "要合并进来的客户 ID"),
    "undo_merge": ("Undo", "撤销"),
    "undone": ("undone", "已撤销"),
    "channels": ("Channels", "渠道"),
    "routing": ("Routing rules", "路由规则"),
    "canned_replies": ("Canned replies", "话术库"),
    "users": ("Users", "用户"),
    "teams": ("Teams", "团队"),
    "audit": ("Audit log", "审计日志"),
    "reports": ("Reports", "报表"),
    "sla_policies": ("SLA policies", "服务时效"),
    "add_channel": ("Add a channel", "添加渠道"),
    "kind": ("Kind", "类型"),
    "name": ("Name", "名称"),
    "config": ("Configuration (JSON)", "配置(JSON)"),
    "webhook_url": ("Webhook URL", "Webhook 地址"),
    "widget_snippet": ("Widget snippet", "挂件代码"),
    "active": ("Active", "启用"),
    "add_rule": ("Add a rule", "添加规则"),
    "keywords": ("Keywords (comma-separated)", "关键词(逗号分隔)"),
    "channels_cond": ("Channels (comma-separated kinds)", "渠道(逗号分隔)"),
    "to_team": ("Send to team", "分派到团队"),
    "set_priority": ("Set priority", "设置优先级"),
    "tags": ("Tags (comma-separated)", "标签(逗号分隔)"),
    "remove": ("Remove", "删除"),
    "defaults_in_use": (
        "The built-in default rules apply until you add your own.",
        "在添加自定义规则之前,使用内置默认规则。",
    ),
    "conditions": ("Conditions", "条件"),
    "actions": ("Actions", "动作"),
    "title": ("Title", "标题"),
    "body": ("Text", "内容"),
    "placeholders": ("Placeholders", "占位符"),
    "add": ("Add", "添加"),
    "role": ("Role", "角色"),
    "when": ("When", "时间"),
    "action": ("Action", "操作"),
    "who": ("Who", "操作人"),
    "language": ("中文", "English"),
    "test": ("Test", "测试"),
    "no_check": ("This adapter has no connection test.", "此适配器不提供连接测试。"),
    "nothing_to_check": (
        "This channel's configuration names no server to test.",
        "此渠道的配置中没有可测试的服务器。",
    ),
    "sla_defaults_in_use": (
        "The built-in default policies apply until you save your own.",
        "在保存自定义策略之前,使用内置默认策略。",
    ),
    "sla_policies_hint": (
        "The ordered list as JSON (as the API's /api/v1/sla-policies takes it); "
        "save [] to return to the defaults.",
        "按顺序排列的 JSON 列表(与 API /api/v1/sla-policies 相同);保存 [] 即恢复默认。",
    ),
    "sla_order_hint": (
        "In order: for each target, the first policy that matches a ticket and sets it applies.",
        "按顺序:对每项时效,第一条匹配工单并设置了该时效的策略生效。",
    ),
    "sla_as_json": ("All policies as JSON (escalation steps too)", "全部策略(JSON,含升级步骤)"),
    "metric.first_response": ("First response", "首次响应"),
    "metric.next_response": ("Next response", "后续响应"),
    "metric.resolution": ("Resolution", "解决"),
    "unit.minutes": ("minutes", "分钟"),
    "unit.hours": ("hours", "小时"),
    "unit.business_days": ("business days", "工作日"),
    "business_days_note": (
        "Targets count business hours; d* is business days.",
        "时效按工作时间计算;d* 表示工作日。",
    ),
    "add_policy": ("Add a policy", "添加策略"),
    "categories_cond": ("Categories (comma-separated)", "分类(逗号分隔)"),
    "escalation": ("escalation", "升级"),
    "escalate_on_breach": ("Escalate when breached", "超时即升级"),
    "notify_admins_on_breach": ("Tell the admins when breached", "超时通知管理员"),
    "position": ("Place", "位置"),
    "at_the_end": ("at the end", "末尾"),
    "before": ("before", "在此之前:"),
    "move_up": ("up", "上移"),
    "business_hours": ("Business hours", "工作时间"),
    "always_open": (
        "No calendar: SLA clocks count every hour.",
        "未设置日历:SLA 计时按全天计算。",
    ),
    "team_follows_tenant": (
        "No calendar of its own: the team follows the company's.",
        "未单独设置:该团队沿用公司的工作时间。",
    ),
    "timezone": ("Time zone", "时区"),
    "hours_hint": (
        "Opening hours per day, such as 09:00-12:00, 13:00-18:00; an empty day is closed.",
        "每天的工作时段,例如 09:00-12:00, 13:00-18:00;留空表示休息。",
    ),
    "holidays": ("Holidays (YYYY-MM-DD, one a line)", "节假日(YYYY-MM-DD,每行一个)"),
    "day.mon": ("Monday", "星期一"),
    "day.tue": ("Tuesday", "星期二"),
    "day.wed": ("Wednesday", "星期三"),
    "day.thu": ("Thursday", "星期四"),
    "day.fri": ("Friday", "星期五"),
    "day.sat": ("Saturday", "星期六"),
    "day.sun": ("Sunday", "星期日"),
    "slug": ("Short name", "标识"),
    "members": ("Members", "成员"),
    "lead": ("Lead", "组长"),
    "make_lead": ("make lead", "设为组长"),
    "unmake_lead": ("no longer lead", "取消组长"),
    "add_member": ("Add a member", "添加成员"),
    "add_team": ("Add a team", "添加团队"),
    "default_team": ("Default team", "默认团队"),
    "usage": ("Usage", "用量"),
    "used": ("Used", "已用"),
    "limit": ("Limit", "上限"),
    "no_limit": ("no limit", "不限"),
    "usage.api_requests_per_minute": ("API requests this minute", "本分钟 API 请求"),
    "usage.token_api_requests_per_minute": (
        "Your own API requests this minute",
        "本分钟你自己的 API 请求",
    ),
    "usage.inbound_messages_per_minute": ("Inbound messages this minute", "本分钟收到的消息"),
    "usage.attachment_bytes": ("Attachment storage (bytes)", "附件存储(字节)"),
    "usage_hint": (
        "Quotas are set by the platform's operator (frontdesk tenants limits).",
        "配额由平台运维设置(frontdesk tenants limits)。",
    ),
    "forbidden": ("You do not have access to this page.", "你没有访问此页面的权限。"),
}


def pick_locale(cookie: str | None, accept_language: str | None, user_locale: str | None) -> str:
    if cookie in LOCALES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return user_locale if user_locale in LOCALES else "en"


def translator(locale: str) -> object:
    index = LOCALES.index(locale) if locale in LOCALES else 0

    def t(key: str, **values: str) -> str:
        text = CATALOGUE[key][index] if key in CATALOGUE else key
        return text.format(**values) if values else text

    return t
