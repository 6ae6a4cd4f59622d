from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("releases/", views.release_queue, name="release-queue"),
    path("releases/cases/<uuid:case_id>/new/", views.release_order_new,
         name="release-order-new"),
    path("releases/<uuid:order_id>/", views.release_order_detail,
         name="release-order-detail"),
    path("releases/<uuid:order_id>/approve/", views.release_order_approve,
         name="release-order-approve"),
    path("releases/<uuid:order_id>/reject/", views.release_order_reject,
         name="release-order-reject"),
    path("releases/<uuid:order_id>/propose/", views.release_propose,
         name="release-propose"),
]
