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
