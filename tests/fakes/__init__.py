"""Local fakes of the providers' APIs, spoken to over real HTTP by the real client libraries."""
