from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("reserve/ready/", views.ready_cases, name="ready-cases"),
    path("reserve/cases/<uuid:case_id>/propose/", views.propose_transfer,
         name="transfer-propose"),
    path("reserve/transfers/", views.transfer_list, name="transfer-list"),
    path("reserve/transfers/<uuid:transfer_id>/", views.transfer_detail,
         name="transfer-detail"),
    path("reserve/transfers/<uuid:transfer_id>/approve/", views.transfer_approve,
         name="transfer-approve"),
    path("reserve/transfers/<uuid:transfer_id>/reject/", views.transfer_cancel,
         name="transfer-cancel"),
    path("reserve/transfers/<uuid:transfer_id>/psbt/", views.transfer_psbt,
         name="transfer-psbt"),
    path("reserve/transfers/<uuid:transfer_id>/signatures/", views.transfer_sign,
         name="transfer-sign"),
    path("reserve/transfers/<uuid:transfer_id>/broadcast/", views.transfer_broadcast,
         name="transfer-broadcast"),
    path("reserve/transfers/<uuid:transfer_id>/progress/", views.transfer_progress,
         name="transfer-progress"),
    path("reserve/deposits/", views.deposit_list, name="deposit-list"),
    path("reserve/deposits/<uuid:deposit_id>/attribute/", views.deposit_attribute,
         name="deposit-attribute"),
    path("reserve/deposits/<uuid:deposit_id>/decide/", views.deposit_decide,
         name="deposit-decide"),
    path("reserve/prices/", views.price_list, name="price-list"),
    path("reserve/prices/<uuid:price_id>/approve/", views.price_approve,
         name="price-approve"),
    path("reserve/chain/", views.chain_status, name="chain-status"),
]
