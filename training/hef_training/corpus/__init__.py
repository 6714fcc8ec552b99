"""Corpus builder: licence-checked, de-duplicated source repositories (one per package) for training.

    from hef_training.corpus import CorpusConfig, CorpusLimits, build_corpus
    summary = build_corpus(CorpusConfig(sources=[("wheels", "/opt/pypi/files")], out_dir=Path("corpus")))

or `python -m hef_training.corpus --help`.
"""

from .builder import (
    MANIFEST_COLUMNS,
    MANIFEST_FILE,
    REPORT_FILE,
    REPOS_DIR,
    CorpusConfig,
    CorpusLimits,
    CorpusSummary,
    Progress,
    build_corpus,
    package_files,
    read_manifest,
    recount_tokens,
)
from .licences import LicenceVerdict, parse_expression, recognise_licence_text, resolve_licence
from .sources import KINDS, parse_source

__all__ = [
    "KINDS",
    "MANIFEST_COLUMNS",
    "MANIFEST_FILE",
    "REPORT_FILE",
    "REPOS_DIR",
    "CorpusConfig",
    "CorpusLimits",
    "CorpusSummary",
    "LicenceVerdict",
    "Progress",
    "build_corpus",
    "package_files",
    "parse_expression",
    "parse_source",
    "read_manifest",
    "recognise_licence_text",
    "recount_tokens",
    "resolve_licence",
]
