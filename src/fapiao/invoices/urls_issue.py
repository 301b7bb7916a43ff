urlpatterns: list = []  # the issuing pages: being built
