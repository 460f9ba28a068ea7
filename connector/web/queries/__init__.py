"""What the API and the dashboard show, as plain data, scoped to one merchant account: the
contact list with filters, cursor pages and CSV (contacts), a contact's 360° view
(contact_360), order pages (orders), products and the reports (reports), an account at a
glance (account_summary, the demo's terminal summary), the Overview's figures for a
period (overview, period); the paging and
argument checks they share (common). Both the JSON API and the server-rendered pages call
these, so they always agree.
"""

from connector.web.queries.account_summary import AccountSummary, account_summary
from connector.web.queries.common import Page, date_range, plain, store_ids
from connector.web.queries.contact_360 import contact_360
from connector.web.queries.contacts import contacts, contacts_count, contacts_csv, csv_answer, csv_cell
from connector.web.queries.orders import order_detail, order_summary, orders
from connector.web.queries.overview import overview
from connector.web.queries.reports import channel_report, products, reengagement, sales_by_region, segments

__all__ = [
    "AccountSummary",
    "Page",
    "account_summary",
    "channel_report",
    "contact_360",
    "contacts",
    "contacts_count",
    "contacts_csv",
    "csv_answer",
    "csv_cell",
    "date_range",
    "order_detail",
    "order_summary",
    "orders",
    "overview",
    "plain",
    "products",
    "reengagement",
    "sales_by_region",
    "segments",
    "store_ids",
]
