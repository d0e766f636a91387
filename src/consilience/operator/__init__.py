"""Operator tooling: what the administrator runs on their own machine (deployment document,
invites, counselors, witnesses, key shares). It writes files and the escrow database directly and
never talks HTTP.
"""
