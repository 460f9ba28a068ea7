"""The processes the connector runs as: queues on Redis (embedded or not), the
processes it starts and the signals that end them, and the web server."""
