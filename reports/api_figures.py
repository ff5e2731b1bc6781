"""The figures over the API: MRR, its movements and rates per month, and what made a movement.

Operators read every figure; a partner's token reads its own (the subscriptions it manages, at
the price it pays) and gets a 404 for another partner's; a customer's token has no reports.
"""

from __future__ import annotations

from datetime import date

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Plan
from core import clock
from integrations.access import HasTenant, Tenant, request_tenant
from partners.models import Partner
from reports import mrr, selectors
from reports.months import month_start, months_back, months_between

MAX_MONTHS = 120


class FiguresQuery(serializers.Serializer):
    start = serializers.DateField(
        required=False, help_text="First month (any day of it); default: 11 months before end."
    )
    end = serializers.DateField(required=False, help_text="Last month; default: this month.")
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    plan = serializers.PrimaryKeyRelatedField(queryset=Plan.objects.all(), required=False)
    partner = serializers.PrimaryKeyRelatedField(queryset=Partner.objects.all(), required=False)
    country = serializers.RegexField(
        r"^[A-Z]{2}$", required=False, help_text="The end customers' country (ISO 3166)."
    )

    def validate(self, attrs):
        today = clock.today()
        end = month_start(attrs.get("end") or today)
        start = attrs.get("start") or months_back(end, 12)[0]
        start = month_start(start)
        for name, value in (("start", start), ("end", end)):
            if not date(2000, 1, 1) <= value <= date(2100, 12, 1):
                raise ValidationError({name: _("Give a month between 2000 and 2100.")})
        if start > end:
            raise ValidationError({"end": _("The last month comes before the first.")})
        months = months_between(start, end)
        if len(months) > MAX_MONTHS:
            raise ValidationError(
                {"start": _("Ask for %(max)s months at most.") % {"max": MAX_MONTHS}}
            )
        attrs["months"] = months
        return attrs


class MovementQuery(FiguresQuery):
    kind = serializers.ChoiceField(choices=mrr.KINDS, required=False)
    offset = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if len(attrs["months"]) > 1 and "start" in self.initial_data:
            raise ValidationError({"start": _("Movements are read one month at a time: give end.")})
        return attrs


class IsOperatorOrPartner(HasTenant):
    message = gettext_lazy("Reports are for operators and partners.")

    def has_permission(self, request, view) -> bool:
        tenant = request_tenant(request)
        return tenant is not None and (tenant.is_operator or tenant.partner is not None)


class ReportView(APIView):
    permission_classes = [IsAuthenticated, IsOperatorOrPartner]
    query_class: type[serializers.Serializer] = FiguresQuery

    def query(self, request) -> tuple[dict, selectors.MrrFilters]:
        fields = set(self.query_class().fields)
        errors = {
            name: [_("This operation takes no parameter of this name.")]
            for name in sorted(set(request.query_params) - fields - {"format"})
        }
        for name, values in request.query_params.lists():
            if name not in errors and "" in values:
                errors[name] = [_("Give this parameter a value, or leave it out.")]
        if errors:
            raise ValidationError(errors)
        query = self.query_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        tenant: Tenant = request_tenant(request)
        partner = data.get("partner")
        if not tenant.is_operator:
            # A partner reads its own figures; another partner's are not there.
            if partner is not None and partner != tenant.partner:
                raise Http404
            partner = tenant.partner
        filters = selectors.MrrFilters(
            currency=data.get("currency"),
            plan_id=data["plan"].pk if data.get("plan") else None,
            partner_id=partner.pk if partner else None,
            country=data.get("country"),
        )
        return data, filters


def _amount(value) -> str:
    return f"{value:.2f}"


def _ratio(value) -> str | None:
    return None if value is None else str(value)


