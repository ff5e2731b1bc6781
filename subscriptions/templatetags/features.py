"""The pages' lookup of a subscription's features (subscriptions.entitlements.FeatureLine)."""

from django import template

register = template.Library()


@register.filter
def features_of(lines_by_subscription, subscription_id):
    """`{% with lines=features|features_of:subscription.pk %}`: that subscription's lines."""
    return (lines_by_subscription or {}).get(subscription_id, [])
