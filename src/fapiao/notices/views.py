"""The user's notices: the list (all or unread), open one (marks it read and follows its link),
mark all read. A notice is its user's alone: anyone else's is 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from fapiao.notices import selectors, services


@login_required
@require_GET
def notice_list(request):
    found = selectors.notices_of(user=request.user)
    unread_only = request.GET.get("show") == "unread"
    if unread_only:
        found = found.filter(read_at__isnull=True)
    page = Paginator(found, 30).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.unread_count(user=request.user),
    }
    return render(request, "notices/notice_list.html", context)


@login_required
@require_POST
def notice_open(request, pk: int):
    notice = get_object_or_404(selectors.notices_of(user=request.user), pk=pk)
    services.notice_read(user=request.user, notice=notice)
    if request.POST.get("follow") and notice.link:
        return redirect(notice.link)
    return redirect("notice_list")


@login_required
@require_POST
def notice_read_all(request):
    count = services.notice_read_all(user=request.user)
    messages.success(request, _("已将 %(count)s 条消息标为已读。") % {"count": count})
    return redirect("notice_list")
