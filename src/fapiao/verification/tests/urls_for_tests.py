"""The root URLconf with the verification pages mounted, until the root includes them itself."""

from django.urls import include, path

from fapiao import urls as root

_mounted = any(
    getattr(p, "pattern", None) and str(p.pattern) == "verification/" for p in root.urlpatterns
)
urlpatterns = list(root.urlpatterns)
if not _mounted:
    urlpatterns.append(path("verification/", include("fapiao.verification.urls")))

handler404 = root.handler404
handler403 = root.handler403
handler500 = root.handler500
