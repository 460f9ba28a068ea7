"""A local Salesforce org: OAuth 2.0 token endpoint, the REST API paths simple-salesforce uses
(sObjects, SOQL with paging, sObject Collections, Tooling CustomField), Bulk API 2.0 ingest jobs,
limits and their header, errors in Salesforce's JSON shape. Served at `/services/...` on the
sandbox's root, where the org's `instance_url` points."""
