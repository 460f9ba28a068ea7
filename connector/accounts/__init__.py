"""Who the connector serves: merchants' stores (connected, sealed credentials,
sync state), and the accounts that own them."""
