"""Import inputs (JSONL manifests, SafeSora configs, uploaded zips): read and check, no DB."""

from .loader import load_import
from .records import ImportIssue, ImportPlan, PairRecord, PromptRecord, VideoRecord

__all__ = ["ImportIssue", "ImportPlan", "PairRecord", "PromptRecord", "VideoRecord", "load_import"]
