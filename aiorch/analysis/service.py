"""The application service the CLI and the API share.

``AnalysisService`` is its commands (aiorch/analysis/commands.py: uploads, submit, cancel, delete)
over its queries (aiorch/analysis/queries.py: status, lists and batch views with their progress, the
state history, results); the commands build on the queries, since a cancel answers with a view.
"""

from __future__ import annotations

from aiorch.analysis.commands import AnalysisCommands


class AnalysisService(AnalysisCommands):
    """Every command and query, for the API routes and the CLI (``AnalysisService(settings)``)."""
