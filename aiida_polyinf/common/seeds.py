"""Deterministic seeds: the same polymer, protocol and trial always get the same seed."""

import hashlib


def derive_seed(smiles: str, protocol: str, trial: int = 0, stage: str = '') -> int:
    """A 31-bit seed from the canonical SMILES, the protocol name, the trial index and the stage."""
    digest = hashlib.sha256(f'{smiles}|{protocol}|{trial}|{stage}'.encode()).digest()
    return int.from_bytes(digest[:4], 'big') & 0x7FFFFFFF
