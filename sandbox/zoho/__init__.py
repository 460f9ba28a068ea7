"""A local Zoho CRM: an accounts server per data center (`accounts.zoho.<dc>`, answering the
`api_domain` of that data center), the refresh-token and authorization-code grants, and the
records API under `/crm/v2`…`/crm/v8` (Contacts, Sales_Orders with Ordered_Items, Products):
upsert by duplicate-check fields, paged reads, delete, `settings/fields` with custom fields,
credits and Zoho's error shapes. Served at `/zoho/<dc>/accounts/...` and `/zoho/<dc>/api/...`
(and at Zoho's own host names through Host routing)."""
