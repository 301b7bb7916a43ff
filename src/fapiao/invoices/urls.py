urlpatterns: list = []  # the query pages: being built
