"""Domain exceptions. `api.errors` maps each class to an HTTP status in one table.

Messages are Chinese: they are shown to people (office staff, units, inspectors).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    default_message = "请求无法处理"

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Any = None,
        keep_changes: bool = False,
        **extra: Any,
    ):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.errors = errors
        # True when what the service did before refusing must still be committed
        # (e.g. counting a failed sign-in); the edge commits instead of rolling back.
        self.keep_changes = keep_changes
        self.extra = extra


class MalformedInput(DomainError):
    """A body that cannot be read at all (nesting or numbers beyond what we parse)."""

    default_message = "请求无法解析"


class NotFound(DomainError):
    """Missing, or not visible to the actor: the two must look the same."""

    default_message = "未找到该资源"


class Forbidden(DomainError):
    default_message = "无权执行此操作"


class Unauthenticated(DomainError):
    default_message = "请先登录"


class Conflict(DomainError):
    """The request is valid but the resource's state does not allow it."""

    default_message = "资源当前状态不允许此操作"


class InvalidInput(DomainError):
    """Well-formed input the domain rejects; `errors` names the fields."""

    default_message = "提交的数据有误"


class PreconditionFailed(DomainError):
    default_message = "资源已被他人修改，请刷新后重试"


class PreconditionRequired(DomainError):
    default_message = "更新需要携带 If-Match 请求头"


class TooManyRequests(DomainError):
    default_message = "请求过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int = 60, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    default_message = "上传内容过大"


class UnsupportedMedia(DomainError):
    default_message = "不支持的文件类型"


class Unavailable(DomainError):
    """A dependency (database, storage, WeChat) is down; the client may retry."""

    default_message = "依赖服务暂时不可用，请稍后重试"

    def __init__(self, message: str | None = None, *, retry_after: int = 5, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class BadGateway(DomainError):
    """An upstream (WeChat) answered with an error we cannot fix by retrying now."""

    default_message = "上游服务返回错误"
