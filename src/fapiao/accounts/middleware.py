from fapiao.accounts.selectors import organization_for_user

SESSION_KEY = "fapiao_organization_id"


class CurrentOrganizationMiddleware:
    """Sets request.organization: the organization the signed-in user currently acts for."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        request.organization = (
            organization_for_user(user=user, organization_id=request.session.get(SESSION_KEY))
            if user.is_authenticated
            else None
        )
        return self.get_response(request)
