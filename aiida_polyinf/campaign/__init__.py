"""Campaign operations: batch intake (``intake``), submission and throttling (``submit``, ``controller``), status
(``status``) and relaunch of failed chains (``relaunch``)."""

from .submit import EXTRA_CAMPAIGN, CampaignItem, build_inputs, campaign_key, ensure_daemon, group_polymers, pipeline_codes

__all__ = (
    'EXTRA_CAMPAIGN', 'CampaignItem', 'build_inputs', 'campaign_key', 'ensure_daemon', 'group_polymers',
    'pipeline_codes',
)
