"""The FEC download for operators (staff allowed to view invoices): a small form, start and
end, and the file streamed as it is read (reports/fec.py)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core import clock
from core.errors import ApplicationError
from reports.fec import default_period, fec_chunks, fec_filename, fec_period_check


class FecForm(forms.Form):
    start = forms.DateField(label=_("first day"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("last day"), widget=forms.DateInput(attrs={"type": "date"}))


def fec_export(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("billing.view_invoice"):
        raise PermissionDenied
    form = FecForm(request.GET if "start" in request.GET else None)
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        try:
            # Checked before the first byte is sent: a refusal is a form error, never a
            # half-written download.
            fec_period_check(start=start, end=end)
            filename = fec_filename(end=end)
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            response = StreamingHttpResponse(
                fec_chunks(start=start, end=end), content_type="text/plain; charset=iso-8859-15"
            )
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
    elif not form.is_bound:
        first, last = default_period(today=clock.today())
        form = FecForm(initial={"start": first, "end": last})
    context = {
        **admin.site.each_context(request),
        "title": _("FEC export (Fichier des Écritures Comptables)"),
        "form": form,
    }
    return TemplateResponse(request, "reports/fec_form.html", context)
