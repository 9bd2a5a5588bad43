"""Databank's domain: identifiers, policy, resolution rules, profiles and services.

Nothing in this package imports Flask or reads a request; services take a unit of work.
"""
