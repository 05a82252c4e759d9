"""Finance reports: the exports each list downloads (`exports`), the revenue and renewal
summaries grouped in SQL (`summaries`), the dashboard on the home page (`dashboard`), and their
pages (`views`). Money reports need core.roles.MONEY_REPORTS."""
