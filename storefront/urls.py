from django.urls import path

from storefront.views import checkout, grid, hosted

app_name = "storefront"

urlpatterns = [
    path("", grid.grid_index, name="index"),
    path("welcome/", checkout.welcome, name="welcome"),
    path("verify/<str:token>/", checkout.verify, name="verify"),
    path("link/<str:token>/", hosted.open_link, name="hosted_link"),
    path("<slug:grid>/", grid.grid_page, name="grid"),
    path("<slug:grid>/embed/", grid.grid_embed, name="grid_embed"),
    path("<slug:grid>/<str:plan>/", checkout.checkout, name="checkout"),
    path("<slug:grid>/<str:plan>/review/", checkout.review, name="review"),
]
