"""Single sign-on: a tenant's OpenID Connect provider, sign-in through it, and its policy."""
