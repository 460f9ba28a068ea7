"""The sandbox's Magento 2: stores at /magento/<name>, REST V1 with searchCriteria, Bearer
integration tokens and the admin token endpoint, generated from the seed like the others."""
