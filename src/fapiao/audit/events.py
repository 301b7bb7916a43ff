"""The stable event codes of the operation log, with their Chinese descriptions.

Codes never change once released: clients, exports and the hash chain depend on them.
"""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class EventCode(StrEnum):
    # accounts
    ACCOUNT_REGISTERED = "account.registered"
    ACCOUNT_EMAIL_CONFIRMED = "account.email_confirmed"
    ACCOUNT_LOGIN = "account.login"
    ACCOUNT_LOGIN_FAILED = "account.login_failed"
    ACCOUNT_LOCKED_OUT = "account.locked_out"
    ACCOUNT_UNLOCKED = "account.unlocked"
    ACCOUNT_LOGOUT = "account.logout"
    ACCOUNT_PASSWORD_CHANGED = "account.password_changed"
    ACCOUNT_PASSWORD_RESET_REQUESTED = "account.password_reset_requested"
    ACCOUNT_PASSWORD_RESET = "account.password_reset"
    ACCOUNT_PROFILE_UPDATED = "account.profile_updated"
    ACCOUNT_MFA_ENABLED = "account.mfa_enabled"
    ACCOUNT_MFA_DISABLED = "account.mfa_disabled"
    ACCOUNT_SESSIONS_ENDED = "account.sessions_ended"
    # platform settings
    CALENDAR_UPDATED = "platform.calendar_updated"
    # organizations
    ORG_CREATED = "org.created"
    ORG_UPDATED = "org.updated"
    ORG_JOIN_REQUESTED = "org.join_requested"
    ORG_JOIN_APPROVED = "org.join_approved"
    ORG_JOIN_REJECTED = "org.join_rejected"
    ORG_MEMBER_INVITED = "org.member_invited"
    ORG_INVITATION_REVOKED = "org.invitation_revoked"
    ORG_INVITATION_ACCEPTED = "org.invitation_accepted"
    ORG_MEMBER_ROLE_CHANGED = "org.member_role_changed"
    ORG_MEMBER_REMOVED = "org.member_removed"
    ORG_MEMBER_LEFT = "org.member_left"
    AUDIT_EXPORTED = "audit.exported"
    INVOICE_EXPORTED = "invoice.exported"
    # invoices
    INVOICE_DRAFT_SAVED = "invoice.draft_saved"
    INVOICE_SUBMITTED = "invoice.submitted"
    INVOICE_REJECTED = "invoice.rejected"
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_EMAILED = "invoice.emailed"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_TEMPLATE_SAVED = "invoice.template_saved"
    RED_LETTER_REQUESTED = "invoice.red_letter_requested"
    RED_LETTER_CONFIRMED = "invoice.red_letter_confirmed"
    RED_LETTER_REFUSED = "invoice.red_letter_refused"
    RED_LETTER_WITHDRAWN = "invoice.red_letter_withdrawn"
    RED_LETTER_LAPSED = "invoice.red_letter_lapsed"
    RED_INVOICE_ISSUED = "invoice.red_issued"
    INVOICE_DRAFT_DELETED = "invoice.draft_deleted"
    DIRECTORY_SAVED = "invoice.directory_saved"
    DIRECTORY_DELETED = "invoice.directory_deleted"
    # verification (查验, 报销登记, 认证申请)
    VERIFICATION_DONE = "verification.done"
    VERIFICATION_BATCH_SUBMITTED = "verification.batch_submitted"
    VERIFICATION_BATCH_FINISHED = "verification.batch_finished"
    VERIFICATION_EXPORTED = "verification.exported"
    CLAIM_RECORDED = "verification.claim_recorded"
    CLAIM_REFUSED = "verification.claim_refused"
    AUTH_REQUEST_SUBMITTED = "verification.auth_request_submitted"
    AUTH_REQUEST_SUPPLEMENTED = "verification.auth_request_supplemented"
    AUTH_REQUEST_APPROVED = "verification.auth_request_approved"
    AUTH_REQUEST_REJECTED = "verification.auth_request_rejected"
    AUTH_REQUEST_MORE_INFO = "verification.auth_request_more_info"
    # batch import (批量导入)
    IMPORT_STARTED = "import.started"
    IMPORT_RESUMED = "import.resumed"
    IMPORT_FINISHED = "import.finished"
    IMPORT_FAILED = "import.failed"
    # statistics
    STATS_EXPORTED = "stats.exported"
    # 对账 (ledger reconciliation)
    RECONCILE_STARTED = "reconcile.started"
    RECONCILE_FINISHED = "reconcile.finished"
    RECONCILE_FAILED = "reconcile.failed"
    RECONCILE_EXPORTED = "reconcile.exported"
    RECONCILE_RECOVERY_STARTED = "reconcile.recovery_started"
    # 补录 (supplementary entry)
    RECOVERY_DRAFTED = "recovery.drafted"
    RECOVERY_UPDATED = "recovery.updated"
    RECOVERY_EVIDENCE_ADDED = "recovery.evidence_added"
    RECOVERY_EVIDENCE_REMOVED = "recovery.evidence_removed"
    RECOVERY_SUBMITTED = "recovery.submitted"
    RECOVERY_RESUBMITTED = "recovery.resubmitted"
    RECOVERY_WITHDRAWN = "recovery.withdrawn"
    RECOVERY_MORE_INFO = "recovery.more_info"
    RECOVERY_APPROVED = "recovery.approved"
    RECOVERY_REJECTED = "recovery.rejected"
    RECOVERY_REMINDED = "recovery.reminded"
    RECOVERY_REFUSED = "recovery.refused"
    INVOICE_RECOVERED = "invoice.recovered"


