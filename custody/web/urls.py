"""The reserve's pages: the bank officers' (custody.web.bank), the auditors'
(custody.web.auditor) and the court-ordered releases (custody.web.releases), under one
namespace."""

from .auditor.urls import urlpatterns as auditor_urls
from .bank.urls import urlpatterns as bank_urls
from .releases.urls import urlpatterns as release_urls

app_name = "custody"

urlpatterns = [*bank_urls, *auditor_urls, *release_urls]
