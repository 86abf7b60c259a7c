"""Policy as data: the resolved schema and dated, sourced YAML packs."""

from yibao.policy.pack import PolicyPack, load_pack, pack_from_mapping, shipped_packs
from yibao.policy.schema import Policy

__all__ = ["Policy", "PolicyPack", "load_pack", "pack_from_mapping", "shipped_packs"]
