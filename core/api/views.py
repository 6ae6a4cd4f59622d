from rest_framework.views import APIView

from core.bitcoin import refuse_private_keys


class QazynaApiView(APIView):
    """Base for every API view: before anything else, refuse a private key in any field."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH"):
            data = request.data
            if hasattr(data, "dict"):  # QueryDict (form/multipart): only the text fields
                data = {k: v for k, v in data.items() if isinstance(v, str)}
            refuse_private_keys(data)
