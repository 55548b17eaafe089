"""Scheduled drift runs: which windows are due, computing one window, the APScheduler service."""
