"""The promote job: give a registered version the champion alias by hand, and say so on the version."""

from __future__ import annotations

import logging
from typing import Any

from features.errors import ContractError
from pipeline.config import AppConfig
from pipeline.tracking import registry

log = logging.getLogger(__name__)


def promote(version: str, *, config: AppConfig, tracking_uri: str) -> dict[str, Any]:
    """Give `version` the champion alias by hand, and say so on the version."""
    registry.configure(tracking_uri, create=False)
    reg = config.registry
    if not registry.version_exists(reg.model_name, version):
        raise ContractError(f"model '{reg.model_name}' has no version {version} in store {tracking_uri}",
                            file="VERSION")
    current = registry.champion(reg.model_name, reg.champion_alias)
    previous = current[0] if current else None
    if previous == str(version):  # nothing moves: no tag says it was compared with itself
        reason = f"v{version} is already {reg.champion_alias}"
        log.info("%s %s: nothing to change", reg.model_name, reason)
        return {"model": reg.model_name, "version": str(version), "alias": reg.champion_alias,
                "previous_champion": previous, "decision": reason, "changed": False}
    registry.move_aliases(reg.model_name, str(version), True, reg.champion_alias, reg.challenger_alias, previous)
    reason = f"promoted by hand over v{previous}" if previous else "promoted by hand"
    registry.tag_version(reg.model_name, version, {"champion_decision": reason})
    log.info("%s v%s is now %s (%s)%s", reg.model_name, version, reg.champion_alias, reason,
             f"; v{previous} is now {reg.challenger_alias}" if previous else "")
    return {"model": reg.model_name, "version": str(version), "alias": reg.champion_alias,
            "previous_champion": previous, "decision": reason, "changed": True}
