"""Reports: exploring stored posts and drafts, aggregates, surge and risk alerts, the daily report, departments.

A domain beside `review` and `delivery`: it reads what the pipeline stored and never drafts or sends replies.
"""
