"""Who is acting, from where: set once per request, read by `event_record`.

Services take the actor explicitly; the IP address and user agent come from here so that services
need not be handed the request.
"""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None
    user_agent: str


_current: ContextVar[RequestMeta | None] = ContextVar("fapiao_request_meta", default=None)


def current() -> RequestMeta | None:
    return _current.get()


def client_ip(request) -> str | None:
    # Behind a reverse proxy, gunicorn's --forwarded-allow-ips makes REMOTE_ADDR the client's.
    return request.META.get("REMOTE_ADDR") or None


class RequestMetaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = RequestMeta(
            ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:400]
        )
        token = _current.set(meta)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
