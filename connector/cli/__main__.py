"""`python -m connector.cli`: the same command line as `crm-connector`, for the processes the
connector starts itself (worker, cron, web) with the interpreter it runs on."""

from connector.cli import main

main()
