"""Outbound cadence: templates, planner, scheduler and the campaign view (issue 8)."""