DESCRIPTIONS = {
    EventCode.ACCOUNT_REGISTERED: _("注册账号"),
    EventCode.ACCOUNT_EMAIL_CONFIRMED: _("验证邮箱"),
    EventCode.ACCOUNT_LOGIN: _("登录"),
    EventCode.ACCOUNT_LOGIN_FAILED: _("登录失败"),
    EventCode.ACCOUNT_LOCKED_OUT: _("账号被锁定"),
    EventCode.ACCOUNT_UNLOCKED: _("账号解锁"),
    EventCode.ACCOUNT_LOGOUT: _("退出登录"),
    EventCode.ACCOUNT_PASSWORD_CHANGED: _("修改密码"),
    EventCode.ACCOUNT_PASSWORD_RESET_REQUESTED: _("申请重置密码"),
    EventCode.ACCOUNT_PASSWORD_RESET: _("重置密码"),
    EventCode.ACCOUNT_PROFILE_UPDATED: _("修改个人资料"),
    EventCode.ACCOUNT_MFA_ENABLED: _("启用两步验证"),
    EventCode.ACCOUNT_MFA_DISABLED: _("停用两步验证"),
    EventCode.ACCOUNT_SESSIONS_ENDED: _("退出其他设备"),
    EventCode.ORG_CREATED: _("创建组织"),
    EventCode.ORG_UPDATED: _("修改组织信息"),
    EventCode.ORG_JOIN_REQUESTED: _("申请加入组织"),
    EventCode.ORG_JOIN_APPROVED: _("批准加入申请"),
    EventCode.ORG_JOIN_REJECTED: _("拒绝加入申请"),
    EventCode.ORG_MEMBER_INVITED: _("邀请成员"),
    EventCode.ORG_INVITATION_REVOKED: _("撤销邀请"),
    EventCode.ORG_INVITATION_ACCEPTED: _("接受邀请"),
    EventCode.ORG_MEMBER_ROLE_CHANGED: _("变更成员角色"),
    EventCode.ORG_MEMBER_REMOVED: _("移除成员"),
    EventCode.ORG_MEMBER_LEFT: _("退出组织"),
    EventCode.AUDIT_EXPORTED: _("导出操作记录"),
    EventCode.INVOICE_EXPORTED: _("导出发票"),
    EventCode.INVOICE_DRAFT_SAVED: _("保存发票草稿"),
    EventCode.INVOICE_SUBMITTED: _("提交发票审核"),
    EventCode.INVOICE_REJECTED: _("退回发票草稿"),
    EventCode.INVOICE_ISSUED: _("开具发票"),
    EventCode.INVOICE_EMAILED: _("发送发票邮件"),
    EventCode.INVOICE_VOIDED: _("作废发票"),
    EventCode.INVOICE_TEMPLATE_SAVED: _("保存开票模板"),
    EventCode.RED_LETTER_REQUESTED: _("提交红字确认单"),
    EventCode.RED_LETTER_CONFIRMED: _("确认红字确认单"),
    EventCode.RED_LETTER_REFUSED: _("拒绝红字确认单"),
    EventCode.RED_LETTER_WITHDRAWN: _("撤销红字确认单"),
    EventCode.RED_LETTER_LAPSED: _("红字确认单超时作废"),
    EventCode.RED_INVOICE_ISSUED: _("开具红字发票"),
    EventCode.INVOICE_DRAFT_DELETED: _("删除发票草稿"),
    EventCode.DIRECTORY_SAVED: _("保存商品或购买方目录"),
    EventCode.DIRECTORY_DELETED: _("删除商品或购买方目录条目"),
    EventCode.VERIFICATION_DONE: _("查验发票"),
    EventCode.VERIFICATION_BATCH_SUBMITTED: _("提交批量查验"),
    EventCode.VERIFICATION_BATCH_FINISHED: _("批量查验完成"),
    EventCode.VERIFICATION_EXPORTED: _("导出查验结果"),
    EventCode.CLAIM_RECORDED: _("登记报销"),
    EventCode.CLAIM_REFUSED: _("重复报销被拒绝"),
    EventCode.AUTH_REQUEST_SUBMITTED: _("提交认证申请"),
    EventCode.AUTH_REQUEST_SUPPLEMENTED: _("补充认证申请材料"),
    EventCode.AUTH_REQUEST_APPROVED: _("认证申请通过"),
    EventCode.AUTH_REQUEST_REJECTED: _("驳回认证申请"),
    EventCode.AUTH_REQUEST_MORE_INFO: _("要求补充认证申请材料"),
    EventCode.IMPORT_STARTED: _("开始批量导入"),
    EventCode.IMPORT_RESUMED: _("继续批量导入"),
    EventCode.IMPORT_FINISHED: _("批量导入完成"),
    EventCode.CALENDAR_UPDATED: _("录入节假日安排"),
    EventCode.IMPORT_FAILED: _("批量导入失败"),
    EventCode.STATS_EXPORTED: _("导出统计报表"),
    EventCode.RECONCILE_STARTED: _("开始对账"),
    EventCode.RECONCILE_FINISHED: _("对账完成"),
    EventCode.RECONCILE_FAILED: _("对账失败"),
    EventCode.RECONCILE_EXPORTED: _("导出对账结果"),
    EventCode.RECONCILE_RECOVERY_STARTED: _("从对账结果批量发起补录"),
    EventCode.RECOVERY_DRAFTED: _("创建补录申请草稿"),
    EventCode.RECOVERY_UPDATED: _("修改补录申请"),
    EventCode.RECOVERY_EVIDENCE_ADDED: _("上传补录证明材料"),
    EventCode.RECOVERY_EVIDENCE_REMOVED: _("删除补录证明材料"),
    EventCode.RECOVERY_SUBMITTED: _("提交补录申请"),
    EventCode.RECOVERY_RESUBMITTED: _("补充材料后重新提交补录申请"),
    EventCode.RECOVERY_WITHDRAWN: _("撤回补录申请"),
    EventCode.RECOVERY_MORE_INFO: _("要求补充补录材料"),
    EventCode.RECOVERY_APPROVED: _("补录申请通过"),
    EventCode.RECOVERY_REJECTED: _("驳回补录申请"),
    EventCode.RECOVERY_REMINDED: _("提醒补充补录材料"),
    EventCode.RECOVERY_REFUSED: _("补录申请被拒绝（重复或已在平台）"),
    EventCode.INVOICE_RECOVERED: _("补录发票"),
}
