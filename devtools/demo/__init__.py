"""The demo data behind `manage.py demo_data` (see that command for what it makes).

It is built in two passes. First the whole six months are simulated in memory, as
specs (run.py), in the order things happened, so the survey rules see the same
history they would have seen in production. Then the specs are written in bulk,
parents before children. build.demo_build runs both; by what they make:

- cast.py: the two teams and their six agents, and the customers in six languages
- tickets.py: the tickets and their lives (replies, reopens, solved or not)
- invitations.py: the survey loop (planned, throttled, sent) and its invitations
- answers.py: the customers' answers, scores and comments, and the responses
- cases.py: follow-up cases for the low scores, and their history

All of them draw from the one random source of the run (run.DemoRun): a seed gives
the same demo only while the draws happen in the same order, so moving a call or
adding a draw changes the demo from that draw on.
"""