month_schema = inline_serializer(
    "MrrMonth",
    {
        "month": serializers.DateField(),
        "currency": serializers.CharField(),
        "mrr_start": serializers.DecimalField(max_digits=14, decimal_places=2),
        "mrr_end": serializers.DecimalField(max_digits=14, decimal_places=2),
        **{kind: serializers.DecimalField(max_digits=14, decimal_places=2) for kind in mrr.KINDS},
        "customers": serializers.DictField(child=serializers.IntegerField()),
        "arr": serializers.DecimalField(max_digits=16, decimal_places=2),
        "arpu": serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True),
        "paying_customers": serializers.IntegerField(),
        "paying_subscriptions": serializers.IntegerField(),
        "logo_churn": serializers.DecimalField(max_digits=8, decimal_places=4, allow_null=True),
        "revenue_churn": serializers.DecimalField(max_digits=8, decimal_places=4, allow_null=True),
        "net_retention": serializers.DecimalField(max_digits=8, decimal_places=4, allow_null=True),
        "trial_conversion": serializers.DecimalField(
            max_digits=8, decimal_places=4, allow_null=True
        ),
    },
)


class MrrView(ReportView):
    @extend_schema(
        summary="MRR per month: movements and rates (operators, partners)",
        description="Per currency (never summed across currencies), each month's MRR at its "
        "start and end, its movements (new, expansion, reactivation, contraction, churn) and "
        "rates (ARR, ARPU, logo and revenue churn, net retention, trial conversion) as ratios. "
        "The current month runs to today. A partner's token reads its own figures.",
        tags=["reports"],
        parameters=[FiguresQuery],
        responses={
            200: inline_serializer(
                "MrrFigures", {"months": serializers.ListField(child=month_schema)}
            )
        },
    )
    def get(self, request):
        data, filters = self.query(request)
        figures = selectors.monthly_figures(data["months"], filters, today=clock.today())
        rows = [
            {
                "month": f.month.isoformat(),
                "currency": currency,
                "mrr_start": _amount(f.movements.start),
                "mrr_end": _amount(f.movements.end),
                **{kind: _amount(f.movements.amounts[kind]) for kind in mrr.KINDS},
                "customers": dict(f.movements.customers),
                "arr": _amount(f.metrics.arr),
                "arpu": None if f.metrics.arpu is None else _amount(f.metrics.arpu),
                "paying_customers": f.metrics.customers,
                "paying_subscriptions": f.metrics.subscriptions,
                "logo_churn": _ratio(f.metrics.logo_churn),
                "revenue_churn": _ratio(f.metrics.revenue_churn),
                "net_retention": _ratio(f.metrics.net_retention),
                "trial_conversion": _ratio(f.metrics.trial_conversion),
            }
            for currency, months in figures.items()
            for f in months
        ]
        return Response({"months": rows})


class MovementsView(ReportView):
    query_class = MovementQuery

    @extend_schema(
        summary="What made a month's MRR movements (operators, partners)",
        description="Each customer whose MRR changed in the month (`end`, default this month): "
        "its movement, MRR before and after, its subscriptions' MRR segments and the timeline "
        "entries effective in the month; the largest changes first, `limit` (at most 1,000) "
        "from `offset`, and `count` of them all.",
        tags=["reports"],
        parameters=[MovementQuery],
        responses={200: OpenApiResponse(description="The changes, by customer.")},
    )
    def get(self, request):
        data, filters = self.query(request)
        month = data["months"][-1]
        found = selectors.month_changes(month, filters, today=clock.today(), kind=data.get("kind"))
        changes = found.changes
        # A page of them with their details (a month can move thousands).
        page = changes[data["offset"] : data["offset"] + data["limit"]]
        details = selectors.change_details(page, found.start, found.end, filters)
        return Response(
            {
                "month": month.isoformat(),
                "count": len(changes),
                "changes": [
                    {
                        "customer": {"id": d.customer.pk, "name": d.customer.name},
                        "currency": d.change.currency,
                        "movement": d.change.kind,
                        "before": _amount(d.change.before),
                        "after": _amount(d.change.after),
                        "segments": [
                            {
                                "subscription": s.subscription_id,
                                "plan": s.plan.code,
                                "start": s.start.isoformat(),
                                "end": s.end.isoformat() if s.end else None,
                                "mrr": _amount(s.amount),
                            }
                            for s in d.segments
                        ],
                        "events": [
                            {
                                "subscription": e.subscription_id,
                                "kind": e.kind,
                                "effective_date": e.effective_date.isoformat(),
                            }
                            for e in d.events
                        ],
                    }
                    for d in details
                ],
            }
        )
