from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Self-service registration arrives with company registration (USCC check, join requests);
        # until then accounts are created by an administrator or `fapiao demo`.
        return False
