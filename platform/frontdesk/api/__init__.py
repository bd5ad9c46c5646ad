"""What every HTTP controller shares: dependencies, problem details, pagination."""
