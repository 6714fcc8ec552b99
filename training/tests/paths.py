"""Paths the tests share (the tests folder is on sys.path under pytest's default import mode)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Real code shipped with the project: small, multi-file, permissively licensed (ours).
SHOP = ROOT / "samples" / "shop"
