"""The reserve's pages: the bank officers' (custody.web.bank) and the auditors'
(custody.web.auditor), under one namespace."""

from .auditor.urls import urlpatterns as auditor_urls
from .bank.urls import urlpatterns as bank_urls

app_name = "custody"

urlpatterns = [*bank_urls, *auditor_urls]
