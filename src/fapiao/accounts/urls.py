from django.urls import path

from fapiao.accounts import views

urlpatterns = [
    path("signup/", views.RegisterView.as_view(), name="account_signup"),
    path("signup/uscc-check/", views.uscc_check, name="register_uscc_check"),
    path("profile/", views.profile, name="profile"),
    path("sessions/", views.SessionsView.as_view(), name="usersessions_list"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("organization/switch/", views.organization_switch, name="org_switch"),
    path("organization/", views.organization_settings, name="org_settings"),
    path("organization/leave/", views.organization_leave, name="org_leave"),
    path("organization/members/", views.members, name="org_members"),
    path("organization/members/invite/", views.member_invite, name="org_member_invite"),
    path("organization/members/<int:pk>/role/", views.member_role, name="org_member_role"),
    path("organization/members/<int:pk>/remove/", views.member_remove, name="org_member_remove"),
    path(
        "organization/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="org_invitation_revoke",
    ),
    path(
        "organization/join-requests/<int:pk>/",
        views.join_request_decide,
        name="org_join_request_decide",
    ),
    path("staff/", views.staff_home, name="staff_home"),
]
